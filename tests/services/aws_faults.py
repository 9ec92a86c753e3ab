"""An HTTP proxy in front of moto server that answers some AWS calls with errors AWS sends.

Toxiproxy works on TCP and cannot speak AWS's error bodies; this proxy can. It forwards every
request to moto, except that a scripted share of calls to chosen operations gets a throttling
(429 ``TooManyRequestsException``) or server (500/503) error instead, without reaching moto:
bursts, like a busy control plane. What it answered is counted per operation.
"""

from __future__ import annotations

import collections
import http.client
import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

_ERRORS = {
    429: "TooManyRequestsException",
    500: "ServerException",
    503: "ServiceUnavailableException",
}


@dataclass
class FaultScript:
    """For each operation path (``/v1/submitjob``): a repeating pattern of statuses, where
    200 means "forward to moto"."""

    patterns: dict[str, list[int]] = field(default_factory=dict)
    answered: collections.Counter[tuple[str, int]] = field(default_factory=collections.Counter)
    _cycles: dict[str, Iterator[int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def next_status(self, path: str) -> int:
        with self._lock:
            if path not in self.patterns:
                status = 200
            else:
                cycle = self._cycles.setdefault(path, itertools.cycle(self.patterns[path]))
                status = next(cycle)
            self.answered[(path, status)] += 1
            return status


@contextmanager
def run_aws_fault_proxy(upstream: str, script: FaultScript) -> Iterator[str]:
    """Serve on a free loopback port; yields the endpoint URL to give AWS clients."""
    target = urlsplit(upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _relay(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = self.path.split("?", 1)[0]
            status = script.next_status(path)
            if status != 200:
                self._error(status)
                return
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for key, value in resp.getheaders():
                    if key.lower() not in {"transfer-encoding", "connection", "content-length"}:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            finally:
                conn.close()

        def _error(self, status: int) -> None:
            code = _ERRORS.get(status, "ServerException")
            data = json.dumps({"__type": code, "message": "injected by the test"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("x-amzn-ErrorType", code)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _relay

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
