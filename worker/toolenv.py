"""The environment benchmark processes get: the worker's, less every credential.

Benchmarks run in the worker's container and so could use whatever the worker can: the job
role's credentials (through the container-credentials endpoint the variables below point at),
keys given in the environment, the results-store password. None of it is theirs: the worker
alone talks to S3 and the results store. The macro tool is the exception the original had: it
writes to the results store itself, so it gets the password back (and nothing else).
"""

from __future__ import annotations

from collections.abc import Mapping

from worker.contract import Env

#: Variables removed from every tool process.
CREDENTIAL_VARIABLES = frozenset(
    {
        Env.RESULTS_STORE_PASSWORD,
        Env.RESULTS_STORE_SECRET,
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_ROLE_SESSION_NAME",
        # the job role, as ECS/Batch hands it to the container
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    }
)


def tool_environment(environ: Mapping[str, str], *, with_password: bool) -> dict[str, str]:
    """``environ`` without credentials; with the results-store password when asked."""
    env = {k: v for k, v in environ.items() if k not in CREDENTIAL_VARIABLES}
    if with_password and Env.RESULTS_STORE_PASSWORD in environ:
        env[Env.RESULTS_STORE_PASSWORD] = environ[Env.RESULTS_STORE_PASSWORD]
    return env
