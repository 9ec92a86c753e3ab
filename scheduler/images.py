"""The worker image: build it with docker-py, tag it by JDK, push it and report the digest.

Tags encode the JDK so capability matching can read it from a job definition's image:
``<repository>:<vendor>_<version>[_<suffix>]``, e.g. ``…/benchmarks-worker:openjdk_17_me``.
The Python packages go into the image as wheels built on the host (``build/wheels``).
Images and wheels are for ``linux/amd64`` (the stack's instance types) whatever the host is;
the JDK each tag names is installed by its recipe in :mod:`scheduler.jdks`.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import logging
import os
import platform
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from scheduler.errors import ImageError, RegistryCredentialsError
from scheduler.jdks import LABEL_PLATFORM, TARGET_PLATFORM, jdk_install
from worker.errors import ConfigError

log = logging.getLogger(__name__)

DOCKERFILE = "Dockerfile.worker"
WHEELS_DIR = Path("build") / "wheels"
#: The image CI runs the tasks in, and the wheels it installs (the ``ops`` extra).
BUILD_DOCKERFILE = "Dockerfile.build"
BUILD_WHEELS_DIR = Path("build") / "wheels-ops"
BUILD_IMAGE = "benchmark-infra-build"
DEFAULT_JDK = "openjdk_17"
#: Credentials for pushing to a registry other than the stack's ECR repository.
REGISTRY_USER_ENV = "BENCH_REGISTRY_USER"
REGISTRY_PASSWORD_ENV = "BENCH_REGISTRY_PASSWORD"  # noqa: S105 - a variable name
#: Python of the image's base (Debian bookworm): the dependency wheels are fetched for it.
IMAGE_PYTHON = "3.11"
#: Wheels' machine for :data:`~scheduler.jdks.TARGET_PLATFORM`.
WHEEL_MACHINE = "x86_64"
_SUFFIX_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_JDK_RE = re.compile(r"^([a-z]+)_(\d+)$")

#: Called with each line of build/push output.
OnLine = Callable[[str], None]
#: What registries say when credentials are missing or wrong (the push stream has no codes).
_REFUSED_WORDS = ("unauthorized", "authentication required", "denied", "no basic auth credentials")
#: ``(layer id, status, bytes sent so far, layer size or None)`` during a push.
OnLayer = Callable[[str, str, int, int | None], None]


@dataclasses.dataclass(frozen=True)
class RegistryAuth:
    """Credentials for one registry (kept out of logs and reprs)."""

    registry: str
    username: str
    password: str = dataclasses.field(repr=False)

    def auth_config(self) -> dict[str, str]:
        return {
            "username": self.username,
            "password": self.password,
            "serveraddress": self.registry,
        }


@dataclasses.dataclass(frozen=True)
class PushResult:
    reference: str
    digest: str

    @property
    def pinned(self) -> str:
        """``repository@sha256:…``: the exact pushed image."""
        return f"{self.reference.rsplit(':', 1)[0]}@{self.digest}"


def image_tag(jdk: str = DEFAULT_JDK, suffix: str | None = None) -> str:
    """``openjdk_17`` or ``openjdk_17_<suffix>``; refuses tags Docker would reject."""
    if not _JDK_RE.match(jdk):
        raise ConfigError(f"jdk {jdk!r}: expected <vendor>_<major>, e.g. openjdk_17")
    if not suffix:
        return jdk
    if not _SUFFIX_RE.match(suffix):
        raise ConfigError(
            f"tag suffix {suffix!r}: use up to 64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return f"{jdk}_{suffix}"


def jdk_of_tag(tag: str) -> str | None:
    """The JDK an image tag names, capability style: ``openjdk_17_me`` -> ``openjdk-17``."""
    match = re.match(r"^([a-z]+)_(\d+)(?:_.*)?$", tag)
    return f"{match.group(1)}-{match.group(2)}" if match else None


def split_reference(reference: str) -> tuple[str, str]:
    """``host:port/repo:tag`` -> (``host:port/repo``, ``tag``)."""
    repository, sep, tag = reference.rpartition(":")
    if not sep or "/" in tag:
        return reference, "latest"
    return repository, tag


def registry_of(repository: str) -> str:
    first = repository.split("/", 1)[0]
    return first if ("." in first or ":" in first or first == "localhost") else "docker.io"


# --------------------------------------------------------------------------- wheels


def _requirements(repo: Path, extras: Iterable[str]) -> list[str]:
    project = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    reqs = list(project.get("dependencies", []))
    for extra in extras:
        reqs += project.get("optional-dependencies", {}).get(extra, [])
    return sorted(set(reqs))


def build_wheels(
    repo: Path,
    on_line: OnLine | None = None,
    *,
    extras: tuple[str, ...] = ("neo4j",),
    dest: Path | None = None,
) -> Path:
    """The project's wheel plus its dependencies' wheels (with ``extras``) for the image's
    Python, in ``dest`` (default ``build/wheels``), and a ``requirements.txt`` naming the
    dependencies. They are fetched again (all of them) only when the requirements change."""
    dest = dest or repo / WHEELS_DIR
    dest.mkdir(parents=True, exist_ok=True)
    reqs = _requirements(repo, extras)
    (dest / "requirements.txt").write_text("\n".join(reqs) + "\n")
    stamp = dest / ".requirements"
    machine = WHEEL_MACHINE
    key = hashlib.sha256("\n".join([*reqs, machine, IMAGE_PYTHON]).encode()).hexdigest()
    if not stamp.is_file() or stamp.read_text() != key:
        # wheels of requirements that were dropped would stay in the build context
        for old in dest.glob("*.whl"):
            old.unlink()
        _download_wheels(dest, reqs, machine, on_line)
        stamp.write_text(key)
    for old in dest.glob("benchmark_infra-*.whl"):
        old.unlink()
    _pip(["wheel", "--no-deps", "--wheel-dir", str(dest), str(repo)], on_line)
    shutil.rmtree(repo / "build" / "lib", ignore_errors=True)
    return dest


#: pip's words for a requirement with no wheel for the target (only an sdist on the index).
_NO_WHEEL = re.compile(r"No matching distribution found for (\S+)")


def _download_wheels(dest: Path, reqs: list[str], machine: str, on_line: OnLine | None) -> None:
    """Wheels of ``reqs`` for the image's Python and machine. A requirement published only as
    an sdist is built into a wheel here first (then found through ``--find-links``): that
    works when this host is of the image's machine, and is refused clearly otherwise."""
    platforms = [f"manylinux{v}_{machine}" for v in ("2014", "_2_17", "_2_28")]
    platforms.append(f"linux_{machine}")  # what a wheel built here from an sdist is tagged
    args = [
        "download",
        "--dest",
        str(dest),
        "--find-links",
        str(dest),
        "--only-binary=:all:",
        "--python-version",
        IMAGE_PYTHON,
        "--implementation",
        "cp",
        *[arg for p in platforms for arg in ("--platform", p)],
        *reqs,
    ]
    built: set[str] = set()
    while True:
        code, output = _pip_run(args, on_line)
        if code == 0:
            return
        missing = set(_NO_WHEEL.findall(output)) - built
        if not missing:
            raise ImageError(f"pip download failed (exit {code}):\n{output[-2000:]}")
        if platform.machine() != machine or sys.version_info[:2] != _python_version():
            raise ImageError(
                f"{', '.join(sorted(missing))}: only an sdist is published, and this host "
                f"({platform.machine()}, Python {sys.version_info[0]}.{sys.version_info[1]}) "
                f"cannot build its wheel for the image ({machine}, Python {IMAGE_PYTHON})"
            )
        for requirement in sorted(missing):
            if on_line is not None:
                on_line(f"building a wheel of {requirement} (only an sdist is published)")
            _pip(["wheel", "--no-deps", "--wheel-dir", str(dest), requirement], on_line)
        built |= missing


