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
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import invoke
from invoke import Context, Exit

from scheduler import ami, costs, stack, stacktemplate
from scheduler.compare import Verdict, compare_metrics, format_comparisons
from scheduler.render import to_json
from scheduler.resultsync import sync_results
from scheduler.stackinfo import stack_name
from worker.contract import ExitCode
from worker.errors import BenchInfraError, ConfigError
from worker.job import FIELDS
from worker.jobfile import job_overrides
from worker.params import ResultsStoreRef
from worker.resultsdb import ResultsFilter, ResultsStore
from worker.resultsdb.factory import open_results_store
from worker.storage import join_uri, open_store

# botocore's DEBUG records hold whole request bodies, NoEcho stack parameters included: keep
# them off even when the root logger is turned up.
for _noisy in ("botocore", "boto3", "urllib3", "s3transfer"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)

REPO = Path(__file__).resolve().parent


def task(*args: Any, **kwargs: Any) -> Any:
    """``invoke.task`` without generated one-letter flags: with this many options they would
    be arbitrary (``-4`` for ``--neo4j-commit``) and change whenever an option is added."""
    kwargs.setdefault("auto_shortflags", False)
    return invoke.task(*args, **kwargs)


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


def _with_options(names: Iterable[str]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Offer ``names`` as string options of a task that takes them as ``**kwargs``."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(func)
        params = [p for p in sig.parameters.values() if p.kind != p.VAR_KEYWORD]
        params += [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=str)
            for name in names
        ]
        func.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        return func

    return decorate


#: Every job field as an option with its original spelling (--warmup-count ...).
_with_job_options = _with_options(JOB_FIELD_NAMES)


# --- local runs and results (embedded defaults, no AWS needed) ---


@task(
    help={
        "job_file": "job file (.toml or .yaml); options override its fields",
        "workspace": "local workspace (default: bench.workspace, .work)",
        "artifact": "artifact NAME=PATH, overriding the job file (repeatable)",
        "json": "print the run's results documents as JSON on stdout",
        "image": "run in this worker image on the local Docker engine, as on Batch",
        "job_parameters": "with --image: URI of an already prepared job-parameters.json",
        "storage": "with --image: storage base (s3://...) the job is prepared in",
        "verbose": "show the benchmark tool's own output as it runs (else it is kept in the "
        "job's tool.log, and one line per finished benchmark is shown)",
        **JOB_HELP,
    },
    iterable=["artifact"],
    positional=["job_file"],
)
@_with_job_options
def run_worker(
    c: Context,
    job_file: str | None = None,
    workspace: str | None = None,
    artifact: list[str] | None = None,
    json: bool = False,
    image: str | None = None,
    job_parameters: str | None = None,
    storage: str | None = None,
    verbose: bool = False,
    **job_fields: Any,
) -> None:
    """Run a benchmark job on this machine through the worker (no AWS needed)."""
    if image:
        with _errors():
            overrides = job_overrides(job_fields, artifact or [])
        _run_in_image(c, image, job_parameters, job_file, overrides, storage, workspace)
        return
    from scheduler.local import run_locally
    from scheduler.progress import TransferProgress, local_artifact_bytes
    from scheduler.render import runs_table
    from worker.jobfile import load_job

    with _errors():
        path = Path(job_file) if job_file else None
        job = load_job(path, job_overrides(job_fields, artifact or []))
        ws = Path(_setting(c, "workspace", workspace))
        ref = _results_store_ref(c)
        job_dir = path.parent if path else Path.cwd()
        progress = TransferProgress("uploading artifacts", local_artifact_bytes([job], job_dir))
        try:
            run = run_locally(
                [job],
                job_dir=job_dir,
                workspace=ws,
                results_store=ref,
                progress=progress,
                on_prepared=lambda _plan: progress.close(),
                verbose=verbose,
            )
        finally:
            progress.close()
        # the store the worker wrote to: the embedded one unless a store is configured
        with open_results_store(ref, workspace=ws.resolve()) as store:
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
                if not verbose:
                    print(
                        f"tool output: {report.results_uri.rstrip('/')}/logs/tool.log "
                        "(--verbose shows it as it runs)",
                        file=sys.stderr,
                    )
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
)
@_with_job_options
def check_job(
    c: Context, job_file: str | None = None, artifact: list[str] | None = None, **job_fields: Any
) -> None:
    """Validate a job file and options; print the job as JSON."""
    from worker.jobfile import load_job

    with _errors():
        job = load_job(
            Path(job_file) if job_file else None, job_overrides(job_fields, artifact or [])
        )
    print(to_json(job.to_dict()))


