"""The scheduler's own errors; all of them belong to the project's one hierarchy."""

from __future__ import annotations

from worker.contract import ExitCode
from worker.errors import BenchInfraError, ConfigError, TransientError


class ImageError(BenchInfraError):
    """Building, logging in to a registry or pushing the worker image failed."""

    exit_code = ExitCode.TOOLING_FAILURE


class RegistryCredentialsError(ImageError):
    """The registry refused our credentials (or wanted some): the user's to fix, not a bug."""

    exit_code = ExitCode.BAD_CONFIG


class BatchError(BenchInfraError):
    """An AWS Batch (or CloudWatch Logs) call failed after its retries."""

    exit_code = ExitCode.TOOLING_FAILURE


class BatchRefusedError(BatchError, ConfigError):
    """Batch refused the request (unknown queue, job definition or job id, a bad parameter, no
    permission, no credentials): the options or the account must change, not a retry."""

    exit_code = ExitCode.BAD_CONFIG


class BatchUnavailableError(BatchError, TransientError):
    """Batch stayed throttled, failing (5xx) or unreachable through botocore's retries."""

    exit_code = ExitCode.TRANSIENT


class JobsFailedError(BenchInfraError):
    """One or more benchmark jobs of a run failed."""

    exit_code = ExitCode.BENCHMARK_FAILED


class WatchTimeoutError(BenchInfraError):
    """The run did not finish within the watch deadline (its jobs keep running)."""

    exit_code = ExitCode.TIMED_OUT


class ServiceStartError(ConfigError):
    """A local service of the sandbox (moto server, registry, dockerd) did not start.

    Almost always something missing on this machine (a package, a free port), so it is a
    configuration problem (exit 2); the message carries the last lines of the service's log.
    """
