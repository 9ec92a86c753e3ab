"""Build the worker AMI with Packer and read its id back from Packer's manifest.

``ami/benchmark-worker.json`` starts from the ECS-optimized Amazon Linux 2023 AMI for x86_64
(``al2023-ami-ecs-hvm-*-x86_64``, owner amazon; Amazon Linux 2 reached its end of support),
installs (dnf) mdadm/xfsprogs and a boot-time unit that formats and mounts the NVMe instance
store on ``/work``, sets the sysctls the profilers need, takes a larger gp3 root volume, tags
everything ``owner=benchmarking``/``env=<env>``, and records the AMI id with the ``manifest``
post-processor.

Plugins: a current packer has no builders built in; ``ami/plugins.pkr.hcl`` declares the
``amazon`` plugin (``required_plugins``) and :func:`ensure_plugins` runs ``packer init`` on it
before a build. Packer 1.6 (Debian's) has the amazon builder built in and rejects that block,
which is why it lives apart from the JSON template that both versions read.

Packer runs through ``sh`` rather than packer-py: ``sh`` streams the output line by line while
the build runs (an AMI build takes minutes, and CI logs should show progress), passes an
explicit environment, and reports the exit code; packer-py (``packerpy``) collects the output
only when the process ends and guesses a binary path that is wrong on Debian.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import sh

from worker import aws
from worker.errors import BenchInfraError, ConfigError, NotFoundError

log = logging.getLogger(__name__)

AMI_DIR = Path(__file__).resolve().parent.parent / "ami"
TEMPLATE_PATH = AMI_DIR / "benchmark-worker.json"
MANIFEST_PATH = AMI_DIR / "manifest.json"
PLUGINS_PATH = AMI_DIR / "plugins.pkr.hcl"
#: The first packer release that reads ``required_plugins`` (and installs plugins with init).
PLUGINS_SINCE = (1, 7)
FILES_DIR = AMI_DIR / "files"


def packer_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment Packer runs in: ours, without phoning home for version checks."""
    return {**os.environ, "CHECKPOINT_DISABLE": "1", **(extra or {})}


def build_variables(
    *,
    env: str,
    manifest: Path = MANIFEST_PATH,
    region: str | None = None,
    commit: str | None = None,
    ec2_endpoint: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Template variables for one build; the EC2 endpoint follows AWS_ENDPOINT_URL."""
    variables = {
        "env": env,
        "region": region or aws.region(),
        "manifest": str(manifest),
        "files_dir": str(FILES_DIR),
    }
    if commit:
        variables["commit"] = commit
    endpoint = (
        ec2_endpoint or os.environ.get("AWS_ENDPOINT_URL_EC2") or os.environ.get("AWS_ENDPOINT_URL")
    )
    if endpoint:
        variables["ec2_endpoint"] = endpoint
    variables.update(extra or {})
    return variables


def _var_args(variables: Mapping[str, str]) -> list[str]:
    args: list[str] = []
    for key, value in variables.items():
        args += ["-var", f"{key}={value}"]
    return args


def _packer(binary: str) -> Any:
    try:
        return sh.Command(binary)
    except sh.CommandNotFound as err:
        raise ConfigError(
            f"packer not found ({binary}): install it (Debian: apt-get install packer)"
        ) from err


def validate(
    template: Path = TEMPLATE_PATH,
    variables: Mapping[str, str] | None = None,
    *,
    packer: str = "packer",
) -> str:
    """Run ``packer validate``; returns its output, raises ConfigError with it on failure."""
    cmd = _packer(packer)
    try:
        out = cmd("validate", *_var_args(variables or {}), str(template), _env=packer_env())
    except sh.ErrorReturnCode as err:
        text = (err.stdout + err.stderr).decode(errors="replace")
        raise ConfigError(f"packer template {template} is not valid:\n{text}") from err
    return str(out)


def packer_version(packer: str = "packer") -> tuple[int, int, int]:
    """The version ``packer version`` reports, e.g. (1, 6, 6)."""
    out = str(_packer(packer)("version", _env=packer_env()))
    found = re.search(r"v?(\d+)\.(\d+)\.(\d+)", out)
    if not found:
        raise ConfigError(f"cannot read the packer version from {out.strip()!r}")
    major, minor, patch = (int(part) for part in found.groups())
    return major, minor, patch


def ensure_plugins(packer: str = "packer", plugins: Path = PLUGINS_PATH) -> bool:
    """``packer init`` the declared plugins; False for a packer with the builders built in."""
    version = packer_version(packer)
    if version[:2] < PLUGINS_SINCE:
        log.info("packer %s has the amazon builder built in: no packer init", version)
        return False
    try:
        _packer(packer)("init", str(plugins), _env=packer_env())
    except sh.ErrorReturnCode as err:
        text = (err.stdout + err.stderr).decode(errors="replace")
        raise BenchInfraError(f"packer init {plugins} failed:\n{text}") from err
    return True


def iter_build(
    template: Path = TEMPLATE_PATH,
    variables: Mapping[str, str] | None = None,
    *,
    packer: str = "packer",
    env: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """Run ``packer build``, yielding its output lines as they come."""
    cmd = _packer(packer)
    ensure_plugins(packer)
    args = ["build", "-color=false", *_var_args(variables or {}), str(template)]
    log.info("running packer build %s", template)
    try:
        for line in cmd(*args, _iter=True, _bg_exc=False, _err_to_out=True, _env=packer_env(env)):
            yield str(line).rstrip("\n")
    except sh.ErrorReturnCode as err:
        raise BenchInfraError(
            f"packer build of {template} failed with exit code {err.exit_code}: see its output"
        ) from err


def read_ami_id(manifest: Path = MANIFEST_PATH, *, region: str | None = None) -> str:
    """The AMI id of the manifest's last run, in ``region`` (default: the current one)."""
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise NotFoundError(
            f"no AMI manifest at {manifest}: run `invoke build-ami` or give --ami-id"
        ) from err
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot read AMI manifest {manifest}: {err}") from err
    builds = data.get("builds") or []
    last = [b for b in builds if b.get("packer_run_uuid") == data.get("last_run_uuid")]
    if not (last or builds):
        raise ConfigError(f"AMI manifest {manifest} records no build")
    artifacts = (last or builds)[-1].get("artifact_id", "")
    amis = dict(item.split(":", 1) for item in artifacts.split(",") if ":" in item)
    wanted = region or aws.region()
    if wanted in amis:
        return str(amis[wanted])
    raise NotFoundError(
        f"AMI manifest {manifest} has no AMI in {wanted} (only {', '.join(amis) or 'none'})"
    )


def build_ami(
    *,
    env: str,
    commit: str | None,
    template: Path | None,
    manifest: Path | None,
    extra: Mapping[str, str | None],
    packer: str = "packer",
    on_line: Callable[[str], None] = log.info,
) -> str:
    """``invoke build-ami``: run Packer (its output line by line to ``on_line``), then read
    the new AMI's id from the manifest it wrote."""
    manifest_path = manifest or MANIFEST_PATH
    variables = build_variables(
        env=env,
        manifest=manifest_path,
        commit=commit,
        extra={key: value for key, value in extra.items() if value},
    )
    for line in iter_build(template or TEMPLATE_PATH, variables, packer=packer):
        on_line(line)
    return read_ami_id(manifest_path)
