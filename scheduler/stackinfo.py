"""Reading what a deployed Batch stack offers: its outputs and its Batch resources."""

from __future__ import annotations

import logging
import re
from typing import Any

from worker import aws
from worker.awserrors import is_stack_missing
from worker.errors import ConfigError, NotFoundError

log = logging.getLogger(__name__)

DEFAULT_STACK = "benchmarking"


#: CloudFormation stack names: letters, digits and '-', at most 128 characters.
_ENV_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,99}$")


def stack_name(env: str | None) -> str:
    """``benchmarking-<env>``, or ``benchmarking`` without an env; ConfigError for an env that
    cannot be part of a stack name."""
    if not env:
        return DEFAULT_STACK
    if not _ENV_RE.match(env):
        raise ConfigError(
            f"env (--env): {env!r} is not an environment name: 1-100 letters, digits or '-', "
            "starting with a letter or digit"
        )
    return f"{DEFAULT_STACK}-{env}"


def read_outputs(stack: str, cfn: Any | None = None) -> dict[str, str]:
    """Output key -> value of a stack; :class:`NotFoundError` when there is no such stack."""
    cfn = cfn or aws.client("cloudformation")
    try:
        stacks = cfn.describe_stacks(StackName=stack)["Stacks"]
    except Exception as exc:
        if is_stack_missing(exc):
            raise NotFoundError(
                f"stack {stack} does not exist; deploy it (invoke deploy) or name another "
                "with --batch-stack"
            ) from None
        raise
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs") or []}


def output(outputs: dict[str, str], key: str, stack: str) -> str:
    try:
        return outputs[key]
    except KeyError:
        known = ", ".join(sorted(outputs)) or "none"
        raise NotFoundError(f"stack {stack} has no output {key!r}; its outputs: {known}") from None


def physical_ids(stack: str, resource_type: str, cfn: Any | None = None) -> list[str]:
    """Physical ids (names or ARNs) of the stack's resources of one type."""
    cfn = cfn or aws.client("cloudformation")
    ids: list[str] = []
    try:
        for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack):
            ids.extend(
                r["PhysicalResourceId"]
                for r in page["StackResourceSummaries"]
                if r["ResourceType"] == resource_type and r.get("PhysicalResourceId")
            )
    except Exception as exc:
        if is_stack_missing(exc):
            raise NotFoundError(f"stack {stack} does not exist") from None
        raise
    return ids


def storage_base(storage: str | None, stack: str) -> str:
    """The storage base URI: the one given, else the stack's ``ArtifactBucket``."""
    if storage:
        return storage
    return f"s3://{output(read_outputs(stack), 'ArtifactBucket', stack)}"
