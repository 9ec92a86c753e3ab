"""The job model: parsing, defaults, overrides and one clear message per bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.jobs import command_job, macro_job
from worker.errors import ConfigError
from worker.job import (
    DbEdition,
    ErrorPolicy,
    ProfilerName,
    TimeUnit,
    Tool,
    job_from_dict,
    parse_job,
    parse_profiler,
)
from worker.jobfile import load_job


def problems_of(*layers: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_job(*layers)
    return err.value.problems


def test_macro_job_parses_with_every_original_parameter() -> None:
    job = parse_job(macro_job(queries="Q1,Q2", profilers="GC,ASYNC(interval=1ms,event=cpu)"))
    assert job.tool is Tool.MACRO
    assert job.queries == ("Q1", "Q2")
    assert job.db_edition is DbEdition.ENTERPRISE
    assert job.time_unit is TimeUnit.MICROSECONDS
    assert job.error_policy is ErrorPolicy.REPORT_THEN_FAIL
    assert job.profilers[1].name is ProfilerName.ASYNC
    assert dict(job.profilers[1].params) == {"interval": "1ms", "event": "cpu"}
    assert (job.min_measurement_duration, job.max_measurement_duration) == (30, 600)


def test_defaults_of_the_original_apply() -> None:
    job = parse_job(command_job())
    assert job.db_edition is DbEdition.ENTERPRISE
    assert job.forks == 1
    assert job.error_policy is ErrorPolicy.REPORT_THEN_FAIL
    assert job.neo4j_deployment == "embedded"
    assert job.jvm == "java"


def test_options_override_the_file_and_merge_tables() -> None:
    job = parse_job(
        macro_job(),
        {
            "--warmup-count": "1000",
            "neo4j-deployment": "server:/tmp/neo4j.tgz",
            "artifacts": {"extra": "x.jar"},
        },
    )
    assert job.warmup_count == 1000
    assert job.neo4j_deployment == "server:/tmp/neo4j.tgz"
    assert set(job.artifacts) == {"macro", "neo4j-config", "extra"}


def test_round_trip_through_dict() -> None:
    job = parse_job(macro_job(profilers="GC,ASYNC(interval=1ms)"))
    assert job_from_dict(job.to_dict()) == job


def test_enum_values_are_case_insensitive() -> None:
    assert parse_job(command_job(time_unit="seconds")).time_unit is TimeUnit.SECONDS


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"tool": "gatling"}, "tool (--tool): 'gatling' is not one of: jmh, macro, command"),
        (
            {"db_edition": "PRO"},
            "db_edition (--db-edition): 'PRO' is not one of: COMMUNITY, ENTERPRISE",
        ),
        ({"warmup_count": "many"}, "warmup_count (--warmup-count): 'many' is not a whole number"),
        ({"warmup_count": -1}, "warmup_count (--warmup-count): -1 is below the minimum of 0"),
        (
            {"measurement_count": 0},
            "measurement_count (--measurement-count): 0 is below the minimum of 1",
        ),
        ({"forks": True}, "forks (--forks): True is not a whole number"),
        (
            {"time_unit": "MINUTES"},
            "time_unit (--time-unit): 'MINUTES' is not one of: "
            "NANOSECONDS, MICROSECONDS, MILLISECONDS, SECONDS",
        ),
        (
            {"runtime": "FAST"},
            "runtime (--runtime): 'FAST' is not one of: DEFAULT, INTERPRETED, "
            "SLOTTED, COMPILED, PIPELINED, PARALLEL",
        ),
        ({"planner": "IDP"}, "planner (--planner): 'IDP' is not one of: DEFAULT, RULE, COST"),
        (
            {"execution_mode": "RUN"},
            "execution_mode (--execution-mode): 'RUN' is not one of: EXECUTE, PLAN, PROFILE",
        ),
        (
            {"error_policy": "RETRY"},
            "error_policy (--error-policy): 'RETRY' is not one of: IGNORE, REPORT_THEN_FAIL, FAIL",
        ),
        (
            {"profilers": "GC,YOURKIT"},
            "profilers (--profilers): unknown profiler 'YOURKIT'; allowed: ASYNC, GC, JFR",
        ),
        ({"profilers": "GC,GC"}, "profilers (--profilers): a profiler is listed twice"),
        (
            {"profilers": "ASYNC(interval)"},
            "profilers (--profilers): profiler parameter 'interval' of ASYNC is not key=value",
        ),
        (
            {"neo4j_deployment": "cluster"},
            "neo4j_deployment (--neo4j-deployment): 'cluster' is "
            "not 'embedded' or 'server:<path or URI of the product archive>'",
        ),
        ({"workload": "bad name!"}, "workload (--workload): 'bad name!' must be 1-128 characters"),
        (
            {"min_measurement_duration": 700},
            "min_measurement_duration (700) is greater than max_measurement_duration (600)",
        ),
        ({"colour": "blue"}, "colour: unknown field; known fields: tool, workload"),
        (
            {"results_store_password": "hunter2"},
            "results_store_password: secrets never go into a job",
        ),
        (
            {"artifacts": {"neo4j-config": "neo4j.conf"}},
            "artifacts.macro: required by the macro tool",
        ),
        ({"artifacts": "macro.jar"}, "artifacts (--artifacts): must be a table of name = value"),
        ({"commands": {"x": "true"}}, "commands: only the command tool takes commands"),
        ({"queries": {"a": 1}}, "queries"),
    ],
)
def test_bad_input_names_the_field_and_the_allowed_values(
    overrides: dict[str, Any], expected: str
) -> None:
    problems = problems_of(macro_job(**overrides))
    assert any(expected in p for p in problems), problems


def test_missing_required_fields_are_each_reported() -> None:
    problems = problems_of({"tool": "macro"})
    for name in ("workload", "warmup_count", "neo4j_commit", "db_name", "triggered_by"):
        assert any(p.startswith(f"{name} (--{name.replace('_', '-')}): required") for p in problems)


def test_every_problem_is_reported_at_once() -> None:
    problems = problems_of(macro_job(forks="x", runtime="FAST", planner="IDP"))
    assert len(problems) == 3


def test_command_tool_needs_commands() -> None:
    assert any(
        "commands: the command tool needs" in p for p in problems_of(command_job(commands={}))
    )


def test_jmh_tool_needs_its_benchmarks_jar() -> None:
    problems = problems_of(command_job(tool="jmh", commands={}))
    assert "artifacts.benchmarks: required by the jmh tool" in problems


def test_secrets_are_refused_even_nested_or_dashed() -> None:
    problems = problems_of(command_job(**{"results-store-pass": "x"}))
    assert any("results-store-pass: secrets never go into a job" in p for p in problems)


def test_profiler_spec_round_trips() -> None:
    spec = parse_profiler("ASYNC(event=alloc,interval=2ms)")
    assert str(spec) == "ASYNC(event=alloc,interval=2ms)"
    assert parse_profiler("gc").name is ProfilerName.GC


def test_job_file_in_toml_and_yaml(tmp_path: Path) -> None:
    toml = tmp_path / "job.toml"
    toml.write_text(
        'tool = "command"\nworkload = "w"\nwarmup_count = 1\nmeasurement_count = 2\n'
        + "".join(
            f'{k} = "{v}"\n'
            for k, v in command_job().items()
            if k.startswith(("neo4j", "tool_", "teamcity", "parent", "trig"))
        )
        + '[commands]\nx = "true"\n'
    )
    yaml_file = tmp_path / "job.yaml"
    yaml_file.write_text(
        "tool: command\nworkload: w\nwarmup_count: 1\nmeasurement_count: 2\n"
        + "".join(
            f"{k}: '{v}'\n"
            for k, v in command_job().items()
            if k.startswith(("neo4j", "tool_", "teamcity", "parent", "trig"))
        )
        + "commands:\n  x: 'true'\n"
    )
    assert load_job(toml) == load_job(yaml_file)
    assert load_job(toml, {"warmup_count": "7"}).warmup_count == 7


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("job.toml", "tool = ", "not valid TOML"),
        ("job.yaml", "tool: [", "not valid YAML"),
        ("job.yaml", "- a\n- b\n", "must be a table"),
        ("job.json", "{}", "use a .toml, .yaml or .yml file"),
    ],
)
def test_malformed_job_files(tmp_path: Path, name: str, content: str, expected: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ConfigError, match=expected):
        load_job(path)


def test_missing_job_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_job(tmp_path / "nope.toml")
