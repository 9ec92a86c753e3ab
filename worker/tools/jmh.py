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
from worker.recordings import safe_key
from worker.results import BenchmarkFailure, BenchmarkResult
from worker.tools.base import (
    ToolAdapter,
    ToolContext,
    ToolOutcome,
    report_benchmark,
    run_process,
)

_JMH_UNITS = {"NANOSECONDS": "ns", "MICROSECONDS": "us", "MILLISECONDS": "ms", "SECONDS": "s"}


#: One JMH parameter set: ``@Param`` name -> value (empty for a benchmark without params).
ParamSet = tuple[tuple[str, str], ...]
_PARAM_RE = re.compile(r'^\s+param "([^"]+)" = \{(.*)\}$')


def list_benchmarks(
    java: str, jar: Path, includes: tuple[str, ...], env: dict[str, str]
) -> list[tuple[str, list[ParamSet]]]:
    """Benchmarks of the jar matching the include patterns (JMH regexes), in JMH's order,
    each with its ``@Param`` combinations (``-lp``: one JMH run per combination keeps each
    parameter set's recordings apart)."""
    try:
        done = subprocess.run(
            [java, "-jar", str(jar), "-lp", *includes],
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
            f"(java -jar {jar.name} -lp exited {done.returncode}: {done.stderr.strip()[-300:]})"
        )
    return parse_listing(done.stdout)


def parse_listing(text: str) -> list[tuple[str, list[ParamSet]]]:
    """JMH's ``-lp`` output: benchmark names, each followed by its ``param "x" = {a, b}``."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Benchmarks:")), None)
    if start is None:
        return []
    found: list[tuple[str, dict[str, list[str]]]] = []
    for line in lines[start + 1 :]:
        match = _PARAM_RE.match(line)
        if match and found:
            found[-1][1][match.group(1)] = [v.strip() for v in match.group(2).split(",")]
        elif line.strip() and not line[0].isspace():
            found.append((line.strip(), {}))
    return [(name, param_sets(params)) for name, params in found]


def param_sets(params: dict[str, list[str]]) -> list[ParamSet]:
    """Every combination of the parameters' values, in JMH's order."""
    sets: list[ParamSet] = [()]
    for name, values in params.items():
        sets = [(*s, (name, value)) for s in sets for value in values]
    return sets


def build_command(
    ctx: ToolContext,
    benchmark: str,
    result_file: Path,
    recordings: Path,
    params: ParamSet = (),
) -> list[str]:
    """The JMH command line of one benchmark and one parameter set."""
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
    for name, value in params:
        argv += ["-p", f"{name}={value}"]
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
        for benchmark, sets in benchmarks:
            for params in sets:
                if not self._run_one(ctx, benchmark, params, outcome):
                    return outcome
        return outcome

    @staticmethod
    def _run_one(ctx: ToolContext, benchmark: str, params: ParamSet, outcome: ToolOutcome) -> bool:
        """Run one benchmark with one parameter set; False when the error policy stops."""
        job = ctx.job
        short = short_name(benchmark)
        label = ",".join(f"{k}={v}" for k, v in params)
        recordings = ctx.recordings_dir / short
        if params:  # each parameter set records on its own
            recordings = recordings / safe_key(label)
        suffix = f"-{safe_key(label)}" if params else ""
        result_file = ctx.work_dir / f"jmh-{short}{suffix}.json"
        argv = build_command(ctx, benchmark, result_file, recordings, params)
        with ctx.profilers.sampling(recordings):
            code = run_process(argv, ctx)
        parsed = _read(result_file, job.workload)
        if code != 0 or not parsed:
            where = f"{benchmark} [{label}]" if params else benchmark
            failure = BenchmarkFailure(short, f"JMH exited {code} for {where}; see tool.log")
            outcome.failures.append(failure)
            report_benchmark(ctx, failure)
            return job.error_policy != ErrorPolicy.FAIL
        for result in parsed:
            outcome.benchmarks.append(result)
            outcome.recordings[result.key] = recordings
            report_benchmark(ctx, result)
        return True


def _read(path: Path, group: str) -> list[BenchmarkResult]:
    if not path.is_file() or path.stat().st_size == 0:
        return []
    try:
        return parse_results(json.loads(path.read_text()), group)
    except (json.JSONDecodeError, KeyError, TypeError):
        return []
