"""Every Cypher statement the Neo4j results store runs, as named constants.

Values always travel as parameters (``$name``); nothing is ever formatted into a statement.

The graph (the original's model, cleaned up)::

    (:TestRun {id, run_id, job_id, attempt, status, exit_code, started_at, finished_at,
               duration_ms, date, build, parent_build, triggered_by, workload, tool,
               archive, recordings_prefix, artifacts, document_version})
      -[:WITH_PROJECT]->        (:Project {key, name, commit, edition, owner, version, branch})
      -[:WITH_TOOL]->           (:BenchmarkToolVersion {key, tool, commit, owner, branch})
                                   -[:VERSION_OF]-> (:BenchmarkTool {name})
      -[:WITH_JAVA]->           (:Java {key, jvm, version, args})
      -[:IN_ENVIRONMENT]->      (:Environment {key, image}) -[:HAS_INSTANCE]-> (:Instance {...})
      -[:HAS_CONFIG]->          (:Neo4jConfig {key, deployment, sha256})
      -[:WITH_DATASET]->        (:Dataset {key, uri, sha256})
      -[:HAS_BENCHMARK_CONFIG]->(:BenchmarkConfig {test_run_id, <every job field>})
      -[:HAS_FAILURE]->         (:BenchmarkFailure {benchmark, message})
      -[:HAS_METRICS]->         (:Metrics {key, unit, sample_size, samples, min, max, mean, ...})
                                   -[:METRICS_FOR]-> (:Benchmark)
                                   -[:HAS_PROFILES]-> (:Profiles {recordings})
      -[:RUN_BY]->              (:Job {id, name, queue, status, status_reason, log_stream_name,
                                       queued_at, run_at, done_at})
    (:BenchmarkTool)-[:IMPLEMENTS]->(:BenchmarkGroup {key, tool, name})
      -[:HAS_BENCHMARK]->(:Benchmark {key, name, simple_name, group, mode, params_json})
      -[:HAS_PARAMS]->(:BenchmarkParams {key, <param>: <value>})

Shared nodes (Project, tool versions, Java, Environment, Instance, Neo4jConfig, Dataset, groups,
benchmarks) are merged on a ``key`` computed from their identity. What belongs to one test run
(metrics, profiles, failures, its benchmark config, its links) is replaced when the test run is
written again, so a rewrite leaves exactly one copy.
"""

from __future__ import annotations

#: Uniqueness constraints (Community Edition supports them); created IF NOT EXISTS.
CONSTRAINTS: tuple[str, ...] = (
    "CREATE CONSTRAINT test_run_id IF NOT EXISTS FOR (n:TestRun) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT job_id IF NOT EXISTS FOR (n:Job) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT project_key IF NOT EXISTS FOR (n:Project) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT benchmark_tool_name IF NOT EXISTS "
    "FOR (n:BenchmarkTool) REQUIRE n.name IS UNIQUE",
    "CREATE CONSTRAINT benchmark_tool_version_key IF NOT EXISTS "
    "FOR (n:BenchmarkToolVersion) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT java_key IF NOT EXISTS FOR (n:Java) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT environment_key IF NOT EXISTS FOR (n:Environment) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT instance_key IF NOT EXISTS FOR (n:Instance) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT neo4j_config_key IF NOT EXISTS FOR (n:Neo4jConfig) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT dataset_key IF NOT EXISTS FOR (n:Dataset) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT benchmark_config_run IF NOT EXISTS "
    "FOR (n:BenchmarkConfig) REQUIRE n.test_run_id IS UNIQUE",
    "CREATE CONSTRAINT benchmark_group_key IF NOT EXISTS "
    "FOR (n:BenchmarkGroup) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT benchmark_key IF NOT EXISTS FOR (n:Benchmark) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT benchmark_params_key IF NOT EXISTS "
    "FOR (n:BenchmarkParams) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT metrics_key IF NOT EXISTS FOR (n:Metrics) REQUIRE n.key IS UNIQUE",
)

#: Secondary indexes for the read filters.
INDEXES: tuple[str, ...] = (
    "CREATE INDEX test_run_started_at IF NOT EXISTS FOR (n:TestRun) ON (n.started_at)",
    "CREATE INDEX test_run_workload IF NOT EXISTS FOR (n:TestRun) ON (n.workload)",
    "CREATE INDEX benchmark_simple_name IF NOT EXISTS FOR (n:Benchmark) ON (n.simple_name)",
)

SCHEMA: tuple[str, ...] = CONSTRAINTS + INDEXES

# --------------------------------------------------------------------------- writing a test run

