"""What only the Neo4j store has: its schema, its graph, its errors, outages and replays."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import neo4j as driver_api
import pytest

from scheduler.resultsync import sync_results
from scheduler.sandbox.processes import free_port
from tests.resultsdb.conftest import FAST_RETRIES, neo4j_credentials
from tests.resultsdb.documents import INJECTION_NAME, make_benchmarks, make_document
from tests.services.neo4j import Neo4jServer
from worker.contract import RESULTS_FILE, Env
from worker.credentials import StoreCredentials
from worker.errors import ConfigError, TransientError
from worker.params import ResultsStoreRef
from worker.results import BenchmarkResult, dump_document
from worker.resultsdb import cypher
from worker.resultsdb.base import JobRecord, ResultsFilter
from worker.resultsdb.factory import open_results_store
from worker.resultsdb.neo4j import Neo4jResultsStore, normalise_uri
from worker.resultsdb.sqlite import SqliteResultsStore
from worker.storage.local import LocalStore


def _query(server: Neo4jServer, statement: str, **params: Any) -> list[dict[str, Any]]:
    with driver_api.GraphDatabase.driver(server.uri, auth=(server.user, server.password)) as driver:
        records, _, _ = driver.execute_query(statement, params, database_=server.database)
        return [r.data() for r in records]


def _graph_counts(server: Neo4jServer) -> dict[str, int]:
    rows = _query(
        server,
        "MATCH (n) UNWIND labels(n) AS label RETURN label, count(*) AS n "
        "UNION ALL MATCH ()-[r]->() RETURN type(r) AS label, count(*) AS n",
    )
    return {r["label"]: r["n"] for r in rows}


def test_schema_constraints_exist_and_creating_them_again_is_fine(
    neo4j_store: Neo4jResultsStore, neo4j: Neo4jServer
) -> None:
    neo4j_store.ensure_schema()
    again = Neo4jResultsStore(neo4j_credentials(neo4j))
    again.ensure_schema()  # IF NOT EXISTS: no error the second time
    again.close()
    constraints = {
        (r["labelsOrTypes"][0], tuple(r["properties"]))
        for r in _query(neo4j, cypher.SHOW_CONSTRAINTS)
        if r["type"] == "UNIQUENESS"
    }
    assert ("TestRun", ("id",)) in constraints
    assert ("Job", ("id",)) in constraints
    assert ("Metrics", ("key",)) in constraints
    assert ("Benchmark", ("key",)) in constraints
    assert len(constraints) >= len(cypher.CONSTRAINTS)


def test_the_graph_has_the_original_model(
    neo4j_store: Neo4jResultsStore, neo4j: Neo4jServer
) -> None:
    neo4j_store.write_document(make_document("tr-1", benchmarks=make_benchmarks(6, 50)))
    [row] = _query(
        neo4j,
        """
        MATCH (tr:TestRun {id: 'tr-1'})
        MATCH (tr)-[:WITH_PROJECT]->(p:Project)
        MATCH (tr)-[:WITH_TOOL]->(:BenchmarkToolVersion)-[:VERSION_OF]->(t:BenchmarkTool)
        MATCH (tr)-[:WITH_JAVA]->(j:Java)
        MATCH (tr)-[:IN_ENVIRONMENT]->(:Environment)-[:HAS_INSTANCE]->(i:Instance)
        MATCH (tr)-[:HAS_CONFIG]->(:Neo4jConfig)
        MATCH (tr)-[:HAS_BENCHMARK_CONFIG]->(bc:BenchmarkConfig)
        MATCH (tr)-[:WITH_DATASET]->(d:Dataset)
        MATCH (t)-[:IMPLEMENTS]->(:BenchmarkGroup)-[:HAS_BENCHMARK]->(b:Benchmark)
              -[:HAS_PARAMS]->(:BenchmarkParams)
        MATCH (tr)-[:HAS_METRICS]->(m:Metrics)-[:METRICS_FOR]->(b)
        OPTIONAL MATCH (m)-[:HAS_PROFILES]->(pr:Profiles)
        RETURN p.version AS version, p.branch AS branch, t.name AS tool, j.args AS jvm_args,
               i.available_cores AS cores, bc.warmup_count AS warmup, d.uri AS dataset,
               tr.archive AS archive, tr.duration_ms AS duration_ms,
               count(DISTINCT m) AS metrics, count(DISTINCT pr) AS profiles
        """,
    )
    assert row == {
        "version": "5.26.0",
        "branch": "5.26",
        "tool": "jmh",
        "jvm_args": "-Xmx4g",
        "cores": 8,
        "warmup": 5,
        "dataset": "s3://datasets/5.26-enterprise-datasets/db.tgz",
        "archive": "s3://recordings/tr-1.tar.gz",
        "duration_ms": 3_600_000,
        "metrics": 6,
        "profiles": 1,
    }


def test_rewrites_and_a_second_run_leave_one_copy_of_everything(
    neo4j_store: Neo4jResultsStore, neo4j: Neo4jServer
) -> None:
    doc = make_document("tr-1", benchmarks=make_benchmarks(6, 50))
    neo4j_store.write_document(doc)
    once = _graph_counts(neo4j)
    neo4j_store.write_document(doc)
    second_writer = Neo4jResultsStore(neo4j_credentials(neo4j))
    second_writer.write_document(doc)
    second_writer.close()
    assert _graph_counts(neo4j) == once
    assert once["TestRun"] == 1 and once["Metrics"] == 6 and once["HAS_METRICS"] == 6

    # another test run of the same build shares the project, tool, java, benchmarks ...
    neo4j_store.write_document(make_document("tr-2", benchmarks=make_benchmarks(6, 50)))
    both = _graph_counts(neo4j)
    assert (both["TestRun"], both["Metrics"]) == (2, 12)
    for shared in ("Project", "BenchmarkTool", "Java", "Instance", "Benchmark", "Dataset"):
        assert both[shared] == once[shared], shared


def test_the_injection_attempt_deletes_nothing(
    neo4j_store: Neo4jResultsStore, neo4j: Neo4jServer
) -> None:
    neo4j_store.write_document(make_document("tr-1"))
    before = _graph_counts(neo4j)
    evil = BenchmarkResult(
        group="g", name=INJECTION_NAME, mode="avgt", unit="us/op", samples=(1.0, 2.0)
    )
    neo4j_store.write_document(make_document("tr-2", benchmarks=[evil]))
    after = _graph_counts(neo4j)
    assert after["TestRun"] == before["TestRun"] + 1
    assert after["Metrics"] == before["Metrics"] + 1
    names = _query(
        neo4j, "MATCH (b:Benchmark {simple_name: $n}) RETURN b.name AS name", n=evil.name
    )
    assert names == [{"name": INJECTION_NAME}]


def test_wrong_password_is_a_config_error_that_does_not_show_it(neo4j: Neo4jServer) -> None:
    wrong = "not-the-password-1234"
    store = Neo4jResultsStore(neo4j_credentials(neo4j, password=wrong), policy=FAST_RETRIES)
    with pytest.raises(ConfigError) as caught:
        store.write_document(make_document("tr-1"))
    store.close()
    message = str(caught.value)
    assert "authentication failed for user 'neo4j'" in message
    assert neo4j.uri in message
    assert Env.RESULTS_STORE_PASSWORD in message
    assert wrong not in message and neo4j.password not in message
    assert wrong not in repr(store.creds)


def test_an_unreachable_store_is_retried_then_transient() -> None:
    sleeps: list[float] = []
    creds = StoreCredentials(f"bolt://127.0.0.1:{free_port()}", "neo4j", "pw-never-shown-1")
    store = Neo4jResultsStore(creds, policy=FAST_RETRIES, sleep=sleeps.append)
    with pytest.raises(TransientError) as caught:
        store.write_document(make_document("tr-1"))
    store.close()
    assert len(sleeps) == FAST_RETRIES.attempts - 1
    assert "after 3 attempts" in str(caught.value)
    assert "results-sync" in str(caught.value)
    assert "pw-never-shown-1" not in str(caught.value)


def test_outage_then_sync_holds_exactly_what_no_outage_would(
    neo4j: Neo4jServer, tmp_path: Path
) -> None:
    store = Neo4jResultsStore(neo4j_credentials(neo4j), policy=FAST_RETRIES)
    objects = LocalStore(str(tmp_path / "results"))
    docs = [
        make_document(
            f"tr-{i}",
            run_id="run-7",
            started_at=f"2026-03-0{i + 1}T10:00:00+00:00",
            benchmarks=make_benchmarks(4, 100, seed=i),
        )
        for i in range(3)
    ]

    def publish(doc: dict[str, Any]) -> None:
        """The worker's order: the object store first, then the results store."""
        objects.put_bytes(f"run-7/{doc['run']['test_run_id']}/{RESULTS_FILE}", dump_document(doc))
        store.write_document(doc)

    publish(docs[0])
    neo4j.stop()
    try:
        for doc in docs[1:]:
            with pytest.raises(TransientError):
                publish(doc)
    finally:
        neo4j.start()
    assert objects.exists(f"run-7/tr-2/{RESULTS_FILE}")

    counts = sync_results(objects, store, run_id="run-7")
    # tr-0 arrived before the outage: already there, not written again
    assert (counts.found, counts.written, counts.already_there, counts.failed) == (3, 2, 1, 0)

    expected = SqliteResultsStore(tmp_path / "expected.sqlite")
    for doc in docs:
        expected.write_document(doc)
    flt = ResultsFilter()
    assert store.runs(flt) == expected.runs(flt)
    assert store.metrics(flt) == expected.metrics(flt)
    assert _graph_counts(neo4j)["Metrics"] == 12
    expected.close()
    store.close()


