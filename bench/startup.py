"""Benchmark: how long ``invoke --list`` takes as a whole process, next to the yardstick
``python -c 'import invoke'`` (the least any task listing can cost) and Invoke listing a
collection of one empty task (what Invoke itself adds), in the same run.

    python bench/startup.py [--rounds 7]

Rounds interleave the commands and rotate which goes first; min and median per command
and the ratio of the medians are printed, plus which heavy libraries (boto3/botocore, docker,
sh, neo4j) ``invoke --list`` imported (there should be none: task modules import them only
inside task bodies). Goal on the project's 2-core machine: under 0.5 s and at most 1.2x.

Every command runs with Python's bytecode caches as a user's second run has them: the
children's environment drops ``PYTHONDONTWRITEBYTECODE``, so the uncounted warm-up round
writes the ``.pyc`` files of ``tasks.py`` and the task modules (Invoke's own were written
when it was installed). Without that, every round would compile the project's modules.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("boto3", "botocore", "docker", "sh", "neo4j")
#: A collection with one empty task: what Invoke itself costs to list tasks.
EMPTY_TASKS = "from invoke import task\n\n\n@task\ndef nothing(c):\n    pass\n"
COMMANDS = {
    "invoke --list": [sys.executable, "-m", "invoke", "--list"],
    "import invoke": [sys.executable, "-c", "import invoke"],
    "empty --list": [sys.executable, "-m", "invoke", "--list", "-c", "empty_tasks"],
}


def child_environment() -> dict[str, str]:
    """This environment with the repository importable and bytecode caches written."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.setdefault("PYTHONPATH", str(REPO))
    return env


def time_once(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL, env=child_environment())
    return time.perf_counter() - start


def heavy_imports() -> list[str]:
    """Top-level packages among HEAVY that ``invoke --list`` imported (``-X importtime``)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "invoke", "--list"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env=child_environment(),
    )
    found = set()
    for line in done.stderr.splitlines():
        name = line.rsplit("|", 1)[-1].strip()
        if name.split(".")[0] in HEAVY:
            found.add(name.split(".")[0])
    return sorted(found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    names = list(COMMANDS)
    times: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as empty_dir:
        (Path(empty_dir) / "empty_tasks.py").write_text(EMPTY_TASKS)
        cwd = {name: Path(empty_dir) if name == "empty --list" else REPO for name in names}
        for name in names:  # warm the page cache and .pyc files; not counted
            time_once(COMMANDS[name], cwd[name])
        for i in range(max(5, args.rounds)):
            order = names[i % len(names) :] + names[: i % len(names)]
            for name in order:
                times[name].append(time_once(COMMANDS[name], cwd[name]))
    print(f"{'command':<15} {'min s':>7} {'median s':>9}")
    for name in names:
        print(f"{name:<15} {min(times[name]):7.3f} {statistics.median(times[name]):9.3f}")
    ratio = statistics.median(times["invoke --list"]) / statistics.median(times["import invoke"])
    print(f"ratio invoke --list / import invoke (medians): {ratio:.2f}x")
    own = statistics.median(times["invoke --list"]) - statistics.median(times["empty --list"])
    print(f"the project's share (invoke --list - empty --list, medians): {own * 1000:.0f} ms")
    print(f"heavy libraries imported by invoke --list: {', '.join(heavy_imports()) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
