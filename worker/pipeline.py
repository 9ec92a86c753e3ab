"""The worker pipeline: one job from its parameters to stored results.

fetch parameters -> fetch artifacts -> fetch dataset -> run the tool with profilers ->
results document (object store first, then the results store) -> recordings and logs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from worker import provenance
from worker.contract import (
    RESULTS_FILE,
    TOOL_LOG_FILE,
    WORKER_LOG_FILE,
    Env,
    ExitCode,
)
from worker.errors import BenchInfraError
from worker.fetch import fetch_artifacts, fetch_parameters
from worker.job import ErrorPolicy, Tool
from worker.params import JobParameters
from worker.profilers import ProfilerSet
from worker.recordings import upload_recordings, upload_tree
from worker.results import build_document, dump_document
from worker.storage import open_store
from worker.tools import ToolContext, ToolOutcome, adapter_for

log = logging.getLogger(__name__)

#: Variables never passed to benchmark processes (the macro tool gets the password back).
_SECRET_ENV = (Env.RESULTS_STORE_PASSWORD, "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


@dataclasses.dataclass(frozen=True)
class WorkerOptions:
    parameters_uri: str
    workspace: Path
    job_id: str
    attempt: int = 1


@dataclasses.dataclass
class JobReport:
    exit_code: ExitCode
    test_run_id: str = ""
    results_uri: str = ""
    document: dict[str, Any] | None = None
    messages: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class _Dirs:
    root: Path

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def recordings(self) -> Path:
        return self.root / "recordings"

    @property
    def logs(self) -> Path:
        return self.root / "logs"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def run_job(opts: WorkerOptions) -> JobReport:
    """Run one job; never raises for the project's own errors: they become the exit code."""
    report = JobReport(ExitCode.OK)
    try:
        params = fetch_parameters(opts.parameters_uri)
    except BenchInfraError as exc:
        log.error("%s", exc)
        return JobReport(exc.exit_code, messages=[str(exc)])
    report.test_run_id, report.results_uri = params.test_run_id, params.results_uri
    dirs = _Dirs(opts.workspace / "jobs" / params.test_run_id)
    shutil.rmtree(dirs.root, ignore_errors=True)
    for d in (dirs.artifacts, dirs.work, dirs.recordings, dirs.logs):
        d.mkdir(parents=True)
    with _log_to(dirs.logs / WORKER_LOG_FILE):
        log.info(
            "job %s attempt %d: test run %s of run %s (%s, workload %s)",
            opts.job_id,
            opts.attempt,
            params.test_run_id,
            params.run_id,
            params.job.tool.value,
            params.job.workload,
        )
        _execute(params, opts, dirs, report)
    _upload_logs(params, dirs, report)
    return report


def _execute(params: JobParameters, opts: WorkerOptions, dirs: _Dirs, report: JobReport) -> None:
    started = _now()
    try:
        from worker.dataset import fetch_dataset  # tarfile, zstandard: only jobs with a dataset

        artifacts = fetch_artifacts(params.artifacts, dirs.artifacts)
        dataset = (
            fetch_dataset(params.dataset, opts.workspace / "cache" / "datasets")
            if params.dataset
            else None
        )
        outcome, warnings = _run_tool(params, artifacts, dataset.path if dataset else None, dirs)
    except BenchInfraError as exc:
        log.error("%s", exc)
        report.exit_code = exc.exit_code
        report.messages.append(str(exc))
        return
    status, report.exit_code = _judge(params.job.error_policy, outcome)
    for failure in outcome.failures:
        log.error("benchmark %s failed: %s", failure.benchmark, failure.message)
    recordings_store = open_store(params.recordings_base_uri)
    uploaded, archive = upload_recordings(
        recordings_store, params.test_run_id, outcome.recordings, dirs.root
    )
    benchmarks = [
        dataclasses.replace(b, recordings=tuple(uploaded.get(b.key, ())))
        for b in outcome.benchmarks
    ]
    document = build_document(
        run={
            "test_run_id": params.test_run_id,
            "run_id": params.run_id,
            "job_id": opts.job_id,
            "attempt": opts.attempt,
            "started_at": started,
            "finished_at": _now(),
            "status": status,
            "exit_code": int(report.exit_code),
            "warnings": warnings,
        },
        job=params.job.to_dict(),
        provenance=_provenance(params, dataset_sha=dataset.sha256 if dataset else None),
        benchmarks=benchmarks,
        failures=outcome.failures,
        recordings={"archive": archive, "prefix": recordings_store.uri(params.test_run_id)},
    )
    report.document = document
    _store_results(params, opts, document, report)


