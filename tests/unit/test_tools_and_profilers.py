"""Command lines the tools build, results they read, profilers they attach, statistics."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.jobs import command_job, macro_job
from worker.contract import Env
from worker.job import parse_job, parse_profiler
from worker.params import ResultsStoreRef
from worker.profilers import ProfilerSet
from worker.stats import percentile, summarise
from worker.tools import ToolContext, jmh, macro


def context(job: dict[str, object], tmp_path: Path, **extra: object) -> ToolContext:
    parsed = parse_job(job)
    return ToolContext(
        job=parsed,
        artifacts={
            "macro": tmp_path / "macro.jar",
            "neo4j-config": tmp_path / "neo4j.conf",
            "benchmarks": tmp_path / "benchmarks.jar",
        },
        dataset=tmp_path / "db",
        work_dir=tmp_path / "work",
        recordings_dir=tmp_path / "rec",
        profilers=ProfilerSet(parsed.profilers, jvm_tool=True),
        tool_log=io.StringIO(),
        env={},
        results_store=ResultsStoreRef(**extra),  # type: ignore[arg-type]
    )


def test_macro_command_line_is_the_originals(tmp_path: Path) -> None:
    ctx = context(macro_job(queries="Q1,Q2"), tmp_path, uri="bolt://db:7687", user="client")
    argv = macro.build_command(ctx, tmp_path / "out.json")
    assert argv[:4] == ["java", "-Xmx1g", "-jar", str(tmp_path / "macro.jar")]
    assert argv[4] == "run-workload"
    pairs = dict(zip(argv[5::2], argv[6::2], strict=True))
    assert pairs == {
        "--workload": "accesscontrol",
        "--queries": "Q1,Q2",
        "--db-edition": "ENTERPRISE",
        "--jvm": "java",
        "--profilers": "GC,JFR",
        "--warmup-count": "1",
        "--measurement-count": "3",
        "--min-measurement-duration": "30",
        "--max-measurement-duration": "600",
        "--forks": "1",
        "--time-unit": "MICROSECONDS",
        "--runtime": "DEFAULT",
        "--planner": "DEFAULT",
        "--execution-mode": "EXECUTE",
        "--error-policy": "REPORT_THEN_FAIL",
        "--jvm-args": "-Xmx1g",
        "--neo4j-deployment": "embedded",
        "--neo4j-commit": "abc123",
        "--neo4j-version": "5.26.0",
        "--neo4j-branch": "5.26",
        "--neo4j-branch-owner": "neo4j",
        "--tool-commit": "def456",
        "--tool-branch": "5.26",
        "--tool-branch-owner": "neo4j",
        "--teamcity-build": "5531608",
        "--parent-teamcity-build": "5519409",
        "--triggered-by": "new_infra",
        "--db-name": "accesscontrol",
        "--db-dir": str(tmp_path / "db"),
        "--neo4j-config": str(tmp_path / "neo4j.conf"),
        "--work-dir": str(tmp_path / "work"),
        "--results-path": str(tmp_path / "out.json"),
        "--results-store-uri": "bolt://db:7687",
        "--results-store-user": "client",
    }
    assert not any("pass" in a or "secret" in a for a in argv)


def test_macro_result_file_with_failures() -> None:
    results, failures = macro.parse_results(
        {
            "benchmarks": [
                {
                    "group": "w",
                    "name": "Q1",
                    "mode": "LATENCY",
                    "unit": "us",
                    "samples": [1.0, 2.0],
                },
                {"group": "w", "name": "Q2", "samples": [], "error": "boom"},
            ]
        }
    )
    assert [r.name for r in results] == ["Q1"] and results[0].samples == (1.0, 2.0)
    assert failures[0].benchmark == "Q2" and failures[0].message == "boom"


def test_jmh_command_line_forked(tmp_path: Path) -> None:
    job = command_job(
        tool="jmh",
        commands={},
        artifacts={"benchmarks": "b.jar"},
        forks=2,
        jvm_args="-Xmx1g",
        profilers="GC",
        jmh_profilers="gc",
        jmh_args="-r 1s",
        time_unit="NANOSECONDS",
    )
    ctx = context(job, tmp_path)
    argv = jmh.build_command(ctx, "a.B.c", tmp_path / "o.json", tmp_path / "rec")
    assert argv[:3] == ["java", "-jar", str(tmp_path / "benchmarks.jar")]
    assert argv[3] == r"^a\.B\.c$"
    joined = " ".join(argv)
    assert "-wi 1 -i 3 -f 2 -tu ns -rf json" in joined
    jvm_args = argv[argv.index("-jvmArgs") + 1]
    assert jvm_args.startswith("-Xmx1g -Xlog:gc*:file=")
    assert argv[-4:] == ["-prof", "gc", "-r", "1s"]


def test_jmh_in_process_puts_jvm_args_on_the_host_jvm(tmp_path: Path) -> None:
    job = command_job(
        tool="jmh", commands={}, artifacts={"benchmarks": "b.jar"}, forks=0, jvm_args="-Xmx1g"
    )
    argv = jmh.build_command(context(job, tmp_path), "a.B.c", tmp_path / "o", tmp_path / "r")
    assert argv[:3] == ["java", "-Xmx1g", "-jar"] and "-jvmArgs" not in argv


def test_jmh_results_keep_every_raw_sample() -> None:
    data = [
        {
            "benchmark": "pkg.MyBench.run",
            "mode": "avgt",
            "params": {"size": 10},
            "primaryMetric": {"scoreUnit": "us/op", "rawData": [[1.0, 2.0], [3.0, 4.0]]},
        }
    ]
    (result,) = jmh.parse_results(data, "w")
    assert result.name == "MyBench.run" and result.samples == (1.0, 2.0, 3.0, 4.0)
    assert result.params == {"size": "10"} and result.unit == "us/op"


def test_async_profiler_without_its_directory_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(Env.ASYNC_PROFILER_DIR, raising=False)
    profilers = ProfilerSet([parse_profiler("ASYNC"), parse_profiler("GC")], jvm_tool=True)
    assert any("async-profiler is not configured" in w for w in profilers.warnings)
    assert [s.name.value for s in profilers.specs] == ["GC"]


def test_async_profiler_with_its_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lib = tmp_path / "lib" / "libasyncProfiler.so"
    lib.parent.mkdir()
    lib.write_bytes(b"")
    monkeypatch.setenv(Env.ASYNC_PROFILER_DIR, str(tmp_path))
    profilers = ProfilerSet([parse_profiler("ASYNC(event=alloc)")], jvm_tool=True)
    (arg,) = profilers.jvm_args(tmp_path / "rec")
    assert arg.startswith(f"-agentpath:{lib}=start,event=alloc")


def test_jvm_profilers_are_skipped_for_non_jvm_tools() -> None:
    profilers = ProfilerSet([parse_profiler("JFR")], jvm_tool=False)
    assert profilers.specs == [] and "applies to JVM tools only" in profilers.warnings[0]


def test_jvm_profiler_arguments(tmp_path: Path) -> None:
    names = ["GC", "JFR", "JVM_LOGGING", "NMT", "OOM", "NO_OP"]
    profilers = ProfilerSet([parse_profiler(n) for n in names], jvm_tool=True)
    args = " ".join(profilers.jvm_args(tmp_path))
    assert f"-Xlog:gc*:file={tmp_path}/gc-%p.log" in args
    assert f"-XX:StartFlightRecording=filename={tmp_path}/jfr" in args
    assert "-XX:NativeMemoryTracking=summary" in args
    assert f"-XX:HeapDumpPath={tmp_path}" in args


def test_statistics() -> None:
    summary = summarise([4.0, 1.0, 3.0, 2.0])
    assert (summary["min"], summary["max"], summary["mean"]) == (1.0, 4.0, 2.5)
    assert summary["perc_50"] == 2.5 and summary["count"] == 4
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 25) == 2.0
    assert summarise([7.0])["error"] == 0.0


def test_jmh_listing_gives_every_param_combination() -> None:
    listing = (
        "Benchmarks: \n"
        "a.B.plain\n"
        "a.C.lookup\n"
        '  param "size" = {100, 10000}\n'
        '  param "kind" = {hash, tree}\n'
    )
    assert jmh.parse_listing(listing) == [
        ("a.B.plain", [()]),
        (
            "a.C.lookup",
            [
                (("size", "100"), ("kind", "hash")),
                (("size", "100"), ("kind", "tree")),
                (("size", "10000"), ("kind", "hash")),
                (("size", "10000"), ("kind", "tree")),
            ],
        ),
    ]


def test_jmh_runs_one_parameter_set_per_invocation(tmp_path: Path) -> None:
    job = command_job(tool="jmh", commands={}, artifacts={"benchmarks": "b.jar"})
    ctx = context(job, tmp_path)
    argv = jmh.build_command(ctx, "a.C.lookup", tmp_path / "o", tmp_path / "r", (("size", "100"),))
    assert argv[argv.index("-p") + 1] == "size=100"
