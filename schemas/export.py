"""Export the contract: a JSON Schema per event type and an AsyncAPI 3 document of every topic.

The exported files are committed; a test fails when they no longer match the models.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas.envelope import CloudEvent
from schemas.topics import ALL_TOPICS, TopicSpec

HERE = Path(__file__).resolve().parent
JSON_DIR = HERE / "json"
ASYNCAPI_FILE = HERE / "asyncapi.json"
SCHEMA_ID_BASE = "https://loket.example/schemas/"


def event_json_schema(event: type[CloudEvent]) -> dict[str, Any]:
    """The JSON Schema (2020-12) of one event type, envelope included."""
    schema = event.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{SCHEMA_ID_BASE}{event.event_type()}.json",
        **schema,
    }


def _message(event: type[CloudEvent], topic: TopicSpec) -> dict[str, Any]:
    return {
        "name": event.__name__,
        "title": event.__name__,
        "summary": (event.__doc__ or "").strip(),
        "contentType": "application/cloudevents+json",
        "payload": {"$ref": f"./json/{event.event_type()}.json"},
        "bindings": {"kafka": {"key": {"type": "string", "description": topic.key}, "bindingVersion": "0.5.0"}},
    }


def asyncapi_document() -> dict[str, Any]:
    """An AsyncAPI 3.0 document listing every topic, its key and its event types."""
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic in ALL_TOPICS:
        channel_messages = {}
        for event in topic.events:
            messages[event.__name__] = _message(event, topic)
            channel_messages[event.__name__] = {"$ref": f"#/components/messages/{event.__name__}"}
        channels[topic.name] = {
            "address": topic.name,
            "description": f"{topic.description} Key: {topic.key}",
            "messages": channel_messages,
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Loket",
            "version": "1.0.0",
            "description": "Topics and CloudEvents (NL GOV profile) of the Loket contact-center system.",
        },
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
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