def test_jobs_are_never_orphaned(neo4j_store: Neo4jResultsStore, neo4j: Neo4jServer) -> None:
    neo4j_store.write_jobs(
        [
            JobRecord("job-a", "tr-a", name="w-0", status="RUNNING"),
            JobRecord("job-b", "tr-b", name="w-1", status="FAILED", status_reason="OOM"),
        ]
    )
    neo4j_store.write_document(make_document("tr-a"))
    orphans = _query(neo4j, "MATCH (j:Job) WHERE NOT ()-[:RUN_BY]->(j) RETURN j.id AS id")
    assert orphans == []
    rows = _query(
        neo4j,
        "MATCH (tr:TestRun)-[:RUN_BY]->(j:Job) "
        "RETURN tr.id AS run, j.id AS job, tr.document_version IS NOT NULL AS has_results "
        "ORDER BY run",
    )
    assert rows == [
        {"run": "tr-a", "job": "job-a", "has_results": True},
        {"run": "tr-b", "job": "job-b", "has_results": False},
    ]
    assert _graph_counts(neo4j)["TestRun"] == 2


def test_factory_opens_neo4j_from_the_environment(neo4j: Neo4jServer, tmp_path: Path) -> None:
    env = {
        Env.RESULTS_STORE_URI: neo4j.uri,
        Env.RESULTS_STORE_USER: neo4j.user,
        Env.RESULTS_STORE_PASSWORD: neo4j.password,
    }
    store = open_results_store(ResultsStoreRef(), workspace=tmp_path, environ=env)
    assert isinstance(store, Neo4jResultsStore)
    store.write_document(make_document("tr-1"))
    assert [r.test_run_id for r in store.runs(ResultsFilter())] == ["tr-1"]
    store.close()
    assert neo4j.password not in repr(store)


def test_factory_keeps_sqlite_the_default_and_refuses_unknown_schemes(tmp_path: Path) -> None:
    store = open_results_store(ResultsStoreRef(), workspace=tmp_path, environ={})
    assert isinstance(store, SqliteResultsStore)
    store.close()
    with pytest.raises(ConfigError, match="not supported"):
        open_results_store(ResultsStoreRef(uri="http://x"), workspace=tmp_path, environ={})
    with pytest.raises(ConfigError, match="no password"):
        open_results_store(
            ResultsStoreRef(uri="neo4j+s://db.example:7687", user="u"),
            workspace=tmp_path,
            environ={},
        )


def test_uri_schemes() -> None:
    assert normalise_uri("bolt+routing://h:7687") == "neo4j://h:7687"
    for uri in ("bolt://h:7687", "neo4j://h", "neo4j+s://h.example:7687"):
        assert normalise_uri(uri) == uri
    with pytest.raises(ConfigError, match="not a Neo4j scheme"):
        normalise_uri("http://h")
