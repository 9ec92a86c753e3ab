"""The README's first command on a stock Debian 12, as a new user runs it: a container from
the locally made ``debian:bookworm-slim`` (no python3, no pip, no JDK), this checkout's files
copied in, ``scripts/quickstart.sh`` run as root. It must install python3 and the project into
``.venv``, build the example benchmarks and run them end to end.

Only what this machine's network needs is prepared first (the test-environment notes): the
CA bundle of the host (registries are reached through it), its pip configuration and, for
Maven, its Java trust store.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.cli import REPO

pytestmark = [pytest.mark.docker, pytest.mark.e2e]

HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
HOST_PIP_CONF = Path("/etc/pip.conf")
HOST_JAVA_TRUST = Path("/etc/ssl/certs/java/cacerts")
#: Where the host's Java trust store goes (Debian regenerates its own when the JDK installs).
JAVA_TRUST_COPY = "/root/host-java-cacerts"


def _checkout_tar() -> bytes:
    """The checkout's tracked files as they are on disk (what a clone holds), as a tar."""
    names = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for raw in filter(None, names):
            path = REPO / raw.decode()
            if path.is_file():
                tar.add(path, arcname=f"benchmark-infra/{raw.decode()}")
    return buf.getvalue()


def _host_files_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(HOST_CA, arcname="usr/local/share/ca-certificates/host-bundle.crt")
        if HOST_PIP_CONF.is_file():
            tar.add(HOST_PIP_CONF, arcname="etc/pip.conf")
        if HOST_JAVA_TRUST.is_file():
            tar.add(HOST_JAVA_TRUST, arcname=JAVA_TRUST_COPY.lstrip("/"))
    return buf.getvalue()


def _run(container: Any, command: str) -> tuple[int, str]:
    environment = (
        {"MAVEN_OPTS": f"-Djavax.net.ssl.trustStore={JAVA_TRUST_COPY}"}
        if HOST_JAVA_TRUST.is_file()
        else {}
    )
    code, output = container.exec_run(
        ["bash", "-c", command], workdir="/root/benchmark-infra", environment=environment
    )
    return int(code), output.decode(errors="replace")


def test_quickstart_on_a_stock_debian_12(docker_engine: Any, base_image: str) -> None:
    client = docker_engine.client()
    container = client.containers.run(
        base_image,
        ["sleep", "infinity"],
        name=f"bench-quickstart-{uuid.uuid4().hex[:8]}",
        network_mode="host",
        detach=True,
    )
    try:
        code, _ = container.exec_run(["sh", "-c", "command -v python3 || command -v java"])
        assert code != 0, "the base image must be stock: no python3, no java"
        container.put_archive("/root", _checkout_tar())
        code, out = container.exec_run(
            ["sh", "-c", "apt-get update -qq && apt-get install -y -qq ca-certificates"]
        )
        assert code == 0, out.decode(errors="replace")[-2000:]
        container.put_archive("/", _host_files_tar())
        code, out = container.exec_run(["update-ca-certificates"])
        assert code == 0, out.decode(errors="replace")

        code, out = _run(container, "scripts/quickstart.sh 2>&1")
        assert code == 0, out[-4000:]
        assert "StringBuildingBenchmark" in out  # the stored metrics, shown at the end
        assert "Traceback" not in out
        code, out = _run(
            container,
            "readlink -f .venv/bin/python && .venv/bin/python -m invoke --list | head -3",
        )
        assert code == 0 and out.startswith("/usr/bin/python3"), out  # Debian's own Python
        assert "Available tasks" in out
    finally:
        container.remove(force=True)
        client.close()
