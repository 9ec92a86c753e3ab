"""moto in server mode: a real HTTP AWS endpoint on loopback, one per test session."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.services.ports import free_port, wait_for_port

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",  # moto's dummy credentials
    "AWS_DEFAULT_REGION": "eu-north-1",
    "AWS_REGION": "eu-north-1",
}


_REQUEST_LINE = re.compile(r'"([A-Z]+) (\S+) HTTP/[0-9.]+" \d{3}')


@dataclass
class MotoServer:
    endpoint: str
    port: int
    log: Path

    def env(self) -> dict[str, str]:
        """Variables that point boto3 (ours and the AWS CLI) at this server."""
        return {**CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint}

    def post(self, path: str, body: object | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        req = urllib.request.Request(f"{self.endpoint}{path}", data=data, method="POST")
        with urllib.request.urlopen(req, timeout=30) as resp:
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


@contextmanager
def run_moto_server(workdir: Path, extra_env: dict[str, str] | None = None) -> Iterator[MotoServer]:
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
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        wait_for_port(port, timeout=30)
        yield MotoServer(f"http://127.0.0.1:{port}", port, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
