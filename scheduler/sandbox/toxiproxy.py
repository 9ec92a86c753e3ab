"""Toxiproxy, a real TCP fault proxy between the project and its servers.

The fault tests and the benchmarks put it in front of moto or Neo4j: built by
``scripts/build-toxiproxy.sh`` (the test setup and ``scripts/bench.sh`` run it), started on
loopback and driven through its HTTP API: a proxy per server, toxics added and removed
(``latency``, ``bandwidth``, ``limit_data``: close the connection after N bytes,
``reset_peer``: reset it).
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scheduler.errors import ServiceStartError
from scheduler.sandbox.processes import free_port, stop_process, wait_for_port

REPO = Path(__file__).resolve().parents[2]
#: Where scripts/build-toxiproxy.sh puts it; ``TOXIPROXY_SERVER`` names another binary.
BINARY = REPO / "build" / "bin" / "toxiproxy-server"


def toxiproxy_binary() -> Path:
    binary = Path(os.environ.get("TOXIPROXY_SERVER") or BINARY)
    if not binary.is_file():
        raise ServiceStartError(
            f"{binary} is missing: scripts/build-toxiproxy.sh builds it (or set TOXIPROXY_SERVER)"
        )
    return binary


@dataclass
class Proxy:
    api: Toxiproxy
    name: str
    port: int

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def add(self, toxic: str, *, stream: str = "downstream", **attributes: int) -> str:
        """Add a toxic to every connection (new and open); returns its name."""
        name = f"{toxic}-{stream}"
        self.api.call(
            "POST",
            f"/proxies/{self.name}/toxics",
            {
                "name": name,
                "type": toxic,
                "stream": stream,
                "toxicity": 1.0,
                "attributes": attributes,
            },
        )
        return name

    def remove(self, toxic: str) -> None:
        self.api.call("DELETE", f"/proxies/{self.name}/toxics/{toxic}")

    def remove_after(self, toxic: str, seconds: float) -> threading.Timer:
        """A fault that heals: the toxic goes away after ``seconds``."""
        timer = threading.Timer(seconds, self.remove, (toxic,))
        timer.daemon = True
        timer.start()
        return timer

    def clear(self) -> None:
        for toxic in self.api.call("GET", f"/proxies/{self.name}/toxics") or []:
            self.remove(toxic["name"])

    @contextmanager
    def toxic(self, toxic: str, *, stream: str = "downstream", **attributes: int) -> Iterator[str]:
        name = self.add(toxic, stream=stream, **attributes)
        try:
            yield name
        finally:
            self.clear()


@dataclass
class Toxiproxy:
    port: int

    def call(self, method: str, path: str, body: object | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, method=method
        )
        # always http://127.0.0.1:<port>, the server run_toxiproxy started
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
            raw = resp.read()
        return json.loads(raw) if raw else None

    def proxy(self, name: str, upstream: str) -> Proxy:
        """A new proxy to ``upstream`` (``host:port``) on a free loopback port."""
        port = free_port()
        try:
            self.call("DELETE", f"/proxies/{name}")
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise
        self.call(
            "POST",
            "/proxies",
            {"name": name, "listen": f"127.0.0.1:{port}", "upstream": upstream, "enabled": True},
        )
        return Proxy(self, name, port)


@contextmanager
def run_toxiproxy(workdir: Path) -> Iterator[Toxiproxy]:
    binary = toxiproxy_binary()
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with (workdir / "toxiproxy.log").open("wb") as out:
        proc = subprocess.Popen(
            [str(binary), "-host", "127.0.0.1", "-port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, timeout=30)
        yield Toxiproxy(port)
    finally:
        stop_process(proc.pid, timeout=10)
