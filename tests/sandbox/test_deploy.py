"""The sandbox's copy of the stack template: safe to run on this machine, and nothing else
changed (the real template's resources, parameters and outputs)."""

from __future__ import annotations

from pathlib import Path

import yaml

from scheduler.sandbox.deploy import sandbox_template
from scheduler.sandbox.lifecycle import SandboxState, active_state
from scheduler.stacktemplate import TEMPLATE_PATH


def _state(tmp_path: Path) -> SandboxState:
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:5555", "AWS_ACCESS_KEY_ID": "testing"}
    (tmp_path / "state.json").write_text("{}")
    return SandboxState(env=env, pids={}, image="i:openjdk_17_x", workdir=str(tmp_path))


def test_job_definitions_never_mount_a_host_path_outside_the_sandbox(tmp_path: Path) -> None:
    adapted = yaml.safe_load(sandbox_template(TEMPLATE_PATH, _state(tmp_path)).read_text())
    original = yaml.safe_load(TEMPLATE_PATH.read_text())

    definitions = {
        name: r["Properties"]["ContainerProperties"]
        for name, r in adapted["Resources"].items()
        if r["Type"] == "AWS::Batch::JobDefinition"
    }
    assert len(definitions) >= 8
    for name, props in definitions.items():
        paths = [v["Host"]["SourcePath"] for v in props["Volumes"]]
        assert paths and all(p.startswith(f"{tmp_path}/batch-work/") for p in paths), name
        assert props["Privileged"] is False
        assert "LogConfiguration" not in props  # moto logs to /aws/batch/job
        env = {e["Name"]: e.get("Value") for e in props["Environment"]}
        assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5555"
        assert env["BENCH_WORKSPACE"] == "/work/run"  # the container side is unchanged
    assert set(adapted["Resources"]) == set(original["Resources"])
    assert adapted["Outputs"] == original["Outputs"]
    assert adapted["Parameters"] == original["Parameters"]


def test_only_the_running_sandboxs_endpoint_counts_as_the_sandbox(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text(
        '{"env": {"AWS_ENDPOINT_URL": "http://127.0.0.1:5555"}, "pids": {}, "image": "i"}'
    )
    sandbox = {"BENCH_SANDBOX_DIR": str(tmp_path), "AWS_ENDPOINT_URL": "http://127.0.0.1:5555"}
    assert active_state(sandbox) is not None
    # a stale variable with real AWS (no endpoint, or another one) is not the sandbox
    assert active_state({"BENCH_SANDBOX_DIR": str(tmp_path)}) is None
    assert active_state({**sandbox, "AWS_ENDPOINT_URL": "https://batch.example"}) is None
    state.unlink()
    assert active_state(sandbox) is None
