"""Deploy the real template to the moto server, look at what it made, destroy it.

moto gaps, and how these tests deal with them:
- AWS::SecretsManager::Secret and AWS::S3::BucketPolicy in stacks are skipped (the stack still
  completes): the secret's content and the job definitions' reference to it are checked in
  test_stacktemplate.py; here the reference's shape is checked as moto leaves it.
- Outputs are not computed after executing a change set: a no-op UpdateStack makes moto
  compute them (``_moto_compute_outputs``); deploy itself only uses change sets.
- Batch queues and compute environments made by stacks carry no tags in moto: their tags are
  checked in the template.
- Deleting a stack leaves its Batch compute environments and queues behind.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from scheduler import stack, stacktemplate
from scheduler.batch import BatchClient
from scheduler.stack import DeployRequest, Waiter
from scheduler.stacktemplate import job_definition_output_key, load_config, queue_output_key
from scheduler.submit import resolve_target
from tests.infra.conftest import Network
from worker import aws
from worker.errors import ConfigError

CONFIG = load_config()
ENV = "me"
NAME = "benchmarking-me"
PASSWORD = "s3cr3t-pw"


def _request(network: Network, **changes: Any) -> DeployRequest:
    fields: dict[str, Any] = {
        "env": ENV,
        "ami_id": network.ami_id,
        "vpc_id": network.vpc_id,
        "subnet_ids": network.subnet_ids,
        "results_db_uri": "neo4j+s://results.example:7687",
        "results_db_password": PASSWORD,
        # explicit, because moto compares raw parameter lists to find "no changes"
        "results_db_user": "benchmarks",
        "image_tag_suffix": "",
        **changes,
    }
    return DeployRequest(**fields)


def _deploy(network: Network, waiter: Waiter, **changes: Any) -> list[stack.StackEvent]:
    return list(stack.iter_deploy(_request(network, **changes), waiter=waiter))


def _physical(logical_id: str) -> str:
    # DescribeStackResource breaks in moto past a skipped resource: list them all instead
    cf = aws.client("cloudformation")
    resources = cf.describe_stack_resources(StackName=NAME)["StackResources"]
    found = [r for r in resources if r.get("LogicalResourceId") == logical_id]
    assert found, f"{logical_id} is not a resource of {NAME}"
    return str(found[0]["PhysicalResourceId"])


def _moto_compute_outputs(network: Network) -> None:
    """moto gap: outputs are null after a change set; an UpdateStack recomputes them.

    moto refuses an update with the very same template text, hence the added comment line.
    """
    body = stacktemplate.TEMPLATE_PATH.read_text(encoding="utf-8")
    given = {k: v for k, v in _request(network).parameters().items() if v is not None}
    aws.client("cloudformation").update_stack(
        StackName=NAME,
        TemplateBody=body + "# recompute outputs\n",
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in given.items()],
        Capabilities=stack.CAPABILITIES,
    )


def test_deploy_creates_the_stack_through_a_change_set(network: Network, no_wait: Waiter) -> None:
    events = _deploy(network, no_wait)

    ready = events[0]
    assert isinstance(ready, stack.ChangeSetReady)
    assert (ready.stack, ready.kind) == (NAME, "CREATE")
    added = {c.logical_id for c in ready.changes if c.action == "Add"}
    assert {"ArtifactBucket", "JobQueueM5dXlarge", "JobDefinitionM5dXlargeOpenjdk17"} <= added
    statuses = [e.status for e in events if isinstance(e, stack.ResourceEvent)]
    assert statuses[-1] == "CREATE_COMPLETE"
    done = events[-1]
    assert isinstance(done, stack.StackDone) and done.status == "CREATE_COMPLETE"
    assert PASSWORD not in repr(events)

    cf = aws.client("cloudformation")
    described = cf.describe_stacks(StackName=NAME)["Stacks"][0]
    assert {"Key": "owner", "Value": "benchmarking"} in described["Tags"]
    assert {"Key": "env", "Value": ENV} in described["Tags"]
    # NoEcho is checked in the template: moto echoes parameters of change-set stacks anyway


def test_deployed_bucket_log_group_repository_and_roles(network: Network, no_wait: Waiter) -> None:
    _deploy(network, no_wait)

    s3 = aws.client("s3")
    bucket = _physical("ArtifactBucket")
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    assert tags == {"owner": "benchmarking", "env": ENV}
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    # moto does not apply PublicAccessBlockConfiguration from stacks: see test_stacktemplate
    # nor LifecycleConfiguration: see test_stacktemplate

    logs = aws.client("logs")
    group = logs.describe_log_groups(logGroupNamePrefix="/aws/batch/benchmarking-me")["logGroups"]
    assert [(g["logGroupName"], g.get("retentionInDays")) for g in group] == [
        ("/aws/batch/benchmarking-me", 90)
    ]

    ecr = aws.client("ecr")
    repo = ecr.describe_repositories(repositoryNames=["benchmarking-me/worker"])["repositories"][0]
    repo_tags = ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"]
    assert {"Key": "owner", "Value": "benchmarking"} in repo_tags

    iam = aws.client("iam")
    trusted = {}
    for logical_id in ("InstanceRole", "JobExecutionRole", "JobRole"):
        role = iam.get_role(RoleName=_physical(logical_id))["Role"]
        statement = role["AssumeRolePolicyDocument"]["Statement"][0]
        trusted[logical_id] = statement["Principal"]["Service"]
        assert {"Key": "owner", "Value": "benchmarking"} in role.get("Tags", []), logical_id
    assert trusted == {
        "InstanceRole": "ec2.amazonaws.com",
        "JobExecutionRole": "ecs-tasks.amazonaws.com",
        "JobRole": "ecs-tasks.amazonaws.com",
    }
    job_policies = iam.list_role_policies(RoleName=_physical("JobRole"))["PolicyNames"]
    assert job_policies == ["benchmark-job"]

    ec2 = aws.client("ec2")
    versions = ec2.describe_launch_template_versions(
        LaunchTemplateId=_physical("WorkerLaunchTemplate")
    )
    data = versions["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    assert data["ImageId"] == network.ami_id
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    group_id = _physical("WorkerSecurityGroup")
    sg = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    assert sg["IpPermissions"] == []  # nothing comes in, SSH included


def test_deployed_batch_environments_queues_and_job_definitions(
    network: Network, no_wait: Waiter
) -> None:
    _deploy(network, no_wait)
    batch = aws.client("batch")

    environments = {
        e["computeEnvironmentName"]: e
        for e in batch.describe_compute_environments()["computeEnvironments"]
    }
    for it in CONFIG.instance_types:
        env = environments[
            _physical(f"ComputeEnvironment{queue_output_key(it.name)[8:]}").split("/")[-1]
        ]
        resources = env["computeResources"]
        assert env["type"] == "MANAGED"
        assert resources["instanceTypes"] == [it.name]
        assert (resources["minvCpus"], resources["maxvCpus"]) == (0, it.vcpus * it.max_instances)
        assert list(resources["subnets"]) == list(network.subnet_ids)
        # the service-linked role, so that an AMI change updates the environment in place
        assert env["serviceRole"].endswith(
            "role/aws-service-role/batch.amazonaws.com/AWSServiceRoleForBatch"
        )

    queues = {q["jobQueueArn"]: q for q in batch.describe_job_queues()["jobQueues"]}
    expected_queues = sum(2 if it.spot else 1 for it in CONFIG.instance_types)
    assert len(queues) == expected_queues
    for it in CONFIG.instance_types:
        queue = queues[_physical(queue_output_key(it.name))]
        assert queue["state"] == "ENABLED"

    definitions = {
        d["jobDefinitionName"]: d
        for d in batch.describe_job_definitions(status="ACTIVE")["jobDefinitions"]
    }
    assert len(definitions) == len(CONFIG.instance_types) * len(CONFIG.jdks)
    repository = f"/benchmarking-{ENV}/worker"
    for it in CONFIG.instance_types:
        for jdk in CONFIG.jdks:
            d = definitions[f"benchmarking-{ENV}-{it.name.replace('.', '-')}-{jdk}"]
            container = d["containerProperties"]
            sizes = {r["type"]: r["value"] for r in container["resourceRequirements"]}
            assert sizes == {"VCPU": str(it.vcpus), "MEMORY": str(it.job_memory_mib)}
            assert container["image"].endswith(f"{repository}:{jdk}")
            assert container["jobRoleArn"].endswith(_physical("JobRole"))
            assert container["executionRoleArn"].endswith(_physical("JobExecutionRole"))
            assert container["privileged"] is True
            assert container["mountPoints"][0]["containerPath"] == "/work/run"
            assert container["volumes"][0]["host"]["sourcePath"] == "/work"
            assert container["ulimits"][0]["name"] == "nofile"
            assert container["logConfiguration"]["options"]["awslogs-group"] == (
                "/aws/batch/benchmarking-me"
            )
            env = {e["name"]: e.get("value") for e in container["environment"]}
            assert env["BENCH_WORKSPACE"] == "/work/run"
            secrets = {s["name"]: s["valueFrom"] for s in container["secrets"]}
            # moto skipped the secret, so its reference stays unresolved: the shape is right
            assert secrets["BENCH_RESULTS_STORE_PASSWORD"].endswith(":password::")
            assert d["tags"] == {"owner": "benchmarking", "env": ENV}


def test_outputs_name_the_queues_and_job_definitions(network: Network, no_wait: Waiter) -> None:
    _deploy(network, no_wait)
    _moto_compute_outputs(network)
    outputs = stack.stack_outputs(ENV)

    assert outputs["ArtifactBucket"] == _physical("ArtifactBucket")
    assert outputs["LogGroup"] == "/aws/batch/benchmarking-me"
    assert outputs["WorkerRepositoryUri"].endswith(".amazonaws.com/benchmarking-me/worker")
    # moto skips the secret, so it has no output value; the real service has one.
    assert "ResultsStoreSecretArn" not in outputs
    for it in CONFIG.instance_types:
        assert outputs[queue_output_key(it.name)] == _physical(queue_output_key(it.name))
        for jdk in CONFIG.jdks:
            arn = outputs[job_definition_output_key(it.name, jdk)]
            assert arn.endswith(
                f":job-definition/benchmarking-me-{it.name.replace('.', '-')}-{jdk}:1"
            )

    # the outputs are what a scheduler submits to
    batch = aws.client("batch")
    job = batch.submit_job(
        jobName="smoke",
        jobQueue=outputs["JobQueueM5dXlarge"],
        jobDefinition=outputs["JobDefinitionM5dXlargeOpenjdk17"],
    )
    described = batch.describe_jobs(jobs=[job["jobId"]])["jobs"][0]
    assert described["jobQueue"] == outputs["JobQueueM5dXlarge"]
    assert described["jobDefinition"] == outputs["JobDefinitionM5dXlargeOpenjdk17"]


def test_the_scheduler_chooses_by_capabilities_from_the_deployed_stack(
    network: Network, no_wait: Waiter
) -> None:
    """Discovery reads the stack's queues, compute environments (sizes from EC2's instance
    catalogue) and job definitions (JDK from the image tag), then the original's rules pick."""
    _deploy(network, no_wait)
    name = f"benchmarking-{ENV}"

    by_type = resolve_target(
        stack=name,
        capability_text="AWS:instanceType=m5d.xlarge,jdk=openjdk-17",
        batch=BatchClient(),
    )
    assert by_type.queue.endswith(_physical(queue_output_key("m5d.xlarge")).split("/")[-1])
    assert by_type.job_definition == f"benchmarking-{ENV}-m5d-xlarge-openjdk_17"

    by_hardware = resolve_target(
        stack=name,
        capability_text="hardware:totalMemory=32768,hardware:availableCores=8,jdk=openjdk-21",
        batch=BatchClient(),
    )
    assert by_hardware.job_definition == f"benchmarking-{ENV}-m5d-2xlarge-openjdk_21"

    # r5d.2xlarge has an on-demand and a spot environment: the original's rule refuses to guess
    with pytest.raises(ConfigError, match=r"r5d\.2xlarge"):
        resolve_target(
            stack=name,
            capability_text="AWS:instanceType=r5d.2xlarge,jdk=openjdk-17",
            batch=BatchClient(),
        )
    with pytest.raises(ConfigError):
        resolve_target(
            stack=name,
            capability_text="AWS:instanceType=c5.large,jdk=openjdk-17",
            batch=BatchClient(),
        )


