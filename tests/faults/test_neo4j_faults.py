"""The Neo4j results store through a faulty network (Toxiproxy in front of Bolt).

Whatever the fault, the store ends up with exactly one copy of each test run, equal to what a
run without faults writes; a lasting fault is a ``TransientError`` that leaves nothing half
written (the document stays in the object store for ``results-sync``).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import neo4j as driver_api
import pytest

from scheduler.sandbox.toxiproxy import Proxy
from tests.resultsdb.conftest import FAST_RETRIES, neo4j_credentials
from tests.resultsdb.documents import make_benchmarks, make_document
from tests.resultsdb.graphdump import dump_graph
from tests.services.neo4j import Neo4jServer, wipe_neo4j
from worker.errors import TransientError
from worker.resultsdb.base import ResultsFilter
from worker.resultsdb.neo4j import Neo4jResultsStore, RetryPolicy
from worker.resultsdb.sqlite import SqliteResultsStore

pytestmark = pytest.mark.timeout(300)
#: Enough retries to outlast a fault that heals within a few seconds.
PATIENT = RetryPolicy(
    attempts=8, first_delay=0.3, max_delay=2.0, transaction_retry_time=2.0, connection_timeout=3
)


def _count(server: Neo4jServer, label: str) -> int:
    with driver_api.GraphDatabase.driver(server.uri, auth=(server.user, server.password)) as d:
        records, _, _ = d.execute_query(
            f"MATCH (n:{label}) RETURN count(n) AS n", database_=server.database
        )
        return int(records[0]["n"])


def _through(proxy: Proxy, neo4j: Neo4jServer, policy: RetryPolicy) -> Neo4jResultsStore:
    creds = dataclasses.replace(neo4j_credentials(neo4j), uri=f"bolt://{proxy.address}")
    return Neo4jResultsStore(creds, policy=policy)


def _documents() -> list[dict[str, Any]]:
    # about 2 MB of samples per document: a cut lands in the middle of its transaction
    return [
        make_document(
            f"tr-fault-{i}",
            run_id="run-faults",
            started_at=f"2026-03-0{i + 1}T10:00:00+00:00",
            benchmarks=make_benchmarks(40, 2000, seed=i),
        )
        for i in range(2)
    ]


def _assert_exactly_as_without_faults(
    store: Neo4jResultsStore, neo4j: Neo4jServer, docs: list[dict[str, Any]], tmp_path: Path
) -> None:
    expected = SqliteResultsStore(tmp_path / "no-faults.sqlite")
    for doc in docs:
        expected.write_document(doc)
    everything = ResultsFilter()
    assert store.runs(everything) == expected.runs(everything)
    assert store.metrics(everything) == expected.metrics(everything)
    expected.close()
    assert _count(neo4j, "TestRun") == len(docs)
    assert _count(neo4j, "Metrics") == 40 * len(docs)
    # node by node, property by property: the graph a write without faults leaves
    through_faults = dump_graph(neo4j)
    wipe_neo4j(neo4j)
    direct = Neo4jResultsStore(neo4j_credentials(neo4j))
    for doc in docs:
        direct.write_document(doc)
    direct.close()
    assert dump_graph(neo4j) == through_faults


def test_a_connection_cut_mid_transaction_is_retried_into_one_copy(
    bolt_proxy: Proxy, neo4j: Neo4jServer, tmp_path: Path
) -> None:
    docs = _documents()
    store = _through(bolt_proxy, neo4j, PATIENT)
    store.write_document(docs[0])  # connected, schema in place
    # every connection is cut after 256 KiB of requests, in the middle of the next write
    toxic = bolt_proxy.add("limit_data", stream="upstream", bytes=256 * 1024)
    timer = bolt_proxy.remove_after(toxic, 2.0)
    started = time.monotonic()
    store.write_document(docs[1])
    assert time.monotonic() - started > 1.5, "the cut never bit"
    timer.join()
    store.write_document(docs[1])  # a replay (results-sync) changes nothing
    _assert_exactly_as_without_faults(store, neo4j, docs, tmp_path)
    store.close()


def test_slow_responses_still_leave_one_copy(
    bolt_proxy: Proxy, neo4j: Neo4jServer, tmp_path: Path
) -> None:
    docs = _documents()
    store = _through(bolt_proxy, neo4j, PATIENT)
    with bolt_proxy.toxic("latency", stream="downstream", latency=150, jitter=100):
        for doc in docs:
            store.write_document(doc)
    _assert_exactly_as_without_faults(store, neo4j, docs, tmp_path)
    store.close()


def test_a_lasting_cut_is_transient_and_writes_nothing_half(
    bolt_proxy: Proxy, neo4j: Neo4jServer
) -> None:
    (doc, _) = _documents()
    store = _through(bolt_proxy, neo4j, FAST_RETRIES)
    store.write_document(make_document("tr-warm-up", benchmarks=make_benchmarks(1, 1)))
    before = dump_graph(neo4j)
    with (
        bolt_proxy.toxic("limit_data", stream="upstream", bytes=64 * 1024),
        pytest.raises(TransientError),
    ):
        store.write_document(doc)
    store.close()
    assert _count(neo4j, "TestRun") == 1, "the cut transaction must leave no test run"
    assert _count(neo4j, "Metrics") == 1
    assert dump_graph(neo4j) == before, "nothing of the cut transaction may stay"
