"""A real Apache Kafka 4 broker for tests and local runs, with no Docker and no Kafka download.

`kafka-launcher/` holds a tiny Maven project whose jar runs one Kafka node in KRaft combined mode
(broker and controller in one process) on 127.0.0.1. Maven fetches Kafka from Maven Central once;
after that a start costs the JVM and the node's boot. The first start formats the storage with a
generated cluster id in the same JVM; a restart (clean or after SIGKILL) reuses directory, ports
and cluster id, so whatever the broker acknowledged is still there.

    with LocalKafka() as kafka:
        producer = confluent_kafka.Producer({"bootstrap.servers": kafka.bootstrap_servers})

`python -m tools.kafka_server build` builds the launcher (cached); `… start` runs a broker in the
foreground until Ctrl-C.
"""

from __future__ import annotations

import argparse
import base64
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from tools import jvm_launcher

KAFKA_DIR = Path(__file__).resolve().parent.parent / "kafka-launcher"
LAUNCHER_JAR = KAFKA_DIR / "target" / "kafka-launcher.jar"

# A small heap keeps CI light (Kafka's own script starts with 1 GiB); the serial collector saves
# the GC threads a 2-core machine has no room for. Exiting on OOM beats a half-alive broker.
JVM_OPTIONS = (
    "-Xms128m",
    "-Xmx384m",
    "-XX:+UseSerialGC",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)

NODE_ID = 1

# One node: every internal topic has one replica and, to keep a start light, one partition (a
# consumer group works the same on one). Thread pools sized for a 2-core machine; the log
# cleaner's dedupe buffer would otherwise take 128 MiB of the heap.
BASE_SETTINGS: Mapping[str, str] = {
    "process.roles": "broker,controller",
    "node.id": str(NODE_ID),
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "num.partitions": "1",
    "default.replication.factor": "1",
    "min.insync.replicas": "1",
    "offsets.topic.replication.factor": "1",
    "offsets.topic.num.partitions": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "transaction.state.log.num.partitions": "1",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    "share.coordinator.state.topic.num.partitions": "1",
    "group.initial.rebalance.delay.ms": "0",
    "auto.create.topics.enable": "false",
    "num.network.threads": "2",
    "num.io.threads": "2",
    "background.threads": "2",
    "num.recovery.threads.per.data.dir": "1",
    "log.cleaner.threads": "1",
    "log.cleaner.dedupe.buffer.size": str(16 * 1024 * 1024),
}

_FORMATTED = "KAFKA_FORMATTED "
_log = logging.getLogger(__name__)


def build_launcher(force: bool = False) -> Path:
    """Build the launcher jar and its runtime classpath (target/lib) unless they are up to date;
    returns the runnable jar."""
    return jvm_launcher.build_launcher(KAFKA_DIR, LAUNCHER_JAR, "kafka_2.13-*.jar", "Kafka", force)


def new_cluster_id() -> str:
    """A cluster id as Kafka writes them: 16 random bytes, URL-safe base64 without padding. Not
    starting with '-', which the storage tool's argument parser would take for an option."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def start_timeout() -> float:
    """How long a start may take before it is given up (`LKG_KAFKA_START_TIMEOUT`, seconds); the
    bound is there so a start that cannot succeed still ends, with the broker's log tail."""
    return float(os.environ.get("LKG_KAFKA_START_TIMEOUT", "300"))