_STORE_HELP = {
    "store_uri": "results store: bolt://, neo4j://, neo4j+s:// or sqlite:///path "
    "(default: setting results_store_uri, BENCH_RESULTS_STORE_URI, the secret, "
    "else the embedded store in the workspace)",
    "store_user": "results-store user (default: setting results_store_user, "
    "BENCH_RESULTS_STORE_USER or the secret's username)",
    "store_secret": "Secrets Manager secret {username, password, uri} (default: setting "
    "results_store_secret or BENCH_RESULTS_STORE_SECRET); the password never goes on a "
    "command line: it comes from the secret or BENCH_RESULTS_STORE_PASSWORD",
    "database": "Neo4j database name (default: setting results_store_database, else neo4j)",
    "workspace": "local workspace holding the embedded store (default: setting workspace)",
}


#: The results-store options (--store-uri ...).
_with_store_options = _with_options(_STORE_HELP)


def _results_store_ref(
    c: Context,
    *,
    store_uri: str | None = None,
    store_user: str | None = None,
    store_secret: str | None = None,
    database: str | None = None,
) -> ResultsStoreRef:
    """The results store the options (else the ``bench.results_store_*`` settings) name."""
    return ResultsStoreRef(
        uri=_setting(c, "results_store_uri", store_uri) or "",
        user=_setting(c, "results_store_user", store_user) or "",
        secret_id=_setting(c, "results_store_secret", store_secret) or "",
        database=_setting(c, "results_store_database", database) or "neo4j",
    )


def _open_results_store(
    c: Context, *, workspace: str | None = None, **options: Any
) -> ResultsStore:
    ws = Path(_setting(c, "workspace", workspace) or ".work").resolve()
    return open_results_store(_results_store_ref(c, **options), workspace=ws)


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
        **_STORE_HELP,
    }
)
@_with_store_options
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
    from scheduler.render import metrics_table, runs_table

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
        with _open_results_store(c, **store_options) as store:
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
    if stack.describe_stack(stack_name(env)) is not None:
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
    from scheduler.render import stack_event_lines

    for event in events:
        for line in stack_event_lines(event):
            _err(line)
        if isinstance(event, stack.StackDone) and event.status != "DELETE_COMPLETE":
            _print_outputs(event.outputs, as_json)


def _print_outputs(outputs: dict[str, str], as_json: bool) -> None:
    if not outputs:
        _err("the stack has no outputs (no queues, job definitions or bucket to schedule on)")
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
    from scheduler.sandbox import deploy as sandbox_deploy

    with _errors():
        name = stack_name(env)
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
        _print_events(sandbox_deploy.iter_deploy(request, dry_run=dry_run), json)


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
        name = stack_name(env)
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
        "no_ssh": "Do not connect to the build instance (communicator none, no provisioners): "
        "registers an AMI with nothing installed. The sandbox's way (on by default there: "
        "moto starts no instance to reach)",
        "timeout_minutes": "Stop the build (and Packer's cleanup) after this many minutes "
        "(default 60)",
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
    no_ssh: bool = False,
    timeout_minutes: float | None = None,
) -> None:
    """Build the worker AMI with Packer and print its id (deploy picks it up)."""
    from scheduler.sandbox.lifecycle import active_state

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
        if not no_ssh and active_state() is not None:
            no_ssh = True
            _err("sandbox: building without SSH (moto starts no instance to connect to)")
        timeout = float(timeout_minutes) * 60 if timeout_minutes else ami.DEFAULT_TIMEOUT_SECONDS
        with tempfile.TemporaryDirectory(prefix="packer-") as scratch:
            if no_ssh:
                template_path = ami.no_ssh_template(template_path, Path(scratch))
            for line in ami.iter_build(template_path, variables, packer=packer, timeout=timeout):
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