#: Create or replace the TestRun's own properties ($run holds ``id``).
UPSERT_TEST_RUN = """
MERGE (tr:TestRun {id: $run.id})
SET tr = $run
"""

#: Remove everything that belongs to one earlier write of this test run.
DELETE_TEST_RUN_DETAILS = """
MATCH (tr:TestRun {id: $id})
OPTIONAL MATCH (tr)-[:HAS_METRICS]->(m:Metrics)
OPTIONAL MATCH (m)-[:HAS_PROFILES]->(p:Profiles)
DETACH DELETE m, p
WITH DISTINCT tr
OPTIONAL MATCH (tr)-[:HAS_FAILURE|HAS_BENCHMARK_CONFIG]->(x)
DETACH DELETE x
WITH DISTINCT tr
OPTIONAL MATCH (tr)-[r:WITH_PROJECT|WITH_TOOL|WITH_JAVA|IN_ENVIRONMENT|HAS_CONFIG|WITH_DATASET]->()
DELETE r
"""

#: Link the test run to what it measured, with what, where.
LINK_PROVENANCE = """
MATCH (tr:TestRun {id: $id})
MERGE (p:Project {key: $project.key}) ON CREATE SET p = $project
MERGE (tr)-[:WITH_PROJECT]->(p)
MERGE (t:BenchmarkTool {name: $tool_version.tool})
MERGE (tv:BenchmarkToolVersion {key: $tool_version.key}) ON CREATE SET tv = $tool_version
MERGE (tv)-[:VERSION_OF]->(t)
MERGE (tr)-[:WITH_TOOL]->(tv)
MERGE (j:Java {key: $java.key}) ON CREATE SET j = $java
MERGE (tr)-[:WITH_JAVA]->(j)
MERGE (i:Instance {key: $instance.key}) ON CREATE SET i = $instance
MERGE (e:Environment {key: $environment.key}) ON CREATE SET e = $environment
MERGE (e)-[:HAS_INSTANCE]->(i)
MERGE (tr)-[:IN_ENVIRONMENT]->(e)
MERGE (c:Neo4jConfig {key: $neo4j_config.key}) ON CREATE SET c = $neo4j_config
MERGE (tr)-[:HAS_CONFIG]->(c)
CREATE (tr)-[:HAS_BENCHMARK_CONFIG]->(bc:BenchmarkConfig)
SET bc = $benchmark_config
"""

#: The dataset, when the job had one ($datasets holds zero or one map).
LINK_DATASET = """
MATCH (tr:TestRun {id: $id})
UNWIND $datasets AS d
MERGE (ds:Dataset {key: d.key}) ON CREATE SET ds = d
MERGE (tr)-[:WITH_DATASET]->(ds)
"""

#: Every benchmark's metrics and samples in one statement ($rows: one map per benchmark).
WRITE_METRICS = """
MATCH (tr:TestRun {id: $id})
MATCH (tool:BenchmarkTool {name: $tool})
UNWIND $rows AS row
MERGE (g:BenchmarkGroup {key: row.group_key})
  ON CREATE SET g.name = row.group, g.tool = $tool
MERGE (tool)-[:IMPLEMENTS]->(g)
MERGE (b:Benchmark {key: row.benchmark_key})
  ON CREATE SET b.name = row.full_name, b.simple_name = row.name, b.group = row.group,
                b.mode = row.mode, b.params_json = row.params_json
MERGE (g)-[:HAS_BENCHMARK]->(b)
MERGE (bp:BenchmarkParams {key: row.benchmark_key})
  ON CREATE SET bp += row.params
MERGE (b)-[:HAS_PARAMS]->(bp)
CREATE (tr)-[:HAS_METRICS]->(m:Metrics)-[:METRICS_FOR]->(b)
SET m = row.metrics
FOREACH (uri_list IN CASE WHEN size(row.recordings) > 0 THEN [row.recordings] ELSE [] END |
  CREATE (m)-[:HAS_PROFILES]->(:Profiles {recordings: uri_list}))
"""

#: Benchmarks that failed in this test run.
WRITE_FAILURES = """
MATCH (tr:TestRun {id: $id})
UNWIND $failures AS f
CREATE (tr)-[:HAS_FAILURE]->(:BenchmarkFailure {benchmark: f.benchmark, message: f.message})
"""

#: One test run's whole write as ONE statement: the six steps above as unit subqueries, in
#: order (each sees what the previous ones wrote). One round trip instead of six: over a real
#: network the round trips, not the bytes, are what a writer pays for (bench/neo4j_write.py).
WRITE_TEST_RUN = "\n".join(
    f"CALL {{{step}}}"
    for step in (
        UPSERT_TEST_RUN,
        DELETE_TEST_RUN_DETAILS,
        LINK_PROVENANCE,
        LINK_DATASET,
        WRITE_METRICS,
        WRITE_FAILURES,
    )
)

