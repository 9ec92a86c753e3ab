"""Writing results to Neo4j: the project's writer vs one transaction per metric.

Writes RUNS test runs x BENCHMARKS benchmarks x SAMPLES samples (default 100 x 50 x 1,000)
into an emptied database, each writer ``--rounds`` times (interleaved, order rotated; min and
median), on loopback and again through Toxiproxy adding ``--latency-ms`` each way (with
``--latency-runs`` test runs: the naive writer pays ~4 round trips per metric there). In
process: both writers are library code. The goals: naive/project >= 3x on loopback, >= 10x at
10 ms.

* ``project``: :class:`worker.resultsdb.neo4j.Neo4jResultsStore` -- one managed write
  transaction per test run, every benchmark's metrics and samples in one ``UNWIND $rows``;
* ``naive``: one write transaction per metric (merge the test run and the benchmark, create
  the metrics with its samples), as the original did; it still uses parameters, so the
  comparison measures round trips and transactions, not query-plan caching.

Each writer first writes one warm-up test run (then the database is emptied again), so the
JIT-compiled plans of both are warm. Prints both times and the ratios against the goals.

    python bench/neo4j_write.py                          # starts the test harness itself
    python bench/neo4j_write.py --uri bolt://127.0.0.1:7687 --user neo4j  # password from
                                                         # BENCH_RESULTS_STORE_PASSWORD
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import neo4j

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.benchlib import goal_line, latency_proxy, ratio, rounds, summary  # noqa: E402
from tests.services.neo4j import run_neo4j  # noqa: E402
from worker.contract import Env  # noqa: E402
from worker.credentials import StoreCredentials  # noqa: E402
from worker.job import parse_job  # noqa: E402
from worker.results import BenchmarkResult, build_document  # noqa: E402
from worker.resultsdb.neo4j import Neo4jResultsStore  # noqa: E402

NAIVE_WRITE_METRIC = """
MERGE (tr:TestRun {id: $test_run_id})
  ON CREATE SET tr.started_at = $started_at, tr.workload = $workload
MERGE (b:Benchmark {key: $benchmark_key})
  ON CREATE SET b.simple_name = $name, b.group = $group, b.mode = $mode
