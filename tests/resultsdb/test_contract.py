"""The results-store contract, run against the embedded SQLite store and a real Neo4j."""

from __future__ import annotations

import dataclasses

import pytest

from tests.resultsdb.documents import INJECTION_NAME, make_benchmarks, make_document, make_job
from worker.results import BenchmarkFailure, BenchmarkResult
from worker.resultsdb.base import JobRecord, Provenance, ResultsFilter, ResultsStore
from worker.resultsdb.neo4j import Neo4jResultsStore
from worker.resultsdb.sqlite import SqliteResultsStore


def test_round_trip_keeps_every_sample(store: ResultsStore) -> None:
    benchmarks = make_benchmarks(8, 1000)
    doc = make_document("tr-1", benchmarks=benchmarks)
    store.write_document(doc)

    [run] = store.runs(ResultsFilter())
    assert run.test_run_id == "tr-1"
    assert run.job_id == "batch-tr-1"
    assert run.attempt == 1
    assert (run.tool, run.workload, run.status) == ("jmh", "accesscontrol", "SUCCEEDED")
    assert run.started_at == "2026-01-10T10:00:00+00:00"
    assert run.finished_at == "2026-01-10T11:00:00+00:00"
    assert (run.neo4j_version, run.neo4j_branch) == ("5.26.0", "5.26")
    assert run.neo4j_commit == "f3fb07ec92527f740e527e4d128c5c1faf12b8a9"
    assert (run.teamcity_build, run.triggered_by) == ("5531608", "new_infra")
    assert (run.benchmarks, run.failures) == (8, 0)

    rows = store.metrics(ResultsFilter())
    assert len(rows) == 8
    written = {b.key: b for b in benchmarks}
    for row in rows:
        original = written[row.key]
        assert row.samples == original.samples  # every sample, in order
        assert dict(row.params) == dict(original.params)
        assert (row.group, row.benchmark, row.mode, row.unit) == (
            original.group,
            original.name,
            original.mode,
            original.unit,
        )
        assert dict(row.summary) == original.to_dict()["summary"]
        assert row.workload == "accesscontrol"


def test_writing_the_same_test_run_again_leaves_one_copy(store: ResultsStore) -> None:
    store.write_document(make_document("tr-1", benchmarks=make_benchmarks(5, 20, seed=1)))
    retried = make_document("tr-1", benchmarks=make_benchmarks(4, 30, seed=2), attempt=2)
    store.write_document(retried)
    store.write_document(retried)

    [run] = store.runs(ResultsFilter())
    assert (run.attempt, run.benchmarks) == (2, 4)
    rows = store.metrics(ResultsFilter())
    assert len(rows) == 4
    assert {r.samples for r in rows} == {b.samples for b in make_benchmarks(4, 30, seed=2)}


def test_failures_are_counted(store: ResultsStore) -> None:
    doc = make_document(
        "tr-f",
        benchmarks=make_benchmarks(2, 5),
        failures=[BenchmarkFailure("org.example.Group0/broken", "OutOfMemoryError")],
    )
    store.write_document(doc)
    [run] = store.runs(ResultsFilter())
    assert (run.status, run.benchmarks, run.failures) == ("FAILED", 2, 1)


def test_filters_and_order(store: ResultsStore) -> None:
    store.write_document(
        make_document(
            "old", started_at="2026-01-01T10:00:00+00:00", benchmarks=make_benchmarks(2, 5)
        )
    )
    store.write_document(
        make_document(
            "new",
            started_at="2026-02-01T10:00:00+00:00",
            benchmarks=make_benchmarks(3, 5, prefix="other"),
            job=make_job(workload="ldbc", neo4j_branch="dev", teamcity_build="42"),
        )
    )
    assert [r.test_run_id for r in store.runs(ResultsFilter())] == ["new", "old"]
    assert [r.test_run_id for r in store.runs(ResultsFilter(workload="ldbc"))] == ["new"]
    assert [r.test_run_id for r in store.runs(ResultsFilter(branch="5.26"))] == ["old"]
    assert [r.test_run_id for r in store.runs(ResultsFilter(build="42"))] == ["new"]
    assert [r.test_run_id for r in store.runs(ResultsFilter(since="2026-01-15"))] == ["new"]
    assert [r.test_run_id for r in store.runs(ResultsFilter(test_run_id="old"))] == ["old"]
    assert [r.test_run_id for r in store.runs(ResultsFilter(benchmark="bench001"))] == ["old"]
    assert [r.test_run_id for r in store.runs(ResultsFilter(limit=1))] == ["new"]
    assert store.runs(ResultsFilter(workload="nope")) == []

    rows = store.metrics(ResultsFilter(benchmark="other002"))
    assert [(r.test_run_id, r.benchmark) for r in rows] == [("new", "other002")]
    assert [r.test_run_id for r in store.metrics(ResultsFilter())] == ["new"] * 3 + ["old"] * 2
    assert len(store.metrics(ResultsFilter(limit=4))) == 4


