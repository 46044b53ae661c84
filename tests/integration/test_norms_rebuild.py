"""``loket norms rebuild`` where there is nothing to rebuild from: one clear line and exit code 2, at once (a
consumer assigned a topic that does not exist would wait minutes for its metadata)."""

import os
import subprocess
import sys
import uuid

import pytest

pytestmark = pytest.mark.integration


def test_a_rebuild_without_the_topics_says_which_are_missing(real_stack):
    prefix = f"nothing{uuid.uuid4().hex[:8]}."
    done = subprocess.run([sys.executable, "-m", "loket", "norms", "rebuild"], capture_output=True, text=True,
                          env={**os.environ, "LOKET_TOPIC_PREFIX": prefix,
                               "LOKET_KAFKA_BOOTSTRAP": real_stack.kafka_bootstrap}, timeout=60)
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"no topic {prefix}loket.case-events.v1, {prefix}loket.contacts.v1" in done.stderr
    assert done.stdout == ""