def _python_version() -> tuple[int, int]:
    major, minor = IMAGE_PYTHON.split(".")
    return int(major), int(minor)


def _pip_run(args: list[str], on_line: OnLine | None) -> tuple[int, str]:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    for line in (proc.stdout + proc.stderr).splitlines():
        if on_line is not None:
            on_line(line)
    return proc.returncode, proc.stdout + proc.stderr


def _pip(args: list[str], on_line: OnLine | None) -> None:
    code, output = _pip_run(args, on_line)
    if code != 0:
        raise ImageError(f"pip {args[0]} failed (exit {code}):\n{output[-2000:]}")


# --------------------------------------------------------------------------- build and push


def build_worker_image(
    client: Any,
    repo: Path,
    reference: str,
    *,
    jdk: str = DEFAULT_JDK,
    buildargs: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    on_line: OnLine | None = None,
) -> str:
    """Build the worker image with ``jdk`` installed by its recipe (refused when it has none),
    labelled with its JDK and platform (and ``labels``); ``buildargs`` add to or override the
    recipe's."""
    install = jdk_install(jdk)
    return build_image(
        client,
        repo,
        reference,
        buildargs={**install.build_args(), **dict(buildargs or {})},
        labels={**install.labels(), **dict(labels or {})},
        on_line=on_line,
    )


