"""Summary statistics of raw samples, as the original's ``Metrics`` had them."""

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

# two-sided 99.9% normal quantile, used like JMH's score error at 99.9% confidence
_Z_999 = 3.2905


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
        "error": _Z_999 * stdev / math.sqrt(len(ordered)),
        "error_confidence": 0.999,
    }
    for name, pct in PERCENTILES:
        out[name] = percentile(ordered, pct)
    return out
