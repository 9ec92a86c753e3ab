"""What every tool adapter gets and returns, and how it runs processes."""

from __future__ import annotations

import abc
import dataclasses
import logging
import statistics
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from worker.errors import ConfigError
from worker.interrupt import STOP
from worker.job import Job
from worker.params import ResultsStoreRef
from worker.profilers import ProfilerSet
from worker.results import BenchmarkFailure, BenchmarkResult

log = logging.getLogger(__name__)


@dataclasses.dataclass
class ToolContext:
    job: Job
    #: Logical artifact name -> downloaded file.
    artifacts: Mapping[str, Path]
    dataset: Path | None
    #: The tool's work dir; uploaded with the results afterwards.
    work_dir: Path
    #: Recordings go to ``<recordings_dir>/<benchmark>/``.
    recordings_dir: Path
    profilers: ProfilerSet
    #: Everything the tool prints is appended here (and echoed to the worker's stderr).
    tool_log: IO[str]
    #: Environment of tool processes (carries the results-store password only for the
    #: macro tool, which talks to the store itself).
    env: Mapping[str, str]
    results_store: ResultsStoreRef
    #: Echo the tool's own output to the worker's stderr as well (on Batch: into the job's
    #: log stream). Local runs keep it in ``tool.log`` only unless asked (``--verbose``);
    #: one short line per benchmark is shown either way (:func:`report_benchmark`).
    echo: bool = True


@dataclasses.dataclass
class ToolOutcome:
    benchmarks: list[BenchmarkResult] = dataclasses.field(default_factory=list)
    failures: list[BenchmarkFailure] = dataclasses.field(default_factory=list)
    #: Benchmark key -> directory of its recordings.
    recordings: dict[str, Path] = dataclasses.field(default_factory=dict)


class ToolAdapter(abc.ABC):
    #: True when profilers act through JVM arguments of the benchmarked JVM.
    jvm_tool: bool = True

    @abc.abstractmethod
    def run(self, ctx: ToolContext) -> ToolOutcome:
        """Run the job's benchmarks under its error policy."""


def run_process(
    argv: Sequence[str],
    ctx: ToolContext,
    *,
    cwd: Path | None = None,
    echo: bool | None = None,
) -> int:
    """Run a process; its output goes to the tool log (and, with ``echo`` (default
    ``ctx.echo``), to the worker's stderr).

    The process gets a session of its own, so that a stop reaches its whole tree
    (:mod:`worker.interrupt`); a stop during the run raises ``JobInterruptedError`` once
    the process has ended.
    """
    echo = ctx.echo if echo is None else echo
    ctx.tool_log.write(f"$ {' '.join(argv)}\n")
    ctx.tool_log.flush()
    try:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd or ctx.work_dir,
            env=dict(ctx.env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
        )
    except FileNotFoundError:
        raise ConfigError(f"{argv[0]}: not found; check the job's jvm/command") from None
    except PermissionError:
        raise ConfigError(f"{argv[0]}: not executable") from None
    assert proc.stdout is not None
    with STOP.child(proc):
        for line in proc.stdout:
            ctx.tool_log.write(line)
            if echo:
                sys.stderr.write(line)
        ctx.tool_log.flush()
        return proc.wait()


def summary_line(result: BenchmarkResult | BenchmarkFailure) -> str:
    """One short line about a finished benchmark: name, score and spread, or the failure."""
    if isinstance(result, BenchmarkFailure):
        return f"{result.benchmark}: FAILED ({result.message})"
    samples = result.samples
    mean = statistics.fmean(samples)
    spread = statistics.stdev(samples) if len(samples) > 1 else 0.0
    params = ",".join(f"{k}={v}" for k, v in sorted(result.params.items()))
    name = f"{result.name}[{params}]" if params else result.name
    return (
        f"{name}: {mean:.4g} \u00b1 {spread:.2g} {result.unit} (mean \u00b1 sd of {len(samples)})"
    )


def report_benchmark(ctx: ToolContext, result: BenchmarkResult | BenchmarkFailure) -> None:
    """Show that a benchmark finished (stderr and the tool log), as soon as it does."""
    line = summary_line(result)
    ctx.tool_log.write(f"# {line}\n")
    ctx.tool_log.flush()
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
