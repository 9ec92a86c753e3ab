"""Session-wide real services for the tests. Each is started once, on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services.moto import MotoServer, run_moto_server

REPO = Path(__file__).resolve().parent.parent


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
    """The moto server, wiped before the test."""
    moto_server.reset()
    yield moto_server
