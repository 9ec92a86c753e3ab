"""The sandbox as the README tells it, every step a task run as users run it:
sandbox-up, build-ami, deploy, stack-outputs, schedule by output keys, watch, destroy,
sandbox-down. Asserts on what each step leaves behind (stack, outputs, results in the stack's
bucket, containers and tags), not only on exit codes."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.cli import run_invoke

pytestmark = [pytest.mark.docker, pytest.mark.e2e, pytest.mark.timeout(900)]
PASSWORD = "pw-sandbox-story-never-leak"


def _clean_env() -> dict[str, str]:
    """The caller's environment without any AWS or project settings (a new shell)."""
    prefixes = ("AWS_", "INVOKE_BENCH_", "BENCH_", "MOTO_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def _exports(stdout: str) -> dict[str, str]:
    found = {}
    for line in stdout.splitlines():
        words = shlex.split(line)
        assert words[0] == "export", line
        key, _, value = words[1].partition("=")
        found[key] = value
    return found


def _ok(result: Any) -> Any:
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    return result


def test_the_whole_aws_flow_against_the_sandbox(
    tmp_path: Path, worker_image: str, docker_engine: Any, benchmarks_jar: Path
) -> None:
    base = {**_clean_env(), "INVOKE_BENCH_SANDBOX_DIR": str(tmp_path / "sandbox")}
    up = _ok(run_invoke("sandbox-up", "--image", worker_image, env=base, timeout=300))
    exported = _exports(up.stdout)
    sandbox = {**base, **exported}
    # the stack part names its own queue, definition and bucket: no sandbox queue defaults
    stack_env = {k: v for k, v in sandbox.items() if not k.startswith("INVOKE_BENCH_")}
    stack_env["INVOKE_BENCH_SANDBOX_DIR"] = base["INVOKE_BENCH_SANDBOX_DIR"]
    client = docker_engine.client()
    decoy = client.containers.create(worker_image, command=["true"], name=f"decoy-{tmp_path.name}")
    try:
        manifest = str(tmp_path / "manifest.json")
        ami = _ok(run_invoke("build-ami", "--env", "me", "--manifest", manifest, env=stack_env))
        assert "sandbox: building without SSH" in ami.stderr
        ami_id = ami.stdout.strip()
        assert ami_id.startswith("ami-")

        deploy = _ok(
            run_invoke(
                "deploy", "--env", "me", "--manifest", manifest,
                "--results-db-uri", "bolt://127.0.0.1:7687",
                env={**stack_env, "BENCH_RESULTS_DB_PASSWORD": PASSWORD},
            )
        )  # fmt: skip
        assert "sandbox: moto computes no outputs after a change set" in deploy.stderr
        assert "JobQueueM5dXlarge=" in deploy.stdout
        assert PASSWORD not in deploy.stdout + deploy.stderr

        outputs = json.loads(
            _ok(run_invoke("stack-outputs", "--env", "me", "--json", env=stack_env)).stdout
        )
        assert {"ArtifactBucket", "JobQueueM5dXlarge", "JobDefinitionM5dXlargeOpenjdk17"} <= set(
            outputs
        )
        aws = {
            "endpoint_url": exported["AWS_ENDPOINT_URL"],
            "region_name": "eu-north-1",
            "aws_access_key_id": exported["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": exported["AWS_SECRET_ACCESS_KEY"],
        }
        batch = boto3.client("batch", **aws)
        definition = batch.describe_job_definitions(
            jobDefinitions=[outputs["JobDefinitionM5dXlargeOpenjdk17"]]
        )["jobDefinitions"][0]["containerProperties"]
        # never the host's /work: the worker image empties its workspace
        assert all(v["host"]["sourcePath"] != "/work" for v in definition["volumes"])
        parameters = boto3.client("cloudformation", **aws).describe_stacks(
            StackName="benchmarking-me"
        )["Stacks"][0]["Parameters"]
        assert {"ParameterKey": "AmiId", "ParameterValue": ami_id} in parameters

        scheduled = _ok(
            run_invoke(
                "schedule", "examples/jmh-quickstart/job.toml", "--env", "me",
                "--job-queue", "JobQueueM5dXlarge",
                "--job-definition", "JobDefinitionM5dXlargeOpenjdk17",
                "--queries", "StringBuildingBenchmark",
                "--warmup-count", "1", "--measurement-count", "1",
                env=stack_env,
            )
        )  # fmt: skip
        run_id = scheduled.stdout.splitlines()[0]
        assert "uploading artifacts: 2.8 MiB in " in scheduled.stderr  # one clean line
        watched = _ok(run_invoke("watch", run_id, "--env", "me", "--interval", "1", env=stack_env))
        assert "SUCCEEDED" in watched.stderr
        assert "attempt" not in watched.stderr  # the job ran once
        job_id = scheduled.stdout.splitlines()[1].split()[0]
        logged = _ok(run_invoke("logs", job_id, env=stack_env))
        assert "results document written to s3://" in logged.stdout
        s3 = boto3.client("s3", **aws)
        keys = [
            o["Key"]
            for o in s3.list_objects_v2(Bucket=outputs["ArtifactBucket"]).get("Contents", [])
        ]
        assert any(k.startswith(f"results/{run_id}/") and k.endswith("results.json") for k in keys)

        _ok(run_invoke("destroy", "--env", "me", "--yes", "--empty-bucket", env=stack_env))
        gone = run_invoke("stack-outputs", "--env", "me", env=stack_env)
        assert gone.returncode == 2 and "not deployed" in gone.stderr
    finally:
        down = run_invoke("sandbox-down", env=base)
        tags = [t for i in client.images.list() for t in i.tags]
        survived = [c.name for c in client.containers.list(all=True)]
        decoy.remove(force=True)
        client.close()
    assert down.returncode == 0, down.stderr
    assert "removed tag" in down.stderr
    assert not any("benchmarking-me/worker" in t for t in tags)
    assert worker_image in tags  # given with --image: not the sandbox's to remove
    assert decoy.name in survived  # same image, not made by this sandbox
