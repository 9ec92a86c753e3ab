"""benchmark-infra's command line: every operational workflow is a task here.

Each task resolves its options (falling back to ``invoke.yaml``), calls one function of the
``scheduler`` or ``worker`` packages, renders the result, and turns the project's errors into
``Exit`` with a documented code (2 bad input, 1 tooling failure, 3 benchmark jobs failed,
75 transient infrastructure failure). ``invoke --list`` shows them all.
"""

from __future__ import annotations

import getpass
import inspect
import json
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from invoke import Context, Exit, task

from scheduler import ami, costs, stack, stacktemplate
from worker.errors import BenchInfraError, ConfigError
from worker.job import FIELDS

# botocore's DEBUG records hold whole request bodies, NoEcho stack parameters included: keep
# them off even when the root logger is turned up.
for _noisy in ("botocore", "boto3", "urllib3", "s3transfer"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)

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


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- infrastructure (stack, AMI, costs) ---

PASSWORD_ENV = "BENCH_RESULTS_DB_PASSWORD"  # noqa: S105 - a variable name
RESULTS_URI_ENV = "BENCH_RESULTS_DB_URI"


@task(help={"check": "Only check that stack/benchmarking.yaml is up to date (exit 1 if not)"})
def stack_template(c: Context, check: bool = False) -> None:
    """Render stack/benchmarking.yaml from stack/config.yaml."""
    with _errors():
        if check:
            if not stacktemplate.check_template_current():
                raise Exit("stack/benchmarking.yaml is out of date: run `invoke stack-template`", 1)
            _err("stack/benchmarking.yaml is up to date")
            return
        changed = stacktemplate.write_template()
        _err(f"{stacktemplate.TEMPLATE_PATH} {'rewritten' if changed else 'unchanged'}")


def _resolve_password(env: str, given: str | None) -> str | None:
    """Flag, then environment, then (new stacks only, on a terminal) a prompt. Never echoed."""
    password = given or os.environ.get(PASSWORD_ENV)
    if password:
        return password
    if stack.describe_stack(stacktemplate.stack_name(env)) is not None:
        return None  # the deployed stack keeps its password
    if sys.stdin.isatty():
        return getpass.getpass(f"Results store password for {env}: ") or None
    return None


def _resolve_ami(ami_id: str | None, manifest: str | None) -> str | None:
    if ami_id:
        return ami_id
    path = Path(manifest) if manifest else ami.MANIFEST_PATH
    if manifest or path.exists():
        return ami.read_ami_id(path)
    return None


def _print_events(events: Iterable[stack.StackEvent], as_json: bool) -> None:
    for event in events:
        if isinstance(event, stack.ChangeSetReady):
            _err(f"change set {event.change_set} ({event.kind}) of {event.stack}:")
            for ch in event.changes:
                extra = f" (replacement: {ch.replacement})" if ch.replacement else ""
                _err(f"  {ch.action:<7} {ch.resource_type:<36} {ch.logical_id}{extra}")
            if not event.changes:
                _err("  (no resource changes)")
        elif isinstance(event, stack.ResourceEvent):
            reason = f"  {event.reason}" if event.reason else ""
            _err(
                f"{event.timestamp:%H:%M:%S} {event.status:<20} {event.resource_type:<36} "
                f"{event.logical_id}{reason}"
            )
        elif isinstance(event, stack.NoChanges):
            _err(f"{event.stack}: no changes")
        elif isinstance(event, stack.DryRunDone):
            _err(f"{event.stack}: dry run, change set discarded")
        elif isinstance(event, stack.StackAbsent):
            _err(f"{event.stack} does not exist: nothing to do")
        elif isinstance(event, stack.StackDone):
            _err(f"{event.stack}: {event.status}")
            _print_outputs(event.outputs, as_json)


def _print_outputs(outputs: dict[str, str], as_json: bool) -> None:
    if as_json:
        print(json.dumps(outputs, indent=2, sort_keys=True))
    else:
        for key in sorted(outputs):
            print(f"{key}={outputs[key]}")


