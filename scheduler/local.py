"""Running a job on this machine through the same worker code, with embedded defaults.

Artifacts go to a local store under the workspace, results into the embedded SQLite store
there, recordings into a local directory. No AWS account is needed.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from scheduler.plan import RunPlan, prepare_run
from worker.job import Job
from worker.params import ResultsStoreRef
from worker.pipeline import JobReport, WorkerOptions, run_job
from worker.storage import ProgressCallback, open_store

STORE_DIR = "store"


@dataclasses.dataclass(frozen=True)
class LocalRun:
    plan: RunPlan
    reports: tuple[JobReport, ...]

    @property
    def exit_code(self) -> int:
        return max((int(r.exit_code) for r in self.reports), default=0)


def run_locally(
    jobs: Sequence[Job],
    *,
    job_dir: Path,
    workspace: Path,
    results_store: ResultsStoreRef | None = None,
    progress: ProgressCallback | None = None,
    on_prepared: Callable[[RunPlan], None] | None = None,
    verbose: bool = False,
) -> LocalRun:
    """Prepare the run in ``<workspace>/store`` and run each job in this process, in turn.

    ``on_prepared`` is called once the artifacts are stored, before the first job runs (the
    upload's progress display ends there, not after the benchmark). The tool's own output
    stays in each job's ``tool.log`` (one line per finished benchmark is shown) unless
    ``verbose``.
    """
    workspace = workspace.resolve()
    store = open_store(str(workspace / STORE_DIR))
    plan = prepare_run(jobs, store, job_dir=job_dir, results_store=results_store, progress=progress)
    if on_prepared is not None:
        on_prepared(plan)
    reports = tuple(
        run_job(
            WorkerOptions(
                job.parameters_uri,
                workspace,
                job_id=f"local-{uuid.uuid4()}",
                echo_tool_output=verbose,
            )
        )
        for job in plan.jobs
    )
    return LocalRun(plan, reports)
