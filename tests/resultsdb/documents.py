"""Results documents for the store tests, made with the project's own builders."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from worker.job import parse_job
from worker.results import BenchmarkFailure, BenchmarkResult, build_document

INJECTION_NAME = "x'}) DETACH DELETE n //"
DATASET_URI = "s3://datasets/5.26-enterprise-datasets/db.tgz"
DATASET_SHA = "cd" * 32


def make_job(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "tool": "jmh",
        "workload": "accesscontrol",
        "warmup_count": 5,
        "measurement_count": 10,
        "neo4j_commit": "f3fb07ec92527f740e527e4d128c5c1faf12b8a9",
        "neo4j_version": "5.26.0",
        "neo4j_branch": "5.26",
        "neo4j_branch_owner": "neo4j",
        "tool_commit": "0123456789abcdef0123456789abcdef01234567",
        "tool_branch": "main",
        "tool_branch_owner": "neo4j",
        "teamcity_build": "5531608",
        "parent_teamcity_build": "5519409",
        "triggered_by": "new_infra",
        "jvm_args": "-Xmx4g",
        "profilers": "GC,ASYNC(interval=1)",
        "artifacts": {"benchmarks": "build/benchmarks.jar"},
    }
    fields.update(overrides)
    return parse_job(fields).to_dict()


def make_benchmarks(
    count: int, samples: int, *, seed: int = 1, scale: float = 1.0, prefix: str = "bench"
) -> list[BenchmarkResult]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        params = {"size": str(10 ** (i % 3))} if i % 2 else {}
        out.append(
            BenchmarkResult(
                group=f"org.example.Group{i % 4}",
                name=f"{prefix}{i:03d}",
                mode="avgt",
                unit="us/op",
                samples=tuple(
                    round(scale * (100 + i + rng.gauss(0, 2)), 6) for _ in range(samples)
                ),
                params=params,
                recordings=(f"s3://recordings/run/{prefix}{i:03d}/flamegraph.svg",)
                if i == 0
                else (),
            )
        )
    return out


def make_document(
    test_run_id: str,
    *,
    started_at: str = "2026-01-10T10:00:00+00:00",
    benchmarks: Sequence[BenchmarkResult] | None = None,
    failures: Sequence[BenchmarkFailure] = (),
    run_id: str = "run-1",
    job: dict[str, Any] | None = None,
    attempt: int = 1,
    provenance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return build_document(
        run={
            "test_run_id": test_run_id,
            "run_id": run_id,
            "job_id": f"batch-{test_run_id}",
            "attempt": attempt,
            "started_at": started_at,
            "finished_at": started_at.replace("T10:", "T11:"),
            "status": "SUCCEEDED" if not failures else "FAILED",
            "exit_code": 0 if not failures else 3,
        },
        job=job or make_job(),
        provenance={
            "host": "ip-10-0-0-1",
            "instance_type": "m5d.xlarge",
            "cpu_model": "Intel Xeon Platinum 8175M",
            "cores": 8,
            "memory_mib": 32768,
            "kernel": "Linux 5.10",
            "jdk_version": "17.0.15",
            "image": "benchmarks-worker:openjdk_17",
            "artifacts": {"benchmarks": "ab" * 32},
            "dataset": {"uri": DATASET_URI, "sha256": DATASET_SHA},
            **(provenance or {}),
        },
        benchmarks=list(benchmarks) if benchmarks is not None else make_benchmarks(6, 50),
        failures=list(failures),
        recordings={
            "archive": f"s3://recordings/{test_run_id}.tar.gz",
            "prefix": f"s3://recordings/{test_run_id}/",
        },
    )
