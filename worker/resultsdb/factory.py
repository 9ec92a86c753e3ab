"""Opens the results store a job or a task is configured with."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from worker.credentials import (
    SecretFetcher,
    StoreCredentials,
    fetch_secret_string,
    resolve_credentials,
    resolve_uri,
    secret_id_of,
)
from worker.errors import ConfigError
from worker.params import ResultsStoreRef
from worker.resultsdb.base import ResultsStore
from worker.resultsdb.sqlite import SqliteResultsStore

if TYPE_CHECKING:
    from worker.resultsdb.neo4j import RetryPolicy

#: Name of the embedded store inside a workspace.
EMBEDDED_STORE_FILE = "results.sqlite"


def _scheme(uri: str) -> str:
    return uri.split("://", 1)[0] if "://" in uri else ""


def open_results_store(
    ref: ResultsStoreRef,
    *,
    workspace: Path,
    environ: Mapping[str, str] | None = None,
    fetch_secret: SecretFetcher = fetch_secret_string,
    policy: RetryPolicy | None = None,
) -> ResultsStore:
    """SQLite (``sqlite:///path``, or nothing configured: ``<workspace>/results.sqlite``) or
    Neo4j (``bolt://``, ``neo4j://``, ``neo4j+s://``, ...; the original's
    ``bolt+routing://`` is read as ``neo4j://``).

    The URI comes from ``ref``, else ``BENCH_RESULTS_STORE_URI``, else the results-store
    secret; credentials are resolved by :mod:`worker.credentials`.
    """
    env = os.environ if environ is None else environ
    uri = resolve_uri(ref, env)
    creds: StoreCredentials | None = None
    if not uri and secret_id_of(ref, env):
        creds = resolve_credentials(ref, environ=env, fetch=fetch_secret)
        uri = creds.uri
    if not uri:
        return SqliteResultsStore(workspace / EMBEDDED_STORE_FILE)
    if uri.startswith("sqlite://"):
        return SqliteResultsStore(Path(uri[len("sqlite://") :]))
    # the driver is imported only when a Neo4j store is used: it takes ~0.5 s to import
    from worker.resultsdb.neo4j import NEO4J_SCHEMES, Neo4jResultsStore

    scheme = _scheme(uri)
    if scheme in NEO4J_SCHEMES or scheme == "bolt+routing":
        if creds is None:
            creds = resolve_credentials(ref, environ=env, fetch=fetch_secret)
        return Neo4jResultsStore(creds, policy=policy)
    raise ConfigError(
        f"results store {uri!r}: scheme {scheme!r} is not supported; use sqlite:///path, "
        "bolt://, neo4j:// or neo4j+s://, or configure nothing for the embedded store"
    )
