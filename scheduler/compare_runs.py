"""``invoke compare``: two sets of stored runs, compared per benchmark, provenance checked."""

from __future__ import annotations

import dataclasses

from scheduler.compare import Comparison, compare_metrics
from scheduler.provenance_diff import ProvenanceDifference, provenance_differences
from worker.errors import ConfigError
from worker.resultsdb.base import ResultsFilter, ResultsStore

#: What BASE and CONTENDER may name.
COMPARE_BY = ("test-run", "build")


@dataclasses.dataclass(frozen=True)
class RunComparison:
    comparisons: list[Comparison]
    #: Provenance fields that differ between the sides (empty: like for like).
    differences: list[ProvenanceDifference]


def _filter(by: str, name: str) -> ResultsFilter:
    if by == "build":
        return ResultsFilter(build=name, limit=1_000_000)
    return ResultsFilter(test_run_id=name, limit=1_000_000)


def compare_runs(
    store: ResultsStore,
    base: str,
    contender: str,
    *,
    by: str = "test-run",
    alpha: float = 0.01,
    min_effect: float = 0.02,
    same_provenance: bool = False,
) -> RunComparison:
    """Compare BASE with CONTENDER; with ``same_provenance`` a relevant provenance difference
    is refused (ConfigError naming the fields) instead of reported."""
    if by not in COMPARE_BY:
        raise ConfigError(f"--by {by!r}: use test-run or build")
    base_rows, contender_rows = (
        store.metrics(_filter(by, base)),
        store.metrics(_filter(by, contender)),
    )
    for name, rows in ((base, base_rows), (contender, contender_rows)):
        if not rows:
            raise ConfigError(f"no results for {by} {name!r} in the results store")
    base_ids = sorted({r.test_run_id for r in base_rows})
    contender_ids = sorted({r.test_run_id for r in contender_rows})
    provenance = store.provenance(base_ids + contender_ids)
    differences = provenance_differences(
        [provenance[i] for i in base_ids if i in provenance],
        [provenance[i] for i in contender_ids if i in provenance],
    )
    if same_provenance and differences:
        raise ConfigError(
            "the runs are not comparable (--same-provenance):\n"
            + "\n".join(d.describe() for d in differences)
        )
    comparisons = compare_metrics(base_rows, contender_rows, alpha=alpha, min_effect=min_effect)
    return RunComparison(comparisons, differences)
