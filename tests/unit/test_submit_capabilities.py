"""Submit requests and capability matching: pure functions, no AWS."""

from __future__ import annotations

import pytest

from scheduler import capabilities as caps
from scheduler.plan import PlannedJob
from scheduler.submit import (
    SubmitSettings,
    Target,
    build_submit_request,
    resolve_target,
    sanitise_job_name,
)
from worker.errors import ConfigError

ENVS = [
    caps.Environment("q-large", "ce-large", "m5d.large", 2, 8192),
    caps.Environment("q-xlarge", "ce-xlarge", "m5d.xlarge", 4, 16384),
    caps.Environment("q-r5d", "ce-r5d", "r5d.2xlarge", 8, 65536),
]
DEFS = [
    caps.Definition("def-large-17", 2, 7168, "openjdk-17"),
    caps.Definition("def-xlarge-17", 4, 15360, "openjdk-17"),
    caps.Definition("def-xlarge-21", 4, 15360, "openjdk-21"),
]


def test_submit_request_carries_only_the_parameters_uri() -> None:
    job = PlannedJob("t1", "ci 42/w*x", "w", "s3://b/runs/r/t1/job-parameters.json", "s3://b/r")
    req = build_submit_request(
        job, "run-1", SubmitSettings(Target("q", "d"), env="me", build="42", attempts=3)
    )
    assert req["parameters"] == {"jobParameters": "s3://b/runs/r/t1/job-parameters.json"}
    assert "containerOverrides" not in req
    assert req["jobName"] == "ci-42-w-x"
    assert req["timeout"]["attemptDurationSeconds"] >= 60
    assert req["tags"]["benchmark-run-id"] == "run-1" and req["tags"]["env"] == "me"
    rules = req["retryStrategy"]["evaluateOnExit"]
    retry = [r for r in rules if r["action"] == "RETRY"]
    assert retry == [
        {"onExitCode": "75", "action": "RETRY"},
        {"onStatusReason": "Host EC2*", "action": "RETRY"},
    ]
    assert rules[2:] and all(r["action"] == "EXIT" for r in rules[2:])


def test_job_names_are_sanitised_and_bounded() -> None:
    assert len(sanitise_job_name("x" * 300)) == 128
    assert sanitise_job_name("--a b/c--") == "a-b-c"


def test_bad_timeout_is_bad_input() -> None:
    with pytest.raises(ConfigError, match="below Batch's minimum"):
        SubmitSettings(Target("q", "d"), timeout_seconds=5)


def test_output_keys_are_read_from_the_stack_outputs() -> None:
    outputs = {"JobQueueM5dXlarge": "real-q", "JobDefinitionM5dXlargeOpenjdk17": "arn:def:1"}
    target = resolve_target(
        stack="benchmarking-me",
        job_queue="JobQueueM5dXlarge",
        job_definition="JobDefinitionM5dXlargeOpenjdk17",
        outputs=outputs,
    )
    assert target == Target("real-q", "arn:def:1")
    with pytest.raises(Exception, match="has no output 'JobQueueNope'"):
        resolve_target(stack="s", job_queue="JobQueueNope", job_definition="x", outputs=outputs)
    with pytest.raises(ConfigError, match="not both"):
        resolve_target(stack="s", job_queue="q", job_definition="d", capability_text="jdk=x")


@pytest.mark.parametrize(
    ("text", "queue", "definition"),
    [
        ("AWS:instanceType=m5d.xlarge,jdk=openjdk-17", "q-xlarge", "def-xlarge-17"),
        (
            "hardware:totalMemory=16384,hardware:availableCores=4,jdk=openjdk-21",
            "q-xlarge",
            "def-xlarge-21",
        ),
        (
            "hardware:totalMemory=10000,hardware:availableCores=2,jdk=openjdk-17",
            "q-large",
            "def-large-17",
        ),
    ],
)
def test_capabilities_choose_one_queue_and_definition(
    text: str, queue: str, definition: str
) -> None:
    choice = caps.choose(caps.parse_capabilities(text), ENVS, DEFS)
    assert choice == caps.Choice(queue, definition)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("AWS:instanceType=m5d.large", "jdk is required"),
        ("AWS:instanceType=m5d.large,hardware:availableCores=2,jdk=openjdk-17", "not both"),
        ("hardware:totalMemory=16384,jdk=openjdk-17", "both hardware:totalMemory"),
        ("hardware:totalMemory=lots,hardware:availableCores=2,jdk=x", "not a whole number"),
        ("colour=blue,jdk=x,AWS:instanceType=a", "unknown capability"),
    ],
)
def test_capability_input_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        caps.parse_capabilities(text)


def test_no_match_and_several_matches_are_errors() -> None:
    with pytest.raises(ConfigError, match="no compute environment matches"):
        caps.choose(caps.parse_capabilities("AWS:instanceType=c5.large,jdk=openjdk-17"), ENVS, DEFS)
    # memory fits once: 32768 is twice 16384 -> does not fit the xlarge
    with pytest.raises(ConfigError, match="no compute environment matches"):
        caps.choose(
            caps.parse_capabilities(
                "hardware:totalMemory=32768,hardware:availableCores=4,jdk=openjdk-17"
            ),
            ENVS,
            DEFS,
        )
    twice = [*ENVS, caps.Environment("q-other", "ce-o", "m6i.xlarge", 4, 16384)]
    with pytest.raises(ConfigError, match="several compute environments"):
        caps.choose(
            caps.parse_capabilities(
                "hardware:totalMemory=16384,hardware:availableCores=4,jdk=openjdk-17"
            ),
            twice,
            DEFS,
        )
    with pytest.raises(ConfigError, match="no job definition matches"):
        caps.choose(
            caps.parse_capabilities("AWS:instanceType=m5d.xlarge,jdk=openjdk-11"), ENVS, DEFS
        )
    dup = [*DEFS, caps.Definition("def-xlarge-17-b", 4, 15000, "openjdk-17")]
    with pytest.raises(ConfigError, match="several job definitions"):
        caps.choose(
            caps.parse_capabilities("AWS:instanceType=m5d.xlarge,jdk=openjdk-17"), ENVS, dup
        )
