"""A results store of each kind, empty, for the contract tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services.neo4j import Neo4jServer
from worker.credentials import StoreCredentials
from worker.resultsdb.base import ResultsStore
from worker.resultsdb.neo4j import Neo4jResultsStore, RetryPolicy
from worker.resultsdb.sqlite import SqliteResultsStore

#: Quick retries for tests that make the store unreachable.
FAST_RETRIES = RetryPolicy(
    attempts=3, first_delay=0.05, max_delay=0.1, transaction_retry_time=0.5, connection_timeout=2
)


def neo4j_credentials(server: Neo4jServer, password: str | None = None) -> StoreCredentials:
    return StoreCredentials(
        uri=server.uri,
        user=server.user,
        password=server.password if password is None else password,
        database=server.database,
        source="test",
    )


@pytest.fixture
def neo4j_store(neo4j: Neo4jServer) -> Iterator[Neo4jResultsStore]:
    store = Neo4jResultsStore(neo4j_credentials(neo4j))
    yield store
    store.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqliteResultsStore]:
    store = SqliteResultsStore(tmp_path / "results.sqlite")
    yield store
    store.close()


@pytest.fixture(params=["sqlite", "neo4j"])
def store(request: pytest.FixtureRequest) -> ResultsStore:
    """Each store kind in turn: the same contract holds for both."""
    return request.getfixturevalue(f"{request.param}_store")  # type: ignore[no-any-return]
