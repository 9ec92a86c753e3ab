"""The rendered CloudFormation template: up to date, lint clean, sized and wired right."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from scheduler import stacktemplate
from scheduler.stacktemplate import (
    InstanceType,
    StackConfig,
    build_template,
    camel,
    job_definition_output_key,
    load_config,
    queue_output_key,
)
from worker import aws
from worker.errors import ConfigError

CONFIG = load_config()


def _template() -> dict[str, Any]:
    text = stacktemplate.TEMPLATE_PATH.read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def test_checked_in_template_is_rendered_from_the_configuration() -> None:
    assert stacktemplate.check_template_current(), "run `invoke stack-template`"


def test_cfn_lint_is_clean() -> None:
    cfn_lint = shutil.which("cfn-lint")
    assert cfn_lint, "cfn-lint is part of the test extra"
    result = subprocess.run(
        [cfn_lint, str(stacktemplate.TEMPLATE_PATH)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_nothing_account_or_region_specific_is_written_in() -> None:
    text = stacktemplate.TEMPLATE_PATH.read_text(encoding="utf-8")
    assert not re.search(r"\b\d{12}\b", text), "an account id"
    assert not re.search(r"\b(?:vpc|subnet|sg|ami)-[0-9a-f]{8,}\b", text), "a resource id"
    assert not re.search(r"\b(?:eu|us|ap|sa|ca|me|af)-[a-z]+-\d\b", text), "a region"
    assert "BucketName" not in text


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("m5d.xlarge", "M5dXlarge"),
        ("r5d.2xlarge", "R5d2xlarge"),
        ("openjdk_17", "Openjdk17"),
        ("c6id.metal", "C6idMetal"),
    ],
)
def test_camel(name: str, expected: str) -> None:
    assert camel(name) == expected


def test_output_keys_follow_the_stable_names() -> None:
    outputs = _template()["Outputs"]
    assert queue_output_key("m5d.xlarge") == "JobQueueM5dXlarge"
    assert job_definition_output_key("m5d.xlarge", "openjdk_17") == (
        "JobDefinitionM5dXlargeOpenjdk17"
    )
    expected = {"ArtifactBucket", "WorkerRepositoryUri", "ResultsStoreSecretArn", "LogGroup"}
    for it in CONFIG.instance_types:
        expected.add(queue_output_key(it.name))
        if it.spot:
            expected.add(queue_output_key(it.name, spot=True))
        expected |= {job_definition_output_key(it.name, jdk) for jdk in CONFIG.jdks}
    assert set(outputs) == expected


@pytest.mark.usefixtures("aws")
def test_configured_sizes_match_ec2_instance_types() -> None:
    """The sizes in stack/config.yaml are EC2's (moto serves AWS's instance type catalogue)."""
    ec2 = aws.client("ec2")
    names = [it.name for it in CONFIG.instance_types]
    found = {
        t["InstanceType"]: t
        for t in ec2.describe_instance_types(InstanceTypes=names)["InstanceTypes"]
    }
    for it in CONFIG.instance_types:
        assert found[it.name]["VCpuInfo"]["DefaultVCpus"] == it.vcpus, it.name
        assert found[it.name]["MemoryInfo"]["SizeInMiB"] == it.memory_mib, it.name
        assert found[it.name]["InstanceStorageInfo"]["NvmeSupport"] in ("required", "supported")


def test_job_definitions_fill_one_instance() -> None:
    resources = _template()["Resources"]
    for it in CONFIG.instance_types:
        for jdk in CONFIG.jdks:
            props = resources[job_definition_output_key(it.name, jdk)]["Properties"]
            container = props["ContainerProperties"]
            sizes = {r["Type"]: r["Value"] for r in container["ResourceRequirements"]}
            assert sizes == {"VCPU": str(it.vcpus), "MEMORY": str(it.job_memory_mib)}
            assert container["MountPoints"] == [
                {"SourceVolume": "work", "ContainerPath": "/work/run", "ReadOnly": False}
            ]
            assert container["Volumes"] == [{"Name": "work", "Host": {"SourcePath": "/work"}}]
            assert {"Name": "BENCH_WORKSPACE", "Value": "/work/run"} in container["Environment"]
            assert container["Ulimits"][0]["Name"] == "nofile"
            secrets = {s["Name"]: s["ValueFrom"] for s in container["Secrets"]}
            assert secrets["BENCH_RESULTS_STORE_PASSWORD"] == {
                "Fn::Sub": "${ResultsStoreSecret}:password::"
            }
            image = container["Image"]["Fn::If"]
            assert image[2] == {"Fn::Sub": f"${{WorkerRepository.RepositoryUri}}:{jdk}"}
            assert props["Timeout"]["AttemptDurationSeconds"] > 0


def test_results_store_secret_is_json_of_the_noecho_parameters() -> None:
    """moto skips Secrets Manager secrets in stacks, so the secret is checked here instead."""
    template = _template()
    assert template["Parameters"]["ResultsDbPassword"]["NoEcho"] is True
    secret = template["Resources"]["ResultsStoreSecret"]["Properties"]
    values = {"ResultsDbUser": "u", "ResultsDbPassword": "p w:x'", "ResultsDbUri": "neo4j://h"}
    rendered = re.sub(
        r"\$\{(\w+)\}", lambda m: values[m.group(1)], secret["SecretString"]["Fn::Sub"]
    )
    assert json.loads(rendered) == {"username": "u", "password": "p w:x'", "uri": "neo4j://h"}
    # a quote or backslash would break that JSON: the parameter refuses them
    pattern = template["Parameters"]["ResultsDbPassword"]["AllowedPattern"]
    assert re.fullmatch(pattern, 'a"b') is None and re.fullmatch(pattern, "a\\b") is None
    assert re.fullmatch(pattern, "s3cr3t!") is not None


def _actions(role: dict[str, Any]) -> dict[str, list[Any]]:
    """Action -> resources, over every inline policy of a role."""
    granted: dict[str, list[Any]] = {}
    for policy in role["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            for action in statement["Action"]:
                granted.setdefault(action, []).extend(statement["Resource"])
    return granted


def test_job_role_grants_only_what_the_worker_calls() -> None:
    """Benchmark processes share the worker's container and so its role: the job role may
    reach the stack's bucket and nothing else (no secret: the execution role injects it)."""
    resources = _template()["Resources"]
    role = resources["JobRole"]
    assert "ManagedPolicyArns" not in role["Properties"]
    granted = _actions(role)
    assert set(granted) == {
        "s3:ListBucket",
        "s3:GetBucketLocation",
        "s3:GetObject",
        "s3:PutObject",
        "s3:AbortMultipartUpload",
    }
    for action, targets in granted.items():
        assert targets and all("ArtifactBucket" in json.dumps(t) for t in targets), action
    execution = _actions(resources["JobExecutionRole"])
    assert execution == {"secretsmanager:GetSecretValue": [{"Ref": "ResultsStoreSecret"}]}


