"""The infrastructure tasks end to end against the moto server: options, password, output."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from invoke.context import MockContext
from invoke.exceptions import Exit

from scheduler import stack
from scheduler.tasks import infrastructure as tasks
from tests.infra.conftest import Network

PASSWORD = "pw-from-the-environment"


def _manifest(tmp_path: Path, ami_id: str) -> str:
    path = tmp_path / "manifest.json"
    path.write_text(
        json.dumps(
            {
                "builds": [{"packer_run_uuid": "r", "artifact_id": f"eu-north-1:{ami_id}"}],
                "last_run_uuid": "r",
            }
        )
    )
    return str(path)


def test_deploy_takes_the_password_from_the_environment_and_never_shows_it(
    network: Network,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("BENCH_RESULTS_DB_PASSWORD", PASSWORD)
    monkeypatch.setenv("BENCH_RESULTS_DB_URI", "neo4j://results:7687")
    caplog.set_level(logging.DEBUG)

    tasks.deploy(MockContext(), env="me", manifest=_manifest(tmp_path, network.ami_id))

    out, err = capsys.readouterr()
    assert "using the default VPC" in err
    assert "change set deploy-" in err and "(CREATE) of benchmarking-me" in err
    assert "benchmarking-me: CREATE_COMPLETE" in err
    assert PASSWORD not in out + err + caplog.text
    described = stack.describe_stack("benchmarking-me")
    assert described is not None
    params = {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}
    assert params["AmiId"] == network.ami_id
    assert params["VpcId"] == network.vpc_id

    # again, with no password anywhere: the deployed one is kept; dry run changes nothing
    monkeypatch.delenv("BENCH_RESULTS_DB_PASSWORD")
    tasks.deploy(MockContext(), env="me", image_tag_suffix="me", dry_run=True)
    err = capsys.readouterr().err
    assert "(UPDATE) of benchmarking-me" in err and "dry run, change set discarded" in err


@pytest.mark.usefixtures("network")
def test_deploy_without_a_password_exits_with_the_configuration_code(tmp_path: Path) -> None:
    # pytest's stdin is no terminal, so there is no prompt either
    with pytest.raises(Exit) as caught:
        tasks.deploy(MockContext(), env="me", ami_id="ami-12345678", results_db_uri="neo4j://r")
    assert caught.value.code == 2
    assert "--results-db-password" in str(caught.value.message)


@pytest.mark.usefixtures("network")
def test_destroy_needs_yes_without_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(Exit) as caught:
        tasks.destroy(MockContext(), env="me")
    assert caught.value.code == 2
    assert "--yes" in str(caught.value.message)

    tasks.destroy(MockContext(), env="me", yes=True)
    assert "benchmarking-me does not exist: nothing to do" in capsys.readouterr().err


def test_stack_outputs_of_a_missing_stack(network: Network) -> None:
    with pytest.raises(Exit) as caught:
        tasks.stack_outputs(MockContext(), env="nobody")
    assert caught.value.code == 2
    assert "invoke deploy --env nobody" in str(caught.value.message)


def test_stack_template_check(capsys: pytest.CaptureFixture[str]) -> None:
    tasks.stack_template(MockContext(), check=True)
    assert "up to date" in capsys.readouterr().err
