"""Benchmark processes get no credentials: not the job role's, not keys, not the password."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.local import run_locally
from tests.jobs import command_job
from worker.contract import Env, ExitCode
from worker.job import parse_job
from worker.toolenv import CREDENTIAL_VARIABLES

#: What ECS/Batch and the credential chain put into a job's container.
CONTAINER_ENV = {
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/4c1d-job-role",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1/credentials",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN": "token-value-never-for-tools",
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEKEYID0000",
    "AWS_SECRET_ACCESS_KEY": "secret-key-never-for-tools",
    "AWS_SESSION_TOKEN": "session-token-never-for-tools",
    Env.RESULTS_STORE_PASSWORD: "results-password-never-for-tools",
}


def test_benchmark_processes_see_no_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in CONTAINER_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("BENCH_UNRELATED_SETTING", "kept")
    job = parse_job(
        command_job(warmup_count=0, measurement_count=1, commands={"env": "sh -c 'env > env.txt'"})
    )
    result = run_locally([job], job_dir=tmp_path, workspace=tmp_path / "ws")
    assert result.exit_code == ExitCode.OK
    (dumped,) = (tmp_path / "ws" / "store" / "results").rglob("work/env.txt")
    seen = dict(line.split("=", 1) for line in dumped.read_text().splitlines() if "=" in line)
    assert seen.get("BENCH_UNRELATED_SETTING") == "kept", "the rest of the environment stays"
    leaked = sorted(set(CONTAINER_ENV) & set(seen))
    assert not leaked, leaked
    assert set(CONTAINER_ENV) <= CREDENTIAL_VARIABLES