# --- images and Batch ---


def _docker() -> Any:
    import docker

    return docker.from_env(timeout=900)


def _stack(c: Context, env: str | None, batch_stack: str | None) -> str:
    return batch_stack or _setting(c, "batch_stack") or stack_name(env or _setting(c, "env"))


def _storage(c: Context, storage: str | None, stack: str) -> str:
    """The storage base: --storage, bench.storage, or the stack's ArtifactBucket."""
    from scheduler.stackinfo import output, read_outputs

    value = storage or _setting(c, "storage")
    if value:
        return str(value)
    return f"s3://{output(read_outputs(stack), 'ArtifactBucket', stack)}"


@task(
    help={
        "push": "push the image after building it",
        "tag-suffix": "appended to the tag: <repo>:openjdk_17_<suffix> (e.g. your env name)",
        "jdk": "JDK of the image as <vendor>_<major> (default openjdk_17)",
        "repository": "image repository; default bench.repository or the stack's ECR repository",
        "env": "environment whose stack (benchmarking-<env>) provides the ECR repository",
        "build-arg": "extra Docker build argument NAME=VALUE (repeatable)",
    },
    iterable=["build_arg"],
)
def build_worker(
    c: Context,
    push: bool = False,
    tag_suffix: str | None = None,
    jdk: str | None = None,
    repository: str | None = None,
    env: str | None = None,
    build_arg: list[str] | None = None,
) -> None:
    """Build the worker image (and push it with --push); prints the reference and digest."""
    from scheduler import images

    with _errors():
        tag = images.image_tag(jdk or _setting(c, "jdk") or images.DEFAULT_JDK, tag_suffix)
        repo, auth = images.push_target(
            repository or _setting(c, "repository"), env=env or _setting(c, "env"), push=push
        )
        args = images.parse_build_args(build_arg or [])
        reference = f"{repo}:{tag}"
        client = _docker()
        _err("building wheels for the image")
        images.build_wheels(REPO, on_line=_err)
        images.build_image(client, REPO, reference, buildargs=args, on_line=_err)
        if not push:
            print(reference)
            return
        result = _push_with_progress(client, reference, auth)
        print(f"{result.reference} {result.digest}")


def _push_with_progress(client: Any, reference: str, auth: Any) -> Any:
    """``images.push_image`` with one progress bar per layer (plain lines off a terminal)."""
    from scheduler import images
    from scheduler.progress import LayerProgress, ProgressBoard

    with ProgressBoard() as board:
        layers = LayerProgress(board)
        try:
            return images.push_image(
                client, reference, auth=auth, on_line=board.write, on_layer=layers
            )
        finally:
            layers.close()


