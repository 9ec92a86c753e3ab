"""Results-store credentials, resolved at run time and never written anywhere.

Sources, as the original had them:

* a Secrets Manager secret ``{"username": ..., "password": ..., "uri": ...}`` named by
  ``ResultsStoreRef.secret_id`` or by ``BENCH_RESULTS_STORE_SECRET`` (read with the job's role);
* environment variables ``BENCH_RESULTS_STORE_URI``, ``BENCH_RESULTS_STORE_USER`` and
  ``BENCH_RESULTS_STORE_PASSWORD`` (local runs, CI).

Precedence: the password from the environment beats the secret's; the URI and the user come
from the job's ``ResultsStoreRef`` first, then the environment, then the secret. The secret is
fetched only when something is still missing. The password is never logged, never part of a
``repr`` and never part of an error message.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from worker import aws
from worker.contract import Env
from worker.errors import ConfigError, aws_error
from worker.params import ResultsStoreRef

log = logging.getLogger(__name__)

#: Fetches a secret's string by id; injectable for tests.
SecretFetcher = Callable[[str], str]


@dataclasses.dataclass(frozen=True)
class StoreCredentials:
    """Where the results store is and how to log in. ``password`` never shows in a repr."""

    uri: str
    user: str
    password: str = dataclasses.field(repr=False)
    database: str = "neo4j"
    #: Where the password came from, for messages: "environment" or "secret <id>".
    source: str = ""


def fetch_secret_string(secret_id: str) -> str:
    """The ``SecretString`` of a Secrets Manager secret (through ``worker.aws``)."""
    try:
        response = aws.client("secretsmanager").get_secret_value(SecretId=secret_id)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in {"ResourceNotFoundException", "AccessDeniedException", "DecryptionFailure"}:
            raise ConfigError(
                f"results-store secret {secret_id!r}: {code}; check the secret's name and that "
                "this role may read it"
            ) from None
        raise aws_error(exc, f"results-store secret {secret_id!r}") from None
    except BotoCoreError as exc:  # no credentials (2), unreachable (75), ...
        raise aws_error(exc, f"results-store secret {secret_id!r}") from None
    secret = response.get("SecretString")
    if not isinstance(secret, str):
        raise ConfigError(f"results-store secret {secret_id!r} has no SecretString")
    return secret


def parse_secret(secret_id: str, text: str) -> dict[str, str]:
    """Read ``{username, password, uri}``; messages never quote the secret's content."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError:
        raise ConfigError(
            f"results-store secret {secret_id!r} is not JSON; it must hold "
            '{"username": ..., "password": ..., "uri": ...}'
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"results-store secret {secret_id!r} must be a JSON object")
    unknown = sorted(set(data) - {"username", "password", "uri"})
    if unknown:
        log.warning("results-store secret %s has unexpected keys %s", secret_id, unknown)
    return {k: str(v) for k, v in data.items() if k in {"username", "password", "uri"} and v}


def resolve_uri(ref: ResultsStoreRef, environ: Mapping[str, str] | None = None) -> str:
    """The store URI from the job or the environment alone ("" when neither names one)."""
    env = os.environ if environ is None else environ
    return ref.uri or env.get(Env.RESULTS_STORE_URI, "")


def secret_id_of(ref: ResultsStoreRef, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return ref.secret_id or env.get(Env.RESULTS_STORE_SECRET, "")


def resolve_credentials(
    ref: ResultsStoreRef,
    *,
    environ: Mapping[str, str] | None = None,
    fetch: SecretFetcher = fetch_secret_string,
) -> StoreCredentials:
    """URI, user and password for ``ref``; raises ConfigError naming what is missing."""
    env = os.environ if environ is None else environ
    secret_id = secret_id_of(ref, env)
    uri = resolve_uri(ref, env)
    user = ref.user or env.get(Env.RESULTS_STORE_USER, "")
    password = env.get(Env.RESULTS_STORE_PASSWORD, "")
    source = "environment" if password else ""

    if secret_id and not (uri and user and password):
        secret = parse_secret(secret_id, fetch(secret_id))
        uri = uri or secret.get("uri", "")
        user = user or secret.get("username", "")
        if not password and secret.get("password"):
            password = secret["password"]
            source = f"secret {secret_id}"
        log.info("results-store credentials: read secret %s", secret_id)

    problems = []
    if not uri:
        problems.append(
            f"results store: no URI; set results_store.uri, {Env.RESULTS_STORE_URI} or the "
            "secret's 'uri'"
        )
    if not user:
        problems.append(
            f"results store: no user; set results_store.user, {Env.RESULTS_STORE_USER} or the "
            "secret's 'username'"
        )
    if not password:
        where = f"secret {secret_id!r} has no 'password'" if secret_id else "no secret is named"
        problems.append(
            f"results store: no password ({where}); set {Env.RESULTS_STORE_PASSWORD} or name a "
            f"secret with {Env.RESULTS_STORE_SECRET} / results_store.secret_id"
        )
    if problems:
        raise ConfigError(problems)
    return StoreCredentials(uri, user, password, ref.database or "neo4j", source)