def test_every_taggable_resource_is_tagged() -> None:
    untaggable = {"AWS::IAM::InstanceProfile", "AWS::S3::BucketPolicy"}
    for logical_id, resource in _template()["Resources"].items():
        if resource["Type"] in untaggable:
            continue
        tags = resource["Properties"].get("Tags")
        if resource["Type"] == "AWS::EC2::LaunchTemplate":
            tags = resource["Properties"]["TagSpecifications"][0]["Tags"]
        assert tags, logical_id
        as_map = tags if isinstance(tags, dict) else {t["Key"]: t["Value"] for t in tags}
        assert as_map["owner"] == "benchmarking", logical_id
        assert as_map["env"] == {"Ref": "Env"}, logical_id


def test_spot_is_optional_per_instance_type() -> None:
    config = StackConfig(
        instance_types=(
            InstanceType("m5d.large", 2, 8192),
            InstanceType("c5d.xlarge", 4, 8192, spot=True),
        ),
        jdks=("openjdk_17",),
    )
    resources = build_template(config)["Resources"]
    assert "ComputeEnvironmentM5dLargeSpot" not in resources
    spot = resources["ComputeEnvironmentC5dXlargeSpot"]["Properties"]["ComputeResources"]
    assert spot["Type"] == "SPOT"
    assert spot["AllocationStrategy"] == "SPOT_CAPACITY_OPTIMIZED"
    on_demand = resources["ComputeEnvironmentC5dXlarge"]["Properties"]["ComputeResources"]
    assert (on_demand["Type"], on_demand["MinvCpus"], on_demand["MaxvCpus"]) == ("EC2", 0, 16)


def test_bad_configuration_reports_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "instance_types:\n  - {name: M5D, vcpus: 2, memory_mib: 8192}\n  - {name: x.y, cores: 2}\n"
        "jdks: [openjdk17]\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = str(caught.value)
    assert "'M5D' is not an EC2 instance type name" in text
    assert "cores" in text
    assert "'openjdk17' is not <vendor>_<version>" in text
