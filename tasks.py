"""benchmark-infra's command line: every operational workflow is a task here.

Each task resolves its options (falling back to ``invoke.yaml``), calls one function of the
``scheduler`` or ``worker`` packages, renders the result, and turns the project's errors into
``Exit`` with a documented code (2 bad input, 1 tooling failure, 3 benchmark jobs failed,
75 transient infrastructure failure). ``invoke --list`` shows them all.
"""

from __future__ import annotations

import inspect
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from invoke import Context, Exit, task

from worker.errors import BenchInfraError
from worker.job import FIELDS

REPO = Path(__file__).resolve().parent
JOB_FIELD_NAMES = [f.name for f in FIELDS if f.name not in {"artifacts", "commands"}]
JOB_HELP = {f.name: f.help for f in FIELDS if f.name in JOB_FIELD_NAMES}


def _setting(c: Context, key: str, value: Any = None) -> Any:
    """An option's value, else the ``bench.<key>`` setting of invoke.yaml / INVOKE_BENCH_*."""
    return value if value is not None else c.config.get("bench", {}).get(key)


@contextmanager
def _errors() -> Iterator[None]:
    """The project's errors become a message and a documented exit code, no traceback."""
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        yield
    except BenchInfraError as exc:
        raise Exit(
            "\n".join(f"error: {line}" for line in str(exc).splitlines()), int(exc.exit_code)
        ) from None


def _with_job_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Offer every job field as an option with its original spelling (--warmup-count ...)."""
    sig = inspect.signature(func)
    params = [p for p in sig.parameters.values() if p.kind != p.VAR_KEYWORD]
    params += [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=str)
        for name in JOB_FIELD_NAMES
    ]
    func.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    return func


def _job_overrides(kwargs: dict[str, Any], artifact: list[str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {k: kwargs.get(k) for k in JOB_FIELD_NAMES}
    artifacts = {}
    for item in artifact:
        name, sep, value = item.partition("=")
        if not sep:
            raise Exit(f"error: --artifact {item!r}: write NAME=PATH", 2)
        artifacts[name] = value
    if artifacts:
        overrides["artifacts"] = artifacts
    return overrides


# --- local runs and results (embedded defaults, no AWS needed) ---


@task(
    help={
        "job_file": "job file (.toml or .yaml); options override its fields",
        "workspace": "local workspace (default: bench.workspace, .work)",
        "artifact": "artifact NAME=PATH, overriding the job file (repeatable)",
        "json": "print the run's results documents as JSON on stdout",
        **JOB_HELP,
    },
    iterable=["artifact"],
    positional=["job_file"],
    auto_shortflags=False,
)
@_with_job_options
def run_worker(
    c: Context,
    job_file: str | None = None,
    workspace: str | None = None,
    artifact: list[str] | None = None,
    json: bool = False,
    **job_fields: Any,
) -> None:
    """Run a benchmark job on this machine through the worker (no AWS needed)."""
    from scheduler.local import run_locally
    from scheduler.progress import TransferProgress
    from scheduler.render import runs_table, to_json
    from worker.jobfile import load_job
    from worker.resultsdb import ResultsFilter
    from worker.resultsdb.factory import EMBEDDED_STORE_FILE
    from worker.resultsdb.sqlite import SqliteResultsStore

    with _errors():
        path = Path(job_file) if job_file else None
        job = load_job(path, _job_overrides(job_fields, artifact or []))
        ws = Path(_setting(c, "workspace", workspace))
        progress = TransferProgress(sys.stderr, "uploading artifacts")
        run = run_locally(
            [job], job_dir=path.parent if path else Path.cwd(), workspace=ws, progress=progress
        )
        progress.close()
        with SqliteResultsStore(ws.resolve() / EMBEDDED_STORE_FILE) as store:
            rows = [
                r
                for p in run.plan.jobs
                for r in store.runs(ResultsFilter(test_run_id=p.test_run_id))
            ]
        if json:
            print(to_json([r.document for r in run.reports]))
        else:
            print(f"run {run.plan.run_id}", file=sys.stderr)
            print(runs_table(rows), file=sys.stderr)
            for report in run.reports:
                print(f"results: {report.results_uri}", file=sys.stderr)
    if run.exit_code:
        raise Exit(
            "error: " + "; ".join(m for r in run.reports for m in r.messages)
            if any(r.messages for r in run.reports)
            else "error: the benchmark job failed; see the results above",
            run.exit_code,
        )


@task(
    help={
        "job_file": "job file (.toml or .yaml); options override its fields",
        "artifact": "artifact NAME=PATH, overriding the job file (repeatable)",
        **JOB_HELP,
    },
    iterable=["artifact"],
    positional=["job_file"],
    auto_shortflags=False,
)
@_with_job_options
def check_job(
    c: Context, job_file: str | None = None, artifact: list[str] | None = None, **job_fields: Any
) -> None:
    """Validate a job file and options; print the job as JSON."""
    from scheduler.render import to_json
    from worker.jobfile import load_job

    with _errors():
        job = load_job(
            Path(job_file) if job_file else None, _job_overrides(job_fields, artifact or [])
        )
    print(to_json(job.to_dict()))


@task(
    help={
        "workspace": "local workspace holding the embedded store (default: .work)",
        "run_id": "only this test run id",
        "workload": "only this workload",
        "benchmark": "only runs/metrics of this benchmark (e.g. StringBenchmark.concat)",
        "branch": "only this neo4j branch",
        "build": "only this CI build",
        "since": "only runs started at or after this ISO date/time",
        "metrics": "show per-benchmark metrics instead of runs",
        "json": "print JSON on stdout",
        "limit": "at most this many rows (default 50)",
    }
)
def results(
    c: Context,
    workspace: str | None = None,
    run_id: str | None = None,
    workload: str | None = None,
    benchmark: str | None = None,
    branch: str | None = None,
    build: str | None = None,
    since: str | None = None,
    metrics: bool = False,
    json: bool = False,
    limit: int = 50,
) -> None:
    """Show stored benchmark runs and their metrics (table, or --json)."""
    from scheduler.render import metrics_table, runs_table, to_json
    from worker.params import ResultsStoreRef
    from worker.resultsdb import ResultsFilter
    from worker.resultsdb.factory import open_results_store

    with _errors():
        flt = ResultsFilter(
            test_run_id=run_id,
            workload=workload,
            benchmark=benchmark,
            branch=branch,
            build=build,
            since=since,
            limit=limit,
        )
        ws = Path(_setting(c, "workspace", workspace)).resolve()
        with open_results_store(ResultsStoreRef(), workspace=ws) as store:
            rows: list[Any] = store.metrics(flt) if metrics else store.runs(flt)
    if json:
        print(to_json(rows))
    elif not rows:
        print("no results match", file=sys.stderr)
    else:
        print(metrics_table(rows) if metrics else runs_table(rows))
