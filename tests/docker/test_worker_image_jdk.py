"""The worker image holds the JDK its tag names, for the platform the stack runs on.

One build (the session's ``worker_image``, tag openjdk_17), reused: the JDK check of the
Dockerfile is run inside it against another major version to prove it refuses a mismatch.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from scheduler import images
from scheduler.jdks import LABEL_JDK, LABEL_PLATFORM, TARGET_PLATFORM, jdk_install
from tests.cli import run_invoke
from worker.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.docker


def _java_check() -> str:
    """The Dockerfile's ``RUN java -version ...`` instruction, as one shell command."""
    text = (REPO / "Dockerfile.worker").read_text(encoding="utf-8").replace("\\\n", " ")
    found = re.search(r"^RUN (java (?:-XX:-UsePerfData )?-version .*)$", text, re.MULTILINE)
    assert found, "Dockerfile.worker checks java -version against JDK_MAJOR"
    return found.group(1)


def _run(docker_engine: Any, image: str, command: str, **env: str) -> tuple[int, str]:
    client = docker_engine.client()
    container = client.containers.run(
        image, entrypoint=["bash", "-c"], command=[command], environment=env, detach=True
    )
    try:
        code = int(container.wait(timeout=120)["StatusCode"])
        return code, container.logs().decode()
    finally:
        container.remove(force=True)
        client.close()


def test_java_in_the_image_is_the_jdk_of_its_tag(docker_engine: Any, worker_image: str) -> None:
    jdk = images.jdk_of_tag(worker_image.rsplit(":", 1)[1])
    assert jdk == "openjdk-17"
    code, out = _run(docker_engine, worker_image, "java -version 2>&1 | head -n 1")
    assert code == 0 and re.search(r'version "17[."]', out), out


def test_the_image_is_labelled_with_its_jdk_and_platform(
    docker_engine: Any, worker_image: str
) -> None:
    client = docker_engine.client()
    try:
        attrs = client.images.get(worker_image).attrs
    finally:
        client.close()
    labels = attrs["Config"]["Labels"]
    assert labels[LABEL_JDK] == "openjdk_17"
    assert labels[LABEL_PLATFORM] == TARGET_PLATFORM
    assert (attrs["Os"], attrs["Architecture"]) == ("linux", "amd64")


def test_the_build_check_refuses_a_jdk_other_than_the_tag(
    docker_engine: Any, worker_image: str
) -> None:
    ok, _ = _run(docker_engine, worker_image, _java_check(), JDK_MAJOR="17")
    assert ok == 0
    code, out = _run(docker_engine, worker_image, _java_check(), JDK_MAJOR="21")
    assert code != 0
    assert "the image's java is not JDK 21" in out


def test_a_jdk_without_a_recipe_is_refused_before_building() -> None:
    with pytest.raises(ConfigError, match="no way to install JDK 'openjdk_8'"):
        jdk_install("openjdk_8")
    result = run_invoke("build-worker", "--jdk", "openjdk_8", "--repository", "127.0.0.1:1/x")
    assert result.returncode == 2, result.stderr
    assert "no way to install JDK 'openjdk_8'" in result.stderr
    assert "building wheels" not in result.stderr
