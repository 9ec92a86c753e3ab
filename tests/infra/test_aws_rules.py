"""Rules real AWS enforces and the moto emulator lets through, each pinned without moto's help.

Sources: CloudFormation's template limits (51,200-byte TemplateBody, no YAML aliases), the
resource schemas cfn-lint ships (which properties force a replacement), botocore's service
models (request shapes), AWS Batch's memory-management guidance and the documented tag
character set. Where a rule needs a server (TemplateURL, SubmitJob after a timeout) moto
serves the HTTP side; where it needs throttling a tiny local HTTP server answers 429/500.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import shutil
import subprocess
import threading
import tomllib
import unicodedata
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import boto3
import pytest
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.validate import ParamValidator

from scheduler import costs, stack, stacktemplate
from scheduler.batch import BatchClient
from scheduler.costs import GroupBy
from scheduler.errors import BatchError
from scheduler.plan import PlannedJob
from scheduler.sandbox.batch_resources import create_batch_resources
from scheduler.sandbox.moto_server import MotoServer
from scheduler.stack import DeployRequest, Waiter
from scheduler.stacktemplate import (
    BATCH_SERVICE_LINKED_ROLE,
    InstanceType,
    JobSettings,
    StackConfig,
    build_template,
    job_memory_mib,
    load_config,
    render_template,
)
from scheduler.submit import SubmitSettings, Target, build_submit_request
from scheduler.tags import sanitise_tag_value
from tests.infra.conftest import Network
from worker import aws
from worker.awserrors import is_not_found, is_stack_missing

REPO = Path(__file__).resolve().parents[2]
CONFIG = load_config()
#: CloudFormation's limit for an inline TemplateBody.
TEMPLATE_BODY_LIMIT = 51_200

#: 8 instance types x 3 JDKs: what a grown configuration looks like.
LARGE_CONFIG = StackConfig(
    instance_types=tuple(
        InstanceType(name, vcpus, mib, spot=spot)
        for name, vcpus, mib, spot in (
            ("m5d.large", 2, 8192, False),
            ("m5d.xlarge", 4, 16384, False),
            ("m5d.2xlarge", 8, 32768, False),
            ("m5d.4xlarge", 16, 65536, False),
            ("r5d.large", 2, 16384, False),
            ("r5d.xlarge", 4, 32768, False),
            ("r5d.2xlarge", 8, 65536, True),
            ("c5d.2xlarge", 8, 16384, False),
        )
    ),
    jdks=("openjdk_17", "openjdk_21", "openjdk_25"),
    jobs=JobSettings(),
)


# --------------------------------------------------------------------------- YAML aliases


class _AliasRefusingLoader(yaml.SafeLoader):
    """Fails on any alias, as CloudFormation does ("YAML aliases are not allowed")."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(None, None, "a YAML alias", mark)
        return super().compose_node(parent, index)


def _load_like_cloudformation(text: str) -> Any:
    return yaml.load(text, Loader=_AliasRefusingLoader)


def test_the_alias_refusing_loader_refuses_aliases() -> None:
    shared = [{"Ref": "Secret"}]
    with_alias = yaml.safe_dump({"A": shared, "B": shared})
    assert "*id001" in with_alias
    with pytest.raises(yaml.composer.ComposerError, match="a YAML alias"):
        _load_like_cloudformation(with_alias)


@pytest.mark.parametrize("config", [CONFIG, LARGE_CONFIG], ids=["configured", "8x3"])
def test_rendered_templates_have_no_yaml_aliases(config: StackConfig) -> None:
    assert _load_like_cloudformation(render_template(config)) == build_template(config)