@task(
    help={
        "env": "Environment: the stack is benchmarking-<env> (prod, staging, or your own name)",
        "ami_id": "Worker AMI id (default: the AMI of the last `invoke build-ami`; on updates "
        "the deployed one)",
        "manifest": "Packer manifest to read the AMI id from (default ami/manifest.json)",
        "vpc_id": "VPC of the compute environments (default on create: the default VPC)",
        "subnet_ids": "Comma-separated subnets (default on create: the default VPC's subnets)",
        "results_db_uri": f"Results store URI (or ${RESULTS_URI_ENV}); kept on updates",
        "results_db_user": "Results store user (default: benchmarks); kept on updates",
        "results_db_password": f"Results store password; prefer ${PASSWORD_ENV} or the prompt, "
        "a command line is visible to other users. Kept on updates when not given",
        "image_tag_suffix": "Worker image tag suffix: jobs run <repo>:<jdk>_<suffix>",
        "dry_run": "Show the change set, then discard it",
        "json": "Print the stack outputs as JSON",
    }
)
def deploy(
    c: Context,
    env: str,
    ami_id: str | None = None,
    manifest: str | None = None,
    vpc_id: str | None = None,
    subnet_ids: str | None = None,
    results_db_uri: str | None = None,
    results_db_user: str | None = None,
    results_db_password: str | None = None,
    image_tag_suffix: str | None = None,
    dry_run: bool = False,
    json: bool = False,
) -> None:
    """Create or update the stack benchmarking-<env> through a change set."""
    with _errors():
        name = stacktemplate.stack_name(env)
        if not stacktemplate.check_template_current():
            raise ConfigError("stack/benchmarking.yaml is out of date: run `invoke stack-template`")
        subnets = tuple(s for s in (subnet_ids or "").split(",") if s)
        if vpc_id is None and stack.describe_stack(name) is None:
            vpc_id, default_subnets = stack.default_network()
            subnets = subnets or default_subnets
            _err(f"using the default VPC {vpc_id} and subnets {', '.join(subnets)}")
        request = stack.DeployRequest(
            env=env,
            ami_id=_resolve_ami(ami_id, manifest),
            vpc_id=vpc_id,
            subnet_ids=subnets,
            results_db_uri=results_db_uri or os.environ.get(RESULTS_URI_ENV),
            results_db_user=results_db_user,
            results_db_password=_resolve_password(env, results_db_password),
            image_tag_suffix=image_tag_suffix,
        )
        _print_events(stack.iter_deploy(request, dry_run=dry_run), json)


@task(
    help={
        "env": "Environment whose stack benchmarking-<env> to delete",
        "yes": "Do not ask for confirmation",
        "empty_bucket": "Delete every object in the stack's bucket first (else a non-empty "
        "bucket stops the deletion)",
    }
)
def destroy(c: Context, env: str, yes: bool = False, empty_bucket: bool = False) -> None:
    """Delete the stack benchmarking-<env> and everything in it; a missing stack is fine."""
    with _errors():
        name = stacktemplate.stack_name(env)
        if not yes:
            if not sys.stdin.isatty():
                raise ConfigError(f"not deleting {name} without --yes: no terminal to ask")
            answer = input(f"Delete stack {name} and all its resources? Type '{env}' to confirm: ")
            if answer.strip() != env:
                raise Exit("not confirmed: nothing deleted", 1)
        _print_events(stack.iter_destroy(env, empty_bucket=empty_bucket), False)


@task(
    help={
        "env": "Environment whose stack outputs to print",
        "json": "Print as JSON instead of KEY=VALUE lines",
    }
)
def stack_outputs(c: Context, env: str, json: bool = False) -> None:
    """Print the outputs of the stack benchmarking-<env> (queues, job definitions, bucket)."""
    with _errors():
        _print_outputs(stack.stack_outputs(env), json)


@task(
    help={
        "env": "Environment the AMI is for (tags and name; default: shared)",
        "commit": "Commit recorded in the AMI's tags and the manifest",
        "template": "Packer template (default ami/benchmark-worker.json)",
        "manifest": "Where Packer writes its manifest (default ami/manifest.json)",
        "instance_type": "Instance type of the build (default m5d.large)",
        "subnet_id": "Subnet of the build instance (default: the default VPC's)",
        "ssh_cidr": "Who may reach the build instance over SSH (default: 0.0.0.0/0); "
        "give your own address/32",
        "packer": "Packer binary (default: packer on the PATH)",
    }
)
def build_ami(
    c: Context,
    env: str = "shared",
    commit: str | None = None,
    template: str | None = None,
    manifest: str | None = None,
    instance_type: str | None = None,
    subnet_id: str | None = None,
    ssh_cidr: str | None = None,
    packer: str = "packer",
) -> None:
    """Build the worker AMI with Packer and print its id (deploy picks it up)."""
    with _errors():
        manifest_path = Path(manifest) if manifest else ami.MANIFEST_PATH
        extra = {
            key: value
            for key, value in {
                "instance_type": instance_type,
                "subnet_id": subnet_id,
                "ssh_source_cidr": ssh_cidr,
            }.items()
            if value
        }
        variables = ami.build_variables(env=env, manifest=manifest_path, commit=commit, extra=extra)
        template_path = Path(template) if template else ami.TEMPLATE_PATH
        for line in ami.iter_build(template_path, variables, packer=packer):
            _err(line)
        print(ami.read_ami_id(manifest_path))


@task(
    name="costs",
    help={
        "env": "Only this environment (tag env=<env>); default: all of owner=benchmarking",
        "days": "How many days back from today (default 7)",
        "group_by": "service, instance-type or env (default service)",
        "json": "Print JSON",
        "csv": "Print CSV",
    },
)
def costs_report(
    c: Context,
    env: str | None = None,
    days: int = 7,
    group_by: str = "service",
    json: bool = False,
    csv: bool = False,
) -> None:
    """Show what benchmarking cost (Cost Explorer, tag owner=benchmarking), with a total."""
    with _errors():
        try:
            grouping = costs.GroupBy(group_by)
        except ValueError as err:
            allowed = ", ".join(g.value for g in costs.GroupBy)
            raise ConfigError(f"--group-by {group_by!r}: use one of {allowed}") from err
        report = costs.fetch_costs(env=env, days=days, group_by=grouping)
        if json:
            print(costs.format_json(report))
        elif csv:
            print(costs.format_csv(report), end="")
        else:
            print(costs.format_table(report))
