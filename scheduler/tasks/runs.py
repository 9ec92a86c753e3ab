"""Local runs and results: run a job here, check a job, read, replay and compare results."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from invoke.context import Context
from invoke.exceptions import Exit

from scheduler.tasks.common import (
    JOB_HELP,
    STORE_HELP,
    TEAMCITY_HELP,
    docker_client,
    err,
    errors,
    job_options,
    open_results_store,
    results_store_ref,
    setting,
    task,
    teamcity_reporter,
    with_job_options,
    with_store_options,
    workspace_of,
)
from worker.contract import ExitCode


@task(
    help={
        "job_file": "job file (.toml or .yaml); options override its fields",
        "workspace": "local workspace (default: bench.workspace, .work)",
        "workspace_dir": "the original's name for --workspace",
        "artifact": "artifact NAME=PATH, overriding the job file (repeatable)",
        "json": "print the run's results documents as JSON on stdout",
        "image": "run in this worker image on the local Docker engine, as on Batch",
        "job_parameters": "with --image: URI of an already prepared job-parameters.json",
        "storage": "with --image: storage base (s3://...) the job is prepared in",
        "teamcity": TEAMCITY_HELP,
        "verbose": "show the benchmark tool's own output as it runs (else it is kept in the "
        "job's tool.log, and one line per finished benchmark is shown)",
        **JOB_HELP,
    },
    iterable=["artifact"],
    positional=["job_file"],
)
@with_job_options
def run_worker(
    c: Context,
    job_file: str | None = None,
    workspace: str | None = None,
    workspace_dir: str | None = None,
    artifact: list[str] | None = None,
    json: bool = False,
    image: str | None = None,
    job_parameters: str | None = None,
    storage: str | None = None,
    teamcity: bool = False,
    verbose: bool = False,
    **job_fields: Any,
) -> None:
    """Run a benchmark job on this machine through the worker (no AWS needed)."""
    workspace = workspace or workspace_dir
    if image:
        _run_in_image(c, image, job_parameters, job_file, storage, workspace, artifact, job_fields)
        return
    from scheduler.local import run_job_file
    from scheduler.progress import TransferProgress
    from scheduler.render import runs_table, to_json

    with errors():
        result = run_job_file(
            Path(job_file) if job_file else None,
            job_options(job_fields, artifact),
            workspace=workspace_of(c, workspace),
            results_store=results_store_ref(c),
            progress=lambda total: TransferProgress("uploading artifacts", total),
            verbose=verbose,
        )
        run = result.run
        if json:
            print(to_json([r.document for r in run.reports]))
        else:
            err(f"run {run.plan.run_id}")
            err(runs_table(result.rows))
            for report in run.reports:
                err(f"results: {report.results_uri}")
                if not verbose:
                    err(
                        f"tool output: {report.results_uri.rstrip('/')}/logs/tool.log "
                        "(--verbose shows it as it runs)"
                    )
    if reporter := teamcity_reporter(teamcity):
        reporter.document_statistics(r.document for r in run.reports if r.document)
    if run.exit_code:
        raise Exit(f"error: {run.failure}", run.exit_code)


def _run_in_image(
    c: Context,
    image: str,
    job_parameters: str | None,
    job_file: str | None,
    storage: str | None,
    workspace: str | None,
    artifact: list[str] | None,
    job_fields: dict[str, Any],
) -> None:
    """``run-worker --image``: the job runs in the worker image on the local engine."""
    from scheduler.local_run import run_in_image

    with errors():
        results_uri, code = run_in_image(
            docker_client,
            image,
            job_parameters=job_parameters,
            job_file=Path(job_file) if job_file else None,
            overrides=job_options(job_fields, artifact),
            storage=setting(c, "storage", storage),
            workspace=Path(workspace) if workspace else None,
            environ=os.environ,
            on_line=err,
        )
        if results_uri:
            print(results_uri)
    if code != 0:
        raise Exit(f"error: the worker exited with {code}", code)


@task(
    help={
        "job_file": "job file (.toml or .yaml); optional: options alone describe a job too",
        "artifact": "artifact NAME=PATH, overriding the job file (repeatable)",
        "batch": "check for Batch: the JVM is the image's, not looked up on this machine",
        **JOB_HELP,
    },
    iterable=["artifact"],
    positional=["job_file"],
)
@with_job_options
def check_job(
    c: Context,
    job_file: str | None = None,
    artifact: list[str] | None = None,
    batch: bool = False,
    **job_fields: Any,
) -> None:
    """Validate a job file and/or options; print the job as JSON."""
    from scheduler.jobcheck import load_checked_job
    from scheduler.render import to_json

    with errors():
        job, _ = load_checked_job(
            Path(job_file) if job_file else None,
            job_options(job_fields, artifact),
            runs_here=not batch,
        )
        print(to_json(job.to_dict()))


@task(
    help={
        "run_id": "only this test run id",
        "workload": "only this workload",
        "benchmark": "only runs/metrics of this benchmark (e.g. StringBuildingBenchmark.concat)",
        "branch": "only this neo4j branch",
        "build": "only this CI build",
        "since": "only runs started at or after this ISO date/time",
        "metrics": "show per-benchmark metrics instead of runs",
        "json": "print JSON on stdout",
        "limit": "at most this many rows (default 50)",
        **STORE_HELP,
    }
)
@with_store_options
def results(
    c: Context,
    run_id: str | None = None,
    workload: str | None = None,
    benchmark: str | None = None,
    branch: str | None = None,
    build: str | None = None,
    since: str | None = None,
    metrics: bool = False,
    json: bool = False,
    limit: int = 50,
    **store_options: Any,
) -> None:
    """Show stored benchmark runs and their metrics (table, or --json)."""
    from scheduler.render import metrics_table, runs_table, to_json
    from worker.resultsdb import ResultsFilter

    with errors():
        flt = ResultsFilter(
            test_run_id=run_id,
            workload=workload,
            benchmark=benchmark,
            branch=branch,
            build=build,
            since=since,
            limit=limit,
        )
        with open_results_store(c, **store_options) as store:
            rows: list[Any] = store.metrics(flt) if metrics else store.runs(flt)
        if json:
            print(to_json(rows))
        elif not rows:
            err("no results match")
        else:
            print(metrics_table(rows) if metrics else runs_table(rows))


@task(
    help={
        "results_uri": "results prefix holding <run-id>/<test-run-id>/results.json "
        "(default: setting results_uri, else <storage>/results)",
        "run_id": "only the documents of this scheduling run",
        "since": "only test runs started at or after this ISO date/time",
        "json": "print the counts as JSON on stdout",
        **STORE_HELP,
    }
)
@with_store_options
def results_sync(
    c: Context,
    results_uri: str | None = None,
    run_id: str | None = None,
    since: str | None = None,
    json: bool = False,
    **store_options: Any,
) -> None:
    """Replay results documents from the object store into the results store (idempotent)."""
    from scheduler.render import to_json
    from scheduler.resultsync import results_base, sync_results
    from worker.storage import open_store

    with errors():
        base = results_base(setting(c, "results_uri", results_uri), setting(c, "storage"))
        with open_results_store(c, **store_options) as store:
            counts = sync_results(open_store(base), store, run_id=run_id, since=since)
        if json:
            print(to_json(counts))
        else:
            print(
                f"{counts.written} written, {counts.already_there} already there, "
                f"{counts.skipped} skipped, {counts.failed} unreadable "
                f"of {counts.found} results documents under {base}"
            )
    if counts.failed:
        raise Exit("unreadable documents:\n" + "\n".join(counts.problems), ExitCode.BAD_CONFIG)


@task(
    help={
        "base": "the base: a test run id or a unique prefix (or, with --by build, a CI build)",
        "contender": "the contender: a test run id or a unique prefix (or, with --by build, "
        "a CI build)",
        "by": "what --base and --contender name: test-run (default) or build",
        "alpha": "significance level of the Mann-Whitney U test (default 0.01)",
        "min_effect": "smallest relative change of the median that counts (default 0.02)",
        "fail_on_slower": "exit 3 when a benchmark got slower beyond noise",
        "same_provenance": "refuse (exit 2) when machine, JDK, kernel, JVM args or dataset differ",
        "teamcity": TEAMCITY_HELP,
        "json": "print the comparisons as JSON on stdout",
        **STORE_HELP,
    },
    positional=["base", "contender"],
)
@with_store_options
def compare(
    c: Context,
    base: str | None = None,
    contender: str | None = None,
    by: str = "test-run",
    alpha: float = 0.01,
    min_effect: float = 0.02,
    fail_on_slower: bool = False,
    same_provenance: bool = False,
    teamcity: bool = False,
    json: bool = False,
    **store_options: Any,
) -> None:
    """Compare two test runs (or builds) per benchmark: medians, ratio, beyond noise or not;
    warns naming each provenance field that differs."""
    from scheduler.compare import Verdict, format_comparisons
    from scheduler.compare_runs import compare_runs
    from scheduler.render import to_json
    from worker.errors import ConfigError

    with errors():
        if not base or not contender:
            raise ConfigError(
                "compare: give BASE and CONTENDER (test run ids, or builds with --by)"
            )
        with open_results_store(c, **store_options) as store:
            found = compare_runs(
                store,
                base,
                contender,
                by=by,
                alpha=alpha,
                min_effect=min_effect,
                same_provenance=same_provenance,
            )
        for difference in found.differences:
            err(f"warning: provenance {difference.describe()}")
        print(to_json(found.comparisons) if json else format_comparisons(found.comparisons))
    if reporter := teamcity_reporter(teamcity):
        reporter.comparisons(found.comparisons)
    slower = [x.benchmark for x in found.comparisons if x.verdict is Verdict.SLOWER]
    if fail_on_slower and slower:
        raise Exit(f"slower beyond noise: {', '.join(slower)}", ExitCode.BENCHMARK_FAILED)
