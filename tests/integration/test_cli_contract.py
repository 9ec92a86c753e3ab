"""The command line as a contract: help for every task, parse errors exit 2 with the usage
line, bare leading values fill a task's positional options, one mapping of errors to codes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from botocore import exceptions as bx

import tasks
from scheduler.errors import JobsFailedError, WatchTimeoutError
from scheduler.tasks.program import rewrite_argv
from tests.cli import REPO, invoke_in_process, run_invoke
from worker.contract import ExitCode
from worker.errors import (
    ConfigError,
    IntegrityError,
    NotFoundError,
    TransientError,
    UnsafeArchiveError,
    aws_error,
    exit_status,
)

TASK_NAMES = sorted(tasks.ns.task_names)


def test_the_collection_keeps_every_task_name_users_know() -> None:
    assert set(TASK_NAMES) >= {
        "run-worker", "check-job", "results", "results-sync", "compare", "build-worker",
        "build-ci-image", "schedule", "watch", "cancel", "logs", "stack-template", "deploy",
        "destroy", "stack-outputs", "build-ami", "costs", "sandbox-up", "sandbox-down",
    }  # fmt: skip


@pytest.mark.parametrize("name", TASK_NAMES)
def test_every_task_prints_its_help_and_runs_nothing(name: str) -> None:
    for args in ((name, "--help"), ("--help", name), (name, "-h"), (name, "VALUE", "--help")):
        done = invoke_in_process(*args)
        assert done.code == 0, (args, done.stderr)
        assert done.stdout.startswith(f"Usage: invoke [--core-opts] {name}"), args
        assert "Options:" in done.stdout and not done.stderr, args


def test_destroy_help_as_a_user_types_it_deletes_nothing() -> None:
    """Once, the whole way: `invoke destroy --help` tried to delete benchmarking---help."""
    done = run_invoke("destroy", "--help", timeout=60)
    assert done.returncode == 0, done.stderr
    assert "--yes" in done.stdout and "benchmarking---help" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("check-job", "--warmup-cont", "1"), "No idea what '--warmup-cont' is"),
        (("check-job", "--warmup-count"), "--warmup-count needs a value"),
        (("results", "--limit", "many"), "--limit 'many': not a number"),
        (("compare", "--alpha", "tiny", "a", "b"), "--alpha 'tiny': not a number"),
        (("shedule",), "No idea what 'shedule' is"),
        (("--help", "shedule"), "No idea what 'shedule' is"),
    ],
)
def test_parse_errors_exit_2_with_the_usage_line(args: tuple[str, ...], says: str) -> None:
    done = invoke_in_process(*args)
    assert done.code == ExitCode.BAD_CONFIG, done.stderr
    assert says in done.stderr
    assert "Usage: invoke [--core-opts]" in done.stderr
    assert "Traceback" not in done.stderr


def test_parse_errors_exit_2_as_users_see_them() -> None:
    done = run_invoke("run-worker", "--warmup-cont", "1", timeout=60)
    assert done.returncode == ExitCode.BAD_CONFIG
    assert "Usage: invoke [--core-opts] run-worker [JOB_FILE] [--options]" in done.stderr


def test_bare_values_fill_positional_options_and_flags_keep_their_values() -> None:
    contexts = {c.name: c for c in tasks.ns.to_contexts()}
    positional = {"watch": ("run_id",), "compare": ("base", "contender")}
    assert rewrite_argv(["watch", "R1", "--json"], contexts, positional) == [
        "watch", "--run-id", "R1", "--json",
    ]  # fmt: skip
    assert rewrite_argv(["compare", "a", "--by", "build", "b"], contexts, positional) == [
        "compare", "--base", "a", "--by", "build", "--contender", "b",
    ]  # fmt: skip
    # a value that starts with '-' stays the value of its flag
    assert rewrite_argv(["check-job", "--jvm-args", "-Xmx4g"], contexts, {}) == [
        "check-job", "--jvm-args", "-Xmx4g",
    ]  # fmt: skip
    assert rewrite_argv(["watch", "R1", "-h"], contexts, positional) == ["watch", "--help"]


def test_check_job_takes_options_alone_and_the_original_flag_spellings() -> None:
    done = invoke_in_process(
        "check-job", "--tool", "command", "--workload", "w", "--warmup-count", "1",
        "--measurement-count", "1", "--neo4j-commit", "c", "--neo4j-version", "5",
        "--neo4j-branch", "b", "--neo4j-branch-owner", "o", "--tool-commit", "c",
        "--tool-branch", "b", "--tool-branch-owner", "o", "--teamcity-build", "1",
        "--parent-teamcity-build", "0", "--triggered-by", "me", "--jvm-args", "-Xmx4g",
        "--artifact", "x=examples/command/job.toml",
    )  # fmt: skip
    # the command tool needs commands, which only a file gives: that is the one problem
    assert done.code == ExitCode.BAD_CONFIG
    assert done.stderr.strip().splitlines() == [
        "error: commands: the command tool needs at least one 'name = command line'"
    ]
    done = invoke_in_process("check-job", "examples/command/job.toml", "--jvm-args", "-Xmx4g")
    assert done.code == 0, done.stderr
    assert '"jvm_args": "-Xmx4g"' in done.stdout


def test_the_worker_cli_takes_workspace_dir_and_dash_values(tmp_path: object) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "worker", "check", "examples/command/job.toml",
         "--jvm-args", "-Xmx4g -Xms1g"],
        cwd=REPO, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert '"jvm_args": "-Xmx4g -Xms1g"' in done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "worker", "run", "--workspace-dir", str(tmp_path),
         "--job-parameters", str(tmp_path) + "/missing/job-parameters.json"],
        cwd=REPO, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == ExitCode.BAD_CONFIG, done.stderr
    assert "unrecognized arguments" not in done.stderr and "nothing at" in done.stderr


def _client_error(code: str, status: int) -> bx.ClientError:
    return bx.ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "Op",
    )


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ConfigError("x"), 2),
        (UnsafeArchiveError("x"), 2),
        (NotFoundError("x"), 2),
        (IntegrityError("x"), 2),
        (TransientError("x"), 75),
        (JobsFailedError("x"), 3),
        (WatchTimeoutError("x"), 124),
        (KeyboardInterrupt(), 130),
        (bx.NoCredentialsError(), 2),
        (bx.PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"), 2),
        (bx.NoRegionError(), 2),
        (bx.ProfileNotFound(profile="nobody"), 2),
        (bx.EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), 75),
        (_client_error("AccessDenied", 403), 2),
        (_client_error("NoSuchBucket", 404), 2),
        (_client_error("ValidationError", 400), 2),
        (_client_error("ThrottlingException", 400), 75),
        (_client_error("InternalError", 500), 75),
        (_client_error("Whatever", 503), 75),
    ],
)
def test_one_mapping_from_error_classes_to_exit_codes(error: BaseException, code: int) -> None:
    status = exit_status(error)
    assert status is not None and status[0] == code


def test_errors_nobody_classified_stay_bugs() -> None:
    assert exit_status(ValueError("a bug of ours")) is None


def test_no_credentials_says_what_to_do() -> None:
    status = exit_status(bx.NoCredentialsError())
    assert status is not None
    assert "aws configure" in status[1] and "invoke sandbox-up" in status[1]


def test_ctrl_c_exits_130_without_a_traceback(tmp_path: object) -> None:
    """A watch that waits (a run whose manifest lists a job) is interrupted like a user would."""
    import json
    from pathlib import Path

    store = Path(str(tmp_path)) / "store"
    (store / "runs" / "r1").mkdir(parents=True)
    (store / "runs" / "r1" / "manifest.json").write_text(
        json.dumps({"run_id": "r1", "jobs": [], "batch": {"job_ids": {"t": "job-1"}}})
    )
    env = {
        **__import__("os").environ,
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing listens: the poll keeps retrying
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "y",
        "AWS_MAX_ATTEMPTS": "10",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "invoke", "watch", "r1", "--storage", str(store)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(2.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == ExitCode.INTERRUPTED, err
    assert "Traceback" not in err
    assert "invoke watch r1" in err  # how to re-attach


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (bx.NoCredentialsError(), ConfigError),
        (_client_error("InvalidBucketName", 400), ConfigError),
        (_client_error("SlowDown", 503), TransientError),
        (bx.EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), TransientError),
    ],
)
def test_aws_errors_become_the_projects_by_the_same_mapping(
    error: BaseException, kind: type[Exception]
) -> None:
    made = aws_error(error, "upload x")
    assert type(made) is kind and str(made).startswith("upload x: ")


def test_workspace_dir_is_accepted_where_a_workspace_is(tmp_path: Path) -> None:
    done = invoke_in_process("results", "--json", "--workspace-dir", str(tmp_path))
    assert done.code == 0 and done.stdout.strip() == "[]", done.stderr
    assert (tmp_path / "results.sqlite").exists()  # the embedded store of that workspace
    done = invoke_in_process(
        "run-worker", "examples/command/job.toml", "--workspace-dir", str(tmp_path / "ws"),
        "--warmup-count", "x",
    )  # fmt: skip
    assert done.code == ExitCode.BAD_CONFIG and "warmup_count" in done.stderr
