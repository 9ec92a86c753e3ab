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


class IntegrityError(TransientError):
    """Downloaded bytes do not match their recorded checksum."""


class UnsafeArchiveError(ConfigError):
    """An archive holds a member that would land outside its target."""


class BenchmarkFailedError(BenchInfraError):
    """The benchmark tool failed."""

    exit_code = ExitCode.BENCHMARK_FAILED