def _run_tool(
    params: JobParameters, artifacts: dict[str, Path], dataset: Path | None, dirs: _Dirs
) -> tuple[ToolOutcome, list[str]]:
    job = params.job
    adapter = adapter_for(job.tool)
    profilers = ProfilerSet(
        job.profilers if job.tool != Tool.MACRO else (), jvm_tool=adapter.jvm_tool
    )
    env = {k: v for k, v in os.environ.items() if k not in _SECRET_ENV}
    if job.tool == Tool.MACRO and Env.RESULTS_STORE_PASSWORD in os.environ:
        env[Env.RESULTS_STORE_PASSWORD] = os.environ[Env.RESULTS_STORE_PASSWORD]
    with (dirs.logs / TOOL_LOG_FILE).open("w") as tool_log:
        ctx = ToolContext(
            job=job,
            artifacts=artifacts,
            dataset=dataset,
            work_dir=dirs.work,
            recordings_dir=dirs.recordings,
            profilers=profilers,
            tool_log=tool_log,
            env=env,
            results_store=params.results_store,
        )
        log.info(
            "running %s with %s",
            job.tool.value,
            ", ".join(map(str, job.profilers)) or "no profilers",
        )
        outcome = adapter.run(ctx)
    log.info("%d benchmarks measured, %d failed", len(outcome.benchmarks), len(outcome.failures))
    return outcome, profilers.warnings


def _judge(policy: ErrorPolicy, outcome: ToolOutcome) -> tuple[str, ExitCode]:
    """The error policy, applied: (status, exit code)."""
    if not outcome.benchmarks and not outcome.failures:
        return "FAILED", ExitCode.BENCHMARK_FAILED
    if not outcome.failures or policy == ErrorPolicy.IGNORE:
        return "SUCCEEDED", ExitCode.OK
    return "FAILED", ExitCode.BENCHMARK_FAILED


def _provenance(params: JobParameters, dataset_sha: str | None) -> dict[str, Any]:
    facts = provenance.collect(params.job.jvm)
    facts["artifacts"] = {name: ref.sha256 for name, ref in sorted(params.artifacts.items())}
    facts["dataset"] = (
        {"uri": params.dataset.uri, "sha256": dataset_sha} if params.dataset else None
    )
    return facts


def _store_results(
    params: JobParameters, opts: WorkerOptions, document: dict[str, Any], report: JobReport
) -> None:
    """Object store first (durable), then the results store."""
    from worker.resultsdb.factory import open_results_store  # imports a driver: not at start

    results = open_store(params.results_uri)
    try:
        info = results.put_bytes(
            RESULTS_FILE, dump_document(document), content_type="application/json"
        )
        log.info("results document written to %s", info.uri)
        with open_results_store(params.results_store, workspace=opts.workspace) as store:
            store.write_document(document)
        log.info("results stored in the results store")
    except BenchInfraError as exc:
        log.error("storing results failed: %s", exc)
        report.messages.append(str(exc))
        if params.job.error_policy != ErrorPolicy.IGNORE and report.exit_code == ExitCode.OK:
            report.exit_code = exc.exit_code


def _upload_logs(params: JobParameters, dirs: _Dirs, report: JobReport) -> None:
    """Logs always; the work dir too; recordings as well when the job failed."""
    try:
        store = open_store(params.results_uri)
        upload_tree(store, dirs.logs, "logs")
        upload_tree(store, dirs.work, "work")
        if report.exit_code != ExitCode.OK:
            upload_tree(store, dirs.recordings, "recordings")
    except BenchInfraError as exc:
        log.error("uploading logs failed: %s", exc)
        if report.exit_code == ExitCode.OK:
            report.exit_code = exc.exit_code


@contextmanager
def _log_to(path: Path) -> Iterator[None]:
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    level = root.level
    root.setLevel(min(level, logging.INFO) if level else logging.INFO)
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()
