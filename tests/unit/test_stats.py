"""The score error is JMH's: Student's t at 99.9 %, not the normal quantile."""

from __future__ import annotations

import math
import statistics

import pytest

from worker.stats import error_half_width, summarise, t_quantile


def test_t_quantile_for_five_samples_is_far_wider_than_the_normal_one() -> None:
    assert t_quantile(0.999, 4) == pytest.approx(8.610302, rel=1e-6)
    assert t_quantile(0.999, 1_000_000) == pytest.approx(3.290527, rel=1e-5)


def test_error_is_t_times_standard_error() -> None:
    samples = [10.0, 10.5, 9.8, 10.2, 10.1]
    expected = 8.610302 * statistics.stdev(samples) / math.sqrt(5)
    assert summarise(samples)["error"] == pytest.approx(expected, rel=1e-6)
    assert summarise(samples)["error_confidence"] == 0.999


def test_error_of_one_sample_is_zero() -> None:
    assert error_half_width(3.0, 1) == 0.0
