"""`invoke build-ami` with the real packer binary against moto's EC2 endpoint.

moto cannot answer SSH, so the builds use `build-ami --no-ssh` (what the sandbox does): a variant
of the real template with ``"communicator": "none"`` and no provisioners; everything else
(source AMI filter, volumes, tags, manifest post-processor, AMI id read back) is the real one.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from invoke.context import MockContext
from invoke.exceptions import Exit

from scheduler import ami
from scheduler.sandbox.moto_server import MotoServer
from scheduler.tasks import infrastructure as tasks
from tests.cli import REPO
from worker import aws
from worker.errors import BenchInfraError, ConfigError, NotFoundError


def _variant(tmp_path: Path) -> Path:
    return ami.no_ssh_template(ami.TEMPLATE_PATH, tmp_path)


@pytest.mark.timeout(300)
def test_build_ami_registers_an_ami_and_prints_its_id(
    aws: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert shutil.which("packer"), "packer is installed by scripts/install-test-deps.sh"
    manifest = tmp_path / "manifest.json"

    tasks.build_ami(MockContext(), env="ci", commit="abc123", manifest=str(manifest), no_ssh=True)

    out, err = capsys.readouterr()
    ami_id = out.strip()
    assert ami_id.startswith("ami-")
    assert "Running post-processor: manifest" in err  # packer's output was streamed
    assert ami.read_ami_id(manifest) == ami_id
    assert json.loads(manifest.read_text())["builds"][0]["custom_data"] == {
        "env": "ci",
        "commit": "abc123",
    }

    image = aws_image(ami_id)
    tags = {t["Key"]: t["Value"] for t in image["Tags"]}
    assert tags["owner"] == "benchmarking" and tags["env"] == "ci" and tags["commit"] == "abc123"
    assert image["Name"].startswith("benchmarking-worker-ci-")
    source = aws_image(tags["source_ami"])
    assert source["Name"].startswith("al2023-ami-ecs-hvm-")
    assert source["Name"].endswith("-x86_64")


def aws_image(image_id: str) -> dict[str, object]:
    images = aws.client("ec2").describe_images(ImageIds=[image_id])["Images"]
    assert len(images) == 1
    image: dict[str, object] = images[0]
    return image


def test_a_failing_build_exits_with_an_error(aws: MotoServer, tmp_path: Path) -> None:
    template = json.loads(_variant(tmp_path).read_text())
    template["variables"]["source_ami_name"] = "no-such-image-*"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(template))
    with pytest.raises(Exit) as caught:
        tasks.build_ami(MockContext(), template=str(broken), manifest=str(tmp_path / "m.json"))
    assert caught.value.code == 1
    assert "packer build" in str(caught.value.message)


def test_read_ami_id_picks_the_last_run_and_the_region(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "builds": [
                    {"packer_run_uuid": "old", "artifact_id": "eu-north-1:ami-old"},
                    {
                        "packer_run_uuid": "new",
                        "artifact_id": "eu-north-1:ami-new,us-east-1:ami-use1",
                    },
                ],
                "last_run_uuid": "new",
            }
        )
    )
    assert ami.read_ami_id(manifest, region="eu-north-1") == "ami-new"
    assert ami.read_ami_id(manifest, region="us-east-1") == "ami-use1"
    with pytest.raises(NotFoundError, match="no AMI in eu-west-1"):
        ami.read_ami_id(manifest, region="eu-west-1")


def test_read_ami_id_explains_a_missing_or_broken_manifest(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="invoke build-ami"):
        ami.read_ami_id(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ConfigError):
        ami.read_ami_id(broken)


def test_missing_packer_binary_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="packer not found"):
        list(ami.iter_build(packer="/nonexistent/packer"))


def test_the_source_is_the_ecs_optimised_amazon_linux_2023_for_x86_64() -> None:
    template = json.loads(ami.TEMPLATE_PATH.read_text(encoding="utf-8"))
    source = template["variables"]["source_ami_name"]
    filters = template["builders"][0]["source_ami_filter"]
    assert source.startswith("al2023-ami-ecs-hvm-") and source.endswith("-x86_64")
    assert filters["filters"]["architecture"] == "x86_64"
    assert filters["owners"] == ["amazon"]


@pytest.mark.usefixtures("aws")
def test_the_filter_finds_only_al2023_ecs_images() -> None:
    """moto's catalogue holds the real ECS-optimised images (AL2, AL2023, GPU, arm64)."""
    template = json.loads(ami.TEMPLATE_PATH.read_text(encoding="utf-8"))
    name = template["variables"]["source_ami_name"]
    wanted = template["builders"][0]["source_ami_filter"]["filters"]
    filters = [
        {"Name": key, "Values": [name if value == "{{user `source_ami_name`}}" else value]}
        for key, value in wanted.items()
    ]
    images = aws.client("ec2").describe_images(Owners=["amazon"], Filters=filters)["Images"]
    assert images
    assert all(
        i["Name"].startswith("al2023-ami-ecs-hvm-") and i["Architecture"] == "x86_64"
        for i in images
    )


