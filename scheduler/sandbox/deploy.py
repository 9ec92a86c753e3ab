"""``invoke deploy`` against the sandbox: the real template, with what moto needs said aloud.

moto gaps this works around (each is logged when it applies):
- The stack's job definitions mount the host's ``/work`` (the instance store on AWS), and the
  worker image empties its workspace on start: run by moto's Batch on this machine, that would
  empty this machine's ``/work``. The sandbox deploys a copy of the template whose volumes
  point into the sandbox's directory instead.
- Outputs are not computed after executing a change set: a no-op UpdateStack (same
  parameters, the template with a comment added) makes moto compute them.
Outside a sandbox (see :func:`scheduler.sandbox.lifecycle.active_state`) nothing changes.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scheduler import stack
from scheduler.sandbox.lifecycle import SandboxState, active_state
from worker import aws

log = logging.getLogger(__name__)

HOST_WORK = "SourcePath: /work\n"


def sandbox_template(template: Path, state: SandboxState) -> Path:
    """A copy of ``template`` whose job definitions mount the sandbox's directory."""
    work = Path(state.workdir) / "batch-work"
    work.mkdir(parents=True, exist_ok=True)
    text = template.read_text(encoding="utf-8")
    adapted = Path(state.workdir) / f"{template.stem}.sandbox{template.suffix}"
    adapted.write_text(text.replace(HOST_WORK, f"SourcePath: {work}\n"), encoding="utf-8")
    return adapted


def recompute_outputs(name: str, template: Path, cf: Any | None = None) -> None:
    """moto gap: outputs are null after a change set; a no-op UpdateStack computes them."""
    cf = cf or aws.client("cloudformation")
    described = cf.describe_stacks(StackName=name)["Stacks"][0]
    cf.update_stack(
        StackName=name,
        TemplateBody=template.read_text(encoding="utf-8") + "# sandbox: recompute outputs\n",
        Parameters=[
            {"ParameterKey": p["ParameterKey"], "ParameterValue": p["ParameterValue"]}
            for p in described.get("Parameters", [])
        ],
        Capabilities=stack.CAPABILITIES,
    )


def iter_deploy(request: stack.DeployRequest, *, dry_run: bool = False) -> Iterator[Any]:
    """:func:`scheduler.stack.iter_deploy`, adapted when AWS is the sandbox."""
    state = active_state()
    if state is None:
        yield from stack.iter_deploy(request, dry_run=dry_run)
        return
    template = sandbox_template(request.template_path, state)
    log.warning(
        "sandbox: deploying %s: job definitions mount %s/batch-work instead of the host's /work",
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
            recompute_outputs(event.stack, template)
            yield dataclasses.replace(event, outputs=stack.stack_outputs(request.env))
        else:
            yield event
