"""Benchmark: dataset fetch + extract through the worker vs plain ``tar -xf``, and the
worker's own overhead from process start to tool start.

    python bench/dataset_fetch.py [--size-mb 300] [--repeat 3]

Both sides read the same archive from the same local store, in the same run; medians are
printed with the ratio (worker / tar). Page cache is warm for both (the archive was just
written); where the kernel allows it (root, not in a restricted container) a cold-cache
round is run as well.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.jobs import PROVENANCE
from worker.dataset import fetch_dataset
from worker.params import ArtifactRef


def make_tree(root: Path, size_mb: int) -> None:
    """A dataset-like tree: a few large store files and many small ones, half compressible."""
    rng = os.urandom
    db = root / "graph.db"
    (db / "schema").mkdir(parents=True)
    remaining = size_mb * 2**20
    i = 0
    while remaining > 0:
        size = min(remaining, 32 * 2**20 if i % 4 == 0 else 256 * 1024)
        half = size // 2
        (db / f"neostore.{i}.db").write_bytes(rng(half) + bytes(size - half))
        remaining -= size
        i += 1
    for j in range(500):
        (db / "schema" / f"index-{j}.bin").write_bytes(rng(512) + bytes(512))


def drop_caches() -> bool:
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def time_tar(archive: Path, flags: list[str], cold: bool) -> float:
    out = Path(tempfile.mkdtemp(prefix="bench-tar-"))
    if cold:
        drop_caches()
    started = time.perf_counter()
    subprocess.run(["tar", *flags, str(archive), "-C", str(out)], check=True)
    elapsed = time.perf_counter() - started
    shutil.rmtree(out)
    return elapsed


def time_worker(archive: Path, sha: str, cold: bool) -> float:
    cache = Path(tempfile.mkdtemp(prefix="bench-cache-"))
    ref = ArtifactRef(str(archive), sha, archive.stat().st_size)
    if cold:
        drop_caches()
    started = time.perf_counter()
    fetch_dataset(ref, cache)
    elapsed = time.perf_counter() - started
    shutil.rmtree(cache)
    return elapsed


def bench_extract(work: Path, size_mb: int, repeat: int) -> None:
    tree = work / "tree"
    make_tree(tree, size_mb)
    archives = {
        "tar.zst": (work / "db.tar.zst", ["-I", "zstd -T0 -3", "-cf"], ["-I", "zstd -d", "-xf"]),
        "tar.gz": (work / "db.tar.gz", ["-I", "gzip -1", "-cf"], ["-xzf"]),
    }
    can_drop = drop_caches()
    rounds = ["warm", "cold"] if can_drop else ["warm"]
    print(
        f"dataset: {size_mb} MiB of files; cache rounds: {', '.join(rounds)}"
        + ("" if can_drop else " (cannot drop the page cache here)")
    )
    print(f"{'archive':8} {'cache':5} {'size MiB':>8} {'tar -x s':>9} {'worker s':>9} {'ratio':>6}")
    for kind, (path, create, extract) in archives.items():
        subprocess.run(["tar", *create, str(path), "-C", str(tree), "."], check=True)
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        for mode in rounds:
            cold = mode == "cold"
            tar_times, worker_times = [], []
            for _ in range(repeat):  # interleaved, so drift hits both sides alike
                tar_times.append(time_tar(path, extract, cold))
                worker_times.append(time_worker(path, sha, cold))
            t, w = statistics.median(tar_times), statistics.median(worker_times)
            print(
                f"{kind:8} {mode:5} {path.stat().st_size / 2**20:8.0f} {t:9.2f} {w:9.2f} "
                f"{w / t:6.2f}"
            )


def bench_overhead(work: Path, repeat: int) -> None:
    """Process start -> tool start, for the worker vs a bare shell starting the same command."""
    from scheduler.plan import prepare_run
    from worker.job import parse_job
    from worker.storage import open_store

    marker = work / "started"
    job = parse_job(
        {
            "tool": "command",
            "workload": "overhead",
            "warmup_count": 0,
            "measurement_count": 1,
            "commands": {"mark": f"sh -c 'date +%s.%N > {marker}'"},
            **PROVENANCE,
        }
    )
    store = open_store(str(work / "store"))
    worker_times, shell_times = [], []
    for _ in range(repeat):
        plan = prepare_run([job], store, job_dir=work)
        started = time.time()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "worker",
                "run",
                "--job-parameters",
                plan.jobs[0].parameters_uri,
                "--workspace",
                str(work / "ws"),
            ],
            check=True,
            capture_output=True,
            cwd=Path(__file__).resolve().parents[1],
        )
        worker_times.append(float(marker.read_text()) - started)
        started = time.time()
        subprocess.run(["sh", "-c", f"sh -c 'date +%s.%N > {marker}'"], check=True)
        shell_times.append(float(marker.read_text()) - started)
    w, s = statistics.median(worker_times), statistics.median(shell_times)
    print(
        f"worker overhead, process start -> tool start: {w * 1000:.0f} ms "
        f"(bare shell: {s * 1000:.0f} ms; ratio {w / s:.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-dataset-"))
    try:
        bench_extract(work, args.size_mb, args.repeat)
        bench_overhead(work, args.repeat * 2)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
