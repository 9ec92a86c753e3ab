"""Summary statistics of raw samples, as the original's ``Metrics`` had them.

The error is the half-width of the 99.9 % confidence interval of the mean with Student's t
quantile for n - 1 degrees of freedom, exactly as JMH computes its ``scoreError``
(``TDistribution.inverseCumulativeProbability(0.9995) * stdev / sqrt(n)``): with 5 samples the
normal quantile would make the interval 2.6 times too narrow. The quantile is computed in
pure Python (``worker.student_t``) so the worker image carries neither scipy nor numpy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

#: Percentiles recorded for every benchmark (the original's Metrics).
PERCENTILES: tuple[tuple[str, float], ...] = (
    ("perc_25", 25.0),
    ("perc_50", 50.0),
    ("perc_75", 75.0),
    ("perc_90", 90.0),
    ("perc_95", 95.0),
    ("perc_99", 99.0),
    ("perc_99_9", 99.9),
)

#: Confidence of the error interval (JMH's default).
ERROR_CONFIDENCE = 0.999


def t_quantile(confidence: float, degrees_of_freedom: int) -> float:
    """Two-sided Student's t quantile: ``t`` with P(|T| <= t) = confidence."""
    from worker.student_t import two_sided_quantile

    return two_sided_quantile(confidence, degrees_of_freedom)


def error_half_width(stdev: float, count: int, confidence: float = ERROR_CONFIDENCE) -> float:
    """Half-width of the confidence interval of the mean (0 for fewer than 2 samples)."""
    if count < 2:
        return 0.0
    return t_quantile(confidence, count - 1) * stdev / math.sqrt(count)


def percentile(sorted_samples: Sequence[float], pct: float) -> float:
    """Linear-interpolated percentile of already sorted samples."""
    if not sorted_samples:
        raise ValueError("no samples")
    if len(sorted_samples) == 1:
        return float(sorted_samples[0])
    rank = (pct / 100.0) * (len(sorted_samples) - 1)
    lo = math.floor(rank)
    hi = math.ceil(rank)
    frac = rank - lo
    return float(sorted_samples[lo] + (sorted_samples[hi] - sorted_samples[lo]) * frac)


def summarise(samples: Sequence[float]) -> dict[str, float]:
    """min, max, mean, error (99.9% confidence half-width), sample size and percentiles."""
    if not samples:
        raise ValueError("no samples")
    import statistics  # imported when results are summarised, after the tool has started

    ordered = sorted(float(s) for s in samples)
    mean = statistics.fmean(ordered)
    stdev = statistics.stdev(ordered) if len(ordered) > 1 else 0.0
    out = {
        "count": float(len(ordered)),
        "min": ordered[0],
        "max": ordered[-1],
        "mean": mean,
        "stdev": stdev,
        "error": error_half_width(stdev, len(ordered)),
        "error_confidence": ERROR_CONFIDENCE,
    }
    for name, pct in PERCENTILES:
        out[name] = percentile(ordered, pct)
    return out
