"""The worker pipeline: one job from its parameters to stored results.

fetch parameters -> fetch artifacts -> fetch dataset -> run the tool with profilers ->
results document (object store first, then the results store) -> recordings and logs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from worker import provenance
from worker.contract import (
    INTERRUPTED_FILE,
    RESULTS_FILE,
    RESULTS_STORE_PENDING,
    TOOL_LOG_FILE,
    WORKER_LOG_FILE,
    ExitCode,
)
from worker.errors import BenchInfraError, TransientError
from worker.fetch import fetch_artifacts, fetch_parameters
from worker.interrupt import STOP, JobInterruptedError
from worker.job import ErrorPolicy, Tool
from worker.params import ArtifactRef, JobParameters
from worker.profilers import ProfilerSet
from worker.progress import TransferProgress
from worker.recordings import upload_recordings, upload_tree
from worker.results import build_document, dump_document
from worker.storage import open_store
from worker.toolenv import tool_environment
from worker.tools import ToolContext, ToolOutcome, adapter_for

if TYPE_CHECKING:
    from worker.dataset import Dataset

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class WorkerOptions:
    parameters_uri: str
    workspace: Path
    job_id: str
    attempt: int = 1
    #: Echo the tool's output to stderr (Batch: the job's log); else only ``tool.log``.
    echo_tool_output: bool = True


@dataclasses.dataclass
class JobReport:
    exit_code: ExitCode
    test_run_id: str = ""
    results_uri: str = ""
    document: dict[str, Any] | None = None
    messages: list[str] = dataclasses.field(default_factory=list)
    #: Set when the job was stopped from outside (:mod:`worker.interrupt`).
    interrupted: JobInterruptedError | None = None


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
    """Run one job; never raises for the project's own errors: they become the exit code.

    A stop from outside (SIGTERM from Batch, Ctrl-C) ends the tool, keeps what the attempt
    has under ``interrupted/attempt-<n>/`` (logs, work dir, recordings, ``interrupted.json``)
    and exits 75 (SIGTERM: Batch retries) or 130 (Ctrl-C). ``results.json`` and the results
    store are left to the attempt that completes, so a retry leaves exactly one result.
    """
    with STOP.installed():
        return _run_job(opts)


def _run_job(opts: WorkerOptions) -> JobReport:
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
        started = _now()
        try:
            _execute(params, opts, dirs, report, started)
        except JobInterruptedError as exc:
            log.error("%s; keeping what this attempt has", exc)
            report.exit_code, report.interrupted = exc.exit_code, exc
            report.messages.append(str(exc))
            _keep_interrupted(params, opts, dirs, started, exc)
    _upload_logs(params, opts, dirs, report)
    return report


def _fetch_dataset(ref: ArtifactRef, cache_dir: Path) -> Dataset:
    """The dataset, with its download and extraction shown as they go (a bar on a terminal,
    a line every few seconds in a log)."""
    from worker.dataset import fetch_dataset  # tarfile, zstandard: only jobs with a dataset

    name = ref.uri.rstrip("/").rsplit("/", 1)[-1]
    progress = TransferProgress(f"dataset {name} (download + extract)", ref.size or None)
    try:
        return fetch_dataset(ref, cache_dir, progress)
    finally:
        progress.close()


def _execute(
    params: JobParameters, opts: WorkerOptions, dirs: _Dirs, report: JobReport, started: str
) -> None:
    try:
        artifacts = fetch_artifacts(params.artifacts, dirs.artifacts)
        dataset = (
            _fetch_dataset(params.dataset, opts.workspace / "cache" / "datasets")
            if params.dataset
            else None
        )
        outcome, warnings = _run_tool(
            params, artifacts, dataset.path if dataset else None, dirs, echo=opts.echo_tool_output
        )
    except JobInterruptedError:
        raise
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
    STOP.check()  # stopped while the recordings went up: the retry stores the result
    _store_results(params, opts, document, report)


def _keep_interrupted(
    params: JobParameters, opts: WorkerOptions, dirs: _Dirs, started: str, exc: JobInterruptedError
) -> None:
    """A small document saying what happened, beside the attempt's logs (not ``results.json``:
    ``results-sync`` must never replay an interrupted attempt)."""
    document = {
        "status": "INTERRUPTED",
        "test_run_id": params.test_run_id,
        "run_id": params.run_id,
        "job_id": opts.job_id,
        "attempt": opts.attempt,
        "started_at": started,
        "interrupted_at": _now(),
        "reason": str(exc),
        "exit_code": int(exc.exit_code),
    }
    try:
        open_store(params.results_uri).put_bytes(
            f"{_interrupted_prefix(opts.attempt)}/{INTERRUPTED_FILE}",
            json.dumps(document, indent=2, sort_keys=True).encode(),
            content_type="application/json",
        )
    except BenchInfraError as err:
        log.error("keeping the interrupted attempt's record failed: %s", err)


def _interrupted_prefix(attempt: int) -> str:
    return f"interrupted/attempt-{attempt}"


def _run_tool(
    params: JobParameters,
    artifacts: dict[str, Path],
    dataset: Path | None,
    dirs: _Dirs,
    *,
    echo: bool = True,
) -> tuple[ToolOutcome, list[str]]:
    job = params.job
    adapter = adapter_for(job.tool)
    profilers = ProfilerSet(
        job.profilers if job.tool != Tool.MACRO else (), jvm_tool=adapter.jvm_tool
    )
    env = tool_environment(os.environ, with_password=job.tool == Tool.MACRO)
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
            echo=echo,
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
    """Object store first (durable), then the results store.

    Once ``results.json`` is safe, a results-store outage must not make Batch run the whole
    benchmark again (exit 75 would): the job ends with its own verdict, a warning and the
    ``RESULTS_STORE_PENDING`` marker (a log line and an object next to ``results.json``) so
    ``invoke results-sync`` replays the document later.
    """
    from worker.resultsdb.factory import open_results_store  # imports a driver: not at start

    results = open_store(params.results_uri)
    try:
        info = results.put_bytes(
            RESULTS_FILE, dump_document(document), content_type="application/json"
        )
        log.info("results document written to %s", info.uri)
    except BenchInfraError as exc:
        _results_not_stored(params, report, exc)
        return
    try:
        with open_results_store(params.results_store, workspace=opts.workspace) as store:
            store.write_document(document)
        log.info("results stored in the results store")
    except TransientError as exc:
        message = (
            f"{RESULTS_STORE_PENDING}: the results store is unavailable ({exc}); the results "
            f"are safe in {info.uri}: replay them with invoke results-sync --results-uri "
            f"{params.results_uri.rsplit('/', 2)[0]} --run-id {params.run_id}"
        )
        log.warning("%s", message)
        report.messages.append(message)
        try:
            results.put_bytes(RESULTS_STORE_PENDING, (message + "\n").encode())
        except BenchInfraError as marker_exc:
            log.warning("could not write the %s marker: %s", RESULTS_STORE_PENDING, marker_exc)
    except BenchInfraError as exc:
        _results_not_stored(params, report, exc)


def _results_not_stored(params: JobParameters, report: JobReport, exc: BenchInfraError) -> None:
    log.error("storing results failed: %s", exc)
    report.messages.append(str(exc))
    if params.job.error_policy != ErrorPolicy.IGNORE and report.exit_code == ExitCode.OK:
        report.exit_code = exc.exit_code


def _upload_logs(
    params: JobParameters, opts: WorkerOptions, dirs: _Dirs, report: JobReport
) -> None:
    """Logs always; the work dir too; recordings as well when the job failed.

    An interrupted attempt's go under ``interrupted/attempt-<n>/``, where the retry's upload
    does not overwrite them.
    """
    base = _interrupted_prefix(opts.attempt) + "/" if report.interrupted else ""
    try:
        store = open_store(params.results_uri)
        upload_tree(store, dirs.logs, f"{base}logs")
        upload_tree(store, dirs.work, f"{base}work")
        if report.exit_code != ExitCode.OK:
            upload_tree(store, dirs.recordings, f"{base}recordings")
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