# --------------------------------------------------------------------------- scheduler's jobs

#: Merge Batch jobs and link them from their test run; a missing TestRun is created as a stub
#: (only its id) so the Job is never orphaned and the results merge into it later.
WRITE_JOBS = """
UNWIND $rows AS row
MERGE (j:Job {id: row.id})
SET j += row.props
MERGE (tr:TestRun {id: row.test_run_id})
MERGE (tr)-[:RUN_BY]->(j)
"""

READ_JOBS = """
MATCH (tr:TestRun)-[:RUN_BY]->(j:Job)
WHERE $test_run_id IS NULL OR tr.id = $test_run_id
RETURN tr.id AS test_run_id, j {.*} AS job
ORDER BY coalesce(j.queued_at, ''), j.id
LIMIT $limit
"""

# --------------------------------------------------------------------------- reading

#: Shared filter of ``runs`` and ``metrics``; stubs (a TestRun with no results yet) are skipped.
_MATCH_RUNS = """
MATCH (tr:TestRun)-[:WITH_PROJECT]->(p:Project)
WHERE tr.document_version IS NOT NULL
  AND ($test_run_id IS NULL OR tr.id = $test_run_id)
  AND ($workload IS NULL OR tr.workload = $workload)
  AND ($build IS NULL OR tr.build = $build)
  AND ($since IS NULL OR tr.started_at >= $since)
  AND ($branch IS NULL OR p.branch = $branch)
  AND ($benchmark IS NULL OR EXISTS {
        MATCH (tr)-[:HAS_METRICS]->(:Metrics)-[:METRICS_FOR]->(fb:Benchmark)
        WHERE fb.simple_name = $benchmark })
"""

READ_RUNS = (
    _MATCH_RUNS
    + """
RETURN tr.id AS test_run_id, tr.job_id AS job_id, tr.attempt AS attempt, tr.tool AS tool,
       tr.workload AS workload, tr.status AS status, tr.started_at AS started_at,
       tr.finished_at AS finished_at, p.version AS neo4j_version, p.branch AS neo4j_branch,
       p.commit AS neo4j_commit, tr.build AS teamcity_build, tr.triggered_by AS triggered_by,
       COUNT { (tr)-[:HAS_METRICS]->(:Metrics) } AS benchmarks,
       COUNT { (tr)-[:HAS_FAILURE]->(:BenchmarkFailure) } AS failures
ORDER BY tr.started_at DESC, tr.id
LIMIT $limit
"""
)

READ_METRICS = (
    _MATCH_RUNS
    + """
MATCH (tr)-[:HAS_METRICS]->(m:Metrics)-[:METRICS_FOR]->(b:Benchmark)-[:HAS_PARAMS]->(bp)
WHERE $benchmark IS NULL OR b.simple_name = $benchmark
RETURN tr.id AS test_run_id, tr.started_at AS started_at, tr.workload AS workload,
       b.group AS group, b.simple_name AS benchmark, bp {.*} AS params, b.mode AS mode,
       b.params_json AS params_json, m {.*} AS metrics
ORDER BY tr.started_at DESC, tr.id, b.group, b.simple_name, b.params_json
LIMIT $limit
"""
)

#: What each of $ids ran on and with (``Provenance``); missing links give nulls.
READ_PROVENANCE = """
MATCH (tr:TestRun) WHERE tr.id IN $ids AND tr.document_version IS NOT NULL
OPTIONAL MATCH (tr)-[:WITH_PROJECT]->(p:Project)
OPTIONAL MATCH (tr)-[:WITH_JAVA]->(j:Java)
OPTIONAL MATCH (tr)-[:IN_ENVIRONMENT]->(e:Environment)-[:HAS_INSTANCE]->(i:Instance)
OPTIONAL MATCH (tr)-[:WITH_DATASET]->(d:Dataset)
RETURN tr.id AS test_run_id, tr.tool AS tool, i.instance_type AS instance_type,
       i.kind AS cpu_model, i.available_cores AS cores, i.total_memory AS memory_mib,
       j.version AS jdk, i.operating_system AS kernel, j.args AS jvm_args,
       d.sha256 AS dataset_sha256, e.image AS image, p.commit AS commit, p.branch AS branch,
       tr.build AS build
"""

# --------------------------------------------------------------------------- inspection

SHOW_CONSTRAINTS = "SHOW CONSTRAINTS YIELD name, labelsOrTypes, properties, type RETURN *"
