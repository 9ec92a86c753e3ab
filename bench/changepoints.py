"""Quality of change-point detection on synthetic histories with known shifts.

Each case is a family of series (60 test runs, 10 raw samples per run) with noise of a given
coefficient of variation and a known truth: a step up or down of 2 %, 5 % or 10 % at run 30,
outliers, a change of variance only, or no change at all. The project's detector
(``scheduler.changepoints``: E-Divisive on run medians, confirmed by the raw samples) and a
naive threshold detector ("the median moved more than 5 % from the previous run") see the same
series. A detection within 2 runs of a true step is a true positive; anything else is a false
alarm (a variance change or an outlier is not a shift of the median, so a detection there is a
false alarm too). Printed: per case and detector, true positives, false alarms, misses,
precision, recall and F1.

    python3 bench/changepoints.py [--series 20]
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
import time
from collections.abc import Callable, Sequence

from scheduler.changepoints import detect_change_points
from scheduler.history import Point, Series

RUNS = 60
SAMPLES = 10
STEP_AT = 30
TOLERANCE = 2


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    shift: float  # relative step of the mean at STEP_AT (0: none)
    cv: float
    outliers: bool = False
    variance_change: bool = False


CASES = [
    *(
        Case(f"step {sign}{shift:.0%} cv {cv:.0%}", float(f"{sign}1") * shift, cv)
        for shift in (0.02, 0.05, 0.10)
        for cv in (0.01, 0.02, 0.05)
        for sign in ("+", "-")
    ),
    Case("no change cv 1%", 0.0, 0.01),
    Case("no change cv 2%", 0.0, 0.02),
    Case("no change cv 5%", 0.0, 0.05),
    Case("outliers cv 2%", 0.0, 0.02, outliers=True),
    Case("variance x3 cv 2%", 0.0, 0.02, variance_change=True),
]


def make_series(case: Case, seed: int) -> Series:
    rng = random.Random(seed)
    points = []
    for run in range(RUNS):
        mean = 100.0 * (1 + case.shift if run >= STEP_AT else 1.0)
        cv = case.cv * (3 if case.variance_change and run >= STEP_AT else 1)
        run_offset = rng.gauss(0, cv * 0.3)  # runs differ a little from each other too
        samples = [mean * (1 + run_offset + rng.gauss(0, cv)) for _ in range(SAMPLES)]
        if case.outliers and rng.random() < 0.1:
            samples = [s * 1.3 for s in samples]  # a whole run disturbed (noisy neighbour)
        points.append(Point(f"r{run}", f"{run:04d}", tuple(samples)))
    return Series("synthetic", "", "", "avgt", "us/op", tuple(points))


def ours(series: Series) -> list[int]:
    return [c.index for c in detect_change_points(series)]


def threshold(series: Series, limit: float = 0.05) -> list[int]:
    medians = [statistics.median(p.samples) for p in series.points]
    return [i for i in range(1, len(medians)) if abs(medians[i] / medians[i - 1] - 1) > limit]


@dataclasses.dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, found: Sequence[int], truth: Sequence[int]) -> None:
        unmatched = list(truth)
        for index in found:
            hit = next((t for t in unmatched if abs(t - index) <= TOLERANCE), None)
            if hit is None:
                self.fp += 1
            else:
                unmatched.remove(hit)
                self.tp += 1
        self.fn += len(unmatched)

    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def f1(self) -> float:
        p, r = self.precision(), self.recall()
        return 2 * p * r / (p + r) if p + r else 0.0


def _fmt(score: Score, has_truth: bool) -> str:
    if not has_truth:
        return f"{score.fp:>5}  {'':>5}  {'':>5}  {'':>5}"
    return f"{score.fp:>5}  {score.precision():5.2f}  {score.recall():5.2f}  {score.f1():5.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=20, help="series per case")
    args = parser.parse_args()
    detectors: dict[str, Callable[[Series], list[int]]] = {"ours": ours, "threshold": threshold}
    print(
        f"{args.series} series per case, {RUNS} runs x {SAMPLES} samples, "
        f"step at run {STEP_AT}, match within {TOLERANCE} runs"
    )
    columns = "false   prec    rec     F1"
    print(f"{'case':<22} {'ours: ' + columns:<34} threshold 5%: {columns}")
    totals = {name: Score() for name in detectors}
    elapsed = 0.0
    for case in CASES:
        truth = [STEP_AT] if case.shift else []
        scores = {name: Score() for name in detectors}
        for seed in range(args.series):
            series = make_series(case, seed)
            for name, detect in detectors.items():
                started = time.perf_counter()
                found = detect(series)
                if name == "ours":
                    elapsed += time.perf_counter() - started
                scores[name].add(found, truth)
                if abs(case.shift) >= 0.05 and case.cv <= 0.02:
                    totals[name].add(found, truth)
        print(
            f"{case.name:<22} {_fmt(scores['ours'], bool(truth)):<34} "
            f"{_fmt(scores['threshold'], bool(truth))}"
        )
    print(
        "shifts >= 5% at cv <= 2%: "
        + "; ".join(
            f"{name} precision {s.precision():.2f} recall {s.recall():.2f} F1 {s.f1():.2f}"
            for name, s in totals.items()
        )
    )
    runs = len(CASES) * args.series
    print(f"ours: {elapsed / runs * 1000:.0f} ms per series of {RUNS} runs")


if __name__ == "__main__":
    main()
