"""The ``macro`` tool: Neo4j's macro benchmark tool (``macro.jar run-workload``).

Builds exactly the original's command line from the job, with the dataset, the Neo4j config,
a work dir and the results-store settings (URI and user; the password reaches the tool only
through its environment, never its command line). The tool runs its own profilers and writes
a result file, which this adapter reads.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from worker.errors import ConfigError
from worker.results import BenchmarkFailure, BenchmarkResult
from worker.tools.base import ToolAdapter, ToolContext, ToolOutcome, run_process

RESULT_FILE = "macro-results.json"


def build_command(ctx: ToolContext, result_file: Path) -> list[str]:
    job = ctx.job
    if ctx.dataset is None:
        raise ConfigError("dataset: the macro tool needs a dataset (dataset = '<uri>')")
    argv = [job.jvm, *shlex.split(job.jvm_args), "-jar", str(ctx.artifacts["macro"])]
    argv += ["run-workload"]
    options: list[tuple[str, str]] = [
        ("--workload", job.workload),
        ("--queries", ",".join(job.queries)),
        ("--db-edition", job.db_edition.value),
        ("--jvm", job.jvm),
        ("--profilers", ",".join(str(p) for p in job.profilers)),
        ("--warmup-count", str(job.warmup_count)),
        ("--measurement-count", str(job.measurement_count)),
        ("--min-measurement-duration", str(job.min_measurement_duration)),
        ("--max-measurement-duration", str(job.max_measurement_duration)),
        ("--forks", str(job.forks)),
        ("--time-unit", job.time_unit.value),
        ("--runtime", job.runtime.value),
        ("--planner", job.planner.value),
        ("--execution-mode", job.execution_mode.value),
        ("--error-policy", job.error_policy.value),
        ("--jvm-args", job.jvm_args),
        ("--neo4j-deployment", job.neo4j_deployment),
        ("--neo4j-commit", job.neo4j_commit),
        ("--neo4j-version", job.neo4j_version),
        ("--neo4j-branch", job.neo4j_branch),
        ("--neo4j-branch-owner", job.neo4j_branch_owner),
        ("--tool-commit", job.tool_commit),
        ("--tool-branch", job.tool_branch),
        ("--tool-branch-owner", job.tool_branch_owner),
        ("--teamcity-build", job.teamcity_build),
        ("--parent-teamcity-build", job.parent_teamcity_build),
        ("--triggered-by", job.triggered_by),
        ("--db-name", job.db_name),
        ("--db-dir", str(ctx.dataset)),
        ("--neo4j-config", str(ctx.artifacts["neo4j-config"])),
        ("--work-dir", str(ctx.work_dir)),
        ("--results-path", str(result_file)),
    ]
    if ctx.results_store.uri:
        options.append(("--results-store-uri", ctx.results_store.uri))
    if ctx.results_store.user:
        options.append(("--results-store-user", ctx.results_store.user))
    for option, value in options:
        argv += [option, value]
    return argv


def parse_results(data: dict[str, Any]) -> tuple[list[BenchmarkResult], list[BenchmarkFailure]]:
    results, failures = [], []
    for entry in data.get("benchmarks", []):
        name = str(entry["name"])
        if entry.get("error") or not entry.get("samples"):
            failures.append(BenchmarkFailure(name, str(entry.get("error") or "no samples")))
            continue
        results.append(
            BenchmarkResult(
                group=str(entry["group"]),
                name=name,
                mode=str(entry.get("mode", "")),
                unit=str(entry["unit"]),
                samples=tuple(float(s) for s in entry["samples"]),
                params={str(k): str(v) for k, v in (entry.get("params") or {}).items()},
            )
        )
    return results, failures


class MacroTool(ToolAdapter):
    def run(self, ctx: ToolContext) -> ToolOutcome:
        result_file = ctx.work_dir / RESULT_FILE
        code = run_process(build_command(ctx, result_file), ctx)
        outcome = ToolOutcome()
        if result_file.is_file():
            try:
                benchmarks, failures = parse_results(json.loads(result_file.read_text()))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                benchmarks, failures = (
                    [],
                    [BenchmarkFailure(ctx.job.workload, f"unreadable result file: {exc}")],
                )
            outcome.benchmarks, outcome.failures = benchmarks, failures
        if code != 0 and not outcome.failures:
            outcome.failures.append(
                BenchmarkFailure(ctx.job.workload, f"macro tool exited {code}; see tool.log")
            )
        for result in outcome.benchmarks:
            outcome.recordings[result.key] = ctx.work_dir / "recordings" / result.name
        return outcome
