"""`invoke build-ami` with the real packer binary against moto's EC2 endpoint.

moto cannot answer SSH, so the test builds a variant of the real template with
``"communicator": "none"`` and no provisioners; everything else (source AMI filter, volumes,
tags, manifest post-processor, AMI id read back) is the real template's.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from invoke.context import MockContext
from invoke.exceptions import Exit

import tasks
from scheduler import ami
from scheduler.sandbox.moto_server import MotoServer
from worker import aws
from worker.errors import ConfigError, NotFoundError


def _variant(tmp_path: Path) -> Path:
    template = json.loads(ami.TEMPLATE_PATH.read_text(encoding="utf-8"))
    template["builders"][0]["communicator"] = "none"
    del template["provisioners"]
    path = tmp_path / "no-ssh.json"
    path.write_text(json.dumps(template), encoding="utf-8")
    return path


@pytest.mark.timeout(300)
def test_build_ami_registers_an_ami_and_prints_its_id(
    aws: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert shutil.which("packer"), "packer is installed by scripts/install-test-deps.sh"
    manifest = tmp_path / "manifest.json"

    tasks.build_ami(
        MockContext(),
        env="ci",
        commit="abc123",
        template=str(_variant(tmp_path)),
        manifest=str(manifest),
    )

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
    assert source["Name"].startswith("amzn2-ami-ecs-hvm-")


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
