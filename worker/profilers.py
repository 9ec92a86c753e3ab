"""Profilers attached to a benchmark run; each leaves recordings in a directory.

JVM profilers contribute JVM arguments (GC log, JFR, async-profiler, JVM logging, NMT, heap
dump on OOM). System samplers (mpstat, iostat, vmstat, ``perf stat``) run beside the
benchmark for as long as it runs. A profiler that cannot work here (async-profiler not
configured, a sampler not installed or not permitted) is skipped with a clear warning.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from worker.contract import Env
from worker.job import ProfilerName, ProfilerSpec

log = logging.getLogger(__name__)

#: Profilers that work through JVM arguments.
JVM_PROFILERS = frozenset(
    {
        ProfilerName.GC,
        ProfilerName.JFR,
        ProfilerName.ASYNC,
        ProfilerName.JVM_LOGGING,
        ProfilerName.NMT,
        ProfilerName.OOM,
    }
)

#: Sampler command lines (interval 1 s); output goes to ``<name>.txt``.
_SAMPLERS: dict[ProfilerName, tuple[str, list[str]]] = {
    ProfilerName.MP_STAT: ("mpstat", ["mpstat", "-P", "ALL", "1"]),
    ProfilerName.IO_STAT: ("iostat", ["iostat", "-x", "-t", "1"]),
    ProfilerName.VM_STAT: ("vmstat", ["vmstat", "-t", "1"]),
    ProfilerName.PERF_STAT: ("perf-stat", ["perf", "stat", "-a"]),
}


def async_profiler_library() -> Path | None:
    root = os.environ.get(Env.ASYNC_PROFILER_DIR)
    if not root:
        return None
    for candidate in (
        "lib/libasyncProfiler.so",
        "build/libasyncProfiler.so",
        "libasyncProfiler.so",
    ):
        path = Path(root) / candidate
        if path.is_file():
            return path
    return None


class ProfilerSet:
    """The profilers of one job, applied to each benchmark run."""

    def __init__(self, specs: Sequence[ProfilerSpec], *, jvm_tool: bool) -> None:
        self.specs = [s for s in specs if s.name != ProfilerName.NO_OP]
        self.jvm_tool = jvm_tool
        self.warnings: list[str] = []
        for spec in self.specs:
            problem = self._unavailable(spec)
            if problem:
                self._warn(problem)
        self.specs = [s for s in self.specs if not self._unavailable(s)]

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)
            log.warning("%s", message)

    def _unavailable(self, spec: ProfilerSpec) -> str | None:
        if spec.name in JVM_PROFILERS and not self.jvm_tool:
            return f"profiler {spec.name}: applies to JVM tools only; skipped for this tool"
        if spec.name == ProfilerName.ASYNC and async_profiler_library() is None:
            return (
                f"profiler ASYNC: async-profiler is not configured; set {Env.ASYNC_PROFILER_DIR}"
                " to its directory (the worker image has it when built with it); skipped"
            )
        sampler = _SAMPLERS.get(spec.name)
        if sampler and shutil.which(sampler[1][0]) is None:
            return (
                f"profiler {spec.name}: {sampler[1][0]} is not installed "
                "(Debian: sysstat / linux-perf); skipped"
            )
        return None

    def jvm_args(self, recordings: Path) -> list[str]:
        """JVM arguments for every JVM profiler, writing into ``recordings``."""
        recordings.mkdir(parents=True, exist_ok=True)
        args: list[str] = []
        for spec in self.specs:
            args.extend(_jvm_args_of(spec, recordings))
        return args

    @contextmanager
    def sampling(self, recordings: Path) -> Iterator[None]:
        """Run the system samplers while the block runs."""
        recordings.mkdir(parents=True, exist_ok=True)
        running: list[tuple[str, subprocess.Popen[bytes], IO[bytes]]] = []
        for spec in self.specs:
            if spec.name not in _SAMPLERS:
                continue
            name, argv = _SAMPLERS[spec.name]
            out: IO[bytes] = (recordings / f"{name}.txt").open("wb")
            if spec.name == ProfilerName.PERF_STAT:
                argv = [*argv, "-o", str(recordings / f"{name}.txt")]
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
            running.append((name, proc, out))
        try:
            yield
        finally:
            for name, proc, out in running:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                out.close()
                if proc.returncode not in (0, -signal.SIGINT, 130, None) and name == "perf-stat":
                    self._warn(
                        f"profiler PERF_STAT: perf stat exited {proc.returncode} "
                        "(not permitted here?); see its recording"
                    )


def _jvm_args_of(spec: ProfilerSpec, recordings: Path) -> list[str]:
    p = spec.params
    match spec.name:
        case ProfilerName.GC:
            return [f"-Xlog:gc*:file={recordings}/gc-%p.log:time,uptime,level,tags"]
        case ProfilerName.JFR:
            settings = p.get("settings", "profile")
            jfr_dir = recordings / "jfr"
            jfr_dir.mkdir(exist_ok=True)
            return [f"-XX:StartFlightRecording=filename={jfr_dir},settings={settings}"]
        case ProfilerName.ASYNC:
            library = async_profiler_library()
            event = p.get("event", "cpu")
            interval = p.get("interval", "10ms")
            return [
                f"-agentpath:{library}=start,event={event},interval={interval},"
                f"file={recordings}/async-%p.html"
            ]
        case ProfilerName.JVM_LOGGING:
            return [f"-Xlog:safepoint*=info,gc+heap=info:file={recordings}/jvm-%p.log"]
        case ProfilerName.NMT:
            return [
                "-XX:NativeMemoryTracking=summary",
                "-XX:+UnlockDiagnosticVMOptions",
                "-XX:+PrintNMTStatistics",
            ]
        case ProfilerName.OOM:
            return ["-XX:+HeapDumpOnOutOfMemoryError", f"-XX:HeapDumpPath={recordings}"]
        case _:
            return []
