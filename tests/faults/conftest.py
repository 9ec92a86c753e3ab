"""Faults injected at the network level: Toxiproxy between the project and its servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scheduler.sandbox.moto_server import MotoServer
from scheduler.sandbox.toxiproxy import Proxy, Toxiproxy, run_toxiproxy
from tests.services.neo4j import Neo4jServer


@pytest.fixture(scope="session")
def toxiproxy(services_dir: Path) -> Iterator[Toxiproxy]:
    with run_toxiproxy(services_dir / "toxiproxy") as server:
        yield server


@pytest.fixture
def s3_proxy(
    toxiproxy: Toxiproxy, aws: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Proxy]:
    """moto behind a proxy; AWS clients made in the test go through it. No toxics yet."""
    proxy = toxiproxy.proxy("moto", f"127.0.0.1:{aws.port}")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{proxy.address}")
    yield proxy
    proxy.clear()


@pytest.fixture
def moto_endpoint(aws: MotoServer) -> str:
    """moto's own endpoint, past the proxy: what the server really holds."""
    return aws.endpoint


@pytest.fixture
def bolt_proxy(toxiproxy: Toxiproxy, neo4j: Neo4jServer) -> Iterator[Proxy]:
    """Neo4j's Bolt port behind a proxy. No toxics yet."""
    upstream = neo4j.uri.split("://", 1)[1]
    proxy = toxiproxy.proxy("neo4j", upstream)
    yield proxy
    proxy.clear()
