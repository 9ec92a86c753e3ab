"""The Neo4j results store: the original's graph, written idempotently.

* One managed write transaction (``execute_write``) per test run; metrics and samples go in
  as one ``UNWIND $rows`` parameter; the database is always named; statements live in
  :mod:`worker.resultsdb.cypher` and take parameters only.
* Writing a test run again replaces what it wrote before (see ``cypher``), so retries,
  replays and a second writer leave exactly one copy.
* The driver retries inside a transaction; around that, :class:`RetryPolicy` retries with
  backoff when the server is unreachable, then raises :class:`TransientError`. Bad
  credentials raise :class:`ConfigError` naming the user and where the password came from,
  never the password.

The driver is created here (:func:`open_driver`) and nowhere else.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import neo4j
from neo4j import RoutingControl
from neo4j import exceptions as neo

from worker.contract import Env
from worker.credentials import StoreCredentials
from worker.errors import BenchInfraError, ConfigError, TransientError
from worker.resultsdb import cypher
from worker.resultsdb.base import (
    JobRecord,
    MetricRow,
    Provenance,
    ResultsFilter,
    ResultsStore,
    RunRow,
)
from worker.resultsdb.graph import (
    build_job_rows,
    build_run_params,
    job_from_record,
    metric_from_record,
    provenance_from_record,
    run_from_record,
)

log = logging.getLogger(__name__)

#: URI schemes the driver understands (``+s``: TLS verified, ``+ssc``: self-signed allowed).
NEO4J_SCHEMES = frozenset({"bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc"})
#: The original's 3.x spelling of a routing URI.
_LEGACY_ROUTING = "bolt+routing://"
USER_AGENT = "benchmark-infra"

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying an unreachable store before giving up."""

    #: Attempts of one operation (each may itself retry inside the driver).
    attempts: int = 5
    first_delay: float = 1.0
    max_delay: float = 15.0
    #: The driver's own retry budget inside one managed transaction, seconds.
    transaction_retry_time: float = 10.0
    connection_timeout: float = 10.0

    def delay(self, attempt: int) -> float:
        """Backoff before attempt ``attempt + 1`` (exponential, with jitter)."""
        base = min(self.max_delay, self.first_delay * 2 ** (attempt - 1))
        return float(base * (0.5 + random.random() / 2))  # noqa: S311 - jitter, not crypto


def normalise_uri(uri: str) -> str:
    """``bolt+routing://`` (the original's) becomes ``neo4j://``; other schemes are checked."""
    if uri.startswith(_LEGACY_ROUTING):
        return "neo4j://" + uri[len(_LEGACY_ROUTING) :]
    scheme = uri.split("://", 1)[0] if "://" in uri else ""
    if scheme not in NEO4J_SCHEMES:
        raise ConfigError(
            f"results store {uri!r}: scheme {scheme!r} is not a Neo4j scheme; use one of "
            + ", ".join(sorted(f"{s}://" for s in NEO4J_SCHEMES))
        )
    return uri


def open_driver(creds: StoreCredentials, policy: RetryPolicy) -> Any:
    """A Neo4j driver for ``creds`` (the one place drivers are made)."""
    try:
        return neo4j.GraphDatabase.driver(
            normalise_uri(creds.uri),
            auth=neo4j.basic_auth(creds.user, creds.password),
            user_agent=USER_AGENT,
            connection_timeout=policy.connection_timeout,
            connection_acquisition_timeout=policy.connection_timeout * 2,
            max_transaction_retry_time=policy.transaction_retry_time,
            # the statements are fixed and reviewed: no per-query hints in the logs
            notifications_min_severity="OFF",
        )
    except (ValueError, neo4j.exceptions.ConfigurationError) as exc:
        raise ConfigError(f"results store {creds.uri!r}: {exc}") from None


