"""The canonical, versioned results document (``results.json``) a worker writes per job."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from worker.contract import RESULTS_DOCUMENT_VERSION
from worker.errors import ConfigError
from worker.stats import summarise

SCHEMA = "benchmark-infra/results"


@dataclasses.dataclass(frozen=True)
class BenchmarkResult:
    """One benchmark's measurement: raw samples in ``unit`` and their summary."""

    group: str
    name: str
    mode: str
    unit: str
    samples: tuple[float, ...]
    params: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: URIs of this benchmark's profiler recordings (filled once uploaded).
    recordings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "name": self.name,
            "mode": self.mode,
            "unit": self.unit,
            "params": dict(self.params),
            "samples": list(self.samples),
            "summary": summarise(self.samples),
            "recordings": list(self.recordings),
        }

    @property
    def key(self) -> str:
        """Identity of a benchmark within a run: group, name and params."""
        params = ",".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.group}/{self.name}" + (f"[{params}]" if params else "")


@dataclasses.dataclass(frozen=True)
class BenchmarkFailure:
    benchmark: str
    message: str


def build_document(
    *,
    run: Mapping[str, Any],
    job: Mapping[str, Any],
    provenance: Mapping[str, Any],
    benchmarks: Sequence[BenchmarkResult],
    failures: Sequence[BenchmarkFailure],
    recordings: Mapping[str, Any],
) -> dict[str, Any]:
    """Assemble the results document (key order is kept when it is written)."""
    return {
        "schema": SCHEMA,
        "version": RESULTS_DOCUMENT_VERSION,
        "run": dict(run),
        "job": dict(job),
        "provenance": dict(provenance),
        "benchmarks": [b.to_dict() for b in benchmarks],
        "failures": [dataclasses.asdict(f) for f in failures],
        "recordings": dict(recordings),
    }


def dump_document(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, indent=2).encode() + b"\n"


def load_document(data: bytes | str, *, source: str = "results document") -> dict[str, Any]:
    """Parse and check a results document's schema and version."""
    try:
        doc = json.loads(data)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{source}: not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise ConfigError(f"{source}: not a {SCHEMA} document")
    if doc.get("version") != RESULTS_DOCUMENT_VERSION:
        raise ConfigError(
            f"{source}: version {doc.get('version')} is not supported "
            f"(this build reads version {RESULTS_DOCUMENT_VERSION})"
        )
    return doc
