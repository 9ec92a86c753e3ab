"""Deploy and destroy the benchmarking stack ``benchmarking-<env>``, and read its outputs.

Deploys go through a change set: its summary is reported before anything changes, ``dry_run``
stops there, and a change set with nothing to do is success ("no changes"). Destroying a stack
that does not exist is success too. Both are generators of events (:data:`StackEvent`) so the
caller decides how to show progress; waiting uses an injected ``sleep`` and ``clock``.

The results-store password travels only as a NoEcho CloudFormation parameter: it is never
logged, never part of an event, and on updates it is kept (``UsePreviousValue``) unless a new
one is given. The template itself is described in :mod:`scheduler.stacktemplate`.

Private environments: every developer can have a whole stack of their own,
``invoke deploy --env <name>`` (default VPC and subnets unless given, the AMI of the last
``invoke build-ami``), and removes it with ``invoke destroy --env <name> --empty-bucket``. Nothing
is shared with other environments: bucket, queues, roles, secret and repository all belong to
the stack, so a private environment cannot disturb production.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from scheduler.stackinfo import stack_name
from scheduler.stacktemplate import (
    BATCH_SERVICE_LINKED_ROLE,
    OWNER_TAG,
    TEMPLATE_PATH,
)
from worker import aws
from worker.awserrors import (
    error_code,
    error_message,
    is_no_changes,
    is_not_found,
    is_stack_missing,
)
from worker.errors import BenchInfraError, ConfigError, NotFoundError, TransientError

log = logging.getLogger(__name__)

CAPABILITIES = ["CAPABILITY_IAM"]
#: CloudFormation's limit for ``TemplateBody``; a larger template goes through S3.
MAX_TEMPLATE_BODY_BYTES = 51_200
_SUCCESS = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"}
_BROKEN = {"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED", "UPDATE_ROLLBACK_FAILED"}


@dataclasses.dataclass(frozen=True)
class Change:
    action: str
    logical_id: str
    resource_type: str
    replacement: str | None = None


@dataclasses.dataclass(frozen=True)
class ChangeSetReady:
    stack: str
    change_set: str
    kind: str  # CREATE or UPDATE
    changes: tuple[Change, ...]


@dataclasses.dataclass(frozen=True)
class ResourceEvent:
    timestamp: datetime
    logical_id: str
    resource_type: str
    status: str
    reason: str | None = None


@dataclasses.dataclass(frozen=True)
class NoChanges:
    stack: str


@dataclasses.dataclass(frozen=True)
class DryRunDone:
    stack: str


@dataclasses.dataclass(frozen=True)
class StackAbsent:
    stack: str


@dataclasses.dataclass(frozen=True)
class StackDone:
    stack: str
    status: str
    outputs: dict[str, str]


StackEvent = ChangeSetReady | ResourceEvent | NoChanges | DryRunDone | StackAbsent | StackDone


@dataclasses.dataclass(frozen=True)
class DeployRequest:
    """What to deploy. ``None`` means: keep the deployed value (updates) or use the default."""

    env: str
    ami_id: str | None = None
    vpc_id: str | None = None
    subnet_ids: tuple[str, ...] = ()
    results_db_uri: str | None = None
    results_db_user: str | None = None
    results_db_password: str | None = dataclasses.field(default=None, repr=False)
    image_tag_suffix: str | None = None
    template_path: Path = TEMPLATE_PATH

    def parameters(self) -> dict[str, str | None]:
        return {
            "Env": self.env,
            "AmiId": self.ami_id,
            "VpcId": self.vpc_id,
            "SubnetIds": ",".join(self.subnet_ids) or None,
            "ResultsDbUri": self.results_db_uri,
            "ResultsDbUser": self.results_db_user,
            "ResultsDbPassword": self.results_db_password,
            "ImageTagSuffix": self.image_tag_suffix,
        }


@dataclasses.dataclass
class Waiter:
    """How to wait: injected so tests never sleep."""

    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    poll_seconds: float = 5.0
    timeout_seconds: float = 3600.0


def _cf(cf: Any | None) -> Any:
    return cf if cf is not None else aws.client("cloudformation")


def _error(action: str, name: str, err: ClientError) -> BenchInfraError:
    return BenchInfraError(f"{action} stack {name} failed: {error_message(err)}")


def describe_stack(name: str, *, cf: Any | None = None) -> dict[str, Any] | None:
    """The stack's description, or None when there is no such stack."""
    try:
        stacks = _cf(cf).describe_stacks(StackName=name)["Stacks"]
    except ClientError as err:
        if is_stack_missing(err):
            return None
        raise _error("describing", name, err) from err
    return stacks[0] if stacks else None