def test_deploying_again_without_changes_is_success(network: Network, no_wait: Waiter) -> None:
    _deploy(network, no_wait)
    # the password is not given again: the deployed one is kept (UsePreviousValue)
    events = _deploy(network, no_wait, results_db_password=None)
    assert [type(e) for e in events] == [stack.NoChanges, stack.StackDone]
    assert events[-1].status == "CREATE_COMPLETE"  # type: ignore[union-attr]


def test_dry_run_shows_the_change_set_and_creates_nothing(
    network: Network, no_wait: Waiter
) -> None:
    events = list(stack.iter_deploy(_request(network), dry_run=True, waiter=no_wait))
    assert [type(e) for e in events] == [stack.ChangeSetReady, stack.DryRunDone]
    assert stack.describe_stack(NAME) is None
    assert aws.client("batch").describe_job_definitions()["jobDefinitions"] == []


def test_creating_needs_every_required_value(network: Network, no_wait: Waiter) -> None:
    with pytest.raises(ConfigError) as caught:
        list(stack.iter_deploy(_request(network, results_db_password=None, ami_id=None)))
    assert len(caught.value.problems) == 2
    assert "--results-db-password" in str(caught.value)
    assert "invoke build-ami" in str(caught.value)


def test_destroy_deletes_the_stack_and_its_bucket(network: Network, no_wait: Waiter) -> None:
    _deploy(network, no_wait)
    bucket = _physical("ArtifactBucket")
    s3 = aws.client("s3")
    s3.put_object(Bucket=bucket, Key="artifacts/build-1/worker.tar.gz", Body=b"x")
    roles = [_physical(r) for r in ("JobRole", "InstanceRole")]

    events = list(stack.iter_destroy(ENV, empty_bucket=True, waiter=no_wait))

    assert isinstance(events[-1], stack.StackDone) and events[-1].status == "DELETE_COMPLETE"
    assert any(isinstance(e, stack.ResourceEvent) and e.status == "DELETE_COMPLETE" for e in events)
    assert stack.describe_stack(NAME) is None
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket=bucket)
    iam = aws.client("iam")
    for role in roles:
        with pytest.raises(ClientError):
            iam.get_role(RoleName=role)
    assert aws.client("ecr").describe_repositories()["repositories"] == []


@pytest.mark.usefixtures("aws_clean")
def test_destroying_a_missing_stack_is_success(no_wait: Waiter) -> None:
    events = list(stack.iter_destroy("nobody", waiter=no_wait))
    assert events == [stack.StackAbsent("benchmarking-nobody")]
