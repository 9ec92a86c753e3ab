"""Dataset fetch + extract from S3 (SeaweedFS on loopback), whole processes, cold page cache:
the worker (``python -m worker run`` of a job with the dataset and a no-op command) against
``s5cmd cp && tar -xf`` and ``aws s3 cp && tar -xf``; then the worker's time on a cache hit
and its start-up (process start to tool start).

Two datasets: ``half-zero`` (--half-zero-mib of store-like files, each half random, half
zeros) and ``mixed`` (--mixed-mib in ~1,000 files of mixed sizes, compressing to ~43%), both
``.tar.zst``, plus the half-zero one as ``.tar.gz``. Contenders are interleaved with the
order rotated; the page cache is dropped before every measurement (where permitted). Prints
min and median of --rounds and the ratios against the goals (<= 0.8x s5cmd, <= 0.5x aws),
and the worker's fixed cost (a whole run on a one-file dataset).

    python bench/dataset_fetch.py [--rounds 5] [--half-zero-mib 300] [--mixed-mib 700]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.benchlib import (
    REPO,
    SeaweedFS,
    drop_caches,
    goal_line,
    quick_job,
    ratio,
    rounds,
    run_seaweedfs,
    run_timed,
    summary,
)
from scheduler.plan import prepare_run
from worker.job import parse_job
from worker.storage import open_store

BUCKET = "bench"
MIB = 2**20


def make_half_zero(root: Path, mib: int) -> None:
    """Store-like files (a few of 32 MiB, many of 256 KiB) each half random, half zeros."""
    db = root / "graph.db"
    (db / "schema").mkdir(parents=True)
    remaining, i = mib * MIB, 0
    while remaining > 0:
        size = min(remaining, 32 * MIB if i % 4 == 0 else 256 * 1024)
        half = size // 2
        (db / f"neostore.{i}.db").write_bytes(os.urandom(half) + bytes(size - half))
        remaining -= size
        i += 1
    for j in range(500):
        (db / "schema" / f"index-{j}.bin").write_bytes(os.urandom(512) + bytes(512))


def make_mixed(root: Path, mib: int, files: int = 1000) -> None:
    """~``files`` files of log-spread sizes totalling ``mib``; 42% random bytes, the rest a
    repeated pattern, so zstd -3 keeps about 43%."""
    rng = random.Random(13)
    weights = [rng.lognormvariate(0, 2) for _ in range(files)]
    scale = mib * MIB / sum(weights)
    pattern = os.urandom(64 * 1024)
    db = root / "dataset"
    for n, weight in enumerate(weights):
        size = max(1, int(weight * scale))
        path = db / f"d{n % 16:02d}" / f"file-{n:04d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        random_part = int(size * 0.42)
        rest = size - random_part
        filler = (pattern * (rest // len(pattern) + 1))[:rest]
        path.write_bytes(os.urandom(random_part) + filler)


def make_archive(tree: Path, archive: Path, kind: str) -> None:
    compress = ["-I", "zstd -T0 -3"] if kind == "tar.zst" else ["-I", "gzip -1"]
    subprocess.run(["tar", *compress, "-cf", str(archive), "-C", str(tree), "."], check=True)


def tar_flags(kind: str) -> list[str]:
    return ["-I", "zstd -d"] if kind == "tar.zst" else ["-z"]


class DatasetBench:
    def __init__(self, work: Path, weed: SeaweedFS) -> None:
        self.work = work
        self.weed = weed
        self.env = weed.env()
        self.store = open_store(f"s3://{BUCKET}")
        self.count = 0

    def fresh_dir(self) -> Path:
        self.count += 1
        path = self.work / "out" / str(self.count)
        path.mkdir(parents=True)
        return path

    def cleanup(self) -> None:
        shutil.rmtree(self.work / "out", ignore_errors=True)

    def job_parameters(self, key: str) -> str:
        job = parse_job(quick_job(workload="dataset-fetch", dataset=f"s3://{BUCKET}/{key}"))
        plan = prepare_run([job], self.store, job_dir=self.work)
        return plan.jobs[0].parameters_uri

    def worker(self, params_uri: str, workspace: Path | None = None) -> float:
        ws = workspace or self.fresh_dir()
        cmd = [sys.executable, "-m", "worker", "run", "--job-parameters", params_uri]
        return run_timed([*cmd, "--workspace", str(ws)], env=self.env, cwd=REPO)

    def cli_then_tar(self, cli: list[str], key: str, kind: str) -> float:
        out = self.fresh_dir()
        local = out / Path(key).name
        extract = out / "x"
        extract.mkdir()
        script = (
            f'{" ".join(cli)} "s3://{BUCKET}/{key}" "{local}" >/dev/null && '
            f'tar {" ".join(repr(f) for f in tar_flags(kind))} -xf "{local}" -C "{extract}"'
        )
        return run_timed(["sh", "-c", script], env=self.env)

    def measure(self, name: str, key: str, kind: str, count: int) -> dict[str, list[float]]:
        params = self.job_parameters(key)
        s5 = ["s5cmd", "--endpoint-url", self.weed.endpoint, "cp"]
        aws = ["aws", "s3", "cp", "--quiet", "--endpoint-url", self.weed.endpoint]
        contenders: dict[str, Callable[[], float]] = {
            "worker": lambda: self.worker(params),
            "s5cmd+tar": lambda: self.cli_then_tar(s5, key, kind),
            "aws+tar": lambda: self.cli_then_tar(aws, key, kind),
        }

        def before() -> None:
            self.cleanup()
            drop_caches()

        times = rounds(contenders, count, before=before)
        self.cleanup()
        return times

    def fixed_cost(self, count: int) -> list[float]:
        """The worker's whole run on a one-file dataset, cold: what every fetch above pays
        besides moving the data (start-up, job parameters, results, logs)."""
        tree = self.work / "trees" / "tiny"
        (tree / "db").mkdir(parents=True)
        (tree / "db" / "a").write_bytes(b"hello")
        archive = self.work / "tiny.tar.zst"
        make_archive(tree, archive, "tar.zst")
        self.store.put_file(archive, "datasets/tiny.tar.zst")
        params = self.job_parameters("datasets/tiny.tar.zst")
        times = []
        for _ in range(count):
            self.cleanup()
            drop_caches()
            times.append(self.worker(params))
        self.cleanup()
        return times

    def cache_hit_ms(self, key: str, count: int) -> list[float]:
        """The worker's time on a cached dataset, in a fresh process (after its imports)."""
        params = self.job_parameters(key)
        workspace = self.fresh_dir()
        self.worker(params, workspace)  # fills the cache
        info = self.store.head(key)
        assert info is not None
        code = (
            "import sys, time; from pathlib import Path; "
            "from worker.dataset import fetch_dataset; from worker.params import ArtifactRef; "
            "ref = ArtifactRef(sys.argv[1], sys.argv[2], int(sys.argv[3])); "
            "t = time.perf_counter(); d = fetch_dataset(ref, Path(sys.argv[4])); "
            "assert d.cached; print((time.perf_counter() - t) * 1000)"
        )
        out = []
        for _ in range(count):
            done = subprocess.run(
                [
                    sys.executable, "-c", code, self.store.uri(key), info.sha256 or "",
                    str(info.size), str(workspace / "cache" / "datasets"),
                ],
                env=self.env, cwd=REPO, capture_output=True, text=True, check=True,
            )  # fmt: skip
            out.append(float(done.stdout.strip()))
        self.cleanup()
        return out