@task(
    help={
        "tag": "image reference (default benchmark-infra-build:latest)",
        "push": "push the image after building it (registry credentials: "
        "BENCH_REGISTRY_USER / BENCH_REGISTRY_PASSWORD)",
    }
)
def build_ci_image(c: Context, tag: str | None = None, push: bool = False) -> None:
    """Build the image CI runs the tasks in (Dockerfile.build); prints its reference."""
    from scheduler import images

    with _errors():
        reference = tag or f"{images.BUILD_IMAGE}:latest"
        repo, _ = images.split_reference(reference)
        _, auth = images.push_target(repo, env=None, push=push)
        client = _docker()
        _err("building wheels for the image")
        images.build_wheels(
            REPO, on_line=_err, extras=("ops",), dest=REPO / images.BUILD_WHEELS_DIR
        )
        images.build_image(
            client, REPO, reference, on_line=_err, dockerfile=images.BUILD_DOCKERFILE
        )
        if push:
            result = _push_with_progress(client, reference, auth)
            print(f"{result.reference} {result.digest}")
        else:
            print(reference)


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
        **{k: v for k, v in JOB_HELP.items() if k != "workload"},
    },
    iterable=["workloads", "artifact"],
    positional=["job_file"],
)
@_with_job_options
def schedule(
    c: Context,
    job_file: str | None = None,
    workloads: list[str] | None = None,
    partitions: int | None = None,
    job_queue: str | None = None,
    job_definition: str | None = None,
    capabilities: str | None = None,
    batch_stack: str | None = None,
    env: str | None = None,
    storage: str | None = None,
    timeout_minutes: int | None = None,
    attempts: int | None = None,
    artifact: list[str] | None = None,
    wait: bool = False,
    json: bool = False,
    **job_fields: Any,
) -> None:
    """Validate, upload artifacts once, submit one Batch job per workload; print the run."""
    from scheduler.batch import BatchClient
    from scheduler.progress import TransferProgress, local_artifact_bytes
    from scheduler.schedule import ScheduleRequest, load_jobs, schedule_run
    from scheduler.submit import resolve_target
    from worker.storage import open_store

    as_json = json
    with _errors():
        options = job_overrides(job_fields, artifact or [])
        request = ScheduleRequest(
            Path(job_file) if job_file else None,
            options,
            tuple(workloads or ()),
            int(partitions or 1),
        )
        jobs, job_dir = load_jobs(request)  # validate before touching AWS
        env = env or _setting(c, "env") or ""
        stack = _stack(c, env, batch_stack)
        batch = BatchClient()
        target = resolve_target(
            stack=stack,
            job_queue=job_queue or _setting(c, "job_queue"),
            job_definition=job_definition or _setting(c, "job_definition"),
            capability_text=capabilities,
            batch=batch,
        )
        store = open_store(_storage(c, storage, stack))
        progress = TransferProgress("uploading artifacts", local_artifact_bytes(jobs, job_dir))
        try:
            run, uploaded, sent = schedule_run(
                request,
                store,
                target,
                batch,
                env=env,
                timeout_seconds=int(timeout_minutes) * 60 if timeout_minutes else None,
                attempts=int(attempts) if attempts else None,
                progress=progress,
            )
        finally:
            progress.close()
        _err(
            f"artifacts uploaded: {uploaded} ({sent} bytes); queue {target.queue}, "
            f"job definition {target.job_definition}"
        )
        if as_json:
            print(to_json({"run_id": run.run_id, "storage": store.base_uri, "jobs": run.jobs}))
        else:
            print(run.run_id)
            for job in run.jobs:
                print(f"{job.job_id} {job.name}")
                _err(f"  logs: invoke logs {job.job_id} --follow  (group {run.log_group})")
            _err(f"watch: invoke watch {run.run_id} --storage {store.base_uri}")
    if wait:
        watch(c, run.run_id, storage=store.base_uri)


@task(
    help={
        "run-id": "the run id printed by schedule",
        "storage": "storage base URI holding runs/<run id>/manifest.json",
        "env": "environment (its stack's bucket is the default storage)",
        "batch-stack": "stack whose ArtifactBucket is the default storage",
        "timeout": "give up after this many seconds (the jobs keep running)",
        "interval": "seconds between polls (default 10)",
        "json": "print the final job states as JSON on stdout",
        **_STORE_HELP,
    }
)
@_with_store_options
def watch(
    c: Context,
    run_id: str,
    storage: str | None = None,
    env: str | None = None,
    batch_stack: str | None = None,
    timeout: float | None = None,
    interval: float | None = None,
    json: bool = False,
    **store_options: Any,
) -> None:
    """Watch a run until its jobs end: exit 0 all succeeded, 3 any failed; Ctrl-C detaches."""
    from scheduler import watch as watching
    from scheduler.batch import BatchClient
    from scheduler.logs import describe_log_location
    from scheduler.plan import read_manifest
    from scheduler.progress import ProgressBoard
    from scheduler.render import format_change, jobs_table
    from worker import aws

    with _errors():
        store = open_store(_storage(c, storage, _stack(c, env, batch_stack)))
        manifest = read_manifest(store, run_id)
        jobs = watching.run_jobs(store, run_id, manifest)
        states: dict[str, Any] = {}
        board = ProgressBoard()
        finished = board.task(f"run {run_id}", total=len(jobs), unit="jobs done")
        try:
            for update in watching.iter_updates(
                BatchClient(),
                list(jobs),
                interval=float(interval or 10.0),
                timeout=float(timeout) if timeout else None,
            ):
                states = dict(update.jobs)
                for change in update.changes:
                    board.write(format_change(change))
                finished(sum(1 for j in states.values() if j.status.done) - finished.done)
        except KeyboardInterrupt:
            _err(
                f"detached; the jobs keep running. Re-attach with: invoke watch {run_id} "
                f"--storage {store.base_uri}"
            )
            raise Exit(code=130) from None
        finally:
            finished.close(quiet=True)
            board.close()
            if states:  # like the original: the jobs' records are kept whatever happened
                watching.record_jobs(store, run_id, states)
                with _open_results_store(c, **store_options) as results_store:
                    results_store.write_jobs(watching.job_records(manifest, states))
        result = watching.outcome(states)
        if board.live:
            _err(jobs_table(result.jobs))
        if json:
            print(to_json(result.jobs))
        region = aws.region()
        watching.check_outcome(result, lambda j: describe_log_location(j, region))
        _err(f"all {len(result.jobs)} job(s) of run {run_id} succeeded")