class Neo4jResultsStore(ResultsStore):
    """Results in a Neo4j database (see :mod:`worker.resultsdb.cypher` for the graph)."""

    def __init__(
        self,
        creds: StoreCredentials,
        *,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.creds = creds
        self.database = creds.database
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._driver = open_driver(creds, self.policy)
        self._schema_ready = False

    def __repr__(self) -> str:
        return f"Neo4jResultsStore({self.creds.uri!r}, database={self.database!r})"

    # ------------------------------------------------------------------ plumbing

    def _describe(self) -> str:
        return f"results store {self.creds.uri} (database {self.database!r})"

    def _call(self, what: str, operation: Callable[[], T]) -> T:
        """Run ``operation``, retrying while the store is unreachable; map driver errors."""
        attempts = max(1, self.policy.attempts)
        for attempt in range(1, attempts + 1):
            try:
                return operation()
            except neo.AuthError:
                raise ConfigError(
                    f"{self._describe()}: authentication failed for user {self.creds.user!r} "
                    f"(password from {self.creds.source or 'configuration'}); check "
                    f"{Env.RESULTS_STORE_PASSWORD} or the results-store secret"
                ) from None
            except (neo.ServiceUnavailable, neo.SessionExpired, neo.TransientError) as exc:
                if attempt == attempts:
                    raise TransientError(
                        f"{self._describe()}: {what} failed after {attempts} attempts: "
                        f"{type(exc).__name__}: {_first_line(exc)}; the results document "
                        "stays in the object store, replay it with `invoke results-sync`"
                    ) from None
                delay = self.policy.delay(attempt)
                log.warning(
                    "%s: %s: %s (attempt %d/%d); retrying in %.1f s",
                    self._describe(),
                    what,
                    type(exc).__name__,
                    attempt,
                    attempts,
                    delay,
                )
                self._sleep(delay)
            except neo.ClientError as exc:
                code = getattr(exc, "code", "") or ""
                if code.endswith("DatabaseNotFound"):
                    raise ConfigError(
                        f"{self._describe()}: no such database; create it or set "
                        "results_store.database"
                    ) from None
                if "Security" in code:
                    raise ConfigError(f"{self._describe()}: {code}: {_first_line(exc)}") from None
                raise BenchInfraError(f"{self._describe()}: {what}: {code}: {exc}") from None
            except neo.DriverError as exc:
                raise BenchInfraError(f"{self._describe()}: {what}: {exc}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _query(self, statement: str, params: Mapping[str, Any], *, write: bool) -> list[Any]:
        records, _, _ = self._driver.execute_query(
            statement,
            dict(params),
            database_=self.database,
            routing_=RoutingControl.WRITE if write else RoutingControl.READ,
        )
        return list(records)

    def ensure_schema(self) -> None:
        """Create the constraints and indexes (``IF NOT EXISTS``); once per store object."""
        if self._schema_ready:
            return

        def create() -> None:
            for statement in cypher.SCHEMA:
                self._query(statement, {}, write=True)

        self._call("create the schema", create)
        self._schema_ready = True

    # ------------------------------------------------------------------ writing

    def write_document(self, document: Mapping[str, Any]) -> None:
        params = build_run_params(document)
        self.ensure_schema()

        def write() -> None:
            with self._driver.session(database=self.database) as session:
                session.execute_write(_write_test_run, params)

        self._call(f"write test run {params['id']}", write)
        log.info(
            "wrote test run %s (%d benchmarks, %d failures) to %s",
            params["id"],
            len(params["rows"]),
            len(params["failures"]),
            self._describe(),
        )

    def write_jobs(self, records: Sequence[JobRecord]) -> None:
        rows = build_job_rows(records)
        if not rows:
            return
        self.ensure_schema()
        self._call(
            f"write {len(rows)} job records",
            lambda: self._query(cypher.WRITE_JOBS, {"rows": rows}, write=True),
        )
        log.info("wrote %d job records to %s", len(rows), self._describe())

    # ------------------------------------------------------------------ reading

    @staticmethod
    def _filter_params(flt: ResultsFilter) -> dict[str, Any]:
        return {
            "test_run_id": flt.test_run_id,
            "workload": flt.workload,
            "benchmark": flt.benchmark,
            "branch": flt.branch,
            "build": flt.build,
            "since": flt.since,
            "limit": flt.limit,
        }

    def runs(self, flt: ResultsFilter) -> list[RunRow]:
        records = self._call(
            "read runs",
            lambda: self._query(cypher.READ_RUNS, self._filter_params(flt), write=False),
        )
        return [run_from_record(r.data()) for r in records]

    def metrics(self, flt: ResultsFilter) -> list[MetricRow]:
        records = self._call(
            "read metrics",
            lambda: self._query(cypher.READ_METRICS, self._filter_params(flt), write=False),
        )
        return [metric_from_record(r.data()) for r in records]

    def provenance(self, test_run_ids: Sequence[str]) -> dict[str, Provenance]:
        ids = list(dict.fromkeys(test_run_ids))
        records = self._call(
            "read provenance",
            lambda: self._query(cypher.READ_PROVENANCE, {"ids": ids}, write=False),
        )
        found = [provenance_from_record(r.data()) for r in records]
        return {p.test_run_id: p for p in found}

    def jobs(self, test_run_id: str | None = None, limit: int = 1000) -> list[JobRecord]:
        records = self._call(
            "read jobs",
            lambda: self._query(
                cypher.READ_JOBS, {"test_run_id": test_run_id, "limit": limit}, write=False
            ),
        )
        return [job_from_record(r["test_run_id"], r["job"]) for r in records]

    def close(self) -> None:
        self._driver.close()


def _write_test_run(tx: Any, params: Mapping[str, Any]) -> None:
    """The unit of work of one test run, one statement; idempotent, so the driver may retry it."""
    tx.run(
        cypher.WRITE_TEST_RUN,
        run=params["run"],
        id=params["id"],
        project=params["project"],
        tool_version=params["tool_version"],
        java=params["java"],
        instance=params["instance"],
        environment=params["environment"],
        neo4j_config=params["neo4j_config"],
        benchmark_config=params["benchmark_config"],
        datasets=params["datasets"],
        tool=params["tool"],
        rows=params["rows"],
        failures=params["failures"],
    ).consume()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
