"""The graph the Neo4j writer leaves, node by node and property by property, and that a failed
write leaves nothing of itself (the real harness)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.resultsdb.documents import DATASET_SHA, DATASET_URI, make_benchmarks, make_document
from tests.resultsdb.graphdump import Graph, Node, as_node, dump_graph
from tests.services.neo4j import Neo4jServer
from worker.errors import BenchInfraError
from worker.results import BenchmarkFailure, BenchmarkResult
from worker.resultsdb.graph import build_run_params
from worker.resultsdb.neo4j import Neo4jResultsStore

#: Samples a float encoding could get wrong: repeating fractions, the smallest subnormal, the
#: largest double, a negative.
EDGE_SAMPLES = (0.1, 1 / 3, 1e-300, 5e-324, 1.7976931348623157e308, -2.5)
SCAN = BenchmarkResult(
    group="org.example.Reads",
    name="scan",
    mode="thrpt",
    unit="ops/s",
    samples=EDGE_SAMPLES,
    params={"size": "10", "cache": "cold"},
    recordings=(
        "s3://recordings/tr-graph/scan/flame.svg",
        "s3://recordings/tr-graph/scan/gc.log",
    ),
)
INSERT = BenchmarkResult(
    group="org.example.Writes", name="insert", mode="avgt", unit="us/op", samples=(2.0, 3.0, 4.0)
)
FAILURE = BenchmarkFailure("org.example.Writes.delete", "OutOfMemoryError")

# Keys of shared nodes are merged on across versions and writers: pinned, not recomputed.
SCAN_KEY = "2cec99ad0a122dbd698e38dcf4e32df7aa8261558e1d16c53b25d2f70b066b4f"
INSERT_KEY = "2512a1de17bf47a957bc0cc87bc15c3687fc2e3611ad839fab3c414e76366cbe"
INSTANCE_KEY = "5111113be0999221bc0c1bf638a29c8b4d8774e59aec97332f1e1b0c0994e407"


def _graph_document() -> dict[str, Any]:
    return make_document("tr-graph", benchmarks=[SCAN, INSERT], failures=[FAILURE])


def _expected_graph(document: dict[str, Any]) -> Graph:
    """The graph of :func:`_graph_document`, written out by hand."""
    job = document["job"]
    summary = {b["name"]: b["summary"] for b in document["benchmarks"]}
    test_run = as_node(
        "TestRun",
        {
            "id": "tr-graph",
            "run_id": "run-1",
            "job_id": "batch-tr-graph",
            "attempt": 1,
            "status": "FAILED",
            "exit_code": 3,
            "started_at": "2026-01-10T10:00:00+00:00",
            "finished_at": "2026-01-10T11:00:00+00:00",
            "date": "2026-01-10T10:00:00+00:00",
            "duration_ms": 3_600_000,
            "workload": "accesscontrol",
            "tool": "jmh",
            "build": "5531608",
            "parent_build": "5519409",
            "triggered_by": "new_infra",
            "archive": "s3://recordings/tr-graph.tar.gz",
            "recordings_prefix": "s3://recordings/tr-graph/",
            "artifacts": json.dumps({"benchmarks": "ab" * 32}),
            "schema": "benchmark-infra/results",
            "document_version": 1,
        },
    )
    project = as_node(
        "Project",
        {
            "key": "ca355e2eef42a5de7c0ec109854d96e775acd33a75818bc700df98f57ef75d59",
            "name": "neo4j",
            "commit": "f3fb07ec92527f740e527e4d128c5c1faf12b8a9",
            "edition": "ENTERPRISE",
            "owner": "neo4j",
            "version": "5.26.0",
            "branch": "5.26",
        },
    )
    tool = as_node("BenchmarkTool", {"name": "jmh"})
    tool_version = as_node(
        "BenchmarkToolVersion",
        {
            "key": "7007952da778859b4cef059335f92063dd735390daba43281975a5158dd770d9",
            "tool": "jmh",
            "commit": "0123456789abcdef0123456789abcdef01234567",
            "owner": "neo4j",
            "branch": "main",
        },
    )
    java = as_node(
        "Java",
        {
            "key": "08f912502777cb72b90877df9e0ec02709c7295370662b24af3ffdb5e2e2b626",
            "jvm": "java",
            "version": "17.0.15",
            "args": "-Xmx4g",
        },
    )
    instance = as_node(
        "Instance",
        {
            "key": INSTANCE_KEY,
            "host": "ip-10-0-0-1",
            "instance_type": "m5d.xlarge",
            "kind": "Intel Xeon Platinum 8175M",
            "operating_system": "Linux 5.10",
            "available_cores": 8,
            "total_memory": 32768,
        },
    )
    environment = as_node(
        "Environment",
        {
            "key": "cae35c580f39452b9fc817c6a413e6380d72a81a1d70520e311bb7fe66ba593b",
            "image": "benchmarks-worker:openjdk_17",
            "instance": INSTANCE_KEY,
        },
    )
    config = as_node(
        "Neo4jConfig",
        {
            "key": "9f624bfbf4cff4da2da0655dec2f890c20189d9592c9aec821a378a6984079dd",
            "deployment": "embedded",
        },
    )
    dataset = as_node(
        "Dataset",
        {
            "key": "9147cbee97f8331635e251d44d6ff35e62e390e8ba3a3b5ec5aec15e75c8b2e0",
            "uri": DATASET_URI,
            "sha256": DATASET_SHA,
        },
    )
    # every job field: scalars as they are, tables and lists as canonical JSON, None left out
    benchmark_config = as_node(
        "BenchmarkConfig",
        {
            **{
                k: json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v
                for k, v in job.items()
                if v is not None
            },
            "test_run_id": "tr-graph",
        },
    )
    failure = as_node(
        "BenchmarkFailure",
        {"benchmark": "org.example.Writes.delete", "message": "OutOfMemoryError"},
    )
    reads = as_node(
        "BenchmarkGroup",
        {
            "key": "42106c2106dfae0e9b0d272bcf2bea8256cf206d789b7deab0beb10ebaec9891",
            "name": "org.example.Reads",
            "tool": "jmh",
        },
    )
    writes = as_node(
        "BenchmarkGroup",
        {
            "key": "a0a0caa91a96fcaaed77a0fe260f9e475359816d5f214e1c5c1eaf5119e9163c",
            "name": "org.example.Writes",
            "tool": "jmh",
        },
    )
    scan = as_node(
        "Benchmark",
        {
            "key": SCAN_KEY,
            "name": "scan[cache=cold,size=10]",
            "simple_name": "scan",
            "group": "org.example.Reads",
            "mode": "thrpt",
            "params_json": '{"cache": "cold", "size": "10"}',
        },
    )
    insert = as_node(
        "Benchmark",
        {
            "key": INSERT_KEY,
            "name": "insert",
            "simple_name": "insert",
            "group": "org.example.Writes",
            "mode": "avgt",
            "params_json": "{}",
        },
    )
    scan_params = as_node("BenchmarkParams", {"key": SCAN_KEY, "size": "10", "cache": "cold"})
    insert_params = as_node("BenchmarkParams", {"key": INSERT_KEY})
    scan_metrics = as_node(
        "Metrics",
        {
            **summary["scan"],
            "key": "719acaeb03724ab745cc8c96096b36661c919708c1451740c1a8febe847388c7",
            "unit": "ops/s",
            "sample_size": 6,
            "samples": list(EDGE_SAMPLES),
        },
    )
    insert_metrics = as_node(
        "Metrics",
        {
            **summary["insert"],
            "key": "b3977d3973b186025bc6efd02b00ba6bd04526aeb6fec664d2c36739cbd8ea6f",
            "unit": "us/op",
            "sample_size": 3,
            "samples": [2.0, 3.0, 4.0],
        },
    )
    profiles = as_node("Profiles", {"recordings": list(SCAN.recordings)})
    links: list[tuple[str, Node, Node]] = [
        ("WITH_PROJECT", test_run, project),
        ("WITH_TOOL", test_run, tool_version),
        ("VERSION_OF", tool_version, tool),
        ("WITH_JAVA", test_run, java),
        ("IN_ENVIRONMENT", test_run, environment),
        ("HAS_INSTANCE", environment, instance),
        ("HAS_CONFIG", test_run, config),
        ("WITH_DATASET", test_run, dataset),
        ("HAS_BENCHMARK_CONFIG", test_run, benchmark_config),
        ("HAS_FAILURE", test_run, failure),
        ("IMPLEMENTS", tool, reads),
        ("IMPLEMENTS", tool, writes),
        ("HAS_BENCHMARK", reads, scan),
        ("HAS_BENCHMARK", writes, insert),
        ("HAS_PARAMS", scan, scan_params),
        ("HAS_PARAMS", insert, insert_params),
        ("HAS_METRICS", test_run, scan_metrics),
        ("HAS_METRICS", test_run, insert_metrics),
        ("METRICS_FOR", scan_metrics, scan),
        ("METRICS_FOR", insert_metrics, insert),
        ("HAS_PROFILES", scan_metrics, profiles),
    ]
    nodes = {node for _, start, end in links for node in (start, end)}
    return Graph.of(nodes, links)


def _assert_same(actual: Graph, expected: Graph) -> None:
    assert sorted(actual.nodes.elements(), key=repr) == sorted(expected.nodes.elements(), key=repr)
    assert sorted(actual.relationships.elements(), key=repr) == sorted(
        expected.relationships.elements(), key=repr
    )


def test_the_graph_holds_exactly_the_document(
    neo4j_store: Neo4jResultsStore, neo4j: Neo4jServer
) -> None:
    document = _graph_document()
    neo4j_store.write_document(document)
    _assert_same(dump_graph(neo4j), _expected_graph(document))


def test_writing_again_leaves_exactly_the_same_graph(
    neo4j_store: Neo4jResultsStore, neo4j: Neo4jServer
) -> None:
    document = _graph_document()
    neo4j_store.write_document(document)
    neo4j_store.write_document(document)
    _assert_same(dump_graph(neo4j), _expected_graph(document))


def test_a_write_that_fails_midway_leaves_nothing_of_itself(
    neo4j_store: Neo4jResultsStore, neo4j: Neo4jServer
) -> None:
    """The same benchmark twice in one document: the second Metrics breaks its uniqueness
    constraint after the test run was updated, its old details deleted and its provenance and
    first metrics written, all inside the one transaction, which the server rolls back."""
    neo4j_store.write_document(_graph_document())
    before = dump_graph(neo4j)
    broken = make_document("tr-graph", benchmarks=[*make_benchmarks(3, 10), SCAN, SCAN], attempt=2)
    with pytest.raises(BenchInfraError, match="ConstraintValidationFailed"):
        neo4j_store.write_document(broken)
    _assert_same(dump_graph(neo4j), before)


def test_samples_reach_the_driver_whole_but_print_short() -> None:
    """The driver formats every statement's parameters for its debug log whether or not it
    logs; the samples must not be among what it formats (bench/neo4j_write.py)."""
    document = make_document("tr-1", benchmarks=make_benchmarks(50, 1000))
    params = build_run_params(document)
    samples = params["rows"][7]["metrics"]["samples"]
    assert isinstance(samples, list)
    assert samples == document["benchmarks"][7]["samples"]
    assert repr(samples) == "<1000 samples>"
    # 50,000 samples would print as ~1 MB; the rest of the parameters is a few dozen KB
    assert len(repr(params)) < 100_000
