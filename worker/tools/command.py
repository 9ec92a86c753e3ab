"""The ``command`` tool: any program, timed by the worker itself.

Each benchmark is a command line. Per fork (a separate sequence of processes; forks 0 and 1
both mean one), it runs ``warmup_count`` untimed runs, then ``measurement_count`` timed ones.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time

from worker.errors import ConfigError
from worker.interrupt import STOP
from worker.job import ErrorPolicy
from worker.results import BenchmarkFailure, BenchmarkResult
from worker.tools.base import ToolAdapter, ToolContext, ToolOutcome, report_benchmark


class CommandTool(ToolAdapter):
    jvm_tool = False

    def run(self, ctx: ToolContext) -> ToolOutcome:
        job = ctx.job
        outcome = ToolOutcome()
        selected = job.queries or tuple(job.commands)
        unknown = [q for q in selected if q not in job.commands]
        if unknown:
            raise ConfigError(
                f"queries: {unknown} are not benchmarks of this job; known: {list(job.commands)}"
            )
        for name in selected:
            recordings = ctx.recordings_dir / name
            with ctx.profilers.sampling(recordings):
                samples, error = self._measure(ctx, shlex.split(job.commands[name]))
            if error is not None:
                outcome.failures.append(BenchmarkFailure(name, error))
                report_benchmark(ctx, outcome.failures[-1])
                if job.error_policy == ErrorPolicy.FAIL:
                    break
                continue
            result = BenchmarkResult(
                group=job.workload,
                name=name,
                mode="SINGLE_SHOT",
                unit=job.time_unit.short,
                samples=tuple(samples),
            )
            outcome.benchmarks.append(result)
            outcome.recordings[result.key] = recordings
            report_benchmark(ctx, result)
        return outcome

    def _measure(self, ctx: ToolContext, argv: list[str]) -> tuple[list[float], str | None]:
        job = ctx.job
        samples: list[float] = []
        for fork in range(max(job.forks, 1)):
            for iteration in range(job.warmup_count + job.measurement_count):
                measured = iteration >= job.warmup_count
                started = time.perf_counter_ns()
                code = self._run_once(ctx, argv)
                elapsed = time.perf_counter_ns() - started
                if code != 0:
                    phase = "measurement" if measured else "warmup"
                    return samples, (
                        f"{argv[0]} exited {code} in fork {fork + 1}, {phase} iteration "
                        f"{iteration + 1}; see tool.log"
                    )
                if measured:
                    samples.append(elapsed / job.time_unit.nanos)
        return samples, None

    def _run_once(self, ctx: ToolContext, argv: list[str]) -> int:
        ctx.tool_log.flush()
        try:
            proc = subprocess.Popen(
                argv,
                cwd=ctx.work_dir,
                env=dict(ctx.env),
                stdout=ctx.tool_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a stop reaches its whole tree (worker.interrupt)
            )
        except FileNotFoundError:
            raise ConfigError(f"commands: {argv[0]!r} not found") from None
        with STOP.child(proc):
            try:
                return proc.wait(timeout=ctx.job.max_measurement_duration)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return 124
