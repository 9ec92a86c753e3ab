"""Batch runs: schedule a run, watch it, cancel it, read a job's log."""

from __future__ import annotations

from typing import Any

from invoke.context import Context
from invoke.exceptions import Exit

from scheduler.tasks.common import (
    JOB_HELP,
    STORE_HELP,
    TEAMCITY_HELP,
    err,
    errors,
    job_options,
    open_results_store,
    required,
    setting,
    stack_of,
    storage_of,
    task,
    teamcity_block,
    teamcity_reporter,
    with_job_options,
    with_store_options,
)
from worker.contract import ExitCode
from worker.errors import ConfigError

#: schedule's defaults, as in scheduler.submit (not imported here: invoke --list stays light).
DEFAULT_TIMEOUT_MINUTES = 360
DEFAULT_ATTEMPTS = 3

_STORAGE_HELP = {
    "storage": "storage base URI holding runs/<run id>/manifest.json",
    "env": "environment (its stack's bucket is the default storage)",
    "batch-stack": "stack whose ArtifactBucket is the default storage",
}


@task(
    help={
        "job-file": "job file (TOML or YAML); options given here override it",
        "workloads": "workload to run (repeatable: one job per workload)",
        "partitions": "split each workload's queries into this many jobs",
        "job-queue": "stack output key (e.g. JobQueueM5dXlarge) or queue name/ARN",
        "job-definition": "stack output key (e.g. JobDefinitionM5dXlargeOpenjdk17) or name/ARN",
        "capabilities": "choose by capabilities, e.g. 'AWS:instanceType=m5d.xlarge,jdk=openjdk-17'",
        "batch-stack": "stack to read outputs/resources from (default benchmarking-<env>)",
        "env": "environment name (tags, default stack)",
        "storage": "storage base URI for artifacts and runs (default: the stack's bucket)",
        "timeout-minutes": "Batch timeout of each job attempt, minutes (default 360)",
        "attempts": "Batch attempts per job; only exit 75 and host terminations retry",
        "artifact": "artifact NAME=PATH, overriding the job file (repeatable)",
        "wait": "watch the run until it ends (exit 3 when a job failed)",
        "json": "print the submitted run as JSON on stdout",
        "run-id": "name the run; the id of an interrupted run resumes it (no job twice)",
        "teamcity": TEAMCITY_HELP,
        **{k: v for k, v in JOB_HELP.items() if k != "workload"},
    },
    iterable=["workloads", "artifact"],
    positional=["job_file"],
)
@with_job_options
def schedule(
    c: Context,
    job_file: str | None = None,
    workloads: list[str] | None = None,
    partitions: int = 1,
    job_queue: str | None = None,
    job_definition: str | None = None,
    capabilities: str | None = None,
    batch_stack: str | None = None,
    env: str | None = None,
    storage: str | None = None,
    timeout_minutes: int = DEFAULT_TIMEOUT_MINUTES,
    attempts: int = DEFAULT_ATTEMPTS,
    artifact: list[str] | None = None,
    wait: bool = False,
    json: bool = False,
    run_id: str | None = None,
    teamcity: bool = False,
    **job_fields: Any,
) -> None:
    """Validate, upload artifacts once, submit the run as one Batch array job; print the run."""
    from pathlib import Path

    from scheduler.progress import TransferProgress
    from scheduler.schedule import BatchPlacement, ScheduleRequest, schedule

    with errors():
        request = ScheduleRequest(
            Path(job_file) if job_file else None,
            job_options(job_fields, artifact),
            tuple(workloads or ()),
            partitions,
        )
        env = env or setting(c, "env") or ""
        placement = BatchPlacement(
            stack=stack_of(c, env, batch_stack),
            job_queue=job_queue or setting(c, "job_queue"),
            job_definition=job_definition or setting(c, "job_definition"),
            capabilities=capabilities,
            storage=setting(c, "storage", storage),
            env=env,
            timeout_seconds=timeout_minutes * 60,
            attempts=attempts,
        )
        with teamcity_block(teamcity, "upload artifacts and submit jobs"):
            scheduled = schedule(
                request,
                placement,
                progress=lambda total: TransferProgress("uploading artifacts", total),
                run_id=run_id,
            )
        run = scheduled.run
        err(
            f"artifacts uploaded: {scheduled.uploaded} ({scheduled.bytes_sent} bytes); queue "
            f"{run.target.queue}, job definition {run.target.job_definition}"
        )
        if json:
            from scheduler.render import to_json  # loads stack and watch: only when asked

            print(to_json({"run_id": run.run_id, "storage": scheduled.storage, "jobs": run.jobs}))
        else:
            print(run.run_id)
            for job in run.jobs:
                print(f"{job.job_id} {job.name}")
                err(f"  logs: invoke logs {job.job_id} --follow  (group {run.log_group})")
            err(f"watch: invoke watch {run.run_id} --storage {scheduled.storage}")
    if wait:
        watch(c, run_id=run.run_id, storage=scheduled.storage, teamcity=teamcity)