@task(
    help={
        "run-id": "the run to cancel",
        "storage": "storage base URI holding runs/<run id>/manifest.json",
        "env": "environment (its stack's bucket is the default storage)",
        "batch-stack": "stack whose ArtifactBucket is the default storage",
        "reason": "reason recorded with each terminated job",
    }
)
def cancel(
    c: Context,
    run_id: str,
    storage: str | None = None,
    env: str | None = None,
    batch_stack: str | None = None,
    reason: str | None = None,
) -> None:
    """Terminate every unfinished job of a run; prints the terminated job ids."""
    from scheduler import watch as watching
    from scheduler.batch import BatchClient
    from worker.storage import open_store

    with _errors():
        store = open_store(_storage(c, storage, _stack(c, env, batch_stack)))
        jobs = watching.run_jobs(store, run_id)
        cancelled = watching.cancel_run(
            BatchClient(), list(jobs), reason or f"run {run_id} cancelled by the operator"
        )
        for job in cancelled:
            print(job.job_id)
        _err(f"terminated {len(cancelled)} unfinished job(s) of run {run_id}")


@task(
    help={
        "job-id": "Batch job id (schedule and watch print them)",
        "follow": "keep reading while the job runs",
    }
)
def logs(c: Context, job_id: str, follow: bool = False) -> None:
    """Print a Batch job's log events (CloudWatch Logs); --follow while it runs."""
    from scheduler.logs import iter_job_log

    with _errors():
        for event in iter_job_log(job_id, follow=bool(follow)):
            print(event.message, flush=True)


def _run_in_image(
    c: Context,
    image: str,
    job_parameters: str | None,
    job_file: str | None,
    overrides: dict[str, Any],
    storage: str | None,
    workspace: str | None,
) -> None:
    """``run-worker --image``: prepare the job (unless --job-parameters names one) in the
    storage, then run the worker image on the local engine with Batch's arguments."""
    from scheduler.local_run import build_local_run, run_local
    from scheduler.plan import prepare_run
    from worker.errors import ConfigError
    from worker.jobfile import load_job
    from worker.storage import open_store

    with _errors():
        if job_parameters is None:
            base = storage or _setting(c, "storage")
            if not base:
                raise ConfigError(
                    "--image needs --job-parameters URI, or a job file and --storage (an s3:// "
                    "base the container can reach, e.g. the sandbox bucket)"
                )
            path = Path(job_file) if job_file else None
            job = load_job(path, overrides)
            plan = prepare_run(
                [job], open_store(str(base)), job_dir=path.parent if path else Path.cwd()
            )
            job_parameters = plan.jobs[0].parameters_uri
            print(plan.jobs[0].results_uri)
        spec = build_local_run(
            image, job_parameters, os.environ, workspace=Path(workspace) if workspace else None
        )
        _err(f"running {image} as job {spec.name}: run --job-parameters {job_parameters}")
        code = run_local(_docker(), spec, _err)
    if code != 0:
        raise Exit(f"error: the worker exited with {code}", code)


