"""Fixtures for the infrastructure tests: a network and an AMI in the moto server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from scheduler.sandbox.deploy import make_batch_service_linked_role
from scheduler.sandbox.moto_server import MotoServer
from scheduler.stack import Waiter
from worker import aws


@dataclass(frozen=True)
class Network:
    vpc_id: str
    subnet_ids: tuple[str, ...]
    ami_id: str


@pytest.fixture
def network(aws_clean: MotoServer) -> Network:
    """moto's default VPC and subnets, an ECS-optimized AMI from its catalogue, and Batch's
    service-linked role (moto's CreateServiceLinkedRole names it AWSServiceRoleForbatch, not
    AWSServiceRoleForBatch as AWS does, so it is made as a plain role with the real name)."""
    make_batch_service_linked_role()
    ec2 = aws.client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
    images = ec2.describe_images(
        Owners=["amazon"], Filters=[{"Name": "name", "Values": ["al2023-ami-ecs-hvm-*-x86_64"]}]
    )["Images"]
    assert images, "moto's AMI catalogue should hold ECS-optimized images"
    return Network(
        vpc["VpcId"],
        tuple(sorted(s["SubnetId"] for s in subnets["Subnets"]))[:2],
        images[0]["ImageId"],
    )


@pytest.fixture
def aws_clean(aws: MotoServer) -> Iterator[MotoServer]:
    """The wiped moto server, with Batch jobs never started in containers."""
    aws.configure_batch(use_docker=False)
    yield aws


@pytest.fixture
def no_wait() -> Waiter:
    return Waiter(sleep=lambda _seconds: None, poll_seconds=0.0, timeout_seconds=60.0)