def test_the_checked_in_template_has_no_yaml_aliases() -> None:
    _load_like_cloudformation(stacktemplate.TEMPLATE_PATH.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- cfn-lint


def _pinned(package: str) -> str:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for requirement in project["optional-dependencies"]["test"]:
        found = re.fullmatch(rf"{re.escape(package)}==([0-9.]+)", requirement.replace(" ", ""))
        if found:
            return found.group(1)
    raise AssertionError(f"{package} is not pinned (==) in the test extra")


def test_cfn_lint_is_pinned_and_the_pinned_version_is_installed() -> None:
    pinned = _pinned("cfn-lint")
    assert tuple(int(p) for p in pinned.split(".")[:2]) >= (1, 58), "pin a current cfn-lint"
    assert importlib.metadata.version("cfn-lint") == pinned


def _cfn_lint(path: Path) -> subprocess.CompletedProcess[str]:
    cfn_lint = shutil.which("cfn-lint")
    assert cfn_lint, "cfn-lint is part of the test extra"
    return subprocess.run(
        [cfn_lint, str(path)], capture_output=True, text=True, check=False, timeout=300
    )


_RENDERED_TAG = {"Key": "owner", "Value": "benchmarking"}


def test_cfn_lint_warnings_fail(tmp_path: Path) -> None:
    """The lint test counts any non-zero exit, and cfn-lint exits 4 on a warning (W1101)."""
    template = build_template(CONFIG)
    shared = [_RENDERED_TAG]  # one list used twice: PyYAML writes an anchor and an alias
    template["Metadata"] = {"First": shared, "Second": shared}
    with_alias = tmp_path / "alias.yaml"
    with_alias.write_text(yaml.safe_dump(template, sort_keys=False))
    assert "*id001" in with_alias.read_text()
    result = _cfn_lint(with_alias)
    assert result.returncode != 0 and "W1101" in result.stdout, result.stdout


def test_the_8x3_template_is_lint_clean(tmp_path: Path) -> None:
    path = tmp_path / "large.yaml"
    path.write_text(render_template(LARGE_CONFIG), encoding="utf-8")
    result = _cfn_lint(path)
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------- job memory

#: What the ECS agent registers on some types (the kernel's figure, well below the published
#: size). m5d.2xlarge has m5.2xlarge's memory, for which about 31,377 MiB is registered.
REGISTERED_MIB = {"m5d.2xlarge": 31_377, "r5d.2xlarge": 62_960}
#: AWS Batch's memory-management guidance: leave about 5 % of the published memory.
HEADROOM = 0.05


@pytest.mark.parametrize(
    "it", [*CONFIG.instance_types, *LARGE_CONFIG.instance_types], ids=lambda it: it.name
)
def test_job_memory_fits_what_every_instance_type_registers(it: InstanceType) -> None:
    memory = it.job_memory_mib
    assert memory <= it.memory_mib * (1 - HEADROOM), "less than 5 % headroom"
    assert memory <= it.memory_mib - 1024, "less than 1 GiB left to the OS, agent and Docker"
    if it.name in REGISTERED_MIB:
        assert memory <= REGISTERED_MIB[it.name]


def test_the_job_definitions_ask_for_the_rule_s_memory() -> None:
    resources = build_template(CONFIG)["Resources"]
    for it in CONFIG.instance_types:
        for jdk in CONFIG.jdks:
            jd = resources[stacktemplate.job_definition_output_key(it.name, jdk)]
            requirements = jd["Properties"]["ContainerProperties"]["ResourceRequirements"]
            memory = next(int(r["Value"]) for r in requirements if r["Type"] == "MEMORY")
            assert memory == job_memory_mib(it.memory_mib) < it.memory_mib * (1 - HEADROOM)


# --------------------------------------------------------------------------- updates in place


def _compute_environments(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Batch::ComputeEnvironment"
    }


def _paths(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _paths(inner, f"{path}/{key}")
    elif isinstance(value, list):
        for inner in value:
            yield from _paths(inner, path)


def _mentions(value: Any, names: set[str]) -> bool:
    text = json.dumps(value)
    return any(f'"Ref": "{n}"' in text or f'"{n}"' in text or f"{n}." in text for n in names)


def test_compute_environments_are_updated_in_place() -> None:
    for logical_id, props in _compute_environments(build_template(CONFIG)).items():
        assert props["ReplaceComputeEnvironment"] is False, logical_id
        policy = props["UpdatePolicy"]
        assert policy["TerminateJobsOnUpdate"] is False
        assert 1 <= policy["JobExecutionTimeoutMinutes"] <= 360  # botocore's model: max 360
        assert "DesiredvCpus" not in props["ComputeResources"]
        # the AMI is built from the ECS-optimised Amazon Linux 2023
        assert props["ComputeResources"]["Ec2Configuration"][0]["ImageType"] == "ECS_AL2023"
        role = props["ServiceRole"]["Fn::Sub"]
        assert role.endswith(
            f":role/aws-service-role/batch.amazonaws.com/{BATCH_SERVICE_LINKED_ROLE}"
        )
    trusting_batch = [
        logical_id
        for logical_id, r in build_template(CONFIG)["Resources"].items()
        if r["Type"] == "AWS::IAM::Role" and "batch.amazonaws.com" in json.dumps(r)
    ]
    assert trusting_batch == [], "no own Batch service role: the service-linked one"


def test_an_ami_change_touches_no_property_that_forces_a_replacement() -> None:
    """What an AMI change alters (everything depending on AmiId, the launch template's
    version) may only sit under properties CloudFormation replaces conditionally, i.e. not
    with ``ReplaceComputeEnvironment: false``; the schema is the one cfn-lint ships."""
    from cfnlint.schema.manager import PROVIDER_SCHEMA_MANAGER

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(
        "us-east-1", "AWS::Batch::ComputeEnvironment"
    ).schema
    always = [p.removeprefix("/properties") for p in schema["createOnlyProperties"]]
    conditional = [
        p.removeprefix("/properties") for p in schema.get("conditionalCreateOnlyProperties", [])
    ]
    changing = {"AmiId", "WorkerLaunchTemplate"}
    for logical_id, props in _compute_environments(build_template(CONFIG)).items():
        touched = [path for path, value in _paths(props) if path and _mentions(value, changing)]
        assert touched, f"{logical_id} does not use the AMI at all?"
        for path in touched:
            assert not any(path == p or path.startswith(f"{p}/") for p in always), path
        leaves = {p for p in touched if not any(t.startswith(f"{p}/") for t in touched)}
        for path in leaves:
            assert any(path == p or path.startswith(f"{p}/") for p in conditional), (
                f"{logical_id}{path} changes with the AMI: is it conditionally create-only?"
            )


def test_deploy_ensures_the_service_linked_role(aws_clean: MotoServer) -> None:
    iam = aws.client("iam")
    with pytest.raises(ClientError):
        iam.get_role(RoleName=BATCH_SERVICE_LINKED_ROLE)
    stack.ensure_batch_service_linked_role(iam=iam)
    # moto names the created role AWSServiceRoleForbatch (AWS: ...ForBatch); look by path
    roles = iam.list_roles(PathPrefix="/aws-service-role/batch.amazonaws.com/")["Roles"]
    assert len(roles) == 1


# --------------------------------------------------------------------------- template size


def test_the_8x3_template_is_over_the_template_body_limit() -> None:
    assert len(render_template(LARGE_CONFIG).encode()) > TEMPLATE_BODY_LIMIT
    assert len(render_template(CONFIG).encode()) <= TEMPLATE_BODY_LIMIT


def test_a_small_template_goes_inline() -> None:
    body = render_template(CONFIG)
    assert stack.template_source(body, "benchmarking-me") == {"TemplateBody": body}


def test_a_large_template_is_deployed_through_s3(
    network: Network, no_wait: Waiter, tmp_path: Path
) -> None:
    path = tmp_path / "large.yaml"
    body = render_template(LARGE_CONFIG)
    path.write_text(body, encoding="utf-8")
    request = DeployRequest(
        env="big",
        ami_id=network.ami_id,
        vpc_id=network.vpc_id,
        subnet_ids=network.subnet_ids,
        results_db_uri="neo4j+s://results.example:7687",
        results_db_password="pw",
        template_path=path,
    )
    events = list(stack.iter_deploy(request, waiter=no_wait))
    assert isinstance(events[-1], stack.StackDone)
    assert events[-1].status == "CREATE_COMPLETE"
    s3 = aws.client("s3")
    account = aws.client("sts").get_caller_identity()["Account"]
    bucket = stack.template_bucket_name(account, aws.region())
    objects = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert len(objects) == 1 and objects[0]["Key"].startswith("templates/benchmarking-big/")
    stored = s3.get_object(Bucket=bucket, Key=objects[0]["Key"])["Body"].read().decode()
    assert stored == body
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    cf = aws.client("cloudformation")
    resources = cf.describe_stack_resources(StackName="benchmarking-big")["StackResources"]
    definitions = [r for r in resources if r.get("ResourceType") == "AWS::Batch::JobDefinition"]
    assert len(definitions) == 8 * 3


# --------------------------------------------------------------------------- tags


def _aws_allows(value: str) -> bool:
    """The documented rule, written independently of the sanitiser: Unicode letters,
    separators (spaces), numbers and ``_ . : / = + - @``; at most 256 characters."""
    return len(value) <= 256 and all(
        unicodedata.category(ch)[0] in "LZN" or ch in "_.:/=+-@" for ch in value
    )


@pytest.mark.parametrize(
    "value", ["#4711 (rc)", "x" * 300, "feature/ABC-1 «ok» ünïcode\ttab", "a&b|c;$(rm -rf)"]
)
def test_tag_values_are_sanitised(value: str) -> None:
    assert not _aws_allows(value) or len(value) > 256 or value == sanitise_tag_value(value)
    cleaned = sanitise_tag_value(value)
    assert _aws_allows(cleaned), cleaned
    assert cleaned


def test_a_free_text_build_name_gives_valid_submit_tags() -> None:
    settings = SubmitSettings(target=Target("q", "d"), env="me", build="#4711 (rc)" + "x" * 300)
    job = PlannedJob("t1", "bench-1", "w", "s3://b/p.json", "s3://b/r/")
    tags = build_submit_request(job, "run-1", settings)["tags"]
    assert tags["build"].startswith("_4711 _rc_") and len(tags["build"]) == 256
    assert all(_aws_allows(v) for v in tags.values())


# --------------------------------------------------------------------------- request shapes


def _validate(service: str, operation: str, params: dict[str, Any]) -> None:
    model = (
        boto3.session.Session()
        .client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
        .meta.service_model
    )
    report = ParamValidator().validate(params, model.operation_model(operation).input_shape)
    assert not report.has_errors(), report.generate_report()


def test_the_validator_catches_a_bad_request() -> None:
    with pytest.raises(AssertionError, match="jobQueue"):
        _validate("batch", "SubmitJob", {"jobName": "n", "jobDefinition": "d"})


def test_every_built_request_is_valid_for_the_service_model() -> None:
    settings = SubmitSettings(target=Target("q", "d"), env="me", build="#1")
    job = PlannedJob("t1", "bench-1", "w", "s3://b/p.json", "s3://b/r/")
    _validate("batch", "SubmitJob", build_submit_request(job, "run-1", settings))
    request = DeployRequest(env="me", ami_id="ami-1", results_db_password="pw")
    for source in ({"TemplateBody": "x"}, {"TemplateURL": "https://b.s3.amazonaws.com/k"}):
        _validate(
            "cloudformation",
            "CreateChangeSet",
            stack.build_change_set_request(
                request, "benchmarking-me", "deploy-1", "CREATE", source, None
            ),
        )
    for group_by in GroupBy:
        _validate(
            "ce",
            "GetCostAndUsage",
            costs.build_request(env="me", days=7, group_by=group_by, today=date(2026, 11, 25)),
        )
    _validate("ce", "ListCostAllocationTags", costs.build_tag_status_request(["owner", "env"]))


class _ValidatingBatch:
    """Stands in for a Batch client: validates every call against botocore's model."""

    def __init__(self, answers: dict[str, dict[str, Any]]) -> None:
        self._real = boto3.client(
            "batch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
        )
        self._answers = answers
        self.called: list[str] = []

    def __getattr__(self, name: str) -> Any:
        operation = self._real.meta.method_to_api_mapping[name]

        def call(**params: Any) -> dict[str, Any]:
            _validate("batch", operation, params)
            self.called.append(operation)
            return self._answers.get(operation, {})

        return call


def test_every_batch_call_of_the_facade_is_valid_for_the_service_model() -> None:
    job = {
        "jobId": "j1",
        "jobName": "n",
        "jobQueue": "q",
        "status": "RUNNING",
        "jobDefinition": "d",
    }
    fake = _ValidatingBatch(
        {
            "DescribeJobs": {"jobs": [job]},
            "ListJobs": {"jobSummaryList": []},
            "SubmitJob": {"jobId": "j1", "jobName": "n"},
            "DescribeJobQueues": {"jobQueues": []},
            "DescribeComputeEnvironments": {"computeEnvironments": []},
            "DescribeJobDefinitions": {"jobDefinitions": []},
        }
    )
    batch = BatchClient(fake)
    settings = SubmitSettings(target=Target("q", "d"), env="me", build="b")
    request = build_submit_request(
        PlannedJob("t1", "n", "w", "s3://b/p", "s3://b/r/"), "r", settings
    )
    batch.submit_job(request)
    batch.find_submitted(request)
    batch.describe_jobs(["j1"])
    batch.terminate_job("j1", "cancelled")
    batch.describe_job_queues(["q"])
    batch.describe_compute_environments(["e"])
    batch.describe_job_definitions(["d"])
    assert set(fake.called) == {
        "SubmitJob",
        "ListJobs",
        "DescribeJobs",
        "TerminateJob",
        "DescribeJobQueues",
        "DescribeComputeEnvironments",
        "DescribeJobDefinitions",
    }


# --------------------------------------------------------------------------- errors by code


def _client_error(code: str, message: str, operation: str = "DescribeStacks") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


def test_a_missing_stack_is_recognised_by_its_code() -> None:
    assert is_stack_missing(_client_error("ValidationError", "Stack with id x does not exist"))
    assert not is_stack_missing(_client_error("ValidationError", "Template format error"))
    assert not is_stack_missing(_client_error("ClientException", "Job queue q does not exist"))
    assert not is_stack_missing(RuntimeError("Stack with id x does not exist"))
    assert is_not_found(_client_error("NoSuchEntity", "gone", "GetRole"))
    assert not is_not_found(_client_error("AccessDenied", "does not exist", "GetRole"))


def test_no_package_reads_an_error_from_its_message_text() -> None:
    offenders = []
    for path in [*(REPO / "scheduler").rglob("*.py"), *(REPO / "worker").rglob("*.py")]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"""['"]\s+in\s+str\(""", line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert offenders == []


# --------------------------------------------------------------------------- one retry layer


class _ScriptedBatch(BaseHTTPRequestHandler):
    """Answers Batch's REST-JSON calls from a script: a list of statuses per operation path."""

    script: ClassVar[dict[str, list[int]]] = {}
    seen: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        path = self.path
        type(self).seen.append(path)
        statuses = type(self).script.get(path, [200])
        status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
        if status == 200:
            body: dict[str, Any] = {
                "/v1/describejobs": {"jobs": []},
                "/v1/listjobs": {"jobSummaryList": []},
                "/v1/submitjob": {"jobId": "new-job", "jobName": "n"},
            }.get(path, {})
        else:
            code = {429: "TooManyRequestsException", 400: "ClientException"}.get(
                status, "ServerException"
            )
            body = {"__type": code, "message": "scripted"}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status != 200:
            self.send_header("x-amzn-ErrorType", code)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def scripted() -> Iterator[tuple[str, type[_ScriptedBatch]]]:
    handler = type("Handler", (_ScriptedBatch,), {"script": {}, "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def _client(endpoint: str, attempts: int) -> Any:
    return boto3.client(
        "batch",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=Config(retries={"mode": "standard", "total_max_attempts": attempts}),
    )


def test_throttling_is_retried_by_botocore_alone(
    scripted: tuple[str, type[_ScriptedBatch]],
) -> None:
    endpoint, handler = scripted
    handler.script["/v1/describejobs"] = [429, 500, 200]
    batch = BatchClient(_client(endpoint, 3))
    assert batch.describe_jobs(["a"]) == []
    assert handler.seen.count("/v1/describejobs") == 3
    assert batch.calls == {"describe_jobs": 1}


def test_a_call_that_keeps_failing_is_tried_max_attempts_times_in_all(
    scripted: tuple[str, type[_ScriptedBatch]],
) -> None:
    endpoint, handler = scripted
    handler.script["/v1/describejobs"] = [429]
    with pytest.raises(BatchError, match="TooManyRequestsException"):
        BatchClient(_client(endpoint, 3)).describe_jobs(["a"])
    assert handler.seen.count("/v1/describejobs") == 3


def test_submit_is_retried_only_by_the_facade_after_a_look_up(
    scripted: tuple[str, type[_ScriptedBatch]],
) -> None:
    endpoint, handler = scripted
    handler.script["/v1/submitjob"] = [500, 500, 200]
    sleeps: list[float] = []
    batch = BatchClient(
        _client(endpoint, 3), submit_client=_client(endpoint, 1), sleep=sleeps.append
    )
    request = {"jobName": "n", "jobQueue": "q", "jobDefinition": "d", "tags": {"run": "r"}}
    assert batch.submit_job(request) == "new-job"
    assert handler.seen == [
        "/v1/submitjob",
        "/v1/listjobs",
        "/v1/submitjob",
        "/v1/listjobs",
        "/v1/submitjob",
    ]
    assert sleeps == [1.0, 2.0]


def test_a_user_error_on_submit_is_not_retried(
    scripted: tuple[str, type[_ScriptedBatch]],
) -> None:
    endpoint, handler = scripted
    handler.script["/v1/submitjob"] = [400]
    batch = BatchClient(_client(endpoint, 3), submit_client=_client(endpoint, 1))
    with pytest.raises(BatchError):
        batch.submit_job({"jobName": "n", "jobQueue": "q", "jobDefinition": "d"})
    assert handler.seen == ["/v1/submitjob"]


# --------------------------------------------------------------------------- no double submission


def _timeout_once(when: str) -> Any:
    """A Batch client on the moto server whose first SubmitJob times out ``when`` the server
    has ("after") or has not ("before") accepted it."""
    client = aws.client("batch", max_attempts=1)
    state = {"fired": False}

    def fail(**_kwargs: Any) -> None:
        if not state["fired"]:
            state["fired"] = True
            raise ReadTimeoutError(endpoint_url="moto")

    event = "after-call" if when == "after" else "before-send"
    client.meta.events.register(f"{event}.batch.SubmitJob", fail)
    return client


@pytest.mark.parametrize("when", ["after", "before"])
def test_a_submit_that_times_out_creates_exactly_one_job(aws_clean: MotoServer, when: str) -> None:
    setup = create_batch_resources("worker:test", aws_clean.endpoint)
    settings = SubmitSettings(target=Target(setup.queue, setup.job_definition), env="me")
    request = build_submit_request(
        PlannedJob("t1", "bench-once", "w", "s3://b/p.json", "s3://b/r/"), "run-1", settings
    )
    batch = BatchClient(
        aws.client("batch"), submit_client=_timeout_once(when), sleep=lambda _: None
    )
    job_id = batch.submit_job(request)

    listed = aws.client("batch").list_jobs(
        jobQueue=setup.queue, filters=[{"name": "JOB_NAME", "values": ["bench-once"]}]
    )["jobSummaryList"]
    assert [j["jobId"] for j in listed] == [job_id]
    calls = batch.calls
    assert calls["submit_job"] == (1 if when == "after" else 2)


def test_a_job_of_the_same_name_from_another_run_is_not_taken_for_ours(
    aws_clean: MotoServer,
) -> None:
    setup = create_batch_resources("worker:test", aws_clean.endpoint)
    settings = SubmitSettings(target=Target(setup.queue, setup.job_definition), env="me")
    job = PlannedJob("t1", "bench-same", "w", "s3://b/p.json", "s3://b/r/")
    earlier = BatchClient(aws.client("batch")).submit_job(
        build_submit_request(job, "run-0", settings)
    )
    batch = BatchClient(
        aws.client("batch"), submit_client=_timeout_once("before"), sleep=lambda _: None
    )
    ours = batch.submit_job(build_submit_request(job, "run-1", settings))
    assert ours != earlier


# --------------------------------------------------------------------------- region


@pytest.fixture
def no_region(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "config"
    config.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    return config


def test_the_profile_s_region_is_used(no_region: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    no_region.write_text("[default]\nregion = ap-south-2\n[profile other]\nregion = ca-west-1\n")
    assert aws.region() == "ap-south-2"
    assert aws.client("sqs").meta.region_name == "ap-south-2"
    monkeypatch.setenv("AWS_PROFILE", "other")
    assert aws.region() == "ca-west-1"
    monkeypatch.setenv("AWS_REGION", "sa-east-1")
    assert aws.region() == "sa-east-1"


def test_the_default_region_only_when_none_is_configured(
    no_region: Path, caplog: pytest.LogCaptureFixture
) -> None:
    aws._warn_default_region.cache_clear()
    with caplog.at_level("WARNING"):
        assert aws.region() == aws.DEFAULT_REGION
    assert "no AWS region configured" in caplog.text
    assert f"region): using {aws.DEFAULT_REGION}" in caplog.text
