"""Running one job in the worker image on the local Docker engine, as Batch would run it.

The container gets the same command a Batch job gets (``run --job-parameters URI``); AWS
credentials and the results-store secret reach it through its environment (never its command
line), taken from the caller's environment, plus ``~/.aws`` mounted read-only when present.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from worker.contract import Env
from worker.errors import ConfigError

log = logging.getLogger(__name__)

#: Environment variables passed through from the caller when set.
PASS_THROUGH = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    Env.AWS_ENDPOINT_URL,
    Env.RESULTS_STORE_PASSWORD,
    Env.RESULTS_STORE_USER,
    Env.RESULTS_STORE_URI,
    Env.RESULTS_STORE_SECRET,
)


@dataclasses.dataclass(frozen=True)
class LocalRun:
    image: str
    command: list[str]
    environment: dict[str, str] = dataclasses.field(repr=False)
    volumes: dict[str, dict[str, str]]
    name: str


def build_local_run(
    image: str,
    parameters_uri: str,
    environ: Mapping[str, str],
    *,
    home: Path | None = None,
    workspace: Path | None = None,
) -> LocalRun:
    """The container the job would be on Batch (pure: tests assert on it)."""
    job_id = f"local-{uuid.uuid4().hex[:12]}"
    env = {k: environ[k] for k in PASS_THROUGH if environ.get(k)}
    env[Env.BATCH_JOB_ID] = job_id
    env[Env.BATCH_JOB_ATTEMPT] = "1"
    env[Env.WORKER_IMAGE] = image
    volumes: dict[str, dict[str, str]] = {}
    aws_dir = (home or Path.home()) / ".aws"
    if aws_dir.is_dir():
        volumes[str(aws_dir)] = {"bind": "/root/.aws", "mode": "ro"}
    if workspace is not None:
        volumes[str(workspace.resolve())] = {"bind": "/work/run", "mode": "rw"}
    return LocalRun(image, ["run", "--job-parameters", parameters_uri], env, volumes, job_id)


def run_local(client: Any, spec: LocalRun, on_line: Callable[[str], None]) -> int:
    """Run the container on the host network, stream its output, remove it; its exit code."""
    container = client.containers.run(
        spec.image,
        spec.command,
        environment=spec.environment,
        volumes=spec.volumes,
        name=spec.name,
        network_mode="host",
        detach=True,
    )
    try:
        for raw in container.logs(stream=True, follow=True):
            for line in raw.decode(errors="replace").splitlines():
                on_line(line)
        return int(container.wait().get("StatusCode", 1))
    finally:
        container.remove(force=True)


def run_in_image(
    make_client: Callable[[], Any],
    image: str,
    *,
    job_parameters: str | None,
    job_file: Path | None,
    overrides: Mapping[str, Any],
    storage: str | None,
    workspace: Path | None,
    environ: Mapping[str, str],
    on_line: Callable[[str], None],
) -> tuple[str | None, int]:
    """``run-worker --image``: prepare the job in ``storage`` (unless ``job_parameters``
    names a prepared one), then run the image on the local engine with Batch's arguments.
    Returns the results URI of the prepared job (None when given one) and the exit code."""
    from scheduler.plan import prepare_run
    from worker.jobfile import load_job
    from worker.storage import open_store

    results_uri = None
    if job_parameters is None:
        if not storage:
            raise ConfigError(
                "--image needs --job-parameters URI, or a job file and --storage (an s3:// "
                "base the container can reach, e.g. the sandbox bucket)"
            )
        job = load_job(job_file, overrides)
        plan = prepare_run(
            [job], open_store(storage), job_dir=job_file.parent if job_file else Path.cwd()
        )
        job_parameters = plan.jobs[0].parameters_uri
        results_uri = plan.jobs[0].results_uri
    spec = build_local_run(image, job_parameters, environ, workspace=workspace)
    on_line(f"running {image} as job {spec.name}: run --job-parameters {job_parameters}")
    return results_uri, run_local(make_client(), spec, on_line)