def stack_outputs(env: str, *, cf: Any | None = None) -> dict[str, str]:
    """Outputs of ``benchmarking-<env>`` by key; NotFoundError when it is not deployed."""
    name = stack_name(env)
    stack = describe_stack(name, cf=cf)
    if stack is None or stack["StackStatus"] == "REVIEW_IN_PROGRESS":
        raise NotFoundError(f"stack {name} is not deployed: run `invoke deploy --env {env}`")
    outputs = _outputs(stack)
    if not outputs:
        raise NotFoundError(
            f"stack {name} ({stack['StackStatus']}) has no outputs: its template declares the "
            f"queues, job definitions and bucket as outputs; redeploy with `invoke deploy --env "
            f"{env}` (in the sandbox, deploy computes them)"
        )
    return outputs


def _outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}


def build_parameters(
    request: DeployRequest, previous: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """CloudFormation parameters; unset ones keep their deployed value on updates."""
    deployed = {p["ParameterKey"] for p in (previous or {}).get("Parameters", [])}
    result: list[dict[str, Any]] = []
    for key, value in request.parameters().items():
        if value is not None:
            result.append({"ParameterKey": key, "ParameterValue": value})
        elif key in deployed:
            result.append({"ParameterKey": key, "UsePreviousValue": True})
    return result


def _check_create(request: DeployRequest) -> None:
    required = {
        "--ami-id (or an AMI manifest from invoke build-ami)": request.ami_id,
        "--vpc-id": request.vpc_id,
        "--subnet-ids": request.subnet_ids or None,
        "--results-db-uri": request.results_db_uri,
        "--results-db-password (or BENCH_RESULTS_DB_PASSWORD)": request.results_db_password,
    }
    missing = [name for name, value in required.items() if not value]
    if missing:
        raise ConfigError(
            [f"creating stack {stack_name(request.env)} needs {name}" for name in missing]
        )


def _change_set_kind(name: str, stack: dict[str, Any] | None) -> str:
    status = None if stack is None else stack["StackStatus"]
    if status is None or status == "REVIEW_IN_PROGRESS":
        return "CREATE"
    if status in _BROKEN:
        env = name.removeprefix("benchmarking-")
        raise ConfigError(
            f"stack {name} is {status}: remove it with `invoke destroy --env {env}`, then deploy"
        )
    if status.endswith("_IN_PROGRESS"):
        raise ConfigError(f"stack {name} is busy ({status}): wait for it to finish and retry")
    return "UPDATE"


def iter_deploy(
    request: DeployRequest,
    *,
    dry_run: bool = False,
    cf: Any | None = None,
    iam: Any | None = None,
    s3: Any | None = None,
    waiter: Waiter | None = None,
) -> Iterator[StackEvent]:
    """Create or update the stack through a change set, yielding what happens."""
    cf, waiter = _cf(cf), waiter or Waiter()
    name = stack_name(request.env)
    stack = describe_stack(name, cf=cf)
    kind = _change_set_kind(name, stack)
    if kind == "CREATE":
        _check_create(request)
    change_set = f"deploy-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    try:
        body = request.template_path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read stack template {request.template_path}: {err}") from err
    if not dry_run:
        ensure_batch_service_linked_role(iam=iam)
    try:
        cf.create_change_set(
            **build_change_set_request(
                request, name, change_set, kind, template_source(body, name, s3=s3), stack
            )
        )
    except ClientError as err:
        raise _error("creating a change set for", name, err) from err
    log.info("created change set %s of stack %s (%s)", change_set, name, kind)
    described = _wait_for_change_set(cf, name, change_set, waiter)
    if described["Status"] == "FAILED":
        reason = described.get("StatusReason") or ""
        _discard(cf, name, change_set, kind)
        if is_no_changes(reason):
            yield NoChanges(name)
            yield _done(cf, name)
            return
        raise BenchInfraError(f"change set {change_set} of stack {name} failed: {reason}")
    yield ChangeSetReady(name, change_set, kind, _changes(cf, name, change_set, described))
    if dry_run:
        _discard(cf, name, change_set, kind)
        yield DryRunDone(name)
        return
    seen = _event_ids(cf, name)
    try:
        cf.execute_change_set(StackName=name, ChangeSetName=change_set)
    except ClientError as err:
        raise _error("executing a change set of", name, err) from err
    yield from _follow(cf, name, seen, waiter, done=_SUCCESS)
    yield _done(cf, name)


def build_change_set_request(
    request: DeployRequest,
    name: str,
    change_set: str,
    kind: str,
    source: dict[str, str],
    previous: dict[str, Any] | None,
) -> dict[str, Any]:
    """The CreateChangeSet request (pure; ``source`` is TemplateBody or TemplateURL)."""
    return {
        "StackName": name,
        "ChangeSetName": change_set,
        "ChangeSetType": kind,
        **source,
        "Parameters": build_parameters(request, previous),
        "Capabilities": CAPABILITIES,
        "Tags": [{"Key": "owner", "Value": OWNER_TAG}, {"Key": "env", "Value": request.env}],
    }


def template_source(body: str, name: str, *, s3: Any | None = None) -> dict[str, str]:
    """``TemplateBody`` when the template fits CloudFormation's 51,200 bytes, else the
    ``TemplateURL`` of a copy uploaded to the account's template bucket."""
    if len(body.encode("utf-8")) <= MAX_TEMPLATE_BODY_BYTES:
        return {"TemplateBody": body}
    return {"TemplateURL": upload_template(body, name, s3=s3)}


def template_bucket_name(account: str, region: str) -> str:
    """One bucket per account and region holds the templates of every env's stack: the stack's
    own bucket does not exist before the stack does."""
    return f"benchmarking-templates-{account}-{region}"


def upload_template(body: str, name: str, *, s3: Any | None = None) -> str:
    """Put the template under its content hash; returns its virtual-hosted-style URL."""
    s3 = s3 if s3 is not None else aws.client("s3")
    region = str(s3.meta.region_name)
    account = aws.client("sts", region_name=region).get_caller_identity()["Account"]
    bucket = template_bucket_name(str(account), region)
    ensure_template_bucket(bucket, region, s3=s3)
    key = f"templates/{name}/{hashlib.sha256(body.encode('utf-8')).hexdigest()}.yaml"
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"))
    except ClientError as err:
        raise BenchInfraError(
            f"uploading the template of {name} to {bucket} failed: {err}"
        ) from err
    log.info("template of %s is %d bytes: uploaded to s3://%s/%s", name, len(body), bucket, key)
    return f"https://{bucket}.s3.{region}.amazonaws.com/{key}"


def ensure_template_bucket(bucket: str, region: str, *, s3: Any) -> None:
    """Create the template bucket (private, tagged) unless it exists."""
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except ClientError as err:
        if not is_not_found(err):
            raise BenchInfraError(f"template bucket {bucket}: {err}") from err
    location = {} if region == "us-east-1" else {"LocationConstraint": region}
    try:
        s3.create_bucket(
            Bucket=bucket, **({"CreateBucketConfiguration": location} if location else {})
        )
        s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        s3.put_bucket_tagging(
            Bucket=bucket, Tagging={"TagSet": [{"Key": "owner", "Value": OWNER_TAG}]}
        )
    except ClientError as err:
        if error_code(err) != "BucketAlreadyOwnedByYou":
            raise BenchInfraError(f"creating template bucket {bucket} failed: {err}") from err


def ensure_batch_service_linked_role(*, iam: Any | None = None) -> None:
    """AWS Batch's service-linked role, which the compute environments name, must exist.

    Batch creates it with the first compute environment made in the console; an account that
    never had one gets it here (needs ``iam:CreateServiceLinkedRole``).
    """
    iam = iam if iam is not None else aws.client("iam")
    try:
        iam.get_role(RoleName=BATCH_SERVICE_LINKED_ROLE)
        return
    except ClientError as err:
        if error_code(err) != "NoSuchEntity":
            raise BenchInfraError(f"reading role {BATCH_SERVICE_LINKED_ROLE}: {err}") from err
    try:
        iam.create_service_linked_role(AWSServiceName="batch.amazonaws.com")
    except ClientError as err:
        raise BenchInfraError(
            f"creating the AWS Batch service-linked role failed ({error_code(err)}): ask an "
            "administrator to run `aws iam create-service-linked-role --aws-service-name "
            "batch.amazonaws.com` once for this account"
        ) from err
    log.info("created the service-linked role %s", BATCH_SERVICE_LINKED_ROLE)


def _wait_for_change_set(cf: Any, name: str, change_set: str, waiter: Waiter) -> dict[str, Any]:
    deadline = waiter.clock() + waiter.timeout_seconds
    while True:
        described: dict[str, Any] = cf.describe_change_set(StackName=name, ChangeSetName=change_set)
        if described["Status"] in ("CREATE_COMPLETE", "FAILED"):
            return described
        if waiter.clock() > deadline:
            raise TransientError(f"change set {change_set} of stack {name} is still not ready")
        waiter.sleep(min(waiter.poll_seconds, 2.0))


def _changes(cf: Any, name: str, change_set: str, first: dict[str, Any]) -> tuple[Change, ...]:
    page, changes = first, []
    while True:
        for item in page.get("Changes", []):
            rc = item.get("ResourceChange", {})
            changes.append(
                Change(
                    action=rc.get("Action", "?"),
                    logical_id=rc.get("LogicalResourceId", "?"),
                    resource_type=rc.get("ResourceType", "?"),
                    replacement=rc.get("Replacement"),
                )
            )
        token = page.get("NextToken")
        if not token:
            return tuple(changes)
        page = cf.describe_change_set(StackName=name, ChangeSetName=change_set, NextToken=token)


def _discard(cf: Any, name: str, change_set: str, kind: str) -> None:
    """Remove a change set we will not execute (and the empty stack a CREATE one made)."""
    try:
        cf.delete_change_set(StackName=name, ChangeSetName=change_set)
        if kind == "CREATE":
            cf.delete_stack(StackName=name)
    except ClientError as err:
        log.warning("could not clean up change set %s of stack %s: %s", change_set, name, err)


def _event_ids(cf: Any, stack_id: str) -> set[str]:
    try:
        events = cf.describe_stack_events(StackName=stack_id)["StackEvents"]
    except ClientError:
        return set()
    return {e["EventId"] for e in events}


def _new_events(cf: Any, stack_id: str, seen: set[str]) -> list[ResourceEvent]:
    """Events not seen yet, oldest first (CloudFormation pages newest first)."""
    fresh: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"StackName": stack_id}
    while True:
        page = cf.describe_stack_events(**kwargs)
        batch = [e for e in page["StackEvents"] if e["EventId"] not in seen]
        fresh += batch
        if len(batch) < len(page["StackEvents"]) or not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    seen.update(e["EventId"] for e in fresh)
    return [
        ResourceEvent(
            timestamp=e["Timestamp"],
            logical_id=e.get("LogicalResourceId", ""),
            resource_type=e.get("ResourceType", ""),
            status=e.get("ResourceStatus", ""),
            reason=e.get("ResourceStatusReason"),
        )
        for e in reversed(fresh)
    ]


