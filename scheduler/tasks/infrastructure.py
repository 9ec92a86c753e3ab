"""Infrastructure: the stack template, deploy/destroy a stack, its outputs, the AMI, costs."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from invoke.context import Context
from invoke.exceptions import Exit

from scheduler.tasks.common import err, errors, required, task
from worker.contract import ExitCode

_ENV_HELP = "Environment: the stack is benchmarking-<env> (prod, staging, or your own name)"


def _print_events(events: Iterable[Any], as_json: bool) -> None:
    from scheduler import stack
    from scheduler.render import stack_event_lines

    for event in events:
        for line in stack_event_lines(event):
            err(line)
        if isinstance(event, stack.StackDone) and event.status != "DELETE_COMPLETE":
            _print_outputs(event.outputs, as_json)


def _print_outputs(outputs: dict[str, str], as_json: bool) -> None:
    if not outputs:
        err("the stack has no outputs (no queues, job definitions or bucket to schedule on)")
    if as_json:
        import json

        print(json.dumps(outputs, indent=2, sort_keys=True))
    else:
        for key in sorted(outputs):
            print(f"{key}={outputs[key]}")


@task(help={"check": "Only check that stack/benchmarking.yaml is up to date (exit 1 if not)"})
def stack_template(c: Context, check: bool = False) -> None:
    """Render stack/benchmarking.yaml from stack/config.yaml."""
    from scheduler import stacktemplate

    with errors():
        if check:
            if not stacktemplate.check_template_current():
                raise Exit(
                    "stack/benchmarking.yaml is out of date: run `invoke stack-template`",
                    ExitCode.TOOLING_FAILURE,
                )
            err("stack/benchmarking.yaml is up to date")
            return
        changed = stacktemplate.write_template()
        err(f"{stacktemplate.TEMPLATE_PATH} {'rewritten' if changed else 'unchanged'}")


@task(
    help={
        "env": _ENV_HELP,
        "ami_id": "Worker AMI id (default: the AMI of the last `invoke build-ami`; on updates "
        "the deployed one)",
        "manifest": "Packer manifest to read the AMI id from (default ami/manifest.json)",
        "vpc_id": "VPC of the compute environments (default on create: the default VPC)",
        "subnet_ids": "Comma-separated subnets (default on create: the default VPC's subnets)",
        "results_db_uri": "Results store URI (or $BENCH_RESULTS_DB_URI); kept on updates",
        "results_db_user": "Results store user (default: benchmarks); kept on updates",
        "results_db_password": "Results store password; prefer $BENCH_RESULTS_DB_PASSWORD or "
        "the prompt, a command line is visible to other users. Kept on updates when not given",
        "image_tag_suffix": "Worker image tag suffix: jobs run <repo>:<jdk>_<suffix>",
        "dry_run": "Show the change set, then discard it",
        "json": "Print the stack outputs as JSON",
    }
)
def deploy(
    c: Context,
    env: str | None = None,
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
    import getpass

    from scheduler.deployment import iter_deploy

    with errors():
        events = iter_deploy(
            required("env", env),
            ami_id=ami_id,
            manifest=manifest,
            vpc_id=vpc_id,
            subnet_ids=subnet_ids,
            results_db_uri=results_db_uri,
            results_db_user=results_db_user,
            results_db_password=results_db_password,
            image_tag_suffix=image_tag_suffix,
            dry_run=dry_run,
            prompt=getpass.getpass if sys.stdin.isatty() else None,
            on_line=err,
        )
        _print_events(events, json)


@task(
    help={
        "env": "Environment whose stack benchmarking-<env> to delete",
        "yes": "Do not ask for confirmation",
        "empty_bucket": "Delete every object in the stack's bucket first (else a non-empty "
        "bucket stops the deletion)",
    }
)
def destroy(
    c: Context, env: str | None = None, yes: bool = False, empty_bucket: bool = False
) -> None:
    """Delete the stack benchmarking-<env> and everything in it; a missing stack is fine."""
    from scheduler import stack
    from scheduler.stackinfo import stack_name
    from worker.errors import ConfigError

    with errors():
        env = required("env", env)
        name = stack_name(env)
        if not yes:
            if not sys.stdin.isatty():
                raise ConfigError(f"not deleting {name} without --yes: no terminal to ask")
            answer = input(f"Delete stack {name} and all its resources? Type '{env}' to confirm: ")
            if answer.strip() != env:
                raise Exit("not confirmed: nothing deleted", ExitCode.TOOLING_FAILURE)
        _print_events(stack.iter_destroy(env, empty_bucket=empty_bucket), False)


@task(
    help={
        "env": "Environment whose stack outputs to print",
        "json": "Print as JSON instead of KEY=VALUE lines",
    }
)
def stack_outputs(c: Context, env: str | None = None, json: bool = False) -> None:
    """Print the outputs of the stack benchmarking-<env> (queues, job definitions, bucket)."""
    from scheduler import stack

    with errors():
        _print_outputs(stack.stack_outputs(required("env", env)), json)


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
    timeout_minutes: float = 0.0,
) -> None:
    """Build the worker AMI with Packer and print its id (deploy picks it up)."""
    from scheduler import ami
    from scheduler.sandbox.lifecycle import active_state

    with errors():
        if not no_ssh and active_state() is not None:
            no_ssh = True
            err("sandbox: building without SSH (moto starts no instance to connect to)")
        ami_id = ami.build_ami(
            env=env,
            commit=commit,
            template=Path(template) if template else None,
            manifest=Path(manifest) if manifest else None,
            extra={
                "instance_type": instance_type,
                "subnet_id": subnet_id,
                "ssh_source_cidr": ssh_cidr,
            },
            packer=packer,
            no_ssh=no_ssh,
            timeout=timeout_minutes * 60 if timeout_minutes else ami.DEFAULT_TIMEOUT_SECONDS,
            on_line=err,
        )
        print(ami_id)


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
    from scheduler import costs

    with errors():
        report = costs.fetch_costs(env=env, days=days, group_by=costs.parse_group_by(group_by))
        if json:
            print(costs.format_json(report))
        elif csv:
            print(costs.format_csv(report), end="")
        else:
            print(costs.format_table(report))
