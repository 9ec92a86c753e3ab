"""Batch resources in moto for a worker image, created directly with boto3 (not the stack).

The sandbox's queue and job definition (``invoke schedule`` works before any ``deploy``), and the
tests'.

One unmanaged compute environment, one queue, one job definition whose container runs the
worker image the way the stack's definitions do (``run --job-parameters Ref::jobParameters``).
Job containers share the host network, so the worker is given moto's endpoint explicitly.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from worker import aws
from worker.contract import BATCH_JOB_PARAMETERS, Env

LOG_GROUP = "/aws/batch/job"


@dataclasses.dataclass(frozen=True)
class BatchSetup:
    bucket: str
    queue: str
    job_definition: str
    secret_arn: str | None

    @property
    def storage(self) -> str:
        return f"s3://{self.bucket}"


def create_batch_resources(
    image: str,
    endpoint: str,
    *,
    name: str = "bench",
    bucket: str = "bench-artifacts",
    password: str | None = None,
    credentials: dict[str, str] | None = None,
    extra_environment: dict[str, str] | None = None,
) -> BatchSetup:
    """Bucket, log group, (secret), compute environment, queue and job definition."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": aws.region()})
    logs = aws.client("logs")
    if not logs.describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"]:
        logs.create_log_group(logGroupName=LOG_GROUP)
    secret_arn = None
    if password is not None:
        secret = aws.client("secretsmanager").create_secret(
            Name=f"{name}-results-store",
            SecretString=json.dumps(
                {"username": "bench", "password": password, "uri": "bolt://127.0.0.1:7687"}
            ),
        )
        secret_arn = str(secret["ARN"])
    iam = aws.client("iam")
    role = iam.create_role(
        RoleName=f"{name}-batch-service",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    batch = aws.client("batch")
    env_arn = batch.create_compute_environment(
        computeEnvironmentName=f"{name}-env", type="UNMANAGED", state="ENABLED", serviceRole=role
    )["computeEnvironmentArn"]
    queue = batch.create_job_queue(
        jobQueueName=f"{name}-queue",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": env_arn}],
    )["jobQueueName"]
    environment = {
        Env.AWS_ENDPOINT_URL: endpoint,
        "AWS_REGION": aws.region(),
        "AWS_DEFAULT_REGION": aws.region(),
        **(credentials or {}),
        **(extra_environment or {}),
    }
    props: dict[str, Any] = {
        "image": image,
        "command": ["run", "--job-parameters", f"Ref::{BATCH_JOB_PARAMETERS}"],
        "resourceRequirements": [
            {"type": "VCPU", "value": "2"},
            {"type": "MEMORY", "value": "2048"},
        ],
        "environment": [{"name": k, "value": v} for k, v in environment.items()],
    }
    if secret_arn:
        # What the stack does: Batch injects the password at run time (moto does not).
        props["secrets"] = [{"name": Env.RESULTS_STORE_PASSWORD, "valueFrom": secret_arn}]
    definition = batch.register_job_definition(
        jobDefinitionName=f"{name}-worker", type="container", containerProperties=props
    )["jobDefinitionName"]
    return BatchSetup(bucket, queue, definition, secret_arn)


def with_plain_command(setup: BatchSetup, image: str, name: str, command: list[str]) -> BatchSetup:
    """``setup`` with a job definition that runs ``command`` in ``image`` instead of the worker:
    jobs that really run (and take the time the command takes) without a benchmark, for load
    tests and the scale benchmark's real watch."""
    definition = aws.client("batch").register_job_definition(
        jobDefinitionName=name,
        type="container",
        containerProperties={
            "image": image,
            "command": command,
            "resourceRequirements": [
                {"type": "VCPU", "value": "1"},
                {"type": "MEMORY", "value": "256"},
            ],
        },
    )["jobDefinitionName"]
    return dataclasses.replace(setup, job_definition=str(definition))