def _sandbox_dir(c: Context) -> Path:
    return Path(_setting(c, "sandbox_dir") or REPO / ".work" / "sandbox")


@task(
    help={
        "image": "worker image the sandbox's Batch job definition runs (default: build one)",
    }
)
def sandbox_up(c: Context, image: str | None = None) -> None:
    """Start a local AWS (moto server, Batch running the worker image) and a registry."""
    from scheduler.sandbox.lifecycle import start_sandbox

    with _errors():
        state = start_sandbox(_sandbox_dir(c), image=image, on_line=_err)
    _err('sandbox is up; export these variables (eval "$(invoke sandbox-up)" works too):')
    for key, value in state.env.items():
        print(f"export {key}={value}")


@task
def sandbox_down(c: Context) -> None:
    """Stop the sandbox's moto server and registry and remove its job containers."""
    from scheduler.sandbox.lifecycle import stop_sandbox

    with _errors():
        for line in stop_sandbox(_sandbox_dir(c)):
            _err(line)


# --- results store ---


@task(
    help={
        "results_uri": "results prefix holding <run-id>/<test-run-id>/results.json "
        "(default: setting results_uri, else <storage>/results)",
        "run_id": "only the documents of this scheduling run",
        "since": "only test runs started at or after this ISO date/time",
        "json": "print the counts as JSON on stdout",
        **_STORE_HELP,
    }
)
@_with_store_options
def results_sync(
    c: Context,
    results_uri: str | None = None,
    run_id: str | None = None,
    since: str | None = None,
    json: bool = False,
    **store_options: Any,
) -> None:
    """Replay results documents from the object store into the results store (idempotent)."""
    with _errors():
        base = _setting(c, "results_uri", results_uri)
        if base is None and _setting(c, "storage"):
            base = join_uri(_setting(c, "storage"), "results")
        if not base:
            raise ConfigError("results-sync: give --results-uri (or set bench.results_uri)")
        with _open_results_store(c, **store_options) as store:
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
        "base": "the base: a test run id (or, with --by build, a CI build)",
        "contender": "the contender: a test run id (or, with --by build, a CI build)",
        "by": "what BASE and CONTENDER name: test-run (default) or build",
        "alpha": "significance level of the Mann-Whitney U test (default 0.01)",
        "min_effect": "smallest relative change of the median that counts (default 0.02)",
        "fail_on_slower": "exit 3 when a benchmark got slower beyond noise",
        "json": "print the comparisons as JSON on stdout",
        **_STORE_HELP,
    }
)
@_with_store_options
def compare(
    c: Context,
    base: str,
    contender: str,
    by: str = "test-run",
    alpha: float = 0.01,
    min_effect: float = 0.02,
    fail_on_slower: bool = False,
    json: bool = False,
    **store_options: Any,
) -> None:
    """Compare two test runs (or builds) per benchmark: medians, ratio, beyond noise or not."""
    with _errors():
        if by not in ("test-run", "build"):
            raise ConfigError(f"--by {by!r}: use test-run or build")

        def flt(name: str) -> ResultsFilter:
            if by == "build":
                return ResultsFilter(build=name, limit=1_000_000)
            return ResultsFilter(test_run_id=name, limit=1_000_000)

        with _open_results_store(c, **store_options) as store:
            base_rows, contender_rows = store.metrics(flt(base)), store.metrics(flt(contender))
        for name, rows in ((base, base_rows), (contender, contender_rows)):
            if not rows:
                raise ConfigError(f"no results for {by} {name!r} in the results store")
        comparisons = compare_metrics(base_rows, contender_rows, alpha=alpha, min_effect=min_effect)
    if json:
        print(to_json(comparisons))
    else:
        print(format_comparisons(comparisons))
    slower = [x.benchmark for x in comparisons if x.verdict is Verdict.SLOWER]
    if fail_on_slower and slower:
        raise Exit(f"slower beyond noise: {', '.join(slower)}", ExitCode.BENCHMARK_FAILED)
