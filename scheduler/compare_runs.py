"""``invoke compare``: two sets of stored runs, compared per benchmark, provenance checked."""

from __future__ import annotations

import dataclasses

from scheduler.compare import ALL_ROWS, Comparison, compare_metrics, resolve_test_run_id
from scheduler.provenance_diff import ProvenanceDifference, provenance_differences
from worker.errors import ConfigError, NotFoundError
from worker.resultsdb.base import MetricRow, ResultsFilter, ResultsStore

#: What BASE and CONTENDER may name.
COMPARE_BY = ("test-run", "build")


@dataclasses.dataclass(frozen=True)
class RunComparison:
    comparisons: list[Comparison]
    #: Provenance fields that differ between the sides (empty: like for like).
    differences: list[ProvenanceDifference]


def stored_metrics(store: ResultsStore, name: str, by: str) -> list[MetricRow]:
    """The metrics of one side: a test run (id or unique prefix) or a CI build."""
    if by == "build":
        found = store.metrics(ResultsFilter(build=name, limit=ALL_ROWS))
    else:
        found = store.metrics(
            ResultsFilter(test_run_id=resolve_test_run_id(store, name), limit=ALL_ROWS)
        )
    if not found:
        raise NotFoundError(f"no results for {by} {name!r} in the results store")
    return found


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
    """Compare BASE with CONTENDER (test-run ids or unique prefixes, or CI builds); with
    ``same_provenance`` a relevant provenance difference is refused (ConfigError naming the
    fields) instead of reported."""
    if by not in COMPARE_BY:
        raise ConfigError(f"--by {by!r}: use test-run or build")
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha (--alpha): {alpha} is not between 0 and 1")
    if not 0 <= min_effect < 10:
        raise ConfigError(f"min_effect (--min-effect): {min_effect} is not between 0 and 10")
    base_rows = stored_metrics(store, base, by)
    contender_rows = stored_metrics(store, contender, by)
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
