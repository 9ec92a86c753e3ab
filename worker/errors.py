"""One hierarchy of the project's errors; each maps to a documented exit code."""

from __future__ import annotations

from collections.abc import Sequence

from worker.contract import ExitCode


class BenchInfraError(Exception):
    """Base of every error the project raises on purpose."""

    exit_code: ExitCode = ExitCode.TOOLING_FAILURE


class ConfigError(BenchInfraError):
    """Bad input or configuration. Carries one message per problem."""

    exit_code = ExitCode.BAD_CONFIG

    def __init__(self, problems: str | Sequence[str]) -> None:
        self.problems: list[str] = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class TransientError(BenchInfraError):
    """Infrastructure failed in a way worth retrying (network, storage, store outage)."""

    exit_code = ExitCode.TRANSIENT


class NotFoundError(BenchInfraError):
    """A named resource (object, stack, job, run) does not exist."""

    exit_code = ExitCode.BAD_CONFIG


class IntegrityError(BenchInfraError):
    """Downloaded bytes do not match their recorded checksum. Fetchers download once more
    (the transfer may have been garbled); when the second copy differs too, the stored object
    itself is wrong and no retry of the job can fix it: upload it again."""

    exit_code = ExitCode.BAD_CONFIG


class UnsafeArchiveError(ConfigError):
    """An archive holds a member that would land outside its target."""


#: What to do when no AWS credentials are found (said by every entry point).
NO_CREDENTIALS_HELP = (
    "no AWS credentials found: configure them (aws configure, AWS_PROFILE, or "
    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), or run against the local sandbox: "
    'eval "$(invoke sandbox-up)"'
)

#: AWS error codes a retry can fix (throttling, service-side trouble).
_RETRYABLE_AWS_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "ServerException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


def _aws_status(exc: BaseException) -> tuple[int, str] | None:
    """botocore's errors by class (imported only when one is at hand)."""
    if not type(exc).__module__.startswith("botocore"):
        return None
    from botocore import exceptions as bx

    if isinstance(exc, (bx.NoCredentialsError, bx.PartialCredentialsError)):
        return ExitCode.BAD_CONFIG, NO_CREDENTIALS_HELP
    if isinstance(exc, bx.NoRegionError):
        return ExitCode.BAD_CONFIG, "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION)"
    if isinstance(exc, bx.ProfileNotFound):
        return ExitCode.BAD_CONFIG, f"{exc}: check AWS_PROFILE and ~/.aws/config"
    if isinstance(exc, (bx.EndpointConnectionError, bx.ConnectionError, bx.ReadTimeoutError)):
        return ExitCode.TRANSIENT, f"AWS unreachable, worth a retry: {exc}"
    if isinstance(exc, bx.ClientError):
        error = exc.response.get("Error", {})
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if error.get("Code") in _RETRYABLE_AWS_CODES or status >= 500:
            return ExitCode.TRANSIENT, f"AWS failed after retries, worth a retry: {exc}"
        return ExitCode.BAD_CONFIG, str(exc)
    if isinstance(exc, bx.ParamValidationError):
        return ExitCode.BAD_CONFIG, str(exc)
    return None


def exit_status(exc: BaseException) -> tuple[int, str] | None:
    """The one mapping of errors to exit codes (README table): ``(code, message)``, or
    ``None`` for an error nobody classified (a bug of ours: exit 1 with its traceback).

    The project's errors carry their code; Ctrl-C is 130; AWS errors are read by class:
    missing credentials or region and refused requests are configuration (2), throttling,
    5xx and unreachable endpoints are worth a retry (75).
    """
    if isinstance(exc, BenchInfraError):
        return int(exc.exit_code), str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return ExitCode.INTERRUPTED, "interrupted"
    return _aws_status(exc)


def aws_error(exc: BaseException, what: str) -> BenchInfraError:
    """An AWS error as the project's error, by the same mapping: worth a retry (throttling,
    5xx, unreachable) or the user's to fix (credentials, refusals, bad requests)."""
    status = _aws_status(exc)
    if status is not None and status[0] == ExitCode.TRANSIENT:
        return TransientError(f"{what}: {status[1]}")
    if status is not None:
        return ConfigError(f"{what}: {status[1]}")
    return TransientError(f"{what}: {exc}")
