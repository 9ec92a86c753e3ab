"""A history of test runs written through the real pipeline (``command`` tool, SQLite store).

Thirty runs of two timed commands, run by the worker as ``invoke run-worker`` does; from run
24 on, one of them sleeps three times as long (so that process start-up on a busy machine
cannot hide the shift): a regression at a known place, with raw samples.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

from scheduler.local import run_locally
from worker.job import parse_job

RUNS = 30
SHIFT_AT = 24
SLOW_BENCHMARK = "sleep"
STEADY_BENCHMARK = "true"


@dataclasses.dataclass(frozen=True)
class History:
    workspace: Path
    #: Test run ids, oldest first.
    test_run_ids: list[str]
    documents: list[dict[str, Any]]

    @property
    def sqlite(self) -> Path:
        return self.workspace / "results.sqlite"


def _job(run: int) -> Any:
    sleep = "0.09" if run >= SHIFT_AT else "0.03"
    return parse_job(
        {
            "tool": "command",
            "workload": "history",
            "warmup_count": 1,
            "measurement_count": 5,
            "forks": 1,
            "time_unit": "MILLISECONDS",
            "profilers": "",
            "neo4j_commit": hashlib.sha1(str(run).encode()).hexdigest(),
            "neo4j_version": "5.26.0",
            "neo4j_branch": "5.26",
            "neo4j_branch_owner": "neo4j",
            "tool_commit": "0" * 40,
            "tool_branch": "main",
            "tool_branch_owner": "neo4j",
            "parent_teamcity_build": "1",
            "teamcity_build": str(1000 + run),
            "triggered_by": "test",
            "commands": {SLOW_BENCHMARK: f"sleep {sleep}", STEADY_BENCHMARK: "true"},
        }
    )


def write_history(workspace: Path) -> History:
    ids, documents = [], []
    for run in range(RUNS):  # one run at a time: start times order the history
        done = run_locally([_job(run)], job_dir=workspace, workspace=workspace)
        assert done.exit_code == 0, done.reports[0].messages
        report = done.reports[0]
        assert report.document is not None
        ids.append(str(report.document["run"]["test_run_id"]))
        documents.append(report.document)
    return History(workspace, ids, documents)
