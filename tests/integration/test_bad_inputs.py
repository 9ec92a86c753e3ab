# ruff: noqa: E501  (one case per line: the table reads better than it wraps)
"""Bad input, as users type or feed it, across the tasks: each case must end with its
documented exit code, a message naming the field or the thing, and no traceback.

One case per line of CASES: ``(task args, exit code, what the message must name, setting)``.
``{d}`` in an argument is the directory of the input files below; the setting is ``local``
(no AWS needed), ``nocreds`` (no AWS credentials anywhere) or ``aws`` (the moto server, with a
bucket ``bench-cli`` and nothing else). Cases run in this process through Invoke's ``Program``;
a few at the end go through a real process (pipes, signals, the interpreter's own start).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from scheduler.sandbox.moto_server import MotoServer
from tests.cli import REPO, invoke_in_process
from worker import aws
from worker.contract import ExitCode

BAD, FAILED = ExitCode.BAD_CONFIG, ExitCode.BENCHMARK_FAILED
GOOD = "{d}/good.toml"
JAR = REPO / "build" / "java" / "benchmarks.jar"
JMH = ("{d}/jmh.toml",)

# fmt: off
CASES: list[tuple[tuple[str, ...], int, str, str]] = [
    # check-job: values
    (("check-job", GOOD, "--warmup-count", "lots"), BAD, "warmup_count", "local"),
    (("check-job", GOOD, "--warmup-count", "-1"), BAD, "warmup_count", "local"),
    (("check-job", GOOD, "--warmup-count", "1.5"), BAD, "warmup_count", "local"),
    (("check-job", GOOD, "--warmup-count", ""), BAD, "warmup_count", "local"),
    (("check-job", GOOD, "--measurement-count", "0"), BAD, "measurement_count", "local"),
    (("check-job", GOOD, "--measurement-count", str(10**24)), BAD, "measurement_count", "local"),
    (("check-job", GOOD, "--measurement-count", "9" * 5000), BAD, "measurement_count", "local"),
    (("check-job", GOOD, "--forks", "100000"), BAD, "forks", "local"),
    (("check-job", GOOD, "--max-measurement-duration", "99999999"), BAD, "max_measurement_duration", "local"),
    (("check-job", GOOD, "--min-measurement-duration", "10", "--max-measurement-duration", "5"), BAD, "min_measurement_duration", "local"),
    (("check-job", GOOD, "--time-unit", "MINUTES"), BAD, "time_unit", "local"),
    (("check-job", GOOD, "--tool", "gradle"), BAD, "tool", "local"),
    (("check-job", GOOD, "--db-edition", "PLATINUM"), BAD, "db_edition", "local"),
    (("check-job", GOOD, "--runtime", "WARP"), BAD, "runtime", "local"),
    (("check-job", GOOD, "--planner", "GUESS"), BAD, "planner", "local"),
    (("check-job", GOOD, "--execution-mode", "RUN"), BAD, "execution_mode", "local"),
    (("check-job", GOOD, "--error-policy", "SOMETIMES"), BAD, "error_policy", "local"),
    (("check-job", GOOD, "--profilers", "GC,XYZ"), BAD, "unknown profiler 'XYZ'", "local"),
    (("check-job", GOOD, "--profilers", "GC,GC"), BAD, "profilers", "local"),
    (("check-job", GOOD, "--profilers", "ASYNC(interval)"), BAD, "profiler parameter", "local"),
    (("check-job", GOOD, "--db-name", "my db"), BAD, "db_name", "local"),
    (("check-job", GOOD, "--db-name", "../../etc"), BAD, "db_name", "local"),
    (("check-job", GOOD, "--db-name", "x" * 64), BAD, "db_name", "local"),
    (("check-job", GOOD, "--jvm-args", "'-Xmx4g"), BAD, "jvm_args", "local"),
    (("check-job", GOOD, "--jvm-args", '-Dx="unclosed'), BAD, "jvm_args", "local"),
    (("check-job", GOOD, "--jmh-args", '"-r 1s'), BAD, "jmh_args", "local"),
    (("check-job", GOOD, "--workload", "bad name!"), BAD, "workload", "local"),
    (("check-job", GOOD, "--workload", "$(rm -rf /)"), BAD, "workload", "local"),
    (("check-job", GOOD, "--workload", "w; DROP TABLE runs"), BAD, "workload", "local"),
    (("check-job", GOOD, "--workload", "w" * 200), BAD, "workload", "local"),
    (("check-job", GOOD, "--triggered-by", "ünïcødé"), BAD, "triggered_by", "local"),
    (("check-job", GOOD, "--triggered-by", "a\u202eb"), BAD, "triggered_by", "local"),
    (("check-job", GOOD, "--neo4j-deployment", "server:"), BAD, "neo4j_deployment", "local"),
    (("check-job", GOOD, "--queries", "nope"), BAD, "queries", "local"),
    (("check-job", "{d}/jmh.toml", "--artifact", f"benchmarks={JAR}", "--queries", "NoSuchBenchmark"), BAD, "NoSuchBenchmark match no benchmark", "local"),
    (("schedule", "{d}/jmh.toml", "--artifact", f"benchmarks={JAR}", "--queries", "String,Nope"), BAD, "Nope match no benchmark", "nocreds"),
    (("check-job", GOOD, "--jvm", "/nonexistent/java"), BAD, "jvm", "local"),
    (("check-job", GOOD, "--jvm", "{d}/good.toml"), BAD, "not executable", "local"),
    (("check-job", GOOD, "--jvm", "no-such-java-here"), BAD, "jvm", "local"),
    (("check-job", GOOD, "--dataset", "{d}/missing.tar.gz"), BAD, "dataset", "local"),
    (("check-job", GOOD, "--artifact", "noequals"), BAD, "--artifact", "local"),
    (("check-job", *JMH), BAD, "artifacts.benchmarks", "local"),
    (("check-job", *JMH, "--artifact", "benchmarks={d}/missing.jar"), BAD, "artifacts.benchmarks", "local"),
    (("check-job",), BAD, "tool", "local"),
    # check-job: files
    (("check-job", "{d}/missing.toml"), BAD, "missing.toml", "local"),
    (("check-job", "{d}/nonutf8.toml"), BAD, "not UTF-8", "local"),
    (("check-job", "{d}/binary.toml"), BAD, "binary.toml", "local"),
    (("check-job", "{d}/huge.toml"), BAD, "larger than", "local"),
    (("check-job", "{d}/dir.toml"), BAD, "dir.toml", "local"),
    (("check-job", "{d}/bad.toml"), BAD, "not valid TOML", "local"),
    (("check-job", "{d}/bad.yaml"), BAD, "not valid YAML", "local"),
    (("check-job", "{d}/list.yaml"), BAD, "must be a table", "local"),
    (("check-job", "{d}/job.txt"), BAD, "use a .toml", "local"),
    (("check-job", "{d}/secret.toml"), BAD, "secrets never go into a job", "local"),
    (("check-job", "{d}/unclosed.toml"), BAD, "commands.broken", "local"),
    (("check-job", "{d}/emptycmd.toml"), BAD, "commands.empty", "local"),
    (("check-job", "{d}/types.toml"), BAD, "warmup_count", "local"),
    (("check-job", "{d}/unknown.toml"), BAD, "colour: unknown field", "local"),
    # run-worker (nothing runs on bad input)
    (("run-worker", GOOD, "--warmup-count", "x"), BAD, "warmup_count", "local"),
    (("run-worker", "{d}/nonutf8.toml"), BAD, "not UTF-8", "local"),
    (("run-worker", "{d}/unclosed.toml"), BAD, "commands.broken", "local"),
    (("run-worker", GOOD, "--jvm", "/nonexistent/java"), BAD, "jvm", "local"),
    (("run-worker", *JMH, "--artifact", "benchmarks={d}/missing.jar"), BAD, "artifacts.benchmarks", "local"),
    (("run-worker", GOOD, "--image", "img:1"), BAD, "--image needs", "local"),
    (("run-worker", GOOD, "--workspace", "{d}/good.toml"), BAD, "good.toml", "local"),
    # schedule: everything checked before AWS is touched
    (("schedule", GOOD, "--warmup-count", "x"), BAD, "warmup_count", "nocreds"),
    (("schedule", "{d}/nonutf8.toml"), BAD, "not UTF-8", "nocreds"),
    (("schedule", *JMH, "--artifact", "benchmarks={d}/missing.jar"), BAD, "artifacts.benchmarks", "nocreds"),
    (("schedule", GOOD, "--partitions", "x"), BAD, "--partitions", "nocreds"),
    (("schedule", GOOD, "--partitions", "0"), BAD, "partitions", "nocreds"),
    (("schedule", GOOD, "--partitions", "5"), BAD, "partitions", "nocreds"),
    (("schedule", GOOD, "--workloads", "a b"), BAD, "workload", "nocreds"),
    (("schedule", GOOD), BAD, "--job-queue", "nocreds"),
    (("schedule", GOOD, "--capabilities", "jdk=openjdk-17", "--job-queue", "q"), BAD, "not both", "nocreds"),
    (("schedule", GOOD, "--job-queue", "q", "--job-definition", "d", "--timeout-minutes", "0", "--storage", "{d}/store"), BAD, "timeout", "nocreds"),
    (("schedule", GOOD, "--job-queue", "q", "--job-definition", "d", "--attempts", "11", "--storage", "{d}/store"), BAD, "attempts", "nocreds"),
    (("schedule", GOOD, "--env", "bad env", "--job-queue", "q", "--job-definition", "d"), BAD, "env", "nocreds"),
    (("schedule", GOOD, "--job-queue", "JobQueueX", "--job-definition", "JobDefinitionY"), BAD, "AWS credentials", "nocreds"),
    (("schedule", GOOD, "--job-queue", "no-such-queue", "--job-definition", "no-such-def", "--storage", "s3://bench-cli"), BAD, "no-such-", "aws"),
    (("schedule", GOOD, "--job-queue", "JobQueueX", "--job-definition", "JobDefinitionY", "--batch-stack", "nostack"), BAD, "stack nostack", "aws"),
    # watch, cancel, logs
    (("watch",), BAD, "--run-id", "local"),
    (("watch", "r1", "--storage", "{d}/store"), BAD, "run r1", "local"),
    (("watch", "r1", "--storage", "{d}/store", "--interval", "0"), BAD, "interval", "local"),
    (("watch", "r1", "--storage", "{d}/store", "--interval", "soon"), BAD, "--interval", "local"),
    (("watch", "r1", "--storage", "{d}/store", "--timeout", "-5"), BAD, "timeout", "local"),
    (("watch", "r1"), BAD, "AWS credentials", "nocreds"),
    (("watch", "no-such-run", "--storage", "s3://bench-cli"), BAD, "no-such-run", "aws"),
    (("watch", "r1", "--env", "../x"), BAD, "env", "nocreds"),
    (("cancel",), BAD, "--run-id", "local"),
    (("cancel", "r1", "--storage", "{d}/store"), BAD, "run r1", "local"),
    (("cancel", "r1"), BAD, "AWS credentials", "nocreds"),
    (("cancel", "no-such-run", "--storage", "s3://bench-cli"), BAD, "no-such-run", "aws"),
    (("logs",), BAD, "--job-id", "local"),
    (("logs", "job-1"), BAD, "AWS credentials", "nocreds"),
    (("logs", "no-such-job"), BAD, "no-such-job", "aws"),
    # results, compare
    (("results", "--limit", "abc"), BAD, "--limit", "local"),
    (("results", "--limit", "0"), BAD, "limit", "local"),
    (("results", "--limit", str(10**30)), BAD, "limit", "local"),
    (("results", "--since", "yesterday"), BAD, "since", "local"),
    (("results", "--store-uri", "ftp://x"), BAD, "ftp", "local"),
    (("results", "--store-uri", "bolt://127.0.0.1:1"), BAD, "password", "local"),
    (("compare",), BAD, "BASE and CONTENDER", "local"),
    (("compare", "a"), BAD, "BASE and CONTENDER", "local"),
    (("compare", "no-such-run", "other"), BAD, "no-such-run", "local"),
    (("compare", "a", "b", "--by", "commit"), BAD, "--by", "local"),
    (("compare", "a", "b", "--alpha", "5"), BAD, "alpha", "local"),
    (("compare", "a", "b", "--alpha", "tiny"), BAD, "--alpha", "local"),
    (("compare", "a", "b", "--min-effect", "-1"), BAD, "min_effect", "local"),
    (("compare", "a", "b", "--by", "build"), BAD, "build 'a'", "local"),
    (("results-sync",), BAD, "--results-uri", "local"),
    # infrastructure
    (("deploy",), BAD, "--env", "local"),
    (("deploy", "--env", "bad env"), BAD, "env", "local"),
    (("deploy", "--env", "me"), BAD, "AWS credentials", "nocreds"),
    (("destroy",), BAD, "--env", "local"),
    (("destroy", "--env", "me"), BAD, "without --yes", "local"),
    (("destroy", "--env", "x;y", "--yes"), BAD, "env", "local"),
    (("destroy", "--env", "me", "--yes"), BAD, "AWS credentials", "nocreds"),
    (("stack-outputs",), BAD, "--env", "local"),
    (("stack-outputs", "--env", "nobody"), BAD, "benchmarking-nobody", "aws"),
    (("costs", "--group-by", "colour"), BAD, "--group-by", "local"),
    (("costs", "--days", "0"), BAD, "--days", "local"),
    (("costs", "--days", "abc"), BAD, "--days", "local"),
    (("costs", "--days", "100000"), BAD, "--days", "local"),
    (("costs",), BAD, "AWS credentials", "nocreds"),
    (("build-worker", "--jdk", "java17"), BAD, "jdk", "local"),
    (("build-worker", "--tag-suffix", "bad suffix!"), BAD, "tag suffix", "local"),
    (("build-worker", "--build-arg", "noequals", "--repository", "r"), BAD, "--build-arg", "local"),
    (("build-worker",), BAD, "AWS credentials", "nocreds"),
    (("build-worker", "--env", "nobody"), BAD, "benchmarking-nobody", "aws"),
]
# fmt: on


def _files(d: Path) -> None:
    good = (REPO / "examples" / "command" / "job.toml").read_text()
    (d / "good.toml").write_text(good)
    (d / "jmh.toml").write_text(
        good.split("[commands]")[0].replace('tool = "command"', 'tool = "jmh"')
    )
    (d / "nonutf8.toml").write_bytes(good.encode().replace(b"shell-tools", b"shell-\xff\xfe"))
    (d / "binary.toml").write_bytes(bytes(range(256)) * 8)
    (d / "huge.toml").write_text(good + "# " + "x" * (2 * 1024 * 1024) + "\n")
    (d / "dir.toml").mkdir()
    (d / "bad.toml").write_text("tool = \n")
    (d / "bad.yaml").write_text("tool: [jmh\n")
    (d / "list.yaml").write_text("- tool\n- jmh\n")
    (d / "job.txt").write_text(good)
    (d / "secret.toml").write_text(good.replace("[commands]", 'password = "hunter2"\n[commands]'))
    (d / "unclosed.toml").write_text(good + 'broken = "sh -c \'echo"\n')
    (d / "emptycmd.toml").write_text(good + 'empty = "   "\n')
    (d / "types.toml").write_text(good.replace("warmup_count = 1", "warmup_count = [1, 2]"))
    (d / "unknown.toml").write_text(good.replace("[commands]", 'colour = "red"\n[commands]'))
    (d / "store").mkdir()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("bad-inputs")
    _files(d)
    return d


@pytest.fixture
def setting(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[str]:
    import boto3

    kind = request.param
    monkeypatch.chdir(tmp_path)  # the embedded store and .work land here
    for name in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    if kind == "aws":
        server: MotoServer = request.getfixturevalue("aws")
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        aws.client("s3").create_bucket(
            Bucket="bench-cli", CreateBucketConfiguration={"LocationConstraint": aws.region()}
        )
    boto3.DEFAULT_SESSION = None  # credentials are cached per session
    yield kind
    boto3.DEFAULT_SESSION = None


@pytest.mark.parametrize(
    ("args", "code", "says", "setting"),
    CASES,
    ids=[f"{i:03d}-{' '.join(a)[:60]}" for i, (a, *_) in enumerate(CASES)],
    indirect=["setting"],
)
def test_bad_input(args: tuple[str, ...], code: int, says: str, setting: str, inputs: Path) -> None:
    done = invoke_in_process(*(a.replace("{d}", str(inputs)) for a in args))
    assert "Traceback" not in done.stderr + done.stdout
    assert done.code == code, done.stderr
    assert says.replace("{d}", str(inputs)) in done.stderr, done.stderr


def test_the_table_is_large_enough() -> None:
    tasks = {args[0] for args, *_ in CASES}
    assert len(CASES) >= 80
    assert tasks >= {
        "check-job", "run-worker", "schedule", "watch", "logs", "cancel", "results",
        "compare", "deploy", "destroy", "costs", "build-worker",
    }  # fmt: skip


def _closed_stdout(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``invoke ARGS | head -0``: the reader is gone before the task writes."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [sys.executable, "-m", "invoke", *args], cwd=cwd, stdout=write,
            stderr=subprocess.PIPE, text=True, timeout=120, check=False,
        )  # fmt: skip
    finally:
        os.close(write)


@pytest.mark.parametrize(
    "args",
    [
        ("check-job", "examples/command/job.toml"),
        ("results", "--json", "--workspace", "{tmp}"),
        ("check-job", "--help"),
    ],
)
def test_a_closed_pipe_is_not_a_traceback(args: tuple[str, ...], tmp_path: Path) -> None:
    done = _closed_stdout(*(a.replace("{tmp}", str(tmp_path)) for a in args), cwd=REPO)
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr


def test_a_non_utf8_job_file_as_a_user_feeds_it(inputs: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "invoke", "check-job", str(inputs / "nonutf8.toml")],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == BAD and "not UTF-8" in done.stderr and "Traceback" not in done.stderr
