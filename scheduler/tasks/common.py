"""What every task module shares: the ``task`` decorator, settings, job and results-store
options, and the one place where errors leave the command line with their exit code."""

from __future__ import annotations

import inspect
import logging
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task as invoke_task

from scheduler.tasks.program import POSITIONAL_ATTR, quiet_stdout
from worker.errors import exit_status
from worker.jobfields import FIELD_HELP, OPTION_FIELDS

# botocore's DEBUG records hold whole request bodies, NoEcho stack parameters included: keep
# them off even when the root logger is turned up.
for _noisy in ("botocore", "boto3", "urllib3", "s3transfer"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)


def task(*, positional: Sequence[str] = (), **kwargs: Any) -> Callable[[Any], Any]:
    """``invoke.task`` with named options only. ``positional`` names options a user may also
    give as leading bare values (``invoke watch RUN_ID``); ``program.rewrite_argv`` maps them,
    so a missing value never swallows ``--help``. No generated one-letter flags: with this
    many options they would be arbitrary (``-4`` for ``--neo4j-commit``) and change whenever
    an option is added."""
    kwargs.setdefault("auto_shortflags", False)

    def decorate(func: Callable[..., Any]) -> Any:
        made = invoke_task(**kwargs)(func)
        setattr(made, POSITIONAL_ATTR, tuple(positional))
        return made

    return decorate


JOB_FIELD_NAMES = list(OPTION_FIELDS)
JOB_HELP = {name: FIELD_HELP[name] for name in OPTION_FIELDS}


def setting(c: Context, key: str, value: Any = None) -> Any:
    """An option's value, else the ``bench.<key>`` setting of invoke.yaml / INVOKE_BENCH_*."""
    return value if value is not None else c.config.get("bench", {}).get(key)


def repo_root(c: Context) -> Path:
    """The checkout the tasks run from (``tasks.py`` configures it; else the cwd)."""
    return Path(setting(c, "root") or Path.cwd())


def required(option: str, value: str | None) -> str:
    """A value the task cannot do without: options are named, so Invoke does not check it."""
    from worker.errors import ConfigError

    if not value or not value.strip():
        raise ConfigError(f"--{option}: required")
    return value


def err(text: str) -> None:
    """Progress and messages go to stderr; stdout stays machine-readable."""
    print(text, file=sys.stderr, flush=True)


@contextmanager
def errors() -> Iterator[None]:
    """Every error leaves as a message and its documented exit code (``exit_status``: the one
    mapping), without a traceback. Only errors nobody classified keep their traceback (exit 1:
    a bug of ours)."""
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        yield
    except Exit:
        raise
    except BrokenPipeError:
        quiet_stdout()
        raise Exit(code=0) from None
    except (Exception, KeyboardInterrupt) as exc:
        status = exit_status(exc)
        if status is None:
            raise
        code, message = status
        raise Exit("\n".join(f"error: {line}" for line in message.splitlines()), code) from None


def with_options(names: Iterable[str]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Offer ``names`` as string options of a task that takes them as ``**kwargs``."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(func)
        params = [p for p in sig.parameters.values() if p.kind != p.VAR_KEYWORD]
        params += [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=str)
            for name in names
        ]
        func.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        return func

    return decorate


#: Every job field as an option with its original spelling (--warmup-count ...).
with_job_options = with_options(JOB_FIELD_NAMES)

STORE_HELP = {
    "store_uri": "results store: bolt://, neo4j://, neo4j+s:// or sqlite:///path "
    "(default: setting results_store_uri, BENCH_RESULTS_STORE_URI, the secret, "
    "else the embedded store in the workspace)",
    "store_user": "results-store user (default: setting results_store_user, "
    "BENCH_RESULTS_STORE_USER or the secret's username)",
    "store_secret": "Secrets Manager secret {username, password, uri} (default: setting "
    "results_store_secret or BENCH_RESULTS_STORE_SECRET); the password never goes on a "
    "command line: it comes from the secret or BENCH_RESULTS_STORE_PASSWORD",
    "database": "Neo4j database name (default: setting results_store_database, else neo4j)",
    "workspace": "local workspace holding the embedded store (default: setting workspace)",
    "workspace_dir": "the original's name for --workspace",
}

#: The results-store options (--store-uri ...).
with_store_options = with_options(STORE_HELP)


def results_store_ref(
    c: Context,
    *,
    store_uri: str | None = None,
    store_user: str | None = None,
    store_secret: str | None = None,
    database: str | None = None,
) -> Any:
    """The results store (a ``ResultsStoreRef``) the options, else the settings, name."""
    from worker.params import ResultsStoreRef

    return ResultsStoreRef(
        uri=setting(c, "results_store_uri", store_uri) or "",
        user=setting(c, "results_store_user", store_user) or "",
        secret_id=setting(c, "results_store_secret", store_secret) or "",
        database=setting(c, "results_store_database", database) or "neo4j",
    )


def workspace_of(c: Context, workspace: str | None = None) -> Path:
    return Path(setting(c, "workspace", workspace) or ".work").resolve()


def open_results_store(
    c: Context,
    *,
    workspace: str | None = None,
    workspace_dir: str | None = None,
    **options: Any,
) -> Any:
    """The results store of the options (a context manager closing it)."""
    from worker.resultsdb.factory import open_results_store as open_store

    where = workspace_of(c, workspace or workspace_dir)
    return open_store(results_store_ref(c, **options), workspace=where)


def stack_of(c: Context, env: str | None, batch_stack: str | None) -> str:
    """The Batch stack: --batch-stack, the setting, else benchmarking-<env>."""
    from scheduler.stackinfo import stack_name

    return str(batch_stack or setting(c, "batch_stack") or stack_name(env or setting(c, "env")))


def storage_of(c: Context, storage: str | None, stack: str) -> str:
    """The storage base: --storage, bench.storage, or the stack's ArtifactBucket."""
    from scheduler.stackinfo import output, read_outputs

    value = storage or setting(c, "storage")
    if value:
        return str(value)
    return f"s3://{output(read_outputs(stack), 'ArtifactBucket', stack)}"


def job_options(job_fields: Mapping[str, Any], artifact: list[str] | None) -> dict[str, Any]:
    """The job fields given as options (the original spellings) and ``--artifact`` pairs."""
    from worker.jobfile import job_overrides

    return job_overrides(dict(job_fields), artifact or [])


def docker_client() -> Any:
    """The local Docker engine (imported here: ``invoke --list`` must not load docker)."""
    from docker.client import DockerClient

    return DockerClient.from_env(timeout=900)


TEAMCITY_HELP = "emit TeamCity service messages (default: when TEAMCITY_VERSION is set)"


def teamcity_reporter(flag: bool | None) -> Any:
    """The TeamCity reporter when wanted (``--teamcity`` or TEAMCITY_VERSION), else None."""
    from scheduler import teamcity

    return teamcity.TeamCity() if teamcity.wanted(flag) else None


def teamcity_block(flag: bool | None, name: str) -> AbstractContextManager[Any]:
    """A TeamCity block around a step when TeamCity is wanted, else nothing."""
    reporter = teamcity_reporter(flag)
    return reporter.block(name) if reporter else nullcontext()