def _follow(
    cf: Any, stack_id: str, seen: set[str], waiter: Waiter, *, done: set[str]
) -> Iterator[ResourceEvent]:
    """Yield stack events until the stack settles; raise unless it settles in ``done``."""
    deadline = waiter.clock() + waiter.timeout_seconds
    failures: list[str] = []
    while True:
        for event in _new_events(cf, stack_id, seen):
            if event.status.endswith("_FAILED") and event.reason:
                failures.append(f"{event.logical_id}: {event.reason}")
            yield event
        stack = describe_stack(stack_id, cf=cf)
        status = "DELETE_COMPLETE" if stack is None else stack["StackStatus"]
        if not status.endswith("_IN_PROGRESS"):
            break
        if waiter.clock() > deadline:
            raise TransientError(f"stack {stack_id} is still {status}: see the AWS console")
        waiter.sleep(waiter.poll_seconds)
    if status not in done:
        detail = "; ".join(failures) or "see the events above"
        raise BenchInfraError(f"stack {stack_id} ended {status}: {detail}")


def _done(cf: Any, name: str) -> StackDone:
    stack = describe_stack(name, cf=cf)
    if stack is None:
        raise NotFoundError(f"stack {name} disappeared")
    return StackDone(name, stack["StackStatus"], _outputs(stack))


