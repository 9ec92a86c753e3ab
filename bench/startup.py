"""Benchmark: how long ``invoke --list`` takes as a whole process, next to the yardstick
``python -c 'import invoke'`` (the least any task listing can cost) and Invoke listing a
collection of one empty task (what Invoke itself adds), in the same run.

    python bench/startup.py [--rounds 11]

Rounds interleave the commands and rotate which goes first; min and median per command
(wall time, and CPU time from ``wait4``, which other work on the machine disturbs less) and
the ratio of the medians are printed, plus which heavy libraries (boto3/botocore, docker,
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
GOAL_RATIO = 1.2
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


def time_once(argv: list[str], cwd: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system, from ``wait4``) of one whole process."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, env=child_environment())
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise subprocess.CalledProcessError(child.returncode, argv)
    return wall, usage.ru_utime + usage.ru_stime


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
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args()
    names = list(COMMANDS)
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as empty_dir:
        (Path(empty_dir) / "empty_tasks.py").write_text(EMPTY_TASKS)
        cwd = {name: Path(empty_dir) if name == "empty --list" else REPO for name in names}
        for name in names:  # warm the page cache and .pyc files; not counted
            time_once(COMMANDS[name], cwd[name])
        for i in range(max(5, args.rounds)):
            order = names[i % len(names) :] + names[: i % len(names)]
            for name in order:
                seconds, cpu_seconds = time_once(COMMANDS[name], cwd[name])
                wall[name].append(seconds)
                cpu[name].append(cpu_seconds)
    rounds = max(5, args.rounds)
    print(f"whole processes, {rounds} rounds interleaved (order rotated); CPU = user + system")
    print(f"{'command':<15} {'min s':>7} {'median s':>9} {'CPU min s':>10} {'CPU median s':>13}")
    for name in names:
        print(
            f"{name:<15} {min(wall[name]):7.3f} {statistics.median(wall[name]):9.3f} "
            f"{min(cpu[name]):10.3f} {statistics.median(cpu[name]):13.3f}"
        )
    ratio = statistics.median(wall["invoke --list"]) / statistics.median(wall["import invoke"])
    cpu_ratio = statistics.median(cpu["invoke --list"]) / statistics.median(cpu["import invoke"])
    verdict = "met" if ratio <= GOAL_RATIO else "MISSED"
    print(
        f"ratio invoke --list / import invoke (medians): {ratio:.2f}x "
        f"(goal <= {GOAL_RATIO}x: {verdict}); in CPU time {cpu_ratio:.2f}x"
    )
    own = statistics.median(wall["invoke --list"]) - statistics.median(wall["empty --list"])
    own_cpu = statistics.median(cpu["invoke --list"]) - statistics.median(cpu["empty --list"])
    print(
        f"the project's share (invoke --list - empty --list, medians): {own * 1000:.0f} ms, "
        f"in CPU time {own_cpu * 1000:.0f} ms"
    )
    print(f"heavy libraries imported by invoke --list: {', '.join(heavy_imports()) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
