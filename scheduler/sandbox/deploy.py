"""``invoke deploy`` against the sandbox: the real template, with what moto needs said aloud.

moto gaps this works around (each is logged when it applies):
- The stack's job definitions mount the host's ``/work`` (the instance store on AWS), and the
  worker image empties its workspace on start: run by moto's Batch on this machine, that would
  empty this machine's ``/work``. The sandbox deploys a copy of the template whose host
  volumes all point into the sandbox's directory instead (``batch-work/<volume>``), and
  whose job definitions also carry the sandbox's endpoint and dummy credentials (job
  containers share the host network; on AWS the job role gives the credentials). They are
  not privileged (on AWS they are, for ``perf``): a Docker engine that itself runs in a
  container may not grant the capabilities. They name no log group: moto writes every job's
  log to ``/aws/batch/job``, where ``invoke logs`` then looks.
- moto's ECR has no registry behind it, so nothing can be pushed there: the sandbox tags its
  worker image locally with the name the job definitions use (``<repository URI>:<tag>``).
- Outputs are not computed after executing a change set: a no-op UpdateStack (same
  parameters, the template with a comment added) makes moto compute them.
Outside a sandbox (see :func:`scheduler.sandbox.lifecycle.active_state`) nothing changes.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from scheduler import stack
from scheduler.sandbox.lifecycle import SandboxState, active_state, remember_tags
from worker import aws

log = logging.getLogger(__name__)


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def sandbox_template(template: Path, state: SandboxState) -> Path:
    """A copy of ``template`` whose job definitions mount the sandbox's directory and reach
    the sandbox's endpoint."""
    work = Path(state.workdir) / "batch-work"
    work.mkdir(parents=True, exist_ok=True)
    data = yaml.safe_load(template.read_text(encoding="utf-8"))
    extra_env = [
        {"Name": key, "Value": value}
        for key, value in state.env.items()
        if key.startswith("AWS_")  # endpoint, region, moto's dummy credentials
    ]
    for resource in data.get("Resources", {}).values():
        if resource.get("Type") != "AWS::Batch::JobDefinition":
            continue
        props = resource["Properties"]["ContainerProperties"]
        props["Privileged"] = False
        props.pop("LogConfiguration", None)  # moto writes every job's log to /aws/batch/job
        for volume in props.get("Volumes", []):  # every host path: into the sandbox
            host = volume.get("Host") or {}
            if host.get("SourcePath"):
                host["SourcePath"] = str(work / str(volume.get("Name", "volume")))
                Path(host["SourcePath"]).mkdir(parents=True, exist_ok=True)
        names = {e["Name"] for e in extra_env}
        props["Environment"] = [
            e for e in props.get("Environment", []) if e["Name"] not in names
        ] + extra_env
    adapted = Path(state.workdir) / f"{template.stem}.sandbox{template.suffix}"
    adapted.write_text(yaml.dump(data, Dumper=_NoAliases, sort_keys=False), encoding="utf-8")
    return adapted


def job_definition_images(outputs: dict[str, str], batch: Any | None = None) -> list[str]:
    """The images the stack's job definitions (its ``JobDefinition*`` outputs) run."""
    batch = batch or aws.client("batch")
    arns = [v for k, v in outputs.items() if k.startswith("JobDefinition")]
    if not arns:
        return []
    found = batch.describe_job_definitions(jobDefinitions=arns)["jobDefinitions"]
    return sorted({str(d["containerProperties"]["image"]) for d in found})


def tag_sandbox_image(state: SandboxState, references: list[str]) -> list[str]:
    """Tag the sandbox's worker image as each reference of its JDK; the tags added."""
    from scheduler.images import jdk_of_tag, split_reference
    from scheduler.sandbox.docker_engine import start_engine

    jdk = jdk_of_tag(split_reference(state.image)[1])
    wanted = [r for r in references if jdk_of_tag(split_reference(r)[1]) == jdk]
    client = start_engine(Path(state.workdir) / "docker").client()
    try:
        image = client.images.get(state.image)
        for reference in wanted:
            repository, tag = split_reference(reference)
            image.tag(repository, tag)
    finally:
        client.close()
    return wanted


def recompute_outputs(
    name: str, template: Path, request: stack.DeployRequest, cf: Any | None = None
) -> None:
    """moto gap: outputs are null after a change set; a no-op UpdateStack computes them.

    moto treats any difference in the raw parameter list as a change (and then fails to
    "update" the bucket), so exactly the parameters the deploy gave are given again.
    """
    cf = cf or aws.client("cloudformation")
    values = {k: v for k, v in request.parameters().items() if v is not None}
    cf.update_stack(
        StackName=name,
        TemplateBody=template.read_text(encoding="utf-8") + "# sandbox: recompute outputs\n",
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()],
        Capabilities=stack.CAPABILITIES,
    )


def make_batch_service_linked_role(iam: Any | None = None) -> bool:
    """moto gap: its CreateServiceLinkedRole names Batch's role ``AWSServiceRoleForbatch``, not
    ``AWSServiceRoleForBatch`` as AWS does, so the compute environments would name a role that
    does not exist. The role is made as a plain one with the real name and path. False when
    it was there already."""
    from scheduler.stacktemplate import BATCH_SERVICE_LINKED_ROLE, BATCH_SERVICE_LINKED_ROLE_PATH

    iam = iam if iam is not None else aws.client("iam")
    if any(r["RoleName"] == BATCH_SERVICE_LINKED_ROLE for r in iam.list_roles()["Roles"]):
        return False
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "batch.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam.create_role(
        RoleName=BATCH_SERVICE_LINKED_ROLE,
        Path=BATCH_SERVICE_LINKED_ROLE_PATH,
        AssumeRolePolicyDocument=json.dumps(trust),
    )
    return True


def iter_deploy(request: stack.DeployRequest, *, dry_run: bool = False) -> Iterator[Any]:
    """:func:`scheduler.stack.iter_deploy`, adapted when AWS is the sandbox."""
    state = active_state()
    if state is None:
        yield from stack.iter_deploy(request, dry_run=dry_run)
        return
    template = sandbox_template(request.template_path, state)
    if make_batch_service_linked_role():
        log.warning(
            "sandbox: made Batch's service-linked role as a plain role (moto's "
            "CreateServiceLinkedRole gets its name wrong)"
        )
    log.warning(
        "sandbox: deploying %s: job definitions mount %s/batch-work instead of the host's "
        "/work, get the sandbox's endpoint and are not privileged",
        template,
        state.workdir,
    )
    for event in stack.iter_deploy(
        dataclasses.replace(request, template_path=template), dry_run=dry_run
    ):
        if isinstance(event, stack.StackDone) and not event.outputs:
            log.warning(
                "sandbox: moto computes no outputs after a change set; recomputing them with a "
                "no-op UpdateStack"
            )
            recompute_outputs(event.stack, template, request)
            event = dataclasses.replace(event, outputs=stack.stack_outputs(request.env))  # noqa: PLW2901
        if isinstance(event, stack.StackDone) and event.outputs:
            tagged = tag_sandbox_image(state, job_definition_images(event.outputs))
            remember_tags(state, tagged)
            for reference in tagged:
                log.warning(
                    "sandbox: moto's ECR holds no images; tagged %s as %s", state.image, reference
                )
        yield event