def iter_destroy(
    env: str,
    *,
    empty_bucket: bool = False,
    cf: Any | None = None,
    s3: Any | None = None,
    waiter: Waiter | None = None,
) -> Iterator[StackEvent]:
    """Delete ``benchmarking-<env>``; a stack that is not there is success."""
    cf, waiter = _cf(cf), waiter or Waiter()
    name = stack_name(env)
    stack = describe_stack(name, cf=cf)
    if stack is None or stack["StackStatus"] == "DELETE_COMPLETE":
        yield StackAbsent(name)
        return
    stack_id = stack["StackId"]
    if empty_bucket:
        bucket = _physical_id(cf, name, "ArtifactBucket")
        if bucket:
            removed = empty_s3_bucket(bucket, s3=s3)
            log.info("emptied bucket %s of stack %s: %d object versions", bucket, name, removed)
    seen = _event_ids(cf, stack_id)
    try:
        cf.delete_stack(StackName=stack_id)
    except ClientError as err:
        raise _error("deleting", name, err) from err
    try:
        yield from _follow(cf, stack_id, seen, waiter, done={"DELETE_COMPLETE"})
    except BenchInfraError as err:
        hint = "" if empty_bucket else " (a bucket with objects in it? retry with --empty-bucket)"
        raise BenchInfraError(f"{err}{hint}") from err
    yield StackDone(name, "DELETE_COMPLETE", {})


