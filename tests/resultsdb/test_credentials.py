"""Results-store credentials: Secrets Manager (moto server) and environment, with precedence."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from scheduler.sandbox.moto_server import MotoServer
from tests.resultsdb.documents import make_document
from tests.services.neo4j import Neo4jServer
from worker import aws as aws_clients
from worker.contract import Env
from worker.credentials import resolve_credentials
from worker.errors import ConfigError
from worker.params import ResultsStoreRef
from worker.resultsdb.base import ResultsFilter
from worker.resultsdb.factory import open_results_store
from worker.resultsdb.neo4j import Neo4jResultsStore

SECRET = {"username": "client", "password": "s3cret-from-sm-77", "uri": "neo4j+s://db.example"}


def _create_secret(name: str, value: dict[str, str] | str) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return str(
        aws_clients.client("secretsmanager").create_secret(Name=name, SecretString=text)["ARN"]
    )


def test_everything_from_the_secret(aws: MotoServer, caplog: pytest.LogCaptureFixture) -> None:
    arn = _create_secret("bench/results-store", SECRET)
    caplog.set_level(logging.DEBUG, logger="worker")
    creds = resolve_credentials(ResultsStoreRef(secret_id=arn), environ={})
    assert (creds.uri, creds.user, creds.password) == (
        "neo4j+s://db.example",
        "client",
        "s3cret-from-sm-77",
    )
    assert creds.source == f"secret {arn}"
    assert "s3cret-from-sm-77" not in repr(creds)
    assert "s3cret-from-sm-77" not in caplog.text


def test_secret_named_by_the_environment(aws: MotoServer) -> None:
    _create_secret("bench/by-env", SECRET)
    creds = resolve_credentials(
        ResultsStoreRef(), environ={Env.RESULTS_STORE_SECRET: "bench/by-env"}
    )
    assert creds.user == "client"


def test_precedence(aws: MotoServer) -> None:
    _create_secret("bench/p", SECRET)
    env = {
        Env.RESULTS_STORE_SECRET: "bench/p",
        Env.RESULTS_STORE_PASSWORD: "env-password-1",
        Env.RESULTS_STORE_USER: "env-user",
        Env.RESULTS_STORE_URI: "bolt://env:7687",
    }
    # the environment's password beats the secret's; uri/user: job > environment > secret
    creds = resolve_credentials(
        ResultsStoreRef(uri="neo4j://job:7687", user="job-user"), environ=env
    )
    assert (creds.uri, creds.user, creds.password) == (
        "neo4j://job:7687",
        "job-user",
        "env-password-1",
    )
    assert creds.source == "environment"
    creds = resolve_credentials(ResultsStoreRef(), environ=env)
    assert (creds.uri, creds.user) == ("bolt://env:7687", "env-user")
    only_password = {Env.RESULTS_STORE_SECRET: "bench/p", Env.RESULTS_STORE_PASSWORD: "pw-2"}
    creds = resolve_credentials(ResultsStoreRef(), environ=only_password)
    assert (creds.uri, creds.user, creds.password) == ("neo4j+s://db.example", "client", "pw-2")


def test_the_secret_is_not_read_when_nothing_is_missing() -> None:
    def fetch(secret_id: str) -> str:
        raise AssertionError("must not be fetched")

    env = {Env.RESULTS_STORE_SECRET: "bench/x", Env.RESULTS_STORE_PASSWORD: "pw"}
    creds = resolve_credentials(ResultsStoreRef(uri="bolt://h", user="u"), environ=env, fetch=fetch)
    assert creds.password == "pw"


def test_missing_pieces_are_named() -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_credentials(ResultsStoreRef(), environ={})
    text = str(caught.value)
    assert "no URI" in text and "no user" in text and "no password" in text
    assert Env.RESULTS_STORE_PASSWORD in text and Env.RESULTS_STORE_SECRET in text


def test_missing_or_malformed_secret(aws: MotoServer) -> None:
    with pytest.raises(ConfigError, match="ResourceNotFoundException"):
        resolve_credentials(ResultsStoreRef(secret_id="bench/none"), environ={})
    _create_secret("bench/bad", "password=hunter2-not-json")
    with pytest.raises(ConfigError) as caught:
        resolve_credentials(ResultsStoreRef(secret_id="bench/bad"), environ={})
    assert "is not JSON" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_a_real_store_through_the_secret(
    aws: MotoServer, neo4j: Neo4jServer, tmp_path: Path
) -> None:
    secret = {"username": neo4j.user, "password": neo4j.password, "uri": neo4j.uri}
    arn = _create_secret("bench/harness", secret)
    store = open_results_store(ResultsStoreRef(secret_id=arn), workspace=tmp_path, environ={})
    assert isinstance(store, Neo4jResultsStore)
    store.write_document(make_document("tr-secret"))
    assert [r.test_run_id for r in store.runs(ResultsFilter())] == ["tr-secret"]
    store.close()