def build_image(
    client: Any,
    repo: Path,
    reference: str,
    *,
    buildargs: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    on_line: OnLine | None = None,
    dockerfile: str = DOCKERFILE,
) -> str:
    """Build ``dockerfile`` (default the worker's) as ``reference`` for
    :data:`~scheduler.jdks.TARGET_PLATFORM`, streaming the output; the image id.

    ``forcerm`` removes intermediate containers even when the build fails. ``labels`` mark
    the image (the sandbox finds what it built by its label).
    """
    stream = client.api.build(
        path=str(repo),
        dockerfile=dockerfile,
        tag=reference,
        buildargs=dict(buildargs or {}),
        labels={LABEL_PLATFORM: TARGET_PLATFORM, **dict(labels or {})},
        platform=TARGET_PLATFORM,
        rm=True,
        forcerm=True,
        decode=True,
        pull=False,
    )
    image_id = _follow_build(stream, on_line, dockerfile)
    log.info("built %s (%s)", reference, image_id)
    return image_id


def _follow_build(
    stream: Iterable[Mapping[str, Any]], on_line: OnLine | None, dockerfile: str = DOCKERFILE
) -> str:
    image_id = ""
    for chunk in stream:
        if "error" in chunk or "errorDetail" in chunk:
            detail = chunk.get("errorDetail", {}).get("message") or chunk.get("error")
            raise ImageError(f"docker build of {dockerfile} failed: {detail}")
        text = chunk.get("stream")
        if text and on_line is not None:
            for line in str(text).splitlines():
                if line.strip():
                    on_line(line)
        aux = chunk.get("aux")
        if isinstance(aux, Mapping) and "ID" in aux:
            image_id = str(aux["ID"])
    if not image_id:
        raise ImageError(f"docker build of {dockerfile} ended without an image id")
    return image_id


def login(client: Any, auth: RegistryAuth) -> None:
    """Check the credentials against the registry; a refusal is an :class:`ImageError`."""
    from docker.errors import APIError  # the image has no docker-py

    try:
        client.login(
            username=auth.username, password=auth.password, registry=auth.registry, reauth=True
        )
    except APIError as exc:
        raise RegistryCredentialsError(
            f"registry {auth.registry} refused the login of user {auth.username!r}: "
            f"{exc.explanation or exc}; check the registry credentials "
            "(BENCH_REGISTRY_USER/BENCH_REGISTRY_PASSWORD or the AWS credentials for ECR)"
        ) from None


def push_image(
    client: Any,
    reference: str,
    *,
    auth: RegistryAuth | None = None,
    on_line: OnLine | None = None,
    on_layer: OnLayer | None = None,
) -> PushResult:
    """Push and read the whole stream: docker-py does not raise on a failed push.

    ``on_layer(layer, status, current, total)`` sees each layer's bytes as they go (the
    engine's ``progressDetail``), for a progress display.
    """
    repository, tag = split_reference(reference)
    if auth is not None:
        login(client, auth)
    stream = client.api.push(
        repository,
        tag=tag,
        stream=True,
        decode=True,
        auth_config=auth.auth_config() if auth else None,
    )
    digest = _follow_push(stream, reference, on_line, on_layer)
    log.info("pushed %s as %s", reference, digest)
    return PushResult(reference, digest)


def _follow_push(
    stream: Iterable[Mapping[str, Any]],
    reference: str,
    on_line: OnLine | None,
    on_layer: OnLayer | None = None,
) -> str:
    digest = ""
    last_status: dict[str, str] = {}
    for chunk in stream:
        if "error" in chunk or "errorDetail" in chunk:
            detail = chunk.get("errorDetail", {}).get("message") or chunk.get("error")
            if any(word in str(detail).lower() for word in _REFUSED_WORDS):
                raise RegistryCredentialsError(
                    f"push of {reference} failed: {detail}; check the registry credentials "
                    "(BENCH_REGISTRY_USER/BENCH_REGISTRY_PASSWORD or the AWS credentials for ECR)"
                )
            raise ImageError(f"push of {reference} failed: {detail}")
        status = str(chunk.get("status", ""))
        layer = str(chunk.get("id", ""))
        detail = chunk.get("progressDetail")
        if on_layer is not None and layer and isinstance(detail, Mapping):
            current, total = detail.get("current"), detail.get("total")
            on_layer(layer, status, int(current or 0), int(total) if total else None)
        if status and on_line is not None and last_status.get(layer) != status:
            last_status[layer] = status
            on_line(f"{layer}: {status}" if layer else status)
        aux = chunk.get("aux")
        if isinstance(aux, Mapping) and aux.get("Digest"):
            digest = str(aux["Digest"])
    if not digest:
        raise ImageError(f"push of {reference} ended without a digest from the registry")
    return digest