CREATE (tr)-[:HAS_METRICS]->(m:Metrics)-[:METRICS_FOR]->(b)
SET m = $metrics
"""
COUNT_SAMPLES = "MATCH (m:Metrics) RETURN count(m) AS metrics, sum(size(m.samples)) AS samples"
WIPE = "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 2000 ROWS"

JOB = {
    "tool": "jmh",
    "workload": "bench-write",
    "warmup_count": 1,
    "measurement_count": 1,
    "neo4j_commit": "c0ffee",
    "neo4j_version": "5.26.0",
    "neo4j_branch": "5.26",
    "neo4j_branch_owner": "neo4j",
    "tool_commit": "beef",
    "tool_branch": "main",
    "tool_branch_owner": "neo4j",
    "teamcity_build": "1",
    "parent_teamcity_build": "0",
    "triggered_by": "bench",
    "artifacts": {"benchmarks": "benchmarks.jar"},
}


def make_documents(runs: int, benchmarks: int, samples: int, prefix: str) -> list[dict[str, Any]]:
    rng = random.Random(7)
    job = parse_job(JOB).to_dict()
    docs = []
    for r in range(runs):
        results = [
            BenchmarkResult(
                group=f"org.bench.Group{b % 5}",
                name=f"bench{b:03d}",
                mode="avgt",
                unit="us/op",
                samples=tuple(rng.gauss(100 + b, 3) for _ in range(samples)),
                params={"size": str(b % 3)},
            )
            for b in range(benchmarks)
        ]
        started = f"2026-06-01T{r // 60:02d}:{r % 60:02d}:00+00:00"
        docs.append(
            build_document(
                run={
                    "test_run_id": f"{prefix}-{r:04d}",
                    "run_id": prefix,
                    "job_id": f"job-{r}",
                    "attempt": 1,
                    "started_at": started,
                    "finished_at": started,
                    "status": "SUCCEEDED",
                    "exit_code": 0,
                },
                job=job,
                provenance={"host": "bench", "cores": 2, "image": "local"},
                benchmarks=results,
                failures=[],
                recordings={},
            )
        )
    return docs


def write_project(store: Neo4jResultsStore, docs: list[dict[str, Any]]) -> None:
    for doc in docs:
        store.write_document(doc)


def write_naive(driver: Any, database: str, docs: list[dict[str, Any]]) -> None:
    with driver.session(database=database) as session:
        for doc in docs:
            run = doc["run"]
            for bench in doc["benchmarks"]:
                metrics = {
                    **bench["summary"],
                    "unit": bench["unit"],
                    "samples": bench["samples"],
                    "sample_size": len(bench["samples"]),
                }
                session.execute_write(
                    _naive_tx,
                    test_run_id=run["test_run_id"],
                    started_at=run["started_at"],
                    workload=doc["job"]["workload"],
                    benchmark_key=f"{bench['group']}/{bench['name']}/{bench['params']}",
                    name=bench["name"],
                    group=bench["group"],
                    mode=bench["mode"],
                    metrics=metrics,
                )


def _naive_tx(tx: Any, **params: Any) -> None:
    tx.run(NAIVE_WRITE_METRIC, params).consume()


def wipe(driver: Any, database: str) -> None:
    with driver.session(database=database) as session:
        session.run(WIPE).consume()


def count(driver: Any, database: str) -> tuple[int, int]:
    records, _, _ = driver.execute_query(COUNT_SAMPLES, database_=database)
    return int(records[0]["metrics"]), int(records[0]["samples"] or 0)


@contextmanager
def target(args: argparse.Namespace, workdir: Path) -> Iterator[StoreCredentials]:
    if args.uri:
        password = os.environ.get(Env.RESULTS_STORE_PASSWORD, "")
        yield StoreCredentials(args.uri, args.user, password, args.database, "environment")
        return
    print("starting the Neo4j test harness ...", file=sys.stderr)
    with run_neo4j(workdir) as server:
        yield StoreCredentials(server.uri, server.user, server.password, server.database)


def via_proxy(creds: StoreCredentials, port: int) -> StoreCredentials:
    scheme, _, _ = creds.uri.partition("://")
    return dataclasses.replace(creds, uri=f"{scheme}://127.0.0.1:{port}")


def measure(
    label: str, creds: StoreCredentials, args: argparse.Namespace, runs: int
) -> tuple[list[float], list[float]]:
    """Both writers, interleaved and rotated, ``args.rounds`` times each; the database is
    emptied before every write and the written metrics and samples are counted after it."""
    docs = make_documents(runs, args.benchmarks, args.samples, "run")
    warmup = make_documents(1, args.benchmarks, args.samples, "warmup")
    expected = (runs * args.benchmarks, runs * args.benchmarks * args.samples)
    store = Neo4jResultsStore(creds)
    driver = neo4j.GraphDatabase.driver(creds.uri, auth=(creds.user, creds.password))

    def write(name: str, batch: list[dict[str, Any]]) -> None:
        if name == "project":
            write_project(store, batch)
        else:
            write_naive(driver, creds.database, batch)

    def contender(name: str) -> Callable[[], float]:
        def run() -> float:
            wipe(driver, creds.database)
            start = time.perf_counter()
            write(name, docs)
            elapsed = time.perf_counter() - start
            got = count(driver, creds.database)
            if got != expected:
                raise SystemExit(f"{name}: wrote {got} (metrics, samples), expected {expected}")
            return elapsed

        return run

    try:
        for name in ("project", "naive"):  # warm both writers' query plans
            wipe(driver, creds.database)
            write(name, warmup)
        times = rounds({n: contender(n) for n in ("project", "naive")}, args.rounds)
        wipe(driver, creds.database)
    finally:
        driver.close()
        store.close()
    print(
        f"{label}: {runs} runs x {args.benchmarks} benchmarks x {args.samples} samples, "
        f"{args.rounds} rounds interleaved"
    )
    print(f"  project {summary(times['project'])}  ({runs} transactions)")
    print(f"  naive   {summary(times['naive'])}  ({expected[0]} transactions)")
    return times["project"], times["naive"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", help="Neo4j to use (default: start the test harness)")
    parser.add_argument("--user", default="neo4j")
    parser.add_argument("--database", default="neo4j")
    parser.add_argument("--runs", type=int, default=100, help="test runs on loopback")
    parser.add_argument(
        "--latency-runs", type=int, default=10, help="test runs behind the latency proxy"
    )
    parser.add_argument("--latency-ms", type=int, default=10, help="added each way")
    parser.add_argument("--benchmarks", type=int, default=50)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="neo4j-bench-") as tmp,
        target(args, Path(tmp)) as creds,
    ):
        port = int(creds.uri.rsplit(":", 1)[1])
        ours, naive = measure("loopback", creds, args, args.runs)
        loopback = ratio(naive, ours)
        with latency_proxy(port, args.latency_ms, Path(tmp)) as proxied:
            label = f"{args.latency_ms} ms each way (Toxiproxy)"
            ours, naive = measure(label, via_proxy(creds, proxied), args, args.latency_runs)
            latent = ratio(naive, ours)
    print(goal_line("naive/project on loopback", loopback, 3, at_most=False))
    print(goal_line(f"naive/project at {args.latency_ms} ms", latent, 10, at_most=False))


if __name__ == "__main__":
    main()
