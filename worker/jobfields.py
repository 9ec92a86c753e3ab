"""The job's fields as the command line offers them: names and help, in order.

Apart from :mod:`worker.job` (the model: enums, dataclasses, validation) because the task
modules need only these words to declare their options, and listing the tasks (``invoke
--list``) should not build the job model (issue 13: ``bench/startup.py``).
"""

from __future__ import annotations

_PROVENANCE = "(provenance, recorded with every result)"

#: Every job field and its help, in the order of :data:`worker.job.FIELDS`.
FIELD_HELP: dict[str, str] = {
    "tool": "which tool runs the job: jmh, macro or command",
    "workload": "workload name",
    "queries": "comma list of queries/benchmarks to run; empty = all",
    "db_edition": "COMMUNITY or ENTERPRISE",
    "jvm": "path of the java binary that runs the benchmark",
    "profilers": "comma list of profilers, each NAME or NAME(k=v,...)",
    "warmup_count": "warmup iterations",
    "measurement_count": "measurement iterations",
    "min_measurement_duration": "minimum measurement duration, seconds",
    "max_measurement_duration": "maximum measurement duration, seconds",
    "forks": "separate JVM processes; 0 = in-process",
    "time_unit": "unit of the results",
    "runtime": "Cypher runtime",
    "planner": "Cypher planner",
    "execution_mode": "EXECUTE, PLAN or PROFILE",
    "error_policy": "what a failing benchmark does",
    "jvm_args": "JVM arguments of the benchmarked JVM",
    "neo4j_deployment": "'embedded' or 'server:<path or URI of the product archive>'",
    "neo4j_commit": "commit benchmarked " + _PROVENANCE,
    "neo4j_version": "version benchmarked, e.g. 5.26.0",
    "neo4j_branch": "branch benchmarked",
    "neo4j_branch_owner": "owner of the benchmarked branch",
    "tool_commit": "commit of the benchmark tool",
    "tool_branch": "branch of the benchmark tool",
    "tool_branch_owner": "owner of the tool branch",
    "teamcity_build": "CI build id " + _PROVENANCE,
    "parent_teamcity_build": "parent CI build id",
    "triggered_by": "who or what triggered the run",
    "db_name": "dataset (database) name, e.g. accesscontrol",
    "dataset": "dataset archive (.tar.gz or .tar.zst): path or URI",
    "artifacts": "logical artifact name -> path or URI",
    "commands": "command tool: benchmark name -> command line",
    "jmh_args": "jmh tool: extra JMH options, e.g. '-r 1s -w 1s'",
    "jmh_profilers": "jmh tool: comma list of JMH profilers (-prof)",
}
#: Fields given as ``name -> value`` pairs (``--artifact``, job files), not as one option.
MAPPING_FIELDS = frozenset({"artifacts", "commands"})
#: The fields a command line takes as options of their own (``--warmup-count``).
OPTION_FIELDS: tuple[str, ...] = tuple(name for name in FIELD_HELP if name not in MAPPING_FIELDS)
