"""The real Docker engine for the sandbox (and the tests): installed, started, base image made.

- ``dockerd`` missing: ``scripts/install-test-deps.sh --apt-only`` installs Debian's docker.io
  (in a checkout; elsewhere the error names the Debian packages to install).
- engine not answering: ``dockerd`` is started in the background and stopped again at the end
  (only when we started it).
- ``debian:bookworm-slim`` cannot be pulled here: it is made with ``debootstrap`` from the
  machine's own Debian mirror and imported, once (skipped when the image exists).
- job containers that moto Batch left behind are removed at the end (only those of one
  sandbox or test session: selected by label or image).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import docker
from scheduler.errors import ServiceStartError
from scheduler.sandbox.processes import log_tail

REPO = Path(__file__).resolve().parents[2]
SOCKET = Path("/var/run/docker.sock")
BASE_IMAGE = "debian:bookworm-slim"

log = logging.getLogger(__name__)


@dataclasses.dataclass
class DockerEngine:
    """A running engine; ``started_pid`` is set when this process group started it."""

    socket: Path
    started_pid: int | None
    log: Path | None

    @property
    def base_url(self) -> str:
        return f"unix://{self.socket}"

    def client(self) -> Any:
        return docker.DockerClient(base_url=self.base_url, timeout=600)  # type: ignore[attr-defined]


def _ping(socket: Path) -> bool:
    if not socket.exists():
        return False
    try:
        client = docker.DockerClient(base_url=f"unix://{socket}", timeout=5)  # type: ignore[attr-defined]
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


#: What the sandbox needs from Debian (the installer's APT_PACKAGES hold them too).
DEBIAN_PACKAGES = ("docker.io", "docker-registry", "debootstrap", "apache2-utils")


def install_engine() -> None:
    """Debian's docker.io, docker-registry, debootstrap through the project's installer."""
    installer = REPO / "scripts" / "install-test-deps.sh"
    if not installer.is_file():
        raise ServiceStartError(
            f"the Docker engine or registry is missing: apt-get install -y "
            f"{' '.join(DEBIAN_PACKAGES)}"
        )
    subprocess.run([str(installer), "--apt-only"], check=True)


def start_engine(workdir: Path, timeout: float = 60.0) -> DockerEngine:
    """Use the running engine, or start ``dockerd`` in the background and wait for it."""
    if _ping(SOCKET):
        return DockerEngine(SOCKET, None, None)
    if shutil.which("dockerd") is None:
        install_engine()
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "dockerd.log"
    with log_path.open("ab") as out:
        proc = subprocess.Popen(
            ["dockerd", "--host", f"unix://{SOCKET}"],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServiceStartError(
                f"dockerd exited with {proc.returncode}; the end of {log_path}:\n"
                + log_tail(log_path)
            )
        if _ping(SOCKET):
            return DockerEngine(SOCKET, proc.pid, log_path)
        time.sleep(0.3)
    raise ServiceStartError(f"dockerd did not answer on {SOCKET} within {timeout}s; see {log_path}")


def stop_engine(engine: DockerEngine, timeout: float = 30.0) -> None:
    """Stop ``dockerd`` if (and only if) we started it."""
    if engine.started_pid is None:
        return
    try:
        os.kill(engine.started_pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(engine.started_pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(engine.started_pid, signal.SIGKILL)


def debian_mirror() -> str:
    """The machine's own Debian mirror (deb822 sources first, then sources.list)."""
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.is_file():
        for line in sources.read_text().splitlines():
            match = re.match(r"^URIs:\s*(\S+)", line)
            if match and "security" not in match.group(1):
                return match.group(1)
    legacy = Path("/etc/apt/sources.list")
    if legacy.is_file():
        for line in legacy.read_text().splitlines():
            match = re.match(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+bookworm\s", line)
            if match:
                return match.group(1)
    raise ServiceStartError(
        "no Debian mirror in /etc/apt/sources.list.d/debian.sources or "
        "/etc/apt/sources.list: debootstrap uses the machine's own mirror"
    )


def ensure_base_image(engine: DockerEngine, name: str = BASE_IMAGE) -> str:
    """Make ``debian:bookworm-slim`` locally with debootstrap unless it already exists."""
    client = engine.client()
    try:
        try:
            return str(client.images.get(name).id)
        except Exception as exc:
            if type(exc).__name__ != "ImageNotFound":
                raise
        if shutil.which("debootstrap") is None:
            install_engine()
        with tempfile.TemporaryDirectory(prefix="bookworm-") as root:
            subprocess.run(
                ["debootstrap", "--variant=minbase", "bookworm", root, debian_mirror()],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            tar = subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE)
            assert tar.stdout is not None
            repository, _, tag = name.partition(":")
            client.api.import_image_from_stream(tar.stdout, repository=repository, tag=tag)
            tar.stdout.close()
            if tar.wait() != 0:
                raise ServiceStartError("tar of the debootstrap tree failed")
        return str(client.images.get(name).id)
    finally:
        client.close()


def remove_containers(
    engine: DockerEngine, images: list[str] | None = None, *, label: str | None = None
) -> list[str]:
    """Remove the containers (running or not) made from one of ``images``, or carrying
    ``label`` (``key=value``); their names. Nothing else is touched."""
    client = engine.client()
    removed: list[str] = []
    filters: list[dict[str, str]] = [{"ancestor": image} for image in images or []]
    if label is not None:
        filters.append({"label": label})
    try:
        for selection in filters:
            for container in client.containers.list(all=True, filters=selection):
                container.remove(force=True)
                removed.append(str(container.name))
    finally:
        client.close()
    return removed


@contextmanager
def docker_engine(workdir: Path) -> Iterator[DockerEngine]:
    engine = start_engine(workdir)
    try:
        yield engine
    finally:
        stop_engine(engine)
