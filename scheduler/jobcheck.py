"""Checks of a job against this machine, before anything is uploaded or started: the files it
names exist and, when it runs here, its JVM can be executed. (``worker.job`` checks the job's
own values; this module checks what they point at.)"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scheduler.artifacts import check_artifacts, resolve_local
from worker.errors import ConfigError
from worker.job import Job, Tool
from worker.jobfile import load_job


def local_inputs(job: Job) -> dict[str, str]:
    """The artifacts and the dataset, by logical name."""
    inputs = dict(job.artifacts)
    if job.dataset:
        inputs["dataset"] = job.dataset
    return inputs


def jvm_problem(jvm: str) -> str | None:
    """Why ``jvm`` cannot be executed here (None when it can)."""
    if "/" in jvm:
        path = Path(jvm)
        if not path.is_file():
            return f"jvm (--jvm): {jvm} does not exist"
        if not os.access(path, os.X_OK):
            return f"jvm (--jvm): {jvm} is not executable"
        return None
    if shutil.which(jvm) is None:
        return f"jvm (--jvm): {jvm!r} is not on the PATH; give the java binary's path"
    return None


def jmh_queries_problem(job: Job, job_dir: Path, java: str) -> str | None:
    """For a JMH job with ``queries`` and a local benchmarks jar: the queries that match no
    benchmark of the jar (asked from the jar itself, as the worker will)."""
    jar = resolve_local(job.artifacts.get("benchmarks", ""), job_dir)
    if job.tool is not Tool.JMH or not job.queries or jar is None or not jar.is_file():
        return None
    from worker.tools.jmh import list_benchmarks  # the tools' modules: only for a JMH job

    unmatched = [q for q in job.queries if not list_benchmarks(java, jar, (q,), dict(os.environ))]
    if unmatched:
        return f"queries (--queries): {', '.join(unmatched)} match no benchmark of {jar.name}"
    return None


def check_inputs(job: Job, job_dir: Path, *, runs_here: bool) -> None:
    """ConfigError listing every input that is missing (and the JVM when the job runs on this
    machine; a Batch job's JVM is the image's), then JMH queries that match no benchmark."""
    problems = check_artifacts(local_inputs(job), job_dir)
    if runs_here:
        problem = jvm_problem(job.jvm)
        if problem:
            problems.append(problem)
    if problems:
        raise ConfigError(problems)
    java = job.jvm if runs_here else shutil.which("java")
    problem = jmh_queries_problem(job, job_dir, java) if java else None
    if problem:
        raise ConfigError(problem)


def load_checked_job(
    job_file: Path | None, overrides: Mapping[str, Any], *, runs_here: bool
) -> tuple[Job, Path]:
    """The validated job and its directory (relative paths are relative to it)."""
    job = load_job(job_file, overrides)
    job_dir = job_file.parent if job_file else Path.cwd()
    check_inputs(job, job_dir, runs_here=runs_here)
    return job, job_dir
