"""The embedded results store: one SQLite file."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from worker.resultsdb.base import (
    JobRecord,
    MetricRow,
    Provenance,
    ResultsFilter,
    ResultsStore,
    RunRow,
)

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
-- The scheduler's Batch jobs; no foreign key: a job may be recorded before its results.
CREATE TABLE IF NOT EXISTS job (
    job_id TEXT PRIMARY KEY,
    test_run_id TEXT NOT NULL,
    name TEXT,
    queue TEXT,
    status TEXT,
    status_reason TEXT,
    log_stream_name TEXT,
    queued_at TEXT,
    started_at TEXT,
    done_at TEXT
);
CREATE INDEX IF NOT EXISTS job_test_run ON job(test_run_id);
"""

_JOB_COLUMNS = (
    "name",
    "queue",
    "status",
    "status_reason",
    "log_stream_name",
    "queued_at",
    "started_at",
    "done_at",
)
# Upsert; an empty or missing value never erases what an earlier write recorded.
_UPSERT_JOB = """
INSERT INTO job (job_id, test_run_id, name, queue, status, status_reason, log_stream_name,
                 queued_at, started_at, done_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(job_id) DO UPDATE SET
    test_run_id = excluded.test_run_id,
    name = coalesce(excluded.name, job.name),
    queue = coalesce(excluded.queue, job.queue),
    status = coalesce(excluded.status, job.status),
    status_reason = coalesce(excluded.status_reason, job.status_reason),
    log_stream_name = coalesce(excluded.log_stream_name, job.log_stream_name),
    queued_at = coalesce(excluded.queued_at, job.queued_at),
    started_at = coalesce(excluded.started_at, job.started_at),
    done_at = coalesce(excluded.done_at, job.done_at)
"""
_SELECT_JOBS = """
SELECT job_id, test_run_id, name, queue, status, status_reason, log_stream_name,
       queued_at, started_at, done_at
FROM job
WHERE :test_run_id IS NULL OR test_run_id = :test_run_id
ORDER BY coalesce(queued_at, ''), job_id
LIMIT :limit
"""
#: The filters of ``invoke results``, shared by both queries (a None parameter matches all).
_RUN_FILTER = """WHERE (:test_run_id IS NULL OR r.test_run_id = :test_run_id)
  AND (:workload IS NULL OR r.workload = :workload)
  AND (:branch IS NULL OR r.neo4j_branch = :branch)
  AND (:build IS NULL OR r.teamcity_build = :build)
  AND (:since IS NULL OR r.started_at >= :since)
  AND (:benchmark IS NULL OR EXISTS (
        SELECT 1 FROM metric m2 WHERE m2.test_run_id = r.test_run_id
        AND m2.benchmark = :benchmark))
"""
_SELECT_RUNS = (
    """
SELECT r.test_run_id, r.job_id, r.attempt, r.tool, r.workload, r.status,
       r.started_at, r.finished_at, r.neo4j_version, r.neo4j_branch, r.neo4j_commit,
       r.teamcity_build, r.triggered_by,
       (SELECT COUNT(*) FROM metric m WHERE m.test_run_id = r.test_run_id), r.failures
FROM test_run r
"""
    + _RUN_FILTER
    + """ORDER BY r.started_at DESC, r.test_run_id
LIMIT :limit
"""
)
_SELECT_METRICS = (
    """
SELECT r.test_run_id, r.started_at, r.workload, m.grp, m.benchmark, m.params,
       m.mode, m.unit, m.summary, m.samples
FROM metric m JOIN test_run r ON r.test_run_id = m.test_run_id
"""
    + _RUN_FILTER
    + """  AND (:benchmark IS NULL OR m.benchmark = :benchmark)
ORDER BY r.started_at DESC, r.test_run_id, m.grp, m.benchmark, m.params
LIMIT :limit
"""
)


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

    @staticmethod
    def _filter_args(flt: ResultsFilter) -> dict[str, Any]:
        return {
            "test_run_id": flt.test_run_id,
            "workload": flt.workload,
            "branch": flt.branch,
            "build": flt.build,
            "since": flt.since,
            "benchmark": flt.benchmark,
            "limit": flt.limit,
        }

    def runs(self, flt: ResultsFilter) -> list[RunRow]:
        rows = self._db.execute(_SELECT_RUNS, self._filter_args(flt)).fetchall()
        return [RunRow(*row) for row in rows]

    def metrics(self, flt: ResultsFilter) -> list[MetricRow]:
        rows = self._db.execute(_SELECT_METRICS, self._filter_args(flt)).fetchall()
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

    def provenance(self, test_run_ids: Sequence[str]) -> dict[str, Provenance]:
        wanted = list(dict.fromkeys(test_run_ids))
        out: dict[str, Provenance] = {}
        for start in range(0, len(wanted), 500):  # under SQLite's bound-parameter limit
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT document FROM test_run WHERE test_run_id IN ({marks})", chunk
            ).fetchall()
            for (document,) in rows:
                prov = Provenance.from_document(json.loads(document))
                out[prov.test_run_id] = prov
        return out

    def write_jobs(self, records: Sequence[JobRecord]) -> None:
        rows = [
            (
                r.job_id,
                r.test_run_id,
                *(getattr(r, c) if getattr(r, c) not in ("", None) else None for c in _JOB_COLUMNS),
            )
            for r in records
        ]
        with self._db:
            self._db.executemany(_UPSERT_JOB, rows)

    def jobs(self, test_run_id: str | None = None, limit: int = 1000) -> list[JobRecord]:
        rows = self._db.execute(
            _SELECT_JOBS, {"test_run_id": test_run_id, "limit": limit}
        ).fetchall()
        return [
            JobRecord(
                job_id=row[0],
                test_run_id=row[1],
                name=row[2] or "",
                queue=row[3] or "",
                status=row[4] or "",
                status_reason=row[5] or "",
                log_stream_name=row[6] or "",
                queued_at=row[7],
                started_at=row[8],
                done_at=row[9],
            )
            for row in rows
        ]

    def close(self) -> None:
        self._db.close()
