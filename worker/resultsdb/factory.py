"""Opens the results store a job or a task is configured with."""

from __future__ import annotations

from pathlib import Path

from worker.errors import ConfigError
from worker.params import ResultsStoreRef
from worker.resultsdb.base import ResultsStore

#: Name of the embedded store inside a workspace.
EMBEDDED_STORE_FILE = "results.sqlite"


def open_results_store(ref: ResultsStoreRef, *, workspace: Path) -> ResultsStore:
    """SQLite (``sqlite:///path`` or no URI: ``<workspace>/results.sqlite``) or Neo4j."""
    uri = ref.uri
    if not uri:
        from worker.resultsdb.sqlite import SqliteResultsStore

        return SqliteResultsStore(workspace / EMBEDDED_STORE_FILE)
    if uri.startswith("sqlite://"):
        from worker.resultsdb.sqlite import SqliteResultsStore

        return SqliteResultsStore(Path(uri[len("sqlite://") :]))
    scheme = uri.split("://", 1)[0]
    raise ConfigError(
        f"results store {uri!r}: scheme {scheme!r} is not supported; "
        "use sqlite:///path or leave it empty for the embedded store"
    )