def test_the_boot_unit_s_tools_are_installed_with_dnf() -> None:
    template = json.loads(ami.TEMPLATE_PATH.read_text(encoding="utf-8"))
    inline = "\n".join(template["provisioners"][1]["inline"])
    assert "yum" not in inline, "Amazon Linux 2023 uses dnf"
    install = next(line for line in inline.splitlines() if "dnf install" in line).split()
    assert {"mdadm", "xfsprogs"} <= set(install)
    script = (ami.FILES_DIR / "bench-instance-store.sh").read_text(encoding="utf-8")
    assert "mdadm --create" in script and "mkfs.xfs" in script


def test_the_amazon_plugin_is_declared_for_packer_init() -> None:
    text = ami.PLUGINS_PATH.read_text(encoding="utf-8")
    block = text[text.index("required_plugins") :]
    assert 'source  = "github.com/hashicorp/amazon"' in block
    assert "amazon = {" in block


def test_packer_1_6_has_the_builder_built_in_and_rejects_required_plugins(
    tmp_path: Path,
) -> None:
    """Why the declaration lives apart from the template: the real packer here (1.6) would
    fail on it; a packer >= 1.7 validates it."""
    version = ami.packer_version()
    plugins_only = tmp_path / "plugins.pkr.hcl"
    shutil.copy(ami.PLUGINS_PATH, plugins_only)
    if version[:2] < ami.PLUGINS_SINCE:
        with pytest.raises(ConfigError, match="required_plugins"):
            ami.validate(plugins_only)
        assert ami.ensure_plugins() is False
    else:
        assert ami.ensure_plugins() is True


def test_a_current_packer_is_initialised_before_the_build(tmp_path: Path) -> None:
    """A stand-in binary answering like packer 1.11 records what it is asked to do."""
    calls = tmp_path / "calls"
    fake = tmp_path / "packer"
    fake.write_text(
        f'#!/bin/sh\necho "$@" >> {calls}\nif [ "$1" = version ]; then echo "Packer v1.11.2"; fi\n',
        encoding="utf-8",
    )
    fake.chmod(0o755)
    assert ami.packer_version(str(fake)) == (1, 11, 2)
    calls.unlink()
    list(ami.iter_build(ami.TEMPLATE_PATH, {"env": "ci"}, packer=str(fake)))
    lines = calls.read_text().splitlines()
    assert lines[:2] == ["version", f"init {ami.PLUGINS_PATH}"]
    assert lines[2].startswith("build -color=false")


FAKE_PACKER = """#!/usr/bin/env bash
# Stands in for a packer that waits for SSH forever: prints, starts a child, never ends.
if [ "$1" = version ]; then echo "Packer v1.6.6"; exit 0; fi
echo "$$" > "{pids}"
sleep 600 &
echo "$!" >> "{pids}"
echo "==> amazon-ebs: Waiting for SSH to become available..."
wait
"""


def _fake_packer(tmp_path: Path) -> tuple[Path, Path]:
    pids = tmp_path / "pids"
    fake = tmp_path / "packer"
    fake.write_text(FAKE_PACKER.format(pids=pids))
    fake.chmod(0o755)
    return fake, pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_gone(pids: list[int], seconds: float = 10) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if _alive(p)]


def test_a_build_past_its_timeout_is_stopped_with_its_children(tmp_path: Path) -> None:
    fake, pids = _fake_packer(tmp_path)
    lines = []
    with pytest.raises(BenchInfraError, match="did not finish within 1s"):
        for line in ami.iter_build(packer=str(fake), timeout=1.0, grace=2.0):
            lines.append(line)
    assert lines == ["==> amazon-ebs: Waiting for SSH to become available..."]
    started = [int(p) for p in pids.read_text().split()]
    assert len(started) == 2
    assert _wait_gone(started) == []


def test_interrupting_build_ami_stops_packer(tmp_path: Path) -> None:
    """Ctrl-C on `invoke build-ami` (SIGINT to the task's process): no packer left running."""
    fake, pids = _fake_packer(tmp_path)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "invoke",
            "build-ami",
            "--packer",
            str(fake),
            "--no-ssh",
            "--manifest",
            str(tmp_path / "m.json"),
        ],
        cwd=REPO,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if "Waiting for SSH" in line:
            break
    started = [int(p) for p in pids.read_text().split()]
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert "Traceback" not in rest
    assert _wait_gone(started) == []
