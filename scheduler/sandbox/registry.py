"""Debian's ``docker-registry`` on loopback, with its own config: open, or with htpasswd auth.

The sandbox's registry (``invoke build-worker --push`` goes there) and the tests'.

127.0.0.0/8 registries are insecure-allowed by the engine by default, so push and pull work
over plain HTTP.
"""

from __future__ import annotations

import dataclasses
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scheduler.sandbox.docker_engine import install_engine
from scheduler.sandbox.processes import free_port, stop_process, wait_for_port

CONFIG = """\
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
  secret: {secret}
{auth}"""

AUTH = """\
auth:
  htpasswd:
    realm: benchmark-infra-tests
    path: {htpasswd}
"""


@dataclasses.dataclass
class Registry:
    port: int
    pid: int
    log: Path
    username: str | None = None
    password: str | None = None

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``: the registry part of an image reference."""
        return f"127.0.0.1:{self.port}"


def write_config(workdir: Path, port: int, auth: tuple[str, str] | None) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    auth_text = ""
    if auth is not None:
        if shutil.which("htpasswd") is None:
            install_engine()
        htpasswd = workdir / "htpasswd"
        out = subprocess.run(
            ["htpasswd", "-Bbn", auth[0], auth[1]], check=True, capture_output=True, text=True
        ).stdout
        htpasswd.write_text(out)
        auth_text = AUTH.format(htpasswd=htpasswd)
    config = workdir / "config.yml"
    config.write_text(
        CONFIG.format(
            root=workdir / "data", port=port, secret=secrets.token_hex(16), auth=auth_text
        )
    )
    return config


def start_registry(workdir: Path, auth: tuple[str, str] | None = None) -> Registry:
    """Start a registry detached from this process (the caller stops it by pid)."""
    if shutil.which("docker-registry") is None:
        install_engine()
    port = free_port()
    config = write_config(workdir, port, auth)
    log = workdir / "registry.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            ["docker-registry", "serve", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    wait_for_port(port, timeout=30, process=proc, name="docker-registry", log=log)
    user, password = auth if auth else (None, None)
    return Registry(port, proc.pid, log, user, password)


@contextmanager
def run_registry(workdir: Path, auth: tuple[str, str] | None = None) -> Iterator[Registry]:
    registry = start_registry(workdir, auth)
    try:
        yield registry
    finally:
        stop_process(registry.pid)
