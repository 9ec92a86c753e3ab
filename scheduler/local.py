"""Running a job on this machine through the same worker code, with embedded defaults.

Artifacts go to a local store under the workspace, results into the embedded SQLite store
there, recordings into a local directory. No AWS account is needed.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from scheduler.jobcheck import load_checked_job
from scheduler.plan import RunPlan, prepare_run
from scheduler.progress import TransferProgress, local_artifact_bytes
from worker.errors import ConfigError
from worker.job import Job
from worker.params import ResultsStoreRef
from worker.pipeline import JobReport, WorkerOptions, run_job
from worker.resultsdb import ResultsFilter, RunRow
from worker.resultsdb.factory import open_results_store
from worker.storage import ProgressCallback, open_store

STORE_DIR = "store"


@dataclasses.dataclass(frozen=True)
class LocalRun:
    plan: RunPlan
    reports: tuple[JobReport, ...]

    @property
    def exit_code(self) -> int:
        return max((int(r.exit_code) for r in self.reports), default=0)

    @property
    def failure(self) -> str:
        """Why the run failed, in one line (empty when it did not)."""
        if not self.exit_code:
            return ""
        messages = [m for r in self.reports for m in r.messages]
        return "; ".join(messages) or "the benchmark job failed; see the results above"


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
                array_index=job.array_index,
                echo_tool_output=verbose,
            )
        )
        for job in plan.jobs
    )
    return LocalRun(plan, reports)


@dataclasses.dataclass(frozen=True)
class LocalRunResult:
    run: LocalRun
    #: The stored runs of the jobs, read back from the results store the worker wrote to.
    rows: tuple[RunRow, ...]


def run_job_file(
    job_file: Path | None,
    overrides: dict[str, Any],
    *,
    workspace: Path,
    results_store: ResultsStoreRef,
    progress: Callable[[int], TransferProgress] | None = None,
    verbose: bool = False,
) -> LocalRunResult:
    """``run-worker``: validate the job (file and/or options), run it here, and read back what
    the results store holds for it (the embedded store unless one is configured).

    ``progress(total bytes)`` makes the upload's display; it ends before the benchmark runs.
    """
    job, job_dir = load_checked_job(job_file, overrides, runs_here=True)
    if workspace.exists() and not workspace.is_dir():
        raise ConfigError(f"workspace (--workspace): {workspace} is not a directory")
    shown = progress(local_artifact_bytes([job], job_dir)) if progress else None
    try:
        run = run_locally(
            [job],
            job_dir=job_dir,
            workspace=workspace,
            results_store=results_store,
            progress=shown,
            on_prepared=lambda _plan: shown.close() if shown else None,
            verbose=verbose,
        )
    finally:
        if shown:
            shown.close()
    with open_results_store(results_store, workspace=workspace.resolve()) as store:
        rows = tuple(
            r for p in run.plan.jobs for r in store.runs(ResultsFilter(test_run_id=p.test_run_id))
        )
    return LocalRunResult(run, rows)
