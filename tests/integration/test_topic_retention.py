"""The topics the norms are measured from keep their history as long as the norms need it: Loket creates them
with the retention the contract gives (and the AsyncAPI document says)."""

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from schemas.topics import CASE_EVENTS, CONTACTS, DECISIONS, NORMS_HISTORY_DAYS
from services.norms.reading import READ_TOPICS

pytestmark = pytest.mark.integration
DAY_MS = 24 * 60 * 60 * 1000


async def test_the_norms_topics_are_created_with_their_retention(topics):
    admin = AIOKafkaAdminClient(bootstrap_servers=topics.settings.kafka_bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topics.name(spec)) for spec in READ_TOPICS])
    finally:
        await admin.close()
    kept = {resource[3]: {entry[0]: entry[1] for entry in resource[4]}["retention.ms"]
            for resource in response.resources}
    assert kept == {topics.name(spec): str(spec.retention_ms) for spec in (CONTACTS, DECISIONS, CASE_EVENTS)}
    assert int(kept[topics.name(CONTACTS)]) >= 60 * DAY_MS and NORMS_HISTORY_DAYS >= 2 * 30