def ecr_auth(ecr: Any) -> RegistryAuth:
    """Log-in credentials for the account's ECR registry (``get_authorization_token``)."""
    data = ecr.get_authorization_token()["authorizationData"][0]
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    registry = str(data["proxyEndpoint"]).removeprefix("https://").removeprefix("http://")
    return RegistryAuth(registry, user, password)


# --------------------------------------------------------------------------- where to push


def push_target(
    repository: str | None,
    *,
    env: str | None,
    push: bool,
    environ: Mapping[str, str] | None = None,
) -> tuple[str, RegistryAuth | None]:
    """The repository to tag (and push) to, and the credentials to push with.

    Without ``repository``: the stack's ECR repository (output ``WorkerRepositoryUri``),
    logged in through ``get_authorization_token``. Another registry takes credentials from
    ``BENCH_REGISTRY_USER`` / ``BENCH_REGISTRY_PASSWORD`` when they are set.
    """
    env_vars = os.environ if environ is None else environ
    if repository is None:
        from scheduler.stackinfo import output, read_outputs, stack_name
        from worker import aws

        stack = stack_name(env)
        repository = output(read_outputs(stack), "WorkerRepositoryUri", stack)
        return repository, (ecr_auth(aws.client("ecr")) if push else None)
    user = env_vars.get(REGISTRY_USER_ENV)
    if push and user:
        return repository, RegistryAuth(
            registry_of(repository), user, env_vars.get(REGISTRY_PASSWORD_ENV, "")
        )
    return repository, None


def parse_build_args(items: Iterable[str]) -> dict[str, str]:
    """``NAME=VALUE`` build arguments; ConfigError naming a malformed one."""
    args = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ConfigError(f"--build-arg {item!r} is not NAME=VALUE")
        args[name] = value
    return args


def build_and_push_worker(
    make_client: Callable[[], Any],
    repo: Path,
    *,
    jdk: str | None,
    tag_suffix: str | None,
    repository: str | None,
    env: str | None,
    build_args: Iterable[str],
    push: bool,
    on_line: OnLine,
    on_layer: OnLayer | None = None,
) -> str:
    """``invoke build-worker``: check the options, build the wheels and the image, push it
    when asked. Returns ``<reference>`` or, pushed, ``<reference> <digest>``. The Docker
    client is made only after the options are checked (bad input never needs an engine)."""
    jdk = jdk or DEFAULT_JDK
    jdk_install(jdk)  # a JDK with no recipe is refused before any work
    tag = image_tag(jdk, tag_suffix)
    args = parse_build_args(build_args)
    repository, auth = push_target(repository, env=env, push=push)
    reference = f"{repository}:{tag}"
    client = make_client()
    if push and auth is not None:
        login(client, auth)  # wrong credentials are found before a build of minutes
    on_line("building wheels for the image")
    build_wheels(repo, on_line=on_line)
    build_worker_image(client, repo, reference, jdk=jdk, buildargs=args, on_line=on_line)
    if not push:
        return reference
    result = push_image(client, reference, auth=auth, on_line=on_line, on_layer=on_layer)
    return f"{result.reference} {result.digest}"


def build_ci_image(
    make_client: Callable[[], Any],
    repo: Path,
    *,
    tag: str | None,
    push: bool,
    on_line: OnLine,
    on_layer: OnLayer | None = None,
) -> str:
    """``invoke build-ci-image``: the image CI runs the tasks in (``Dockerfile.build``)."""
    reference = tag or f"{BUILD_IMAGE}:latest"
    repository, _ = split_reference(reference)
    _, auth = push_target(repository, env=None, push=push)
    client = make_client()
    on_line("building wheels for the image")
    build_wheels(repo, on_line=on_line, extras=("ops",), dest=repo / BUILD_WHEELS_DIR)
    build_image(client, repo, reference, on_line=on_line, dockerfile=BUILD_DOCKERFILE)
    if not push:
        return reference
    result = push_image(client, reference, auth=auth, on_line=on_line, on_layer=on_layer)
    return f"{result.reference} {result.digest}"
