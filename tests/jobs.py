"""Job descriptions shared by the tests."""

from __future__ import annotations

from typing import Any

PROVENANCE: dict[str, Any] = {
    "neo4j_commit": "abc123",
    "neo4j_version": "5.26.0",
    "neo4j_branch": "5.26",
    "neo4j_branch_owner": "neo4j",
    "tool_commit": "def456",
    "tool_branch": "5.26",
    "tool_branch_owner": "neo4j",
    "teamcity_build": "5531608",
    "parent_teamcity_build": "5519409",
    "triggered_by": "new_infra",
}


def command_job(**overrides: Any) -> dict[str, Any]:
    job: dict[str, Any] = {
        "tool": "command",
        "workload": "shell",
        "warmup_count": 1,
        "measurement_count": 3,
        "forks": 1,
        "time_unit": "MILLISECONDS",
        "commands": {"true": "true", "sleep": "sleep 0.01"},
        **PROVENANCE,
    }
    job.update(overrides)
    return job


def macro_job(**overrides: Any) -> dict[str, Any]:
    job: dict[str, Any] = {
        "tool": "macro",
        "workload": "accesscontrol",
        "db_name": "accesscontrol",
        "db_edition": "ENTERPRISE",
        "jvm": "java",
        "profilers": "GC,JFR",
        "warmup_count": 1,
        "measurement_count": 3,
        "forks": 1,
        "time_unit": "MICROSECONDS",
        "execution_mode": "EXECUTE",
        "error_policy": "REPORT_THEN_FAIL",
        "jvm_args": "-Xmx1g",
        "neo4j_deployment": "embedded",
        "artifacts": {"macro": "macro.jar", "neo4j-config": "neo4j.conf"},
        "dataset": "accesscontrol.tgz",
        **PROVENANCE,
    }
    job.update(overrides)
    return job
