"""The worker image keeps botocore's models only for the services something in it calls.

Dropping the other services' models saves ~25 MB of every pull; a service missing from the
list would fail at run time with ``UnknownServiceError``, so the list is checked here against
the clients the worker's code makes and those botocore's credential providers make.
"""

from __future__ import annotations

import re
from pathlib import Path

import botocore

REPO = Path(__file__).resolve().parents[2]
_KEPT_RE = re.compile(r'^ARG BOTOCORE_SERVICES="([^"]*)"$', re.MULTILINE)
#: ``aws.client("s3")``, ``boto3.client("s3")``, ``session.client("s3", ...)``
_WORKER_CLIENT_RE = re.compile(r"""\bclient\(\s*["']([a-z0-9-]+)["']""")
#: botocore's ``self._client_creator('sts', ...)`` and ``create_nested_client(s, "sso-oidc")``
BOTOCORE_CLIENT_RE = re.compile(
    r"""(?:_client_creator|create_nested_client)\(\s*(?:[\w.]+,\s*)?["']([a-z0-9-]+)["']"""
)


def kept_services() -> set[str]:
    found = _KEPT_RE.findall((REPO / "Dockerfile.worker").read_text())
    assert len(found) == 1, "Dockerfile.worker declares BOTOCORE_SERVICES once"
    return set(found[0].split())


def worker_services() -> set[str]:
    return {
        name
        for path in (REPO / "worker").rglob("*.py")
        for name in _WORKER_CLIENT_RE.findall(path.read_text())
    }


def credential_provider_services() -> set[str]:
    package = Path(botocore.__file__).parent
    return {
        name
        for module in ("credentials.py", "tokens.py")
        for name in BOTOCORE_CLIENT_RE.findall((package / module).read_text())
    }


def test_the_image_keeps_the_models_of_every_service_the_worker_calls() -> None:
    called = worker_services()
    assert {"s3", "secretsmanager"} <= called  # the scan finds what it should
    assert called <= kept_services(), called - kept_services()


def test_the_image_keeps_the_models_botocores_credential_providers_need() -> None:
    needed = credential_provider_services()
    assert {"sts", "sso", "sso-oidc"} <= needed  # the scan finds what it should
    assert needed <= kept_services(), needed - kept_services()


def test_every_kept_service_exists_in_botocore() -> None:
    data = Path(botocore.__file__).parent / "data"
    assert {name for name in kept_services() if not (data / name).is_dir()} == set()
