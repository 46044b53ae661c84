"""Export the contract: a JSON Schema per event type and an AsyncAPI 3.1 document of every topic.

The exported files are committed; a test fails when they no longer match the models.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas.envelope import STRUCTURED_CONTENT_TYPE, CloudEvent
from schemas.topics import ALL_TOPICS, Service, TopicSpec

HERE = Path(__file__).resolve().parent
JSON_DIR = HERE / "json"
ASYNCAPI_FILE = HERE / "asyncapi.json"


#: The JSON Schema dialect of the exported schemas: draft-07, the one AsyncAPI names as a payload
#: ``schemaFormat`` every tool must support. pydantic's schemas use no keyword newer than draft-07 but
#: ``$defs``, which the export renames to draft-07's ``definitions``.
JSON_SCHEMA_DIALECT = "http://json-schema.org/draft-07/schema#"
PAYLOAD_SCHEMA_FORMAT = "application/schema+json;version=draft-07"


def event_json_schema(event: type[CloudEvent]) -> dict[str, Any]:
    """The JSON Schema (draft-07) of one event type, envelope included."""
    schema = event.model_json_schema(mode="validation", ref_template="#/definitions/{model}")
    definitions = schema.pop("$defs", None)
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": event.schema_uri(),
        **schema,
        **({"definitions": definitions} if definitions else {}),
    }


KAFKA_BINDING_VERSION = "0.5.0"
CONTENT_TYPE_HEADER = {
    "type": "object",
    "description": "Kafka binding of CloudEvents, structured mode: the event is the record's value.",
    "required": ["content-type"],
    "properties": {"content-type": {"type": "string", "const": STRUCTURED_CONTENT_TYPE}},
}


def channel_id(topic: TopicSpec) -> str:
    """The topic's id in the AsyncAPI document: ``loket.case-requests.v1`` is ``caseRequests``."""
    first, *rest = topic.name.split(".")[1].split("-")
    return first + "".join(word.capitalize() for word in rest)


def _message(event: type[CloudEvent], topic: TopicSpec) -> dict[str, Any]:
    summary, _, description = (event.__doc__ or "").strip().partition("\n")
    return {
        "name": event.__name__,
        "title": event.__name__,
        "summary": summary.strip(),
        "description": f"CloudEvents type `{event.event_type()}`. {' '.join(description.split())}".strip(),
        "contentType": "application/cloudevents+json",
        "headers": CONTENT_TYPE_HEADER,
        "payload": {"schemaFormat": PAYLOAD_SCHEMA_FORMAT, "schema": {"$ref": f"./json/{event.event_type()}.json"}},
        "bindings": {"kafka": {"key": {"type": "string", "description": topic.key},
                               "bindingVersion": KAFKA_BINDING_VERSION}},
    }


def _operations(topic: TopicSpec) -> dict[str, Any]:
    """Who sends to and who receives from one channel: an operation per service and direction."""
    channel = channel_id(topic)
    messages = [{"$ref": f"#/channels/{channel}/messages/{event.__name__}"} for event in topic.events]
    operations: dict[str, Any] = {}
    for action, services in (("send", topic.senders), ("receive", topic.receivers)):
        for service in services:
            operation: dict[str, Any] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{channel}"},
                "title": f"{service} {action}s {topic.name}",
                "description": f"The {service} service {action}s {', '.join(e.__name__ for e in topic.events)} "
                               f"{'to' if action == 'send' else 'from'} {topic.name}.",
                "tags": [{"name": str(service)}],
                "messages": messages,
            }
            if action == "receive":
                operation["bindings"] = {"kafka": {
                    "groupId": {"type": "string", "description": "LOKET_TOPIC_PREFIX followed by this name.",
                                "const": f"loket-{service}"},
                    "bindingVersion": KAFKA_BINDING_VERSION}}
            operations[f"{service}{action.capitalize()}s{channel[0].upper()}{channel[1:]}"] = operation
    return operations


def asyncapi_document() -> dict[str, Any]:
    """An AsyncAPI 3.1 document: every topic, its key, its event types, and which service sends and receives."""
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in ALL_TOPICS:
        for event in topic.events:
            messages[event.__name__] = _message(event, topic)
        channel: dict[str, Any] = {
            "address": topic.name,
            "title": topic.name,
            "description": f"{topic.description} Key: {topic.key}",
            "messages": {e.__name__: {"$ref": f"#/components/messages/{e.__name__}"} for e in topic.events},
        }
        if topic.parameters:
            channel["parameters"] = {name: {"description": text} for name, text in topic.parameters}
        else:  # a binding names one topic: a parametrised channel is many
            channel["bindings"] = {"kafka": {"topic": topic.name, "bindingVersion": KAFKA_BINDING_VERSION}}
            if topic.retention_ms is not None:
                channel["bindings"]["kafka"]["topicConfiguration"] = {"retention.ms": topic.retention_ms}
        channels[channel_id(topic)] = channel
        operations.update(_operations(topic))
    return {
        "asyncapi": "3.1.0",
        "info": {
            "title": "Loket",
            "version": "1.0.0",
            "description": "Topics and CloudEvents (NL GOV profile, Kafka binding in structured mode) of the Loket "
                           "contact-center system. Topic names carry the deployment's LOKET_TOPIC_PREFIX in front.",
            "contact": {"name": "Loket maintainers", "url": "https://loket.example/", "email": "maintainers@loket.example"},
            "license": {"name": "EUPL-1.2", "url": "https://interoperable-europe.ec.europa.eu/collection/eupl/eupl-text-eupl-12"},
            "tags": [{"name": str(service), "description": f"The {service} service."} for service in Service],
        },
        "servers": {
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "The local stack of `loket stack up`; a deployment names its brokers in LOKET_KAFKA_BOOTSTRAP.",
            },
        },
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def rendered_files() -> dict[Path, str]:
    """Every exported file with its exact text."""
    files = {ASYNCAPI_FILE: _dump(asyncapi_document())}
    for topic in ALL_TOPICS:
        for event in topic.events:
            files[JSON_DIR / f"{event.event_type()}.json"] = _dump(event_json_schema(event))
    return files


def write_all() -> list[Path]:
    """Write every exported file, and remove schemas of event types that no longer exist; returns the paths written."""
    JSON_DIR.mkdir(exist_ok=True)
    files = rendered_files()
    for path in _orphans(files):
        path.unlink()
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    return sorted(files)


def stale_files() -> list[Path]:
    """Exported files that are missing, differ from what the models give now, or belong to no event type."""
    files = rendered_files()
    changed = [p for p, text in files.items() if not p.exists() or p.read_text("utf-8") != text]
    return sorted(changed + _orphans(files))


def _orphans(files: dict[Path, str]) -> list[Path]:
    return sorted(set(JSON_DIR.glob("*.json")) - set(files))


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


if __name__ == "__main__":
    for written in write_all():
        print(written.relative_to(HERE.parent))