class LocalKafka(jvm_launcher.LaunchedServer):
    """One Kafka node (broker + controller) on 127.0.0.1, PLAINTEXT, no auth.

    Without `data_dir` it uses a temporary directory, removed by `stop()`; without ports it picks
    free ones. Directory, ports and cluster id are kept across `restart()` and `kill()` + `start()`.
    `settings` are Kafka's own (`log.retention.ms`, …), over `BASE_SETTINGS`.
    """

    name = "kafka"
    output_lines = 400

    def __init__(
        self,
        data_dir: Path | None = None,
        port: int | None = None,
        controller_port: int | None = None,
        jvm_options: Sequence[str] = JVM_OPTIONS,
        *,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(data_dir)
        self.port = port
        self.controller_port = controller_port
        self.jvm_options = tuple(jvm_options)
        self.settings = dict(settings or {})
        self.cluster_id = ""  # generated at the first start, or read back from a formatted dir
        self.version = ""
        self.startup_seconds = 0.0  # process start -> a client saw this node as a broker

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_dir(self) -> Path:
        assert self.data_dir is not None
        return self.data_dir / "kafka-logs"

    def client_config(self, **config: Any) -> dict[str, Any]:
        """Configuration for a confluent-kafka client of this broker, plus `config`."""
        return {"bootstrap.servers": self.bootstrap_servers, **config}

    def admin(self, **config: Any) -> AdminClient:
        return AdminClient(self.client_config(logger=_log, **config))

    def start(self, timeout: float | None = None) -> None:
        """Start the node and wait until a client sees it as a broker, at most `timeout` seconds
        (default `LKG_KAFKA_START_TIMEOUT`)."""
        if timeout is None:
            timeout = start_timeout()
        if self.running:
            raise RuntimeError(f"Kafka is already running at {self.bootstrap_servers}")
        jar = build_launcher()
        if self.data_dir is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix="lineage-kg-kafka-"))
            self._owns_dir = True
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or jvm_launcher.free_port()
        while not self.controller_port or self.controller_port == self.port:
            self.controller_port = jvm_launcher.free_port()
        self.cluster_id = self._formatted_cluster_id() or self.cluster_id or new_cluster_id()
        config = self._write_config()
        java = shutil.which("java", path=jvm_launcher.java_path())
        if java is None:
            raise RuntimeError("java (17+) is not on PATH or in JAVA_HOME")

        started = time.monotonic()
        self._launch(
            [
                java,
                *self.jvm_options,
                "-jar",
                str(jar),
                *("--config", str(config), "--cluster-id", self.cluster_id),
                *("--stop-on-stdin-eof", "true"),
            ]
        )
        try:
            self._wait_broker(started + timeout)
            self.startup_seconds = time.monotonic() - started
        except Exception as exc:
            self._terminate(timeout=10)
            raise RuntimeError(f"Kafka did not start: {exc}\n{self._diagnostics()}") from exc

    def _write_config(self) -> Path:
        settings = {
            **BASE_SETTINGS,
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.quorum.voters": f"{NODE_ID}@127.0.0.1:{self.controller_port}",
            "log.dirs": str(self.log_dir),
            **self.settings,
        }
        assert self.data_dir is not None
        path = self.data_dir / "server.properties"
        path.write_text("".join(f"{name}={value}\n" for name, value in settings.items()))
        return path

    def _formatted_cluster_id(self) -> str:
        meta = self.log_dir / "meta.properties"
        if not meta.is_file():
            return ""
        for line in meta.read_text().splitlines():
            name, _, value = line.partition("=")
            if name.strip() == "cluster.id":
                return value.strip()
        return ""

    def _on_line(self, line: str) -> None:
        if line.startswith(_FORMATTED):
            self.version = line.strip().rpartition("version=")[2]

    def _wait_broker(self, deadline: float) -> None:
        """Until the node answers a metadata request listing itself as a broker: then it has
        joined its own quorum, is unfenced, and takes topics and records."""
        while True:
            self._check_alive()
            if self._port_open():
                try:
                    metadata = self.admin().list_topics(timeout=max(1.0, min(5.0, _left(deadline))))
                except KafkaException:
                    pass
                else:
                    if NODE_ID in metadata.brokers:
                        return
            if _left(deadline) <= 0:
                raise TimeoutError(f"no broker at {self.bootstrap_servers} before the timeout")
            time.sleep(0.2)

    def _port_open(self) -> bool:
        # A plain connect first, so the client is not asked (and does not log) while the port is
        # still closed.
        try:
            with socket.create_connection(("127.0.0.1", self.port or 0), timeout=1):
                return True
        except OSError:
            return False

    def _diagnostics(self) -> str:
        return "\n".join(["--- Kafka launcher output (tail) ---", *list(self._output)[-80:]])


def _left(deadline: float) -> float:
    return deadline - time.monotonic()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.kafka_server")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build", help="fetch Kafka from Maven Central and build (cached)")
    start = commands.add_parser("start", help="run a broker in the foreground until Ctrl-C")
    start.add_argument("--port", type=int, default=9092)
    start.add_argument("--controller-port", type=int, default=9093)
    start.add_argument("--data-dir", type=Path, help="kept between runs (default: a temp dir)")
    args = parser.parse_args(argv)

    began = time.monotonic()
    if args.command == "build":
        # fetch and build once, visibly, before the tests use it
        print(f"Kafka launcher ready: {build_launcher()} ({time.monotonic() - began:.1f}s)")
        return
    server = LocalKafka(args.data_dir, args.port, args.controller_port)
    # SIGTERM (a service manager, `kill`) stops the broker as Ctrl-C does: through `with`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with server:
        print(
            f"Kafka {server.version} at {server.bootstrap_servers} "
            f"(cluster {server.cluster_id}, data {server.data_dir}, "
            f"up in {server.startup_seconds:.1f}s); Ctrl-C stops it",
            flush=True,
        )
        try:
            while server.running:
                time.sleep(1)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
