"""The worker's pure-Python Student's t quantile against scipy, and the worker without scipy."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from scipy.special import stdtrit

from worker.student_t import two_sided_quantile

REPO = Path(__file__).resolve().parents[2]
LEVELS = (0.9, 0.95, 0.99, 0.999)
#: Every count of samples up to 60, then about 20 a decade to 10^6, the expansion's edge, 10^7.
DEGREES_OF_FREEDOM = sorted(
    {*range(1, 61), *(round(10 ** (k / 20)) for k in range(36, 121)), 1999, 2000, 10**7}
)


def scipy_quantile(confidence: float, degrees_of_freedom: int) -> float:
    # the lower tail itself (not 1 - tail, which rounds away ~1e-13 of 0.0005)
    return -float(stdtrit(degrees_of_freedom, (1.0 - confidence) / 2.0))


@pytest.mark.parametrize("confidence", LEVELS)
def test_agrees_with_scipy_to_1e_12_from_1_to_10_million_degrees(confidence: float) -> None:
    worst = max(
        (abs(two_sided_quantile(confidence, df) / scipy_quantile(confidence, df) - 1.0), df)
        for df in DEGREES_OF_FREEDOM
    )
    assert worst[0] <= 1e-12, f"relative error {worst[0]:.1e} at {worst[1]} degrees of freedom"


@pytest.mark.parametrize("confidence", LEVELS)
def test_closed_forms_of_one_and_two_degrees(confidence: float) -> None:
    alpha = 1.0 - confidence
    cauchy = 1.0 / math.tan(math.pi * alpha / 2.0)
    two_degrees = math.sqrt(2.0 / (alpha * (2.0 - alpha)) - 2.0)
    assert two_sided_quantile(confidence, 1) == pytest.approx(cauchy, rel=1e-14)
    assert two_sided_quantile(confidence, 2) == pytest.approx(two_degrees, rel=1e-14)


def test_extreme_confidences_still_converge() -> None:
    for df in (1, 3, 30, 1999, 2000, 10**5):
        for confidence in (0.5, 0.999999):
            expected = scipy_quantile(confidence, df)
            assert two_sided_quantile(confidence, df) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize(("confidence", "df"), [(0.0, 3), (1.0, 3), (1.5, 3), (0.999, 0)])
def test_rejects_what_has_no_quantile(confidence: float, df: int) -> None:
    with pytest.raises(ValueError):
        two_sided_quantile(confidence, df)


def test_the_worker_summarises_without_scipy_or_numpy() -> None:
    code = (
        "import sys\n"
        "sys.modules['scipy'] = sys.modules['numpy'] = None  # importing either now fails\n"
        "import worker.cli, worker.pipeline\n"
        "from worker.stats import summarise\n"
        "print(summarise([10.0, 10.5, 9.8, 10.2, 10.1])['error'])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) == pytest.approx(0.99671446789883, rel=1e-6)
