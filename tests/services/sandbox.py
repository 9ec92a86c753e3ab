"""``invoke sandbox-up``/``sandbox-down``: the whole AWS flow on this machine, no account.

Starts the Docker engine (and the base image), builds the worker image, starts moto server
(Batch runs job containers on the host network) and an open local registry, creates a bucket
and the Batch resources, and keeps the processes' ids in ``<dir>/state.json`` so that
``sandbox-down`` stops exactly those.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from scheduler import images
from tests.services.batch_setup import create_batch_resources
from tests.services.docker_engine import (
    REPO,
    ensure_base_image,
    remove_containers,
    start_engine,
)
from tests.services.moto import CREDENTIALS
from tests.services.ports import free_port, wait_for_port
from tests.services.registry import start_registry

SANDBOX_IMAGE = "bench-sandbox/worker:openjdk_17_sandbox"


@dataclasses.dataclass
class SandboxState:
    env: dict[str, str]
    pids: dict[str, int]
    image: str


def _state_file(workdir: Path) -> Path:
    return workdir / "state.json"


def start_sandbox(
    workdir: Path, *, image: str | None = None, on_line: Callable[[str], None] = print
) -> SandboxState:
    workdir.mkdir(parents=True, exist_ok=True)
    if _state_file(workdir).exists():
        data = json.loads(_state_file(workdir).read_text())
        on_line("sandbox already up (invoke sandbox-down stops it)")
        return SandboxState(**data)
    engine = start_engine(workdir / "docker")
    ensure_base_image(engine)
    if image is None:
        on_line(f"building {SANDBOX_IMAGE}")
        images.build_wheels(REPO)
        client = engine.client()
        images.build_worker_image(client, REPO, SANDBOX_IMAGE, on_line=on_line)
        client.close()
        image = SANDBOX_IMAGE
    port = free_port()
    env = {**os.environ, **CREDENTIALS, "MOTO_PORT": str(port), "MOTO_DOCKER_NETWORK_MODE": "host"}
    env.pop("AWS_ENDPOINT_URL", None)
    with (workdir / "moto-server.log").open("ab") as out:
        moto = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    wait_for_port(port, timeout=30)
    endpoint = f"http://127.0.0.1:{port}"
    registry = start_registry(workdir / "registry")
    exported = {**CREDENTIALS, "AWS_ENDPOINT_URL": endpoint}
    saved = {k: os.environ.get(k) for k in exported}
    os.environ.update(exported)
    try:
        setup = create_batch_resources(
            image, endpoint, name="sandbox", bucket="sandbox-artifacts", credentials=CREDENTIALS
        )
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    state = SandboxState(
        env={
            **exported,
            "INVOKE_BENCH_STORAGE": setup.storage,
            "INVOKE_BENCH_JOB_QUEUE": setup.queue,
            "INVOKE_BENCH_JOB_DEFINITION": setup.job_definition,
            "INVOKE_BENCH_REPOSITORY": f"{registry.address}/benchmarks-worker",
        },
        pids={"moto": moto.pid, "registry": registry.pid},
        image=image,
    )
    _state_file(workdir).write_text(json.dumps(dataclasses.asdict(state), indent=2))
    return state


def stop_sandbox(workdir: Path) -> Iterator[str]:
    state_file = _state_file(workdir)
    if not state_file.exists():
        yield "no sandbox is up"
        return
    state = SandboxState(**json.loads(state_file.read_text()))
    for name, pid in state.pids.items():
        try:
            os.kill(pid, signal.SIGTERM)
            yield f"stopped {name} (pid {pid})"
        except ProcessLookupError:
            yield f"{name} (pid {pid}) was not running"
    engine = start_engine(workdir / "docker")
    for container in remove_containers(engine, [state.image]):
        yield f"removed job container {container}"
    state_file.unlink()
