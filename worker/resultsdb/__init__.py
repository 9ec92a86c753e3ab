"""Results stores: where results documents are kept and queried.

The embedded SQLite store is the default; a Neo4j store is used when one is configured.
Both implement :class:`ResultsStore` and pass the same contract tests.
"""

from __future__ import annotations

from worker.resultsdb.base import (
    JobRecord,
    MetricRow,
    Provenance,
    ResultsFilter,
    ResultsStore,
    RunRow,
)

__all__ = ["JobRecord", "MetricRow", "Provenance", "ResultsFilter", "ResultsStore", "RunRow"]
