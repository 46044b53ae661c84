"""The bare faust baseline: one agent forwarding every contact unchanged, one awaited send per event.

Run by bench/pipeline.py as its own process, like the router, on the benchmark's topics.
"""

from __future__ import annotations

import faust

from plumbing.kafka import topic_name
from plumbing.settings import KafkaSettings
from plumbing.streams import stream_app
from schemas.topics import CONTACTS, TopicSpec

FORWARD = TopicSpec("bench.forwarded.v1", key="as the input", description="baseline output", events=())


def create_app(settings: KafkaSettings) -> faust.App:
    app = stream_app(settings, "bench-faust-forward")
    forwarded = app.topic(topic_name(settings, FORWARD))

    @app.agent(app.topic(topic_name(settings, CONTACTS)))
    async def forward(stream: faust.StreamT) -> None:
        async for event in stream.events():
            await forwarded.send(key=event.message.key, value=event.message.value, headers=event.message.headers)

    return app


if __name__ == "__main__":
    import sys

    del sys.argv[1:]
    faust.Worker(create_app(KafkaSettings()), loglevel="WARNING", quiet=True).execute_from_commandline()
