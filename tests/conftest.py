"""Session-wide real services for the tests. Each is started once, on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scheduler import images
from scheduler.sandbox.moto_server import MotoServer, run_moto_server
from tests.services.neo4j import HARNESS_JAR, Neo4jServer, run_neo4j, wipe_neo4j

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def benchmarks_jar() -> Path:
    """The example JMH benchmarks jar (scripts/build-java.sh, run by the test setup)."""
    jar = REPO / "build" / "java" / "benchmarks.jar"
    assert jar.is_file(), "run scripts/install-test-deps.sh: it builds the Java projects"
    return jar


@pytest.fixture(scope="session")
def services_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("services")


@pytest.fixture(scope="session")
def moto_server(services_dir: Path) -> Iterator[MotoServer]:
    """A moto server on loopback; its endpoint is also exported as AWS_ENDPOINT_URL."""
    with run_moto_server(services_dir) as server:
        saved = {k: os.environ.get(k) for k in server.env()}
        os.environ.update(server.env())
        try:
            yield server
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


@pytest.fixture
def aws(moto_server: MotoServer) -> Iterator[MotoServer]:
    """The moto server, wiped before the test and back to moto's defaults.

    ``/moto-api/reset`` keeps moto's configuration, so the Batch setting is restored here:
    a test that turns containers off (``aws_clean``) must not decide for the tests after it.
    """
    moto_server.reset()
    moto_server.configure_batch(use_docker=True)
    yield moto_server


# --- Docker engine, base image, registries and the worker image (issue 3) ---

# Parallel test sessions on one engine (several checkouts) each set their own repository name.
WORKER_TEST_REPOSITORY = os.environ.get("BENCH_TEST_WORKER_REPOSITORY", "bench-test/worker")


@pytest.fixture(scope="session")
def docker_engine(services_dir: Path) -> Iterator[Any]:
    """The real engine: installed and started when missing, stopped again if we started it.

    At the end, job containers that moto Batch left behind (made from the test worker image)
    are removed.
    """
    from scheduler.sandbox.docker_engine import remove_containers, start_engine, stop_engine

    engine = start_engine(services_dir / "docker")
    try:
        yield engine
    finally:
        remove_containers(engine, [f"{WORKER_TEST_REPOSITORY}:{images.image_tag(suffix='test')}"])
        stop_engine(engine)


@pytest.fixture(scope="session")
def base_image(docker_engine: Any) -> str:
    """``debian:bookworm-slim``, made locally with debootstrap once (cached in the engine)."""
    from scheduler.sandbox.docker_engine import ensure_base_image

    return ensure_base_image(docker_engine)


@pytest.fixture(scope="session")
def registry(services_dir: Path, docker_engine: Any) -> Iterator[Any]:
    from scheduler.sandbox.registry import run_registry

    with run_registry(services_dir / "registry") as reg:
        yield reg


@pytest.fixture(scope="session")
def auth_registry(services_dir: Path, docker_engine: Any) -> Iterator[Any]:
    from scheduler.sandbox.registry import run_registry

    with run_registry(services_dir / "auth-registry", auth=("bench", "right-password")) as reg:
        yield reg


@pytest.fixture(scope="session")
def worker_image(docker_engine: Any, base_image: str) -> str:
    """The worker image built from this checkout, once per session."""
    client = docker_engine.client()
    reference = f"{WORKER_TEST_REPOSITORY}:{images.image_tag(suffix='test')}"
    try:
        images.build_wheels(REPO)
        images.build_worker_image(client, REPO, reference, jdk=images.DEFAULT_JDK)
    finally:
        client.close()
    return reference


# --- Neo4j (issue 5) ---


@pytest.fixture(scope="session")
def neo4j_server(services_dir: Path) -> Iterator[Neo4jServer]:
    """A real Neo4j (test harness) on 127.0.0.1, auth on; started once per session.

    Tests may ``stop()`` and ``start()`` it (same port, same data); the ``neo4j`` fixture
    starts it again if a test left it stopped.
    """
    if not HARNESS_JAR.is_file():
        pytest.fail(f"{HARNESS_JAR} is missing: run scripts/install-test-deps.sh")
    with run_neo4j(services_dir / "neo4j") as server:
        yield server


@pytest.fixture
def neo4j(neo4j_server: Neo4jServer) -> Iterator[Neo4jServer]:
    """The Neo4j server, running and emptied (constraints stay) before the test."""
    if not neo4j_server.running:
        neo4j_server.start()
    wipe_neo4j(neo4j_server)
    yield neo4j_server
