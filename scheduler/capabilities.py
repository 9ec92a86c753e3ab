"""Choosing a job queue and job definition by infrastructure capabilities.

Rules (as the original system applied them): ``jdk`` is required; give either
``AWS:instanceType`` or both ``hardware:totalMemory`` and ``hardware:availableCores``, never
both. Exactly one compute environment must match (cores exact; memory "fits once":
candidate <= requested < 2 x candidate), then exactly one job definition for that environment
(cores and JDK exact; same memory rule). The matching functions are pure; :func:`discover`
reads the candidates from a stack's resources.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

from scheduler.batch import BatchClient
from scheduler.images import jdk_of_tag, split_reference
from scheduler.stackinfo import physical_ids
from worker import aws
from worker.errors import ConfigError

log = logging.getLogger(__name__)

INSTANCE_TYPE = "AWS:instanceType"
TOTAL_MEMORY = "hardware:totalMemory"
AVAILABLE_CORES = "hardware:availableCores"
JDK = "jdk"
_KNOWN = (INSTANCE_TYPE, TOTAL_MEMORY, AVAILABLE_CORES, JDK)


@dataclasses.dataclass(frozen=True)
class Capabilities:
    jdk: str
    instance_type: str | None = None
    total_memory: int | None = None
    available_cores: int | None = None


@dataclasses.dataclass(frozen=True)
class Environment:
    """A job queue and the one instance type of its compute environment."""

    queue: str
    compute_environment: str
    instance_type: str
    cores: int
    memory: int


@dataclasses.dataclass(frozen=True)
class Definition:
    name: str
    cores: int
    memory: int
    jdk: str | None


@dataclasses.dataclass(frozen=True)
class Choice:
    queue: str
    job_definition: str


def parse_capabilities(text: str) -> Capabilities:
    """``jdk=openjdk-17,AWS:instanceType=m5d.xlarge`` or the hardware form; all problems at once."""
    values: dict[str, str] = {}
    problems = []
    for item in (i.strip() for i in text.split(",") if i.strip()):
        key, sep, value = item.partition("=")
        if not sep or not value.strip():
            problems.append(f"capability {item!r} is not key=value")
        elif key.strip() not in _KNOWN:
            problems.append(f"unknown capability {key.strip()!r}; known: {', '.join(_KNOWN)}")
        else:
            values[key.strip()] = value.strip()
    if JDK not in values:
        problems.append(f"capability {JDK} is required, e.g. jdk=openjdk-17")
    hardware = [k for k in (TOTAL_MEMORY, AVAILABLE_CORES) if k in values]
    if INSTANCE_TYPE in values and hardware:
        problems.append(f"give {INSTANCE_TYPE} or hardware:* capabilities, not both")
    elif INSTANCE_TYPE not in values and len(hardware) != 2:
        problems.append(f"give {INSTANCE_TYPE}, or both {TOTAL_MEMORY} and {AVAILABLE_CORES}")
    numbers: dict[str, int] = {}
    for key in hardware:
        try:
            numbers[key] = int(values[key])
        except ValueError:
            problems.append(f"capability {key}={values[key]!r} is not a whole number")
    if problems:
        raise ConfigError(problems)
    return Capabilities(
        jdk=values[JDK],
        instance_type=values.get(INSTANCE_TYPE),
        total_memory=numbers.get(TOTAL_MEMORY),
        available_cores=numbers.get(AVAILABLE_CORES),
    )


def fits_once(candidate: int, requested: int) -> bool:
    """candidate <= requested < 2 x candidate."""
    return candidate <= requested < 2 * candidate


def match_environment(caps: Capabilities, environments: Sequence[Environment]) -> Environment:
    if caps.instance_type is not None:
        found = [e for e in environments if e.instance_type == caps.instance_type]
        wanted = f"{INSTANCE_TYPE}={caps.instance_type}"
    else:
        assert caps.total_memory is not None and caps.available_cores is not None
        found = [
            e
            for e in environments
            if e.cores == caps.available_cores and fits_once(e.memory, caps.total_memory)
        ]
        wanted = f"{AVAILABLE_CORES}={caps.available_cores}, {TOTAL_MEMORY}={caps.total_memory}"
    offered = (
        ", ".join(
            f"{e.queue} ({e.instance_type}: {e.cores} cores, {e.memory} MiB)" for e in environments
        )
        or "none"
    )
    if not found:
        raise ConfigError(f"no compute environment matches {wanted}; the stack offers: {offered}")
    if len(found) > 1:
        names = ", ".join(e.queue for e in found)
        raise ConfigError(f"several compute environments match {wanted}: {names}; be more specific")
    return found[0]


def match_definition(
    caps: Capabilities, environment: Environment, definitions: Sequence[Definition]
) -> Definition:
    memory = caps.total_memory if caps.total_memory is not None else environment.memory
    found = [
        d
        for d in definitions
        if d.cores == environment.cores and d.jdk == caps.jdk and fits_once(d.memory, memory)
    ]
    wanted = f"{environment.cores} cores, {memory} MiB, {JDK}={caps.jdk}"
    if not found:
        offered = (
            ", ".join(f"{d.name} ({d.cores} cores, {d.memory} MiB, {d.jdk})" for d in definitions)
            or "none"
        )
        raise ConfigError(f"no job definition matches {wanted}; the stack offers: {offered}")
    if len(found) > 1:
        raise ConfigError(
            f"several job definitions match {wanted}: {', '.join(d.name for d in found)}"
        )
    return found[0]


def choose(
    caps: Capabilities, environments: Sequence[Environment], definitions: Sequence[Definition]
) -> Choice:
    environment = match_environment(caps, environments)
    definition = match_definition(caps, environment, definitions)
    return Choice(environment.queue, definition.name)


# --------------------------------------------------------------------------- discovery


def _resources(props: dict[str, Any]) -> tuple[int, int]:
    reqs = {r["type"]: int(r["value"]) for r in props.get("resourceRequirements") or []}
    return reqs.get("VCPU", int(props.get("vcpus") or 0)), reqs.get(
        "MEMORY", int(props.get("memory") or 0)
    )


def definition_of(data: dict[str, Any]) -> Definition:
    props = data.get("containerProperties") or {}
    cores, memory = _resources(props)
    _, tag = split_reference(str(props.get("image", "")))
    return Definition(str(data["jobDefinitionName"]), cores, memory, jdk_of_tag(tag))


def discover(
    stack: str, batch: BatchClient, ec2: Any | None = None, cfn: Any | None = None
) -> tuple[list[Environment], list[Definition]]:
    """The stack's queues (with their instance type's size) and its active job definitions."""
    ec2 = ec2 or aws.client("ec2")
    queues = batch.describe_job_queues(physical_ids(stack, "AWS::Batch::JobQueue", cfn))
    env_names = [q["computeEnvironmentOrder"][0]["computeEnvironment"] for q in queues]
    envs = {e["computeEnvironmentArn"]: e for e in batch.describe_compute_environments(env_names)}
    envs.update({e["computeEnvironmentName"]: e for e in list(envs.values())})
    types = sorted({t for e in envs.values() for t in e["computeResources"]["instanceTypes"]})
    sizes = {
        t["InstanceType"]: (t["VCpuInfo"]["DefaultVCpus"], t["MemoryInfo"]["SizeInMiB"])
        for t in (
            ec2.describe_instance_types(InstanceTypes=types)["InstanceTypes"] if types else []
        )
    }
    environments = []
    for queue in queues:
        env = envs[queue["computeEnvironmentOrder"][0]["computeEnvironment"]]
        itype = env["computeResources"]["instanceTypes"][0]
        cores, memory = sizes[itype]
        environments.append(
            Environment(queue["jobQueueName"], env["computeEnvironmentName"], itype, cores, memory)
        )
    latest: dict[str, dict[str, Any]] = {}
    arns = physical_ids(stack, "AWS::Batch::JobDefinition", cfn)
    for data in batch.describe_job_definitions(arns):
        name = data["jobDefinitionName"]
        if name not in latest or data["revision"] > latest[name]["revision"]:
            latest[name] = data
    return environments, [definition_of(d) for d in latest.values()]
