"""Writing results to Neo4j: the project's writer vs one transaction per metric.

Writes RUNS test runs x BENCHMARKS benchmarks x SAMPLES samples (default 100 x 50 x 1,000)
into an emptied database, each writer ``--rounds`` times (interleaved, order rotated; min and
median), on loopback and again through Toxiproxy adding ``--latency-ms`` each way (with
``--latency-runs`` test runs). In process: both writers are library code. The goals:
per-metric/project >= 3x on loopback, >= 10x at 10 ms.

* ``project``: :class:`worker.resultsdb.neo4j.Neo4jResultsStore` -- one managed write
  transaction and one statement per test run, every benchmark's metrics and samples in one
  ``UNWIND $rows``;
* ``per-metric``: the original's pattern -- per test run one write transaction for the test
  run and its provenance, then one write transaction per metric (its group, benchmark and
  params merged, the metrics and samples created). It runs the project's own statements and
  parameters (``worker.resultsdb.cypher``, ``build_run_params``), so both leave the same graph
  and the comparison measures transactions and round trips only; it skips the project's
  idempotent clean-up step, which the original did not have.

Counted on the server: the transactions each write started (Neo4j's own transaction sequence,
read with ``SHOW TRANSACTIONS``), and the graph each write left (nodes by label,
relationships by type, stored samples), which must be the same for both writers.

Each writer first writes one warm-up test run (then the database is emptied again), so the
plans of both are compiled. Prints both times and the ratios against the goals.

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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.benchlib import goal_line, latency_proxy, ratio, rounds, summary  # noqa: E402
from tests.services.neo4j import run_neo4j  # noqa: E402
from worker.contract import Env  # noqa: E402
from worker.credentials import StoreCredentials  # noqa: E402
from worker.job import parse_job  # noqa: E402
from worker.results import BenchmarkResult, build_document  # noqa: E402
from worker.resultsdb import cypher  # noqa: E402
from worker.resultsdb.graph import build_run_params  # noqa: E402
from worker.resultsdb.neo4j import Neo4jResultsStore, RetryPolicy, open_driver  # noqa: E402

WRITERS = ("project", "per-metric")

#: The per-metric writer's statement for a test run itself (the project's steps, without the
#: idempotent clean-up the original did not have), one transaction per test run.
PER_METRIC_TEST_RUN = "\n".join(
    f"CALL {{{step}}}"
    for step in (
        cypher.UPSERT_TEST_RUN,
        cypher.LINK_PROVENANCE,
        cypher.LINK_DATASET,
        cypher.WRITE_FAILURES,
    )
)
GRAPH_COUNTS = """
MATCH (n) UNWIND labels(n) AS name RETURN 'node ' + name AS name, count(*) AS n
UNION ALL MATCH ()-[r]->() RETURN 'relationship ' + type(r) AS name, count(*) AS n
UNION ALL MATCH (m:Metrics) RETURN 'samples' AS name, sum(size(m.samples)) AS n
"""
#: The newest transaction of the database: this query's own (ids are ``<db>-transaction-<n>``).
TRANSACTION_SEQUENCE = """
SHOW TRANSACTIONS YIELD database, transactionId WHERE database = $database
RETURN max(toInteger(split(transactionId, '-transaction-')[1])) AS sequence
"""
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


def write_per_metric(driver: Any, database: str, docs: list[dict[str, Any]]) -> None:
    with driver.session(database=database) as session:
        for doc in docs:
            params = build_run_params(doc)
            session.execute_write(_per_metric_test_run, params)
            for row in params["rows"]:
                session.execute_write(_per_metric_metric, params["id"], params["tool"], row)


def _per_metric_test_run(tx: Any, params: dict[str, Any]) -> None:
    tx.run(PER_METRIC_TEST_RUN, {k: v for k, v in params.items() if k != "rows"}).consume()


def _per_metric_metric(tx: Any, test_run_id: str, tool: str, row: dict[str, Any]) -> None:
    tx.run(cypher.WRITE_METRICS, id=test_run_id, tool=tool, rows=[row]).consume()


def wipe(driver: Any, database: str) -> None:
    with driver.session(database=database) as session:
        session.run(WIPE).consume()


def graph_counts(driver: Any, database: str) -> dict[str, int]:
    """What the server holds: nodes by label, relationships by type, stored samples."""
    records, _, _ = driver.execute_query(GRAPH_COUNTS, database_=database)
    return {str(r["name"]): int(r["n"] or 0) for r in records}


def transaction_sequence(driver: Any, database: str) -> int:
    """The server's transaction counter for ``database`` (this query's own transaction)."""
    records, _, _ = driver.execute_query(
        TRANSACTION_SEQUENCE, database=database, database_=database
    )
    return int(records[0]["sequence"])


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


@dataclasses.dataclass
class Measured:
    times: list[float] = dataclasses.field(default_factory=list)
    transactions: set[int] = dataclasses.field(default_factory=set)
    graphs: list[dict[str, int]] = dataclasses.field(default_factory=list)


def measure(
    label: str, creds: StoreCredentials, args: argparse.Namespace, runs: int
) -> dict[str, Measured]:
    """Both writers, interleaved and rotated, ``args.rounds`` times each; the database is
    emptied before every write, and the transactions the server started for it and the graph
    it left are read from the server after it; every write must leave the same graph."""
    docs = make_documents(runs, args.benchmarks, args.samples, "run")
    warmup = make_documents(1, args.benchmarks, args.samples, "warmup")
    metrics, samples = runs * args.benchmarks, runs * args.benchmarks * args.samples
    store = Neo4jResultsStore(creds)
    # the same driver settings as the project's store (notifications off, timeouts)
    driver = open_driver(creds, RetryPolicy())
    db = creds.database
    measured = {name: Measured() for name in WRITERS}

    def write(name: str, batch: list[dict[str, Any]]) -> None:
        if name == "project":
            write_project(store, batch)
        else:
            write_per_metric(driver, db, batch)

    def contender(name: str) -> Callable[[], float]:
        def run() -> float:
            wipe(driver, db)
            before = transaction_sequence(driver, db)
            start = time.perf_counter()
            write(name, docs)
            elapsed = time.perf_counter() - start
            # the probes' own transactions are not the writer's
            measured[name].transactions.add(transaction_sequence(driver, db) - before - 1)
            graph = graph_counts(driver, db)
            if (graph.get("node Metrics"), graph.get("samples")) != (metrics, samples):
                raise SystemExit(f"{name}: wrote {graph}, expected {metrics} metrics")
            measured[name].graphs.append(graph)
            return elapsed

        return run

    try:
        for name in WRITERS:  # compile both writers' query plans
            wipe(driver, db)
            write(name, warmup)
        times = rounds({n: contender(n) for n in WRITERS}, args.rounds)
        wipe(driver, db)
    finally:
        driver.close()
        store.close()
    for name in WRITERS:
        measured[name].times = times[name]
    graph = measured["project"].graphs[0]
    if any(g != graph for m in measured.values() for g in m.graphs):
        raise SystemExit(f"the writes left different graphs: {measured}")
    print(
        f"{label}: {runs} runs x {args.benchmarks} benchmarks x {args.samples} samples, "
        f"{args.rounds} rounds interleaved"
    )
    for name, m in measured.items():
        txs = "/".join(str(t) for t in sorted(m.transactions))
        print(f"  {name:10s} {summary(m.times)}  ({txs} transactions on the server)")
    nodes = sum(n for k, n in graph.items() if k.startswith("node "))
    relationships = sum(n for k, n in graph.items() if k.startswith("relationship "))
    print(
        f"  both left the same graph: {nodes} nodes, {relationships} relationships, "
        f"{graph['node Metrics']} Metrics, {graph['samples']} samples"
    )
    return measured


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
        near = measure("loopback", creds, args, args.runs)
        with latency_proxy(port, args.latency_ms, Path(tmp)) as proxied:
            label = f"{args.latency_ms} ms each way (Toxiproxy)"
            far = measure(label, via_proxy(creds, proxied), args, args.latency_runs)
    for where, m, goal in (("on loopback", near, 3), (f"at {args.latency_ms} ms", far, 10)):
        value = ratio(m["per-metric"].times, m["project"].times)
        print(goal_line(f"per-metric/project {where} (medians)", value, goal, at_most=False))


if __name__ == "__main__":
    main()
