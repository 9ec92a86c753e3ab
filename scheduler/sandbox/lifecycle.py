"""``invoke sandbox-up``/``sandbox-down``: the whole AWS flow on this machine, no account.

Starts the Docker engine (and the base image), builds the worker image, starts moto server
(Batch runs job containers on the host network) and an open local registry, creates a bucket
and the Batch resources, and keeps what it made in ``<dir>/state.json`` so that
``sandbox-down`` stops and removes exactly that: every sandbox has an id, its image carries
it in its tag and as the label ``benchmark-infra.sandbox=<id>``, which the job containers
inherit. Containers of an image given with ``--image`` are recognised by the sandbox's
endpoint in their environment. Nothing another sandbox or a test session made is touched.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from scheduler import images
from scheduler.sandbox.batch_resources import create_batch_resources
from scheduler.sandbox.docker_engine import REPO, ensure_base_image, start_engine
from scheduler.sandbox.moto_server import CREDENTIALS, check_moto_installed, start_moto_server
from scheduler.sandbox.processes import stop_process
from scheduler.sandbox.registry import start_registry
from worker.contract import Env

#: Label on the sandbox's image (and so on its job containers): the sandbox's id.
LABEL = "benchmark-infra.sandbox"
IMAGE_REPOSITORY = "bench-sandbox/worker"
BUCKET = "sandbox-artifacts"
#: Exported by sandbox-up: where the running sandbox keeps its state (deploy reads it).
SANDBOX_DIR_ENV = "BENCH_SANDBOX_DIR"


@dataclasses.dataclass
class SandboxState:
    env: dict[str, str]
    pids: dict[str, int]
    image: str
    sandbox_id: str = ""
    #: True when sandbox-up built ``image`` (sandbox-down removes it again).
    built_image: bool = False
    workdir: str = ""
    #: Extra names the sandbox gave its image (deploy tags it as the stack's ECR images).
    added_tags: list[str] = dataclasses.field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return self.env.get(Env.AWS_ENDPOINT_URL, "")


def state_file(workdir: Path) -> Path:
    return workdir / "state.json"


def read_state(workdir: Path) -> SandboxState | None:
    """The running sandbox's state, or None when none is up in ``workdir``."""
    path = state_file(workdir)
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    known = {f.name for f in dataclasses.fields(SandboxState)}
    return SandboxState(**{k: v for k, v in data.items() if k in known})


def active_state(environ: Mapping[str, str] = os.environ) -> SandboxState | None:
    """The sandbox the current AWS endpoint belongs to, if any.

    Only when ``BENCH_SANDBOX_DIR`` names a running sandbox AND ``AWS_ENDPOINT_URL`` is that
    sandbox's endpoint: a stale variable never makes a real deploy take sandbox shortcuts.
    """
    workdir = environ.get(SANDBOX_DIR_ENV)
    if not workdir:
        return None
    state = read_state(Path(workdir))
    if state is None or environ.get(Env.AWS_ENDPOINT_URL) != state.endpoint:
        return None
    return state


