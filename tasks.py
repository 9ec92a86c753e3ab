"""benchmark-infra's command line (results-store tasks only on this branch; the lead merges).

Each task resolves its options (falling back to the ``bench`` settings of ``invoke.yaml`` /
``INVOKE_BENCH_*``), calls one function of ``scheduler`` or ``worker``, renders the result
and turns the project's errors into ``Exit`` with their documented code.
"""

from __future__ import annotations

import dataclasses
import json as json_module
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from scheduler.compare import Verdict, compare_metrics, format_comparisons
from scheduler.resultsync import sync_results
from worker.contract import ExitCode
from worker.errors import BenchInfraError, ConfigError
from worker.params import ResultsStoreRef
from worker.resultsdb import ResultsFilter, ResultsStore
from worker.resultsdb.factory import open_results_store
from worker.storage import join_uri, open_store


def _setting(c: Context, key: str, value: Any = None) -> Any:
    """An option's value, else the ``bench.<key>`` setting of invoke.yaml / INVOKE_BENCH_*."""
    return value if value is not None else c.config.get("bench", {}).get(key)


@contextmanager
def _errors() -> Iterator[None]:
    """The project's errors become a message and a documented exit code, no traceback."""
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        yield
    except BenchInfraError as exc:
        raise Exit(str(exc), int(exc.exit_code)) from None


# --- results store ---

_STORE_HELP = {
    "store_uri": "results store: bolt://, neo4j://, neo4j+s:// or sqlite:///path "
    "(default: setting results_store_uri, BENCH_RESULTS_STORE_URI, the secret, "
    "else the embedded store in the workspace)",
    "store_user": "results-store user (default: setting results_store_user, "
    "BENCH_RESULTS_STORE_USER or the secret's username)",
    "store_secret": "Secrets Manager secret {username, password, uri} (default: setting "
    "results_store_secret or BENCH_RESULTS_STORE_SECRET); the password never goes on a "
    "command line: it comes from the secret or BENCH_RESULTS_STORE_PASSWORD",
    "database": "Neo4j database name (default: setting results_store_database, else neo4j)",
    "workspace": "local workspace holding the embedded store (default: setting workspace)",
}


def _open_results_store(
    c: Context,
    *,
    store_uri: str | None,
    store_user: str | None,
    store_secret: str | None,
    database: str | None,
    workspace: str | None,
) -> ResultsStore:
    ref = ResultsStoreRef(
        uri=_setting(c, "results_store_uri", store_uri) or "",
        user=_setting(c, "results_store_user", store_user) or "",
        secret_id=_setting(c, "results_store_secret", store_secret) or "",
        database=_setting(c, "results_store_database", database) or "neo4j",
    )
    ws = Path(_setting(c, "workspace", workspace) or ".work").resolve()
    return open_results_store(ref, workspace=ws)


@task(
    help={
        "results_uri": "results prefix holding <run-id>/<test-run-id>/results.json "
        "(default: setting results_uri, else <storage>/results)",
        "run_id": "only the documents of this scheduling run",
        "since": "only test runs started at or after this ISO date/time",
        "json": "print the counts as JSON on stdout",
        **_STORE_HELP,
    }
)
def results_sync(  # noqa: PLR0917 - invoke maps parameters to options
    c: Context,
    results_uri: str | None = None,
    run_id: str | None = None,
    since: str | None = None,
    json: bool = False,
    store_uri: str | None = None,
    store_user: str | None = None,
    store_secret: str | None = None,
    database: str | None = None,
    workspace: str | None = None,
) -> None:
    """Replay results documents from the object store into the results store (idempotent)."""
    with _errors():
        base = _setting(c, "results_uri", results_uri)
        if base is None and _setting(c, "storage"):
            base = join_uri(_setting(c, "storage"), "results")
        if not base:
            raise ConfigError("results-sync: give --results-uri (or set bench.results_uri)")
        with _open_results_store(
            c,
            store_uri=store_uri,
            store_user=store_user,
            store_secret=store_secret,
            database=database,
            workspace=workspace,
        ) as store:
            counts = sync_results(open_store(base), store, run_id=run_id, since=since)
    if json:
        print(json_module.dumps(dataclasses.asdict(counts), indent=2))
    else:
        print(
            f"{counts.written} written, {counts.skipped} skipped, {counts.failed} unreadable "
            f"of {counts.found} results documents under {base}"
        )
    if counts.failed:
        raise Exit("unreadable documents:\n" + "\n".join(counts.problems), ExitCode.BAD_CONFIG)


@task(
    help={
        "base": "the base: a test run id (or, with --by build, a CI build)",
        "contender": "the contender: a test run id (or, with --by build, a CI build)",
        "by": "what BASE and CONTENDER name: test-run (default) or build",
        "alpha": "significance level of the Mann-Whitney U test (default 0.01)",
        "min_effect": "smallest relative change of the median that counts (default 0.02)",
        "fail_on_slower": "exit 3 when a benchmark got slower beyond noise",
        "json": "print the comparisons as JSON on stdout",
        **_STORE_HELP,
    }
)
def compare(  # noqa: PLR0917 - invoke maps parameters to options
    c: Context,
    base: str,
    contender: str,
    by: str = "test-run",
    alpha: float = 0.01,
    min_effect: float = 0.02,
    fail_on_slower: bool = False,
    json: bool = False,
    store_uri: str | None = None,
    store_user: str | None = None,
    store_secret: str | None = None,
    database: str | None = None,
    workspace: str | None = None,
) -> None:
    """Compare two test runs (or builds) per benchmark: medians, ratio, beyond noise or not."""
    with _errors():
        if by not in ("test-run", "build"):
            raise ConfigError(f"--by {by!r}: use test-run or build")

        def flt(name: str) -> ResultsFilter:
            if by == "build":
                return ResultsFilter(build=name, limit=1_000_000)
            return ResultsFilter(test_run_id=name, limit=1_000_000)

        with _open_results_store(
            c,
            store_uri=store_uri,
            store_user=store_user,
            store_secret=store_secret,
            database=database,
            workspace=workspace,
        ) as store:
            base_rows, contender_rows = store.metrics(flt(base)), store.metrics(flt(contender))
        for name, rows in ((base, base_rows), (contender, contender_rows)):
            if not rows:
                raise ConfigError(f"no results for {by} {name!r} in the results store")
        comparisons = compare_metrics(base_rows, contender_rows, alpha=alpha, min_effect=min_effect)
    if json:
        print(json_module.dumps([dataclasses.asdict(x) for x in comparisons], indent=2))
    else:
        print(format_comparisons(comparisons))
    slower = [x.benchmark for x in comparisons if x.verdict is Verdict.SLOWER]
    if fail_on_slower and slower:
        raise Exit(f"slower beyond noise: {', '.join(slower)}", ExitCode.BENCHMARK_FAILED)