def _physical_id(cf: Any, name: str, logical_id: str) -> str | None:
    try:
        detail = cf.describe_stack_resource(StackName=name, LogicalResourceId=logical_id)
    except ClientError:
        return None
    value = detail["StackResourceDetail"].get("PhysicalResourceId")
    return str(value) if value else None


def empty_s3_bucket(bucket: str, *, s3: Any | None = None) -> int:
    """Delete every object version and delete marker; returns how many went."""
    s3 = s3 if s3 is not None else aws.client("s3")
    removed = 0
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            keys = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            for start in range(0, len(keys), 1000):
                chunk = keys[start : start + 1000]
                s3.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})
                removed += len(chunk)
    except ClientError as err:
        if error_code(err) == "NoSuchBucket":
            return removed
        raise BenchInfraError(f"emptying bucket {bucket} failed: {err}") from err
    return removed


def default_network(*, ec2: Any | None = None) -> tuple[str, tuple[str, ...]]:
    """The account's default VPC and its subnets, for private environments."""
    ec2 = ec2 if ec2 is not None else aws.client("ec2")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    if not vpcs:
        raise ConfigError("this region has no default VPC: give --vpc-id and --subnet-ids")
    vpc_id = vpcs[0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    if not subnets:
        raise ConfigError(f"default VPC {vpc_id} has no subnets: give --subnet-ids")
    return vpc_id, tuple(sorted(s["SubnetId"] for s in subnets))