@task(
    help={
        "run-id": "the run id printed by schedule",
        **_STORAGE_HELP,
        "timeout": "give up after this many seconds (exit 124; the jobs keep running; "
        "default 0: wait until the run ends)",
        "interval": "seconds between polls (default 10)",
        "json": "print the final job states as JSON on stdout",
        "teamcity": TEAMCITY_HELP,
        **STORE_HELP,
    },
    positional=["run_id"],
)
@with_store_options
def watch(
    c: Context,
    run_id: str | None = None,
    storage: str | None = None,
    env: str | None = None,
    batch_stack: str | None = None,
    timeout: float = 0.0,
    interval: float = 10.0,
    json: bool = False,
    teamcity: bool = False,
    **store_options: Any,
) -> None:
    """Watch a run until its jobs end: exit 0 all succeeded, 3 any failed; Ctrl-C detaches."""
    from scheduler import watch as watching
    from scheduler.batch import BatchClient
    from scheduler.logs import describe_log_location
    from scheduler.progress import ProgressBoard, Transfer
    from scheduler.render import format_change, jobs_table, to_json
    from worker import aws
    from worker.storage import open_store

    reporter = teamcity_reporter(teamcity)
    board = ProgressBoard()  # changes as lines, and jobs done / total as a bar on a terminal
    finished: list[Transfer] = []

    def show(update: watching.Update) -> None:
        if not finished:
            total = update.total or len(update.jobs)
            finished.append(board.task(f"run {run_id}", total=total, unit="jobs done"))
        for change in update.changes:
            board.write(format_change(change))
            if reporter:
                reporter.progress(format_change(change))
        done = sum(1 for job in update.jobs.values() if job.status.done)
        finished[0](done - finished[0].done)

    def write_jobs(records: Any) -> None:
        with open_results_store(c, **store_options) as results_store:
            results_store.write_jobs(records)

    with errors():
        run_id = required("run-id", run_id)
        store = open_store(storage_of(c, storage, stack_of(c, env, batch_stack)))
        try:
            with teamcity_block(teamcity, f"waiting for run {run_id}"):
                result = watching.watch_run(
                    BatchClient(),
                    store,
                    run_id,
                    on_update=show,
                    write_jobs=write_jobs,
                    interval=interval,
                    timeout=timeout or None,
                )
        except KeyboardInterrupt:
            raise Exit(
                f"detached; the jobs keep running. Re-attach with: invoke watch {run_id} "
                f"--storage {store.base_uri}",
                ExitCode.INTERRUPTED,
            ) from None
        finally:
            for bar in finished:
                bar.close(quiet=True)
            board.close()
        if board.live:
            err(jobs_table(result.jobs))
        if json:
            print(to_json(result.jobs))
        region = aws.region()
        if reporter:
            reporter.failed_jobs(result.failed, lambda j: describe_log_location(j, region))
        watching.check_outcome(result, lambda j: describe_log_location(j, region))
        err(f"all {len(result.jobs)} job(s) of run {run_id} succeeded")


@task(
    help={
        "run-id": "the run to cancel (or one job of it: an array child's id <parent>:<index>)",
        **_STORAGE_HELP,
        "reason": "reason recorded with each terminated job",
        "job-id": "cancel only this job (an array child <parent>:<index>, or a plain job)",
    },
    positional=["run_id"],
)
def cancel(
    c: Context,
    run_id: str | None = None,
    storage: str | None = None,
    env: str | None = None,
    batch_stack: str | None = None,
    reason: str | None = None,
    job_id: str | None = None,
) -> None:
    """Terminate every unfinished job of a run, or one job; prints the terminated job ids."""
    from scheduler import watch as watching
    from scheduler.arrays import split_child_id
    from scheduler.batch import BatchClient
    from scheduler.cancel import cancel_jobs, cancel_run
    from worker.storage import open_store

    with errors():
        if run_id and split_child_id(run_id) and not job_id:
            run_id, job_id = None, run_id  # a run id has no ':'; <parent>:<index> is a child
        if job_id:
            if run_id:
                raise ConfigError("give a run id or --job-id, not both")
            cancelled = cancel_jobs(
                BatchClient(), [job_id], reason or f"job {job_id} cancelled by the operator"
            )
            what = f"job {job_id}"
        else:
            run_id = required("run-id", run_id)
            store = open_store(storage_of(c, storage, stack_of(c, env, batch_stack)))
            cancelled = cancel_run(
                BatchClient(),
                list(watching.run_jobs(store, run_id)),
                reason or f"run {run_id} cancelled by the operator",
            )
            what = f"run {run_id}"
        for job in cancelled:
            print(job.job_id)
        err(f"terminated {len(cancelled)} unfinished job(s) of {what}")


@task(
    help={
        "job-id": "Batch job id: a plain job or an array child <parent>:<index> (schedule and "
        "watch print them)",
        "follow": "keep reading while the job runs (one job only)",
        "run-id": "print the logs of every job of this run instead, one after the other",
        **_STORAGE_HELP,
    },
    positional=["job_id"],
)
def logs(
    c: Context,
    job_id: str | None = None,
    follow: bool = False,
    run_id: str | None = None,
    storage: str | None = None,
    env: str | None = None,
    batch_stack: str | None = None,
) -> None:
    """Print a Batch job's log events (CloudWatch Logs), or every job's of a run; --follow."""
    from scheduler.logs import iter_job_log, iter_run_log

    with errors():
        if run_id:
            if job_id or follow:
                raise ConfigError("--run-id prints a finished run's logs: no job id, no --follow")
            from scheduler import watch as watching
            from worker.storage import open_store

            store = open_store(storage_of(c, storage, stack_of(c, env, batch_stack)))
            for line in iter_run_log(watching.run_jobs(store, run_id)):
                print(line, flush=True)
            return
        for event in iter_job_log(required("job-id", job_id), follow=bool(follow)):
            print(event.message, flush=True)