def test_an_injection_attempt_is_stored_as_a_name(store: ResultsStore) -> None:
    evil = BenchmarkResult(
        group="g'; DROP TABLE metric; --",
        name=INJECTION_NAME,
        mode="avgt",
        unit="us/op",
        samples=(1.0, 2.0, 3.0),
        params={"p'}) DETACH DELETE n //": "'; DELETE FROM job; --"},
    )
    store.write_document(make_document("tr-1", benchmarks=make_benchmarks(2, 5)))
    store.write_document(make_document("tr-2", benchmarks=[evil]))

    assert len(store.runs(ResultsFilter())) == 2
    [row] = store.metrics(ResultsFilter(benchmark=INJECTION_NAME))
    assert (row.benchmark, row.group) == (INJECTION_NAME, evil.group)
    assert dict(row.params) == dict(evil.params)
    assert len(store.metrics(ResultsFilter(test_run_id="tr-1"))) == 2


def test_job_records_before_and_after_results(store: ResultsStore) -> None:
    queued = JobRecord(
        job_id="job-1",
        test_run_id="tr-1",
        name="accesscontrol-0",
        queue="m5d-large",
        status="RUNNABLE",
        queued_at="2026-01-10T09:59:00+00:00",
    )
    store.write_jobs([queued])
    # a job recorded before its results: no run is listed yet, the job is kept
    assert store.runs(ResultsFilter()) == []
    assert store.jobs("tr-1") == [queued]

    store.write_document(make_document("tr-1", benchmarks=make_benchmarks(2, 5)))
    done = dataclasses.replace(
        queued,
        status="SUCCEEDED",
        status_reason="Essential container in task exited",
        log_stream_name="bench/default/abc",
        queued_at=None,
        started_at="2026-01-10T10:00:00+00:00",
        done_at="2026-01-10T11:00:00+00:00",
    )
    store.write_jobs([done])
    store.write_jobs([done])  # the watch loop's finally may write twice

    [run] = store.runs(ResultsFilter())
    assert run.test_run_id == "tr-1"
    assert store.jobs("tr-1") == [dataclasses.replace(done, queued_at=queued.queued_at)]
    assert store.jobs() == store.jobs("tr-1")
    assert store.jobs("other") == []
    # results written again (a replay) keep the job
    store.write_document(make_document("tr-1", benchmarks=make_benchmarks(2, 5)))
    assert len(store.jobs("tr-1")) == 1


@pytest.mark.parametrize("flt", [ResultsFilter(), ResultsFilter(benchmark="bench001")])
def test_both_stores_answer_alike(
    sqlite_store: SqliteResultsStore, neo4j_store: Neo4jResultsStore, flt: ResultsFilter
) -> None:
    docs = [
        make_document(
            f"tr-{i}",
            started_at=f"2026-01-1{i}T10:00:00+00:00",
            benchmarks=make_benchmarks(5, 40, seed=i),
        )
        for i in range(3)
    ]
    for doc in docs:
        sqlite_store.write_document(doc)
        neo4j_store.write_document(doc)
    assert neo4j_store.runs(flt) == sqlite_store.runs(flt)
    assert neo4j_store.metrics(flt) == sqlite_store.metrics(flt)


def test_provenance_of_test_runs(store: ResultsStore) -> None:
    store.write_document(make_document("tr-1"))
    store.write_document(
        make_document("tr-2", provenance={"jdk_version": "21.0.2", "dataset": None})
    )
    found = store.provenance(["tr-1", "tr-2", "tr-missing"])
    assert sorted(found) == ["tr-1", "tr-2"]
    first = found["tr-1"]
    assert first == Provenance(
        test_run_id="tr-1",
        tool="jmh",
        instance_type="m5d.xlarge",
        cpu_model="Intel Xeon Platinum 8175M",
        cores=8,
        memory_mib=32768,
        jdk="17.0.15",
        kernel="Linux 5.10",
        jvm_args="-Xmx4g",
        dataset_sha256="cd" * 32,
        image="benchmarks-worker:openjdk_17",
        commit="f3fb07ec92527f740e527e4d128c5c1faf12b8a9",
        branch="5.26",
        build="5531608",
    )
    assert (found["tr-2"].jdk, found["tr-2"].dataset_sha256) == ("21.0.2", "")
