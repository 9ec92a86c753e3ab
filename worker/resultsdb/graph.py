"""Pure translation between results documents / job records and the Neo4j graph's parameters.

Nothing here talks to Neo4j: :func:`build_run_params` turns one results document into the
parameters of the statements in :mod:`worker.resultsdb.cypher`, and the ``*_from_record``
functions turn what those statements return back into the store's row types.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from worker.resultsdb.base import JobRecord, MetricRow, Provenance, RunRow

#: Properties of a Metrics node that are not part of the benchmark's summary.
METRICS_OWN_PROPERTIES = frozenset({"key", "unit", "sample_size", "samples"})
#: The project the original benchmarked; the tool names the product as "neo4j".
PROJECT_NAME = "neo4j"

_Scalar = str | int | float | bool


class Samples(list[float]):
    """A benchmark's raw samples as a query parameter: a plain list (Neo4j stores it as the
    ``samples`` list of floats), whose ``repr`` is one short line.

    The driver formats every RUN's parameters for its debug log with ``repr`` before it knows
    whether anyone logs at debug level (every Bolt version's ``run`` in neo4j 5 and 6). For a
    test run of 50 x 1,000 samples that was ~20 ms of Python per write, more than the server
    took to store them, and most of what the writer cost on loopback (bench/neo4j_write.py).
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<{len(self)} samples>"


def identity_key(*parts: Any) -> str:
    """A stable key for a shared node: sha256 of its identity, canonical JSON."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def to_properties(values: Mapping[str, Any]) -> dict[str, _Scalar]:
    """Neo4j properties: scalars as they are, None dropped, anything else as canonical JSON."""
    out: dict[str, _Scalar] = {}
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, (str, int, float, bool)):
            out[str(key)] = value
        else:
            out[str(key)] = json.dumps(value, sort_keys=True)
    return out


def params_json(params: Mapping[str, str]) -> str:
    """Benchmark parameters as the embedded store writes them (used for ordering too)."""
    return json.dumps(dict(params), sort_keys=True)


def full_name(name: str, params: Mapping[str, str]) -> str:
    if not params:
        return name
    return name + "[" + ",".join(f"{k}={v}" for k, v in sorted(params.items())) + "]"


def _duration_ms(started: Any, finished: Any) -> int | None:
    try:
        start = dt.datetime.fromisoformat(str(started))
        end = dt.datetime.fromisoformat(str(finished))
        return int((end - start).total_seconds() * 1000)
    except (TypeError, ValueError):
        return None


def _with_key(identity: Mapping[str, Any]) -> dict[str, _Scalar]:
    props = to_properties(identity)
    return {**props, "key": identity_key(sorted(props.items()))}


def build_run_params(document: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters of every statement that writes one test run (see ``cypher``)."""
    run: Mapping[str, Any] = document["run"]
    job: Mapping[str, Any] = document["job"]
    provenance: Mapping[str, Any] = document.get("provenance") or {}
    recordings: Mapping[str, Any] = document.get("recordings") or {}
    artifacts: Mapping[str, Any] = provenance.get("artifacts") or {}
    test_run_id = str(run["test_run_id"])
    tool = str(job["tool"])

    run_props = to_properties({k: v for k, v in run.items() if k != "test_run_id"})
    run_props.update(
        to_properties(
            {
                "id": test_run_id,
                "schema": document.get("schema"),
                "document_version": document.get("version"),
                "date": run.get("started_at"),
                "duration_ms": _duration_ms(run.get("started_at"), run.get("finished_at")),
                "workload": job.get("workload"),
                "tool": tool,
                "build": job.get("teamcity_build"),
                "parent_build": job.get("parent_teamcity_build"),
                "triggered_by": job.get("triggered_by"),
                "archive": recordings.get("archive"),
                "recordings_prefix": recordings.get("prefix"),
                "artifacts": dict(artifacts) if artifacts else None,
            }
        )
    )
    instance = _with_key(
        {
            "host": provenance.get("host"),
            "instance_type": provenance.get("instance_type"),
            "kind": provenance.get("cpu_model"),
            "operating_system": provenance.get("kernel"),
            "available_cores": provenance.get("cores"),
            "total_memory": provenance.get("memory_mib"),
        }
    )
    environment = _with_key({"image": provenance.get("image"), "instance": instance["key"]})
    dataset = provenance.get("dataset") or {}
    return {
        "id": test_run_id,
        "tool": tool,
        "run": run_props,
        "project": _with_key(
            {
                "name": PROJECT_NAME,
                "commit": job.get("neo4j_commit"),
                "edition": job.get("db_edition"),
                "owner": job.get("neo4j_branch_owner"),
                "version": job.get("neo4j_version"),
                "branch": job.get("neo4j_branch"),
            }
        ),
        "tool_version": _with_key(
            {
                "tool": tool,
                "commit": job.get("tool_commit"),
                "owner": job.get("tool_branch_owner"),
                "branch": job.get("tool_branch"),
            }
        ),
        "java": _with_key(
            {
                "jvm": job.get("jvm"),
                "version": provenance.get("jdk_version"),
                "args": job.get("jvm_args"),
            }
        ),
        "instance": instance,
        "environment": environment,
        "neo4j_config": _with_key(
            {"deployment": job.get("neo4j_deployment"), "sha256": artifacts.get("neo4j-config")}
        ),
        "benchmark_config": {**to_properties(job), "test_run_id": test_run_id},
        "datasets": [_with_key(dict(dataset))] if dataset.get("uri") else [],
        "rows": [_metric_row(test_run_id, tool, b) for b in document.get("benchmarks") or []],
        "failures": [
            {"benchmark": str(f["benchmark"]), "message": str(f["message"])}
            for f in document.get("failures") or []
        ],
    }


def _metric_row(test_run_id: str, tool: str, bench: Mapping[str, Any]) -> dict[str, Any]:
    group, name, mode = str(bench["group"]), str(bench["name"]), str(bench["mode"])
    params = {str(k): str(v) for k, v in (bench.get("params") or {}).items()}
    samples = Samples(map(float, bench["samples"]))
    benchmark_key = identity_key(tool, group, name, mode, params)
    summary = {str(k): float(v) for k, v in (bench.get("summary") or {}).items()}
    metrics: dict[str, Any] = {
        **summary,
        "key": identity_key(test_run_id, benchmark_key),
        "unit": str(bench["unit"]),
        "sample_size": len(samples),
        "samples": samples,
    }
    return {
        "group": group,
        "group_key": identity_key(tool, group),
        "name": name,
        "full_name": full_name(name, params),
        "mode": mode,
        "params": params,
        "params_json": params_json(params),
        "benchmark_key": benchmark_key,
        "metrics": metrics,
        "recordings": [str(r) for r in bench.get("recordings") or []],
    }


# --------------------------------------------------------------------------- reading back


def provenance_from_record(record: Mapping[str, Any]) -> Provenance:
    """A ``READ_PROVENANCE`` record; absent values become empty (or 0)."""
    text = {
        f.name: str(record.get(f.name) or "")
        for f in dataclasses.fields(Provenance)
        if f.name not in ("cores", "memory_mib")
    }
    return dataclasses.replace(
        Provenance(test_run_id=text.pop("test_run_id")),
        cores=int(record.get("cores") or 0),
        memory_mib=int(record.get("memory_mib") or 0),
        **text,
    )


def run_from_record(record: Mapping[str, Any]) -> RunRow:
    return RunRow(
        test_run_id=str(record["test_run_id"]),
        job_id=str(record["job_id"] or ""),
        attempt=int(record["attempt"] or 0),
        tool=str(record["tool"] or ""),
        workload=str(record["workload"] or ""),
        status=str(record["status"] or ""),
        started_at=str(record["started_at"] or ""),
        finished_at=str(record["finished_at"] or ""),
        neo4j_version=str(record["neo4j_version"] or ""),
        neo4j_branch=str(record["neo4j_branch"] or ""),
        neo4j_commit=str(record["neo4j_commit"] or ""),
        teamcity_build=str(record["teamcity_build"] or ""),
        triggered_by=str(record["triggered_by"] or ""),
        benchmarks=int(record["benchmarks"]),
        failures=int(record["failures"]),
    )


def metric_from_record(record: Mapping[str, Any]) -> MetricRow:
    metrics: Mapping[str, Any] = record["metrics"]
    params: Mapping[str, Any] = record["params"] or {}
    return MetricRow(
        test_run_id=str(record["test_run_id"]),
        started_at=str(record["started_at"] or ""),
        workload=str(record["workload"] or ""),
        group=str(record["group"]),
        benchmark=str(record["benchmark"]),
        params={str(k): str(v) for k, v in params.items() if k != "key"},
        mode=str(record["mode"]),
        unit=str(metrics["unit"]),
        summary={k: float(v) for k, v in metrics.items() if k not in METRICS_OWN_PROPERTIES},
        samples=tuple(float(s) for s in metrics["samples"]),
    )


#: JobRecord field -> Job node property (the original's names where it had them).
JOB_PROPERTIES: Mapping[str, str] = {
    "name": "name",
    "queue": "queue",
    "status": "status",
    "status_reason": "status_reason",
    "log_stream_name": "log_stream_name",
    "queued_at": "queued_at",
    "started_at": "run_at",
    "done_at": "done_at",
}


def build_job_rows(records: Sequence[JobRecord]) -> list[dict[str, Any]]:
    """Rows of ``WRITE_JOBS``: empty strings and None are left out, so they never erase."""
    rows = []
    for rec in records:
        props = {
            prop: getattr(rec, field)
            for field, prop in JOB_PROPERTIES.items()
            if getattr(rec, field) not in (None, "")
        }
        rows.append({"id": rec.job_id, "test_run_id": rec.test_run_id, "props": props})
    return rows


def job_from_record(test_run_id: str, props: Mapping[str, Any]) -> JobRecord:
    def text(field: str) -> str:
        return str(props.get(JOB_PROPERTIES[field]) or "")

    def when(field: str) -> str | None:
        value = props.get(JOB_PROPERTIES[field])
        return None if value is None else str(value)

    return JobRecord(
        job_id=str(props["id"]),
        test_run_id=test_run_id,
        name=text("name"),
        queue=text("queue"),
        status=text("status"),
        status_reason=text("status_reason"),
        log_stream_name=text("log_stream_name"),
        queued_at=when("queued_at"),
        started_at=when("started_at"),
        done_at=when("done_at"),
    )
