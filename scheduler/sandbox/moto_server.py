"""moto in server mode: a real HTTP AWS endpoint on loopback (the sandbox's and the tests').

Job containers of moto's Batch share the host network (``MOTO_DOCKER_NETWORK_MODE=host``), so
everything stays on 127.0.0.1; ``MOTO_PORT`` must equal the server's port.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from scheduler.errors import ServiceStartError
from scheduler.sandbox.processes import free_port, stop_process, wait_for_port

#: moto's dummy credentials and the project's default region.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "eu-north-1",
    "AWS_REGION": "eu-north-1",
}

INSTALL_HINT = "install the sandbox's packages: python3 -m pip install '.[ops,sandbox]'"


#: One request in moto's (werkzeug's) log: ``"POST /v1/submitjob HTTP/1.1" 200``.
_REQUEST_LINE = re.compile(r'"([A-Z]+) (\S+) HTTP/[0-9.]+" \d{3}')


@dataclass
class MotoServer:
    endpoint: str
    port: int
    log: Path
    pid: int = 0

    def env(self) -> dict[str, str]:
        """Variables that point boto3 (ours and the AWS CLI) at this server."""
        return {**CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint}

    def post(self, path: str, body: object | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        # the endpoint is always http://127.0.0.1:<port>, made by start_moto_server
        req = urllib.request.Request(f"{self.endpoint}{path}", data=data, method="POST")  # noqa: S310
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
            resp.read()

    def log_offset(self) -> int:
        """Where the request log ends now: pass it to :meth:`requests_since`."""
        return self.log.stat().st_size

    def requests_since(self, offset: int) -> list[tuple[str, str]]:
        """(method, path) of every request the server logged after ``offset``: counted on the
        server side, whatever the client believes it sent."""
        with self.log.open("rb") as fh:
            fh.seek(offset)
            text = fh.read().decode(errors="replace")
        return [(m.group(1), m.group(2)) for m in _REQUEST_LINE.finditer(text)]

    def reset(self) -> None:
        self.post("/moto-api/reset")

    def configure_batch(self, *, use_docker: bool) -> None:
        self.post("/moto-api/config", {"batch": {"use_docker": use_docker}})


def check_moto_installed() -> None:
    """moto's server is an optional extra: say how to get it before starting anything."""
    if importlib.util.find_spec("moto") is None or importlib.util.find_spec("flask") is None:
        raise ServiceStartError(f"moto server is not installed: {INSTALL_HINT}")


def start_moto_server(
    workdir: Path,
    extra_env: Mapping[str, str] | None = None,
    *,
    detached: bool = False,
    python: str = sys.executable,
) -> MotoServer:
    """Start ``moto.server`` on a free loopback port; its output goes to ``moto-server.log``.

    ``detached`` puts it in its own session (the sandbox outlives the task that started it).
    A server that dies on start raises :class:`ServiceStartError` with the log's last lines.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = workdir / "moto-server.log"
    env = {
        **os.environ,
        **CREDENTIALS,
        "MOTO_PORT": str(port),
        "MOTO_DOCKER_NETWORK_MODE": "host",
        **(extra_env or {}),
    }
    env.pop("AWS_ENDPOINT_URL", None)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [python, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=detached,
        )
    wait_for_port(port, timeout=30, process=proc, name="moto server", log=log)
    return MotoServer(f"http://127.0.0.1:{port}", port, log, proc.pid)


@contextmanager
def run_moto_server(
    workdir: Path, extra_env: Mapping[str, str] | None = None
) -> Iterator[MotoServer]:
    """A moto server for the duration of the ``with`` block."""
    server = start_moto_server(workdir, extra_env)
    try:
        yield server
    finally:
        stop_process(server.pid)
