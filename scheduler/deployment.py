"""``invoke deploy``'s decisions before the change set: which AMI, which network, which
results-store password, all from options, the environment and what is deployed already."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from scheduler import ami, stack, stacktemplate
from scheduler.stackinfo import stack_name
from worker.errors import ConfigError

PASSWORD_ENV = "BENCH_RESULTS_DB_PASSWORD"  # noqa: S105 - a variable name
RESULTS_URI_ENV = "BENCH_RESULTS_DB_URI"


def resolve_ami(ami_id: str | None, manifest: str | None) -> str | None:
    """The AMI id given, else the one of the Packer manifest (when there is one)."""
    if ami_id:
        return ami_id
    path = Path(manifest) if manifest else ami.MANIFEST_PATH
    if manifest or path.exists():
        return ami.read_ami_id(path)
    return None


def resolve_password(
    env: str,
    given: str | None,
    *,
    environ: Mapping[str, str] | None = None,
    prompt: Callable[[str], str] | None = None,
) -> str | None:
    """Option, then environment, then (new stacks only, on a terminal) ``prompt``. Never
    echoed; ``None`` on an update keeps the deployed stack's password."""
    password = given or (os.environ if environ is None else environ).get(PASSWORD_ENV)
    if password:
        return password
    if stack.describe_stack(stack_name(env)) is not None:
        return None
    if prompt is not None:
        return prompt(f"Results store password for {env}: ") or None
    return None


def iter_deploy(
    env: str,
    *,
    ami_id: str | None = None,
    manifest: str | None = None,
    vpc_id: str | None = None,
    subnet_ids: str | None = None,
    results_db_uri: str | None = None,
    results_db_user: str | None = None,
    results_db_password: str | None = None,
    image_tag_suffix: str | None = None,
    dry_run: bool = False,
    prompt: Callable[[str], str] | None = None,
    on_line: Callable[[str], None] = lambda _line: None,
) -> Iterator[stack.StackEvent]:
    """Check the template is current, fill in the defaults (default VPC on create, the last
    built AMI, the password), then deploy through a change set, yielding its events."""
    if not stacktemplate.check_template_current():
        raise ConfigError("stack/benchmarking.yaml is out of date: run `invoke stack-template`")
    name = stack_name(env)
    subnets = tuple(s for s in (subnet_ids or "").split(",") if s)
    if vpc_id is None and stack.describe_stack(name) is None:
        vpc_id, default_subnets = stack.default_network()
        subnets = subnets or default_subnets
        on_line(f"using the default VPC {vpc_id} and subnets {', '.join(subnets)}")
    request = stack.DeployRequest(
        env=env,
        ami_id=resolve_ami(ami_id, manifest),
        vpc_id=vpc_id,
        subnet_ids=subnets,
        results_db_uri=results_db_uri or os.environ.get(RESULTS_URI_ENV),
        results_db_user=results_db_user,
        results_db_password=resolve_password(env, results_db_password, prompt=prompt),
        image_tag_suffix=image_tag_suffix,
    )
    from scheduler.sandbox import deploy as sandbox_deploy  # adapts to the sandbox's AWS

    yield from sandbox_deploy.iter_deploy(request, dry_run=dry_run)
