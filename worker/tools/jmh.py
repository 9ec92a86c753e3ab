"""The ``jmh`` tool: a JMH benchmarks jar, one JMH invocation per benchmark.

Running each benchmark on its own keeps its recordings apart and lets the error policy
act between benchmarks. Results are read from JMH's JSON output, raw samples included
(``primaryMetric.rawData``: one list of iteration scores per fork).
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

from worker.errors import ConfigError
from worker.job import ErrorPolicy
from worker.results import BenchmarkFailure, BenchmarkResult
from worker.tools.base import (
    ToolAdapter,
    ToolContext,
    ToolOutcome,
    report_benchmark,
    run_process,
)

_JMH_UNITS = {"NANOSECONDS": "ns", "MICROSECONDS": "us", "MILLISECONDS": "ms", "SECONDS": "s"}


def list_benchmarks(
    java: str, jar: Path, includes: tuple[str, ...], env: dict[str, str]
) -> list[str]:
    """Benchmarks of the jar matching the include patterns (JMH regexes), in JMH's order."""
    try:
        done = subprocess.run(
            [java, "-jar", str(jar), "-l", *includes],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=300,
        )
    except FileNotFoundError:
        raise ConfigError(f"jvm: {java!r} not found") from None
    if done.returncode != 0:
        raise ConfigError(
            f"artifacts.benchmarks: {jar.name} is not a JMH benchmarks jar "
            f"(java -jar {jar.name} -l exited {done.returncode}: {done.stderr.strip()[-300:]})"
        )
    lines = done.stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Benchmarks:")), None)
    if start is None:
        return []
    return [line.strip() for line in lines[start + 1 :] if line.strip()]


def build_command(
    ctx: ToolContext, benchmark: str, result_file: Path, recordings: Path
) -> list[str]:
    """The JMH command line of one benchmark."""
    job = ctx.job
    jvm_args = [*shlex.split(job.jvm_args), *ctx.profilers.jvm_args(recordings)]
    argv = [job.jvm]
    if job.forks == 0:
        argv += jvm_args  # in-process: the host JVM is the benchmarked JVM
    argv += [
        "-jar",
        str(ctx.artifacts["benchmarks"]),
        f"^{re.escape(benchmark)}$",
        "-wi",
        str(job.warmup_count),
        "-i",
        str(job.measurement_count),
        "-f",
        str(job.forks),
        "-tu",
        _JMH_UNITS[job.time_unit.value],
        "-rf",
        "json",
        "-rff",
        str(result_file),
        "-foe",
        "true",
    ]
    if job.forks > 0 and jvm_args:
        argv += ["-jvmArgs", " ".join(jvm_args)]
    for profiler in job.jmh_profilers:
        argv += ["-prof", profiler]
    argv += shlex.split(job.jmh_args)
    return argv


def short_name(benchmark: str) -> str:
    """``pkg.Class.method`` -> ``Class.method``: how results and recordings name a benchmark."""
    cls, _, method = benchmark.rpartition(".")
    return f"{cls.rpartition('.')[2]}.{method}"


def parse_results(data: list[dict[str, Any]], group: str) -> list[BenchmarkResult]:
    """Benchmark results from JMH's JSON (one entry per benchmark x params)."""
    results = []
    for entry in data:
        metric = entry["primaryMetric"]
        samples = [float(v) for fork in metric.get("rawData", []) for v in fork]
        if not samples:
            continue
        fq_name: str = entry["benchmark"]
        results.append(
            BenchmarkResult(
                group=group,
                name=short_name(fq_name),
                mode=str(entry.get("mode", "")),
                unit=str(metric.get("scoreUnit", "")),
                samples=tuple(samples),
                params={str(k): str(v) for k, v in (entry.get("params") or {}).items()},
            )
        )
    return results


class JmhTool(ToolAdapter):
    def run(self, ctx: ToolContext) -> ToolOutcome:
        job = ctx.job
        jar = ctx.artifacts["benchmarks"]
        benchmarks = list_benchmarks(job.jvm, jar, job.queries, dict(ctx.env))
        if not benchmarks:
            raise ConfigError(
                f"queries: no benchmark of {jar.name} matches {list(job.queries) or 'anything'}"
            )
        outcome = ToolOutcome()
        for benchmark in benchmarks:
            short = short_name(benchmark)
            recordings = ctx.recordings_dir / short
            result_file = ctx.work_dir / f"jmh-{short}.json"
            argv = build_command(ctx, benchmark, result_file, recordings)
            with ctx.profilers.sampling(recordings):
                code = run_process(argv, ctx)
            parsed = _read(result_file, job.workload)
            if code != 0 or not parsed:
                failure = BenchmarkFailure(
                    short, f"JMH exited {code} for {benchmark}; see tool.log"
                )
                outcome.failures.append(failure)
                report_benchmark(ctx, failure)
                if job.error_policy == ErrorPolicy.FAIL:
                    break
                continue
            for result in parsed:
                outcome.benchmarks.append(result)
                outcome.recordings[result.key] = recordings
                report_benchmark(ctx, result)
        return outcome


def _read(path: Path, group: str) -> list[BenchmarkResult]:
    if not path.is_file() or path.stat().st_size == 0:
        return []
    try:
        return parse_results(json.loads(path.read_text()), group)
    except (json.JSONDecodeError, KeyError, TypeError):
        return []
