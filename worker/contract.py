"""The contract between scheduler and worker, defined once and imported by both.

Exit codes, environment variable names, file names and the job-parameters schema version.
"""

from __future__ import annotations

import enum

#: Version of ``job-parameters.json``; the worker refuses versions it does not know.
JOB_PARAMETERS_VERSION = 1
#: Version of the results document (``results.json``).
RESULTS_DOCUMENT_VERSION = 1

JOB_PARAMETERS_FILE = "job-parameters.json"
RESULTS_FILE = "results.json"
#: What an attempt stopped from outside leaves, under ``interrupted/attempt-<n>/``.
INTERRUPTED_FILE = "interrupted.json"
WORKER_LOG_FILE = "worker.log"
TOOL_LOG_FILE = "tool.log"
#: Written next to ``results.json`` (and logged as this word) when the results store was
#: down after the document was safe in the object store: ``invoke results-sync`` replays it.
RESULTS_STORE_PENDING = "RESULTS_STORE_PENDING"


class ExitCode(enum.IntEnum):
    """Exit codes of the worker and of the tasks. Documented in the README."""

    OK = 0
    #: A failure of the tooling itself (a bug, an unexpected error).
    TOOLING_FAILURE = 1
    #: Bad input or configuration: fix the job, nothing was started.
    BAD_CONFIG = 2
    #: The benchmark (or a benchmark job of a run) failed.
    BENCHMARK_FAILED = 3
    #: ``watch --timeout`` ran out before the run ended (its jobs keep running); like timeout(1).
    TIMED_OUT = 124
    #: Interrupted (Ctrl-C, SIGINT): 128 + 2, as shells report it.
    INTERRUPTED = 130
    #: A transient infrastructure failure (network, storage, store outage): worth a retry.
    #: Also a job stopped by SIGTERM (Batch's stop): the retry runs it again.
    TRANSIENT = 75


class Env:
    """Environment variable names understood by the worker and set by the scheduler."""

    #: Batch sets this; locally the worker makes one up.
    BATCH_JOB_ID = "AWS_BATCH_JOB_ID"
    BATCH_JOB_ATTEMPT = "AWS_BATCH_JOB_ATTEMPT"
    #: Batch sets this in each child of an array job (0-based); the child's job id is also
    #: ``<parent id>:<index>``.
    BATCH_JOB_ARRAY_INDEX = "AWS_BATCH_JOB_ARRAY_INDEX"
    #: Results-store password, given at run time (never in job parameters).
    RESULTS_STORE_PASSWORD = "BENCH_RESULTS_STORE_PASSWORD"  # noqa: S105 - a variable name
    #: Results-store user and URI may also come from the environment.
    RESULTS_STORE_USER = "BENCH_RESULTS_STORE_USER"
    RESULTS_STORE_URI = "BENCH_RESULTS_STORE_URI"
    #: ARN or name of a Secrets Manager secret ``{username, password, uri}``.
    RESULTS_STORE_SECRET = "BENCH_RESULTS_STORE_SECRET"  # noqa: S105 - a variable name
    #: Directory holding async-profiler (``lib/libasyncProfiler.so``).
    ASYNC_PROFILER_DIR = "ASYNC_PROFILER_DIR"
    #: Worker image reference, recorded in provenance.
    WORKER_IMAGE = "BENCH_WORKER_IMAGE"
    #: Workspace directory of the worker (default ``/work/run`` in the image).
    WORKSPACE = "BENCH_WORKSPACE"
    #: Endpoint override for every AWS client (tests, sandboxes).
    AWS_ENDPOINT_URL = "AWS_ENDPOINT_URL"


#: Names that must never appear as keys in a job file or job parameters.
SECRET_KEYS = frozenset(
    {
        "password",
        "results_store_password",
        "results_store_pass",
        "results-store-pass",
        "results-store-password",
        "aws_secret",
        "aws-secret",
        "aws_secret_access_key",
        "aws_key",
        "aws-key",
        "secret",
        "token",
    }
)

#: The one Batch job parameter: the URI of the ``job-parameters.json`` of the job, or of the
#: array job whose children pick their entry by array index. Job definitions run
#: ``bootstrap-worker.sh run --job-parameters Ref::jobParameters``.
BATCH_JOB_PARAMETERS = "jobParameters"