def start_to_tool(work: Path, count: int) -> tuple[list[float], list[float]]:
    """Process start -> tool start (the tool writes a timestamp), worker vs a bare shell."""
    marker = work / "started"
    job = parse_job(
        quick_job(workload="overhead", commands={"mark": f"sh -c 'date +%s.%N > {marker}'"})
    )
    store = open_store(str(work / "local-store"))
    worker_times, shell_times = [], []
    for _ in range(count):
        plan = prepare_run([job], store, job_dir=work)
        cmd = [sys.executable, "-m", "worker", "run", "--job-parameters"]
        started = time.time()
        subprocess.run(
            [*cmd, plan.jobs[0].parameters_uri, "--workspace", str(work / "ws")],
            check=True,
            capture_output=True,
            cwd=REPO,
        )
        worker_times.append(float(marker.read_text()) - started)
        started = time.time()
        subprocess.run(["sh", "-c", f"sh -c 'date +%s.%N > {marker}'"], check=True)
        shell_times.append(float(marker.read_text()) - started)
    return worker_times, shell_times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--half-zero-mib", type=int, default=300)
    parser.add_argument("--mixed-mib", type=int, default=700)
    args = parser.parse_args()
    cold = drop_caches()
    print(
        f"dataset fetch + extract from SeaweedFS, whole processes, {args.rounds} rounds "
        f"interleaved (order rotated), page cache {'dropped' if cold else 'NOT dropped'} "
        "before each"
    )
    with tempfile.TemporaryDirectory(prefix="bench-dataset-") as tmp:
        work = Path(tmp)
        with run_seaweedfs(work, [BUCKET]) as weed:
            os.environ.update(weed.env())
            bench = DatasetBench(work, weed)
            datasets = [
                ("half-zero", make_half_zero, args.half_zero_mib, "tar.zst"),
                ("half-zero", make_half_zero, args.half_zero_mib, "tar.gz"),
                ("mixed", make_mixed, args.mixed_mib, "tar.zst"),
            ]
            trees: dict[str, Path] = {}
            for name, make, mib, kind in datasets:
                if name not in trees:
                    trees[name] = work / "trees" / name
                    make(trees[name], mib)
                archive = work / f"{name}.{kind}"
                make_archive(trees[name], archive, kind)
                key = f"datasets/{archive.name}"
                bench.store.put_file(archive, key)
                files = sum(1 for p in trees[name].rglob("*") if p.is_file())
                print(
                    f"{name} {kind}: {archive.stat().st_size / MIB:.0f} MiB compressed, "
                    f"{mib} MiB in {files} files"
                )
                times = bench.measure(name, key, kind, args.rounds)
                for contender, values in times.items():
                    print(f"  {contender:10s} {summary(values)}")
                print(
                    "  "
                    + goal_line("worker/s5cmd+tar", ratio(times["worker"], times["s5cmd+tar"]), 0.8)
                )
                print(
                    "  "
                    + goal_line("worker/aws+tar", ratio(times["worker"], times["aws+tar"]), 0.5)
                )
                archive.unlink()
            fixed = bench.fixed_cost(args.rounds)
            print(
                f"worker on a one-file dataset (its fixed cost), {'cold' if cold else 'warm'}: "
                f"{summary(fixed)}; "
                f"included in every worker figure above"
            )
            hits = bench.cache_hit_ms("datasets/half-zero.tar.zst", args.rounds)
            print(
                f"cache hit, the worker's time on the dataset: min {min(hits):.1f} ms, "
                f"median {statistics.median(hits):.1f} ms (goal <= 100 ms: "
                f"{'met' if statistics.median(hits) <= 100 else 'MISSED'})"
            )
        worker, shell = start_to_tool(work, max(args.rounds, 5) * 2)
        w = statistics.median(worker) * 1000
        print(
            f"worker process start -> tool start (local store): min {min(worker) * 1000:.0f} ms, "
            f"median {w:.0f} ms; bare shell median {statistics.median(shell) * 1000:.0f} ms "
            f"(goal <= 120 ms: {'met' if w <= 120 else 'MISSED'})"
        )


if __name__ == "__main__":
    main()
