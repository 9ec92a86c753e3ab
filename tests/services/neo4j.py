"""A real Neo4j on loopback: Neo4j's test harness behind the launcher in tests/neo4j-harness.

``scripts/build-neo4j-harness.sh`` (called by ``scripts/install-test-deps.sh``) builds the
launcher; nothing is built here. The server binds 127.0.0.1, which containers using host
networking reach as well. Authentication is on, with a known test password. The data
directory is kept across :meth:`Neo4jServer.stop` / :meth:`Neo4jServer.start`, so a test can
simulate an outage and find the data again after the restart.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import neo4j

from scheduler.sandbox.processes import free_port, wait_for_port

HARNESS_DIR = Path(__file__).resolve().parent.parent / "neo4j-harness"
HARNESS_JAR = HARNESS_DIR / "target" / "neo4j-harness-launcher.jar"
READY_LINE = "NEO4J-HARNESS READY"
USER = "neo4j"
#: The test server's password (a test fixture, not a secret).
PASSWORD = "bench-harness-test-pw"
DATABASE = "neo4j"
START_TIMEOUT = 180.0


class HarnessMissingError(RuntimeError):
    """The launcher jar has not been built."""


@dataclass
class Neo4jServer:
    """One harness JVM; ``start``/``stop`` may be called again (same port, same data)."""

    workdir: Path
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    user: str = USER
    password: str = PASSWORD
    database: str = DATABASE
    _proc: subprocess.Popen[str] | None = None

    @property
    def uri(self) -> str:
        return f"bolt://{self.host}:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / "neo4j-harness.log"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start the JVM and wait until Bolt accepts connections."""
        if self.running:
            return
        if not HARNESS_JAR.is_file():
            raise HarnessMissingError(
                f"{HARNESS_JAR} is missing: run scripts/build-neo4j-harness.sh "
                "(scripts/install-test-deps.sh runs it)"
            )
        env = {**os.environ, "NEO4J_HARNESS_PASSWORD": self.password}
        command = [
            "java",
            "-Xms256m",
            "-Xmx1g",
            "-XX:+UseSerialGC",
            # Neo4j's page cache uses direct buffers through java.nio's internals; without
            # this it logs a warning and runs in a slower fallback mode
            "--add-opens=java.base/java.nio=ALL-UNNAMED",
            "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
            "-jar",
            str(HARNESS_JAR),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--data-dir",
            str(self.workdir / "data"),
            "--work-dir",
            str(self.workdir / "work"),
            "--exit-on-stdin-close",
        ]
        log = self.log.open("a")
        proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, env=env
        )
        log.close()
        self._proc = proc
        ready = threading.Event()
        threading.Thread(target=_pump, args=(proc, self.log, ready), daemon=True).start()
        deadline = time.monotonic() + timeout
        while not ready.wait(0.2):
            if proc.poll() is not None:
                self._proc = None
                raise RuntimeError(
                    f"the Neo4j harness exited with {proc.returncode}; see {self.log}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"the Neo4j harness was not ready in {timeout}s; see {self.log}")
        wait_for_port(self.port, timeout=10, host=self.host)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the JVM (SIGTERM, then SIGKILL); the data directory stays."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        finally:
            if proc.stdin is not None:
                proc.stdin.close()

    def restart(self) -> None:
        self.stop()
        self.start()


def _pump(proc: subprocess.Popen[str], log: Path, ready: threading.Event) -> None:
    """Copy the launcher's stdout to the log and flag the ready line."""
    assert proc.stdout is not None
    with log.open("a") as out:
        for line in proc.stdout:
            out.write(line)
            out.flush()
            if line.startswith(READY_LINE):
                ready.set()


@contextmanager
def run_neo4j(workdir: Path) -> Iterator[Neo4jServer]:
    """A started harness, stopped at the end."""
    workdir.mkdir(parents=True, exist_ok=True)
    server = Neo4jServer(workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def wipe_neo4j(server: Neo4jServer) -> None:
    """Delete every node and relationship of the test database (schema stays)."""
    with neo4j.GraphDatabase.driver(server.uri, auth=(server.user, server.password)) as driver:
        driver.execute_query("MATCH (n) DETACH DELETE n", database_=server.database)
