"""Preparing the local Kafka broker on disk: its jars from Maven, its configuration, its formatted storage."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from xml.sax.saxutils import quoteattr

import structlog

from loket.stack.exceptions import StackError
from loket.stack.layout import KafkaPaths
from loket.stack.process import require, run_async

log = structlog.get_logger(__name__)

# The pom sits in the source tree next to the ``loket`` package: <repo>/deploy/kafka/pom.xml.
POM = Path(__file__).resolve().parents[2] / "deploy" / "kafka" / "pom.xml"
JAVA_PACKAGE = "openjdk-17-jre-headless"
BROKER_HEAP = "-Xmx1g"


def parse_bootstrap(bootstrap: str) -> tuple[str, int]:
    """Host and port of the first bootstrap server; the broker listens there, its controller one port up."""
    first = bootstrap.split(",")[0].strip()
    host, _, port = first.rpartition(":")
    if not host or not port.isdigit():
        raise StackError(f"kafka_bootstrap must look like host:port, got {bootstrap!r}")
    return host, int(port)


def java() -> str:
    return require("java", JAVA_PACKAGE)


async def ensure_jars(paths: KafkaPaths) -> None:
    """Resolve the broker's jars with Maven, unless they are there already for this very pom."""
    if not POM.is_file():
        raise StackError(f"the Kafka pom is missing at {POM}; run the stack from a source checkout of Loket")
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()
    if _marker(paths) == digest and any(paths.libs.glob("*.jar")):
        return
    mvn = require("mvn", "maven")
    # Jars of an older pom would linger on the classpath next to the new ones.
    shutil.rmtree(paths.libs, ignore_errors=True)
    paths.libs.mkdir(parents=True)
    log.info("kafka_jar_resolution_started", note="Maven may download ~100 MB the first time")
    await run_async(
        [mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies", f"-DoutputDirectory={paths.libs}"],
        what="Maven resolving the Kafka jars",
        progress_event="kafka_jar_resolution_awaited",
    )
    paths.pom_marker.write_text(digest + "\n")
    log.info("kafka_jars_resolved", jars=len(list(paths.libs.glob("*.jar"))), libs=str(paths.libs))


def _marker(paths: KafkaPaths) -> str | None:
    try:
        return paths.pom_marker.read_text().strip()
    except OSError:
        return None


def write_config(paths: KafkaPaths, host: str, port: int) -> None:
    """Write server.properties and the log4j2 configuration; rewritten on every start to follow settings."""
    paths.data.mkdir(parents=True, exist_ok=True)
    paths.logs.mkdir(parents=True, exist_ok=True)
    paths.properties.write_text(server_properties(paths, host, port))
    paths.log4j_config.write_text(log4j2_xml(paths.server_log))


def server_properties(paths: KafkaPaths, host: str, port: int) -> str:
    """A single node that is both broker and KRaft controller, with replication of one everywhere."""
    controller = f"{host}:{port + 1}"
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{controller}",
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{controller}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(paths.data),
        "num.partitions": "4",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        # A lone test consumer should not wait three seconds for company before it gets partitions.
        "group.initial.rebalance.delay.ms": "0",
        # Loket creates its topics explicitly; a typo in a topic name must fail, not create a topic.
        "auto.create.topics.enable": "false",
    }
    lines = [f"{key}={_escape(value)}" for key, value in settings.items()]
    return "# Written by `loket stack up` on every start; edits are overwritten.\n" + "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    # Java properties treat backslash as an escape character.
    return value.replace("\\", "\\\\")


def log4j2_xml(server_log: Path) -> str:
    """Everything the broker logs goes to one rolling file instead of our terminal."""
    rolled = str(server_log) + ".%i"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by `loket stack up` on every start; edits are overwritten. -->
<Configuration status="WARN" shutdownHook="disable">
  <Appenders>
    <RollingFile name="server" fileName={quoteattr(str(server_log))} filePattern={quoteattr(rolled)}>
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
      <Policies><SizeBasedTriggeringPolicy size="50 MB"/></Policies>
      <DefaultRolloverStrategy max="3"/>
    </RollingFile>
  </Appenders>
  <Loggers>
    <Root level="info"><AppenderRef ref="server"/></Root>
  </Loggers>
</Configuration>
"""


def java_command(paths: KafkaPaths, java_bin: str, *args: str) -> list[str]:
    """A JVM with the broker's jars on the classpath and our logging configuration."""
    return [
        java_bin,
        "-cp",
        str(paths.libs / "*"),
        f"-Dlog4j2.configurationFile={paths.log4j_config}",
        *args,
    ]


def broker_command(paths: KafkaPaths, java_bin: str) -> list[str]:
    return java_command(paths, java_bin, BROKER_HEAP, "kafka.Kafka", str(paths.properties))


async def ensure_formatted(paths: KafkaPaths, java_bin: str) -> None:
    """Format the storage with a fresh cluster id, once; existing data is kept as it is."""
    if (paths.data / "meta.properties").exists():
        return
    storage_tool = java_command(paths, java_bin, "kafka.tools.StorageTool")
    uuid_output = await run_async(
        [*storage_tool, "random-uuid"], what="Kafka StorageTool random-uuid", progress_event="kafka_format_awaited"
    )
    cluster_id = uuid_output.strip().splitlines()[-1]
    # With controller.quorum.voters set, formatting must not pass --standalone.
    await run_async(
        [*storage_tool, "format", "-t", cluster_id, "-c", str(paths.properties)],
        what="Kafka StorageTool format",
        progress_event="kafka_format_awaited",
    )
    log.info("kafka_storage_formatted", cluster_id=cluster_id, data=str(paths.data))
