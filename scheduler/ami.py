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

``packer build`` runs as a child process in its own process group, its output streamed line
by line (an AMI build takes minutes, and CI logs should show progress); packer-py
(``packerpy``) collects the output only when the process ends and guesses a binary path that
is wrong on Debian. When the build is interrupted (Ctrl-C, the caller stops reading) or runs
past its timeout, the whole group gets SIGTERM (Packer then deletes the instance, key pair and
security group it made), and SIGKILL if it has not ended after a grace period: no Packer is
left running behind the task.

Without SSH (``no_ssh``, and always in the sandbox): moto's EC2 starts no real instance, so
Packer would wait for SSH forever. :func:`no_ssh_template` writes a variant of the template
with ``"communicator": "none"`` and no provisioners; the AMI is registered with the real
template's source AMI filter, volumes, tags and manifest, but nothing is installed on it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
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
#: Default limit of one ``packer build`` (an AMI build takes 10-20 minutes on AWS).
DEFAULT_TIMEOUT_SECONDS = 3600.0
#: How long Packer may take to clean up after SIGTERM before it is killed.
STOP_GRACE_SECONDS = 60.0


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


def no_ssh_template(template: Path, dest_dir: Path) -> Path:
    """A variant of ``template`` that never connects to the instance (communicator none, no
    provisioners): how the sandbox (moto) gets an AMI id. Written to ``dest_dir``."""
    try:
        data = json.loads(template.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot read packer template {template}: {err}") from err
    for builder in data.get("builders", []):
        builder["communicator"] = "none"
    data.pop("provisioners", None)
    dest_dir.mkdir(parents=True, exist_ok=True)
    variant = dest_dir / f"{template.stem}.no-ssh.json"
    variant.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return variant


def _stop_group(proc: subprocess.Popen[str], grace: float) -> None:
    """SIGTERM the build's process group, SIGKILL it after ``grace`` seconds."""
    if proc.poll() is not None:
        return
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def iter_build(
    template: Path = TEMPLATE_PATH,
    variables: Mapping[str, str] | None = None,
    *,
    packer: str = "packer",
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    grace: float = STOP_GRACE_SECONDS,
) -> Iterator[str]:
    """Run ``packer build``, yielding its output lines as they come.

    Interrupting the caller (or closing the generator) and running past ``timeout`` seconds
    stop the build's whole process group (see the module docstring).
    """
    binary = shutil.which(packer)
    if binary is None:
        raise ConfigError(
            f"packer not found ({packer}): install it (Debian: apt-get install packer)"
        )
    ensure_plugins(packer)
    args = [binary, "build", "-color=false", *_var_args(variables or {}), str(template)]
    log.info("running packer build %s", template)
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=packer_env(env),
        start_new_session=True,  # its own group: Ctrl-C reaches us, we stop it in order
    )
    timed_out = threading.Event()

    def expire() -> None:
        timed_out.set()
        _stop_group(proc, grace)

    timer = threading.Timer(timeout, expire)
    timer.daemon = True
    timer.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            yield line.rstrip("\n")
        code = proc.wait()
    finally:
        timer.cancel()
        _stop_group(proc, grace)  # a no-op when it ended; else interrupted: stop it
    if timed_out.is_set():
        raise BenchInfraError(
            f"packer build of {template} did not finish within {timeout:.0f}s: stopped it"
        )
    if code != 0:
        raise BenchInfraError(
            f"packer build of {template} failed with exit code {code}: see its output"
        )


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
    no_ssh: bool = False,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    on_line: Callable[[str], None] = log.info,
) -> str:
    """``invoke build-ami``: run Packer (its output line by line to ``on_line``; without SSH
    when ``no_ssh``, see :func:`no_ssh_template`), then read the new AMI's id from the
    manifest it wrote."""
    import tempfile

    manifest_path = manifest or MANIFEST_PATH
    variables = build_variables(
        env=env,
        manifest=manifest_path,
        commit=commit,
        extra={key: value for key, value in extra.items() if value},
    )
    template_path = template or TEMPLATE_PATH
    with tempfile.TemporaryDirectory(prefix="packer-") as scratch:
        if no_ssh:
            template_path = no_ssh_template(template_path, Path(scratch))
        for line in iter_build(template_path, variables, packer=packer, timeout=timeout):
            on_line(line)
    return read_ami_id(manifest_path)
