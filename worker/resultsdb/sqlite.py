"""The embedded results store: one SQLite file."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from worker.resultsdb.base import MetricRow, ResultsFilter, ResultsStore, RunRow

_SCHEMA = """
CREATE TABLE IF NOT EXISTS test_run (
    test_run_id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    tool TEXT NOT NULL,
    workload TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    neo4j_version TEXT NOT NULL,
    neo4j_branch TEXT NOT NULL,
    neo4j_commit TEXT NOT NULL,
    teamcity_build TEXT NOT NULL,
    triggered_by TEXT NOT NULL,
    failures INTEGER NOT NULL,
    document TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS metric (
    test_run_id TEXT NOT NULL REFERENCES test_run(test_run_id) ON DELETE CASCADE,
    grp TEXT NOT NULL,
    benchmark TEXT NOT NULL,
    params TEXT NOT NULL,
    mode TEXT NOT NULL,
    unit TEXT NOT NULL,
    summary TEXT NOT NULL,
    samples TEXT NOT NULL,
    PRIMARY KEY (test_run_id, grp, benchmark, params)
);
CREATE INDEX IF NOT EXISTS test_run_started ON test_run(started_at);
"""


class SqliteResultsStore(ResultsStore):
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.executescript(_SCHEMA)

    def write_document(self, document: Mapping[str, Any]) -> None:
        run, job = document["run"], document["job"]
        with self._db:  # one transaction: the run and all its metrics, or nothing
            self._db.execute("DELETE FROM test_run WHERE test_run_id = ?", (run["test_run_id"],))
            self._db.execute(
                "INSERT INTO test_run VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    run["test_run_id"],
                    run["job_id"],
                    int(run["attempt"]),
                    job["tool"],
                    job["workload"],
                    run["status"],
                    run["started_at"],
                    run["finished_at"],
                    job["neo4j_version"],
                    job["neo4j_branch"],
                    job["neo4j_commit"],
                    job["teamcity_build"],
                    job["triggered_by"],
                    len(document["failures"]),
                    json.dumps(document, sort_keys=True),
                ),
            )
            self._db.executemany(
                "INSERT INTO metric VALUES (?,?,?,?,?,?,?,?)",
                [
                    (
                        run["test_run_id"],
                        b["group"],
                        b["name"],
                        json.dumps(b["params"], sort_keys=True),
                        b["mode"],
                        b["unit"],
                        json.dumps(b["summary"]),
                        json.dumps(b["samples"]),
                    )
                    for b in document["benchmarks"]
                ],
            )

    def _where(self, flt: ResultsFilter) -> tuple[str, list[Any]]:
        clauses, args = [], []
        for column, value in (
            ("r.test_run_id", flt.test_run_id),
            ("r.workload", flt.workload),
            ("r.neo4j_branch", flt.branch),
            ("r.teamcity_build", flt.build),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        if flt.since is not None:
            clauses.append("r.started_at >= ?")
            args.append(flt.since)
        if flt.benchmark is not None:
            clauses.append(
                "EXISTS (SELECT 1 FROM metric m2 WHERE m2.test_run_id = r.test_run_id"
                " AND m2.benchmark = ?)"
            )
            args.append(flt.benchmark)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args

    def runs(self, flt: ResultsFilter) -> list[RunRow]:
        where, args = self._where(flt)
        rows = self._db.execute(
            "SELECT r.test_run_id, r.job_id, r.attempt, r.tool, r.workload, r.status,"
            " r.started_at, r.finished_at, r.neo4j_version, r.neo4j_branch, r.neo4j_commit,"
            " r.teamcity_build, r.triggered_by,"
            " (SELECT COUNT(*) FROM metric m WHERE m.test_run_id = r.test_run_id), r.failures"
            f" FROM test_run r{where} ORDER BY r.started_at DESC LIMIT ?",
            [*args, flt.limit],
        ).fetchall()
        return [RunRow(*row) for row in rows]

    def metrics(self, flt: ResultsFilter) -> list[MetricRow]:
        where, args = self._where(flt)
        if flt.benchmark is not None:
            where += " AND m.benchmark = ?"
            args.append(flt.benchmark)
        rows = self._db.execute(
            "SELECT r.test_run_id, r.started_at, r.workload, m.grp, m.benchmark, m.params,"
            " m.mode, m.unit, m.summary, m.samples"
            f" FROM metric m JOIN test_run r ON r.test_run_id = m.test_run_id{where}"
            " ORDER BY r.started_at DESC, m.grp, m.benchmark LIMIT ?",
            [*args, flt.limit],
        ).fetchall()
        return [
            MetricRow(
                test_run_id=r[0],
                started_at=r[1],
                workload=r[2],
                group=r[3],
                benchmark=r[4],
                params=json.loads(r[5]),
                mode=r[6],
                unit=r[7],
                summary=json.loads(r[8]),
                samples=tuple(json.loads(r[9])),
            )
            for r in rows
        ]

    def close(self) -> None:
        self._db.close()