def _with_aws_env(exported: Mapping[str, str], action: Callable[[], Any]) -> Any:
    """Run ``action`` with boto3 pointed at the sandbox (restoring the environment after)."""
    saved = {k: os.environ.get(k) for k in exported}
    os.environ.update(exported)
    try:
        return action()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def start_sandbox(
    workdir: Path, *, image: str | None = None, on_line: Callable[[str], None] = print
) -> SandboxState:
    """Start everything (idempotent: an existing sandbox in ``workdir`` is returned)."""
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    existing = read_state(workdir)
    if existing is not None:
        on_line("sandbox already up (invoke sandbox-down stops it)")
        return existing
    check_moto_installed()
    sandbox_id = secrets.token_hex(4)
    # moto first: it fails fastest (a missing package), before minutes of image building
    moto = start_moto_server(workdir, detached=True)
    pids = {"moto": moto.pid}
    try:
        engine = start_engine(workdir / "docker")
        ensure_base_image(engine)
        built = image is None
        if image is None:
            image = f"{IMAGE_REPOSITORY}:{images.image_tag(suffix=f'sandbox{sandbox_id}')}"
            on_line(f"building {image}")
            images.build_wheels(REPO)
            client = engine.client()
            try:
                images.build_worker_image(
                    client, REPO, image, on_line=on_line, labels={LABEL: sandbox_id}
                )
            finally:
                client.close()
        registry = start_registry(workdir / "registry")
        pids["registry"] = registry.pid
        exported = {**CREDENTIALS, Env.AWS_ENDPOINT_URL: moto.endpoint}
        worker_image = image
        setup = _with_aws_env(
            exported,
            lambda: create_batch_resources(
                worker_image, moto.endpoint, name="sandbox", bucket=BUCKET, credentials=CREDENTIALS
            ),
        )
    except BaseException:
        for pid in pids.values():  # nothing half-started is left behind
            stop_process(pid)
        raise
    state = SandboxState(
        env={
            **exported,
            SANDBOX_DIR_ENV: str(workdir),
            "INVOKE_BENCH_STORAGE": setup.storage,
            "INVOKE_BENCH_JOB_QUEUE": setup.queue,
            "INVOKE_BENCH_JOB_DEFINITION": setup.job_definition,
            "INVOKE_BENCH_REPOSITORY": f"{registry.address}/benchmarks-worker",
        },
        pids=pids,
        image=image,
        sandbox_id=sandbox_id,
        built_image=built,
        workdir=str(workdir),
    )
    state_file(workdir).write_text(json.dumps(dataclasses.asdict(state), indent=2))
    return state


def remember_tags(state: SandboxState, references: list[str]) -> None:
    """Record extra tags of the sandbox's image, so that sandbox-down removes them."""
    state.added_tags = sorted(set(state.added_tags) | set(references))
    path = state_file(Path(state.workdir))
    path.write_text(json.dumps(dataclasses.asdict(state), indent=2))


def _container_endpoint(container: Any) -> str | None:
    for item in container.attrs.get("Config", {}).get("Env") or []:
        key, _, value = str(item).partition("=")
        if key == Env.AWS_ENDPOINT_URL:
            return value
    return None


def sandbox_containers(client: Any, state: SandboxState) -> list[Any]:
    """The job containers this sandbox's Batch made: its label, or (for an image given with
    ``--image``) that image with this sandbox's endpoint in the environment."""
    found = {c.id: c for c in client.containers.list(all=True, filters={"label": _label(state)})}
    if not state.built_image:
        for container in client.containers.list(all=True, filters={"ancestor": state.image}):
            if _container_endpoint(container) == state.endpoint:
                found[container.id] = container
    return list(found.values())


def _label(state: SandboxState) -> str:
    return f"{LABEL}={state.sandbox_id or 'none'}"


def stop_sandbox(workdir: Path) -> Iterator[str]:
    """Stop the sandbox's processes, remove its job containers (and the image it built)."""
    state = read_state(workdir.resolve())
    if state is None:
        yield "no sandbox is up"
        return
    for name, pid in state.pids.items():
        if stop_process(pid):
            yield f"stopped {name} (pid {pid})"
        else:
            yield f"{name} (pid {pid}) was not running"
    engine = start_engine(workdir / "docker")
    client = engine.client()
    try:
        for container in sandbox_containers(client, state):
            container.remove(force=True)
            yield f"removed job container {container.name}"
        for reference in state.added_tags:
            try:
                client.images.remove(reference)
                yield f"removed tag {reference}"
            except Exception as exc:  # docker.errors.ImageNotFound: already gone
                if type(exc).__name__ != "ImageNotFound":
                    raise
        if state.built_image:
            for found in client.images.list(filters={"label": _label(state)}):
                client.images.remove(found.id, force=True)
                yield f"removed image {', '.join(found.tags) or found.id}"
    finally:
        client.close()
    state_file(workdir.resolve()).unlink()
