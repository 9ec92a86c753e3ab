"""Every AWS client is made here, at run time: explicit region, standard retries, and an
endpoint override from configuration (``AWS_ENDPOINT_URL``) for sandboxes and tests.

Region: the standard chain decides (``AWS_REGION``, ``AWS_DEFAULT_REGION``, then the region of
the selected profile in ``~/.aws/config``). Only when none of them names a region is
:data:`DEFAULT_REGION` used, and a warning says so, so a user's configured region is never
overridden by ours.

Retries: botocore's ``adaptive`` mode is the one retry layer for throttling, 5xx and
connection errors. Calls that must not be repeated blindly (SubmitJob has no idempotency
token) use a client with ``max_attempts=1`` and retry themselves after checking what the
first attempt did (:mod:`scheduler.batch`).
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any

log = logging.getLogger(__name__)

#: Used only when neither the environment nor the profile names a region.
DEFAULT_REGION = "eu-north-1"

#: Every byte we move through S3 is already covered by our own sha256 (recorded at upload,
#: verified after download), so botocore's extra passes over each body are skipped: no CRC32
#: checksum unless an operation requires one, and no sha256 of the payload for the request
#: signature (on https botocore skips that anyway; on plain-http endpoints it would hash every
#: part once more).
_S3_TRANSFER_SETTINGS: dict[str, Any] = {
    "request_checksum_calculation": "when_required",
    "response_checksum_validation": "when_required",
    "s3": {"payload_signing_enabled": False},
}


def configured_region() -> str | None:
    """The region the standard chain names (environment, then profile), or None."""
    import botocore.session

    from_env = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if from_env:
        return from_env
    try:
        value = botocore.session.get_session().get_config_variable("region")
    except Exception:  # a broken profile file: the client call will report it
        return None
    return str(value) if value else None


def region() -> str:
    """The configured region, else :data:`DEFAULT_REGION` (with a warning, once)."""
    configured = configured_region()
    if configured:
        return configured
    _warn_default_region()
    return DEFAULT_REGION


@functools.cache
def _warn_default_region() -> None:
    log.warning(
        "no AWS region configured (AWS_REGION, AWS_DEFAULT_REGION or the profile's region):"
        " using %s",
        DEFAULT_REGION,
    )


def client(service: str, *, region_name: str | None = None, max_attempts: int | None = None) -> Any:
    """A boto3 client using the standard credential chain; adaptive retries."""
    import boto3
    from botocore.config import Config

    config = Config(
        # total_max_attempts counts the first call; botocore's "max_attempts" key would not
        retries={
            "mode": "adaptive",
            "total_max_attempts": max_attempts or int(os.environ.get("AWS_MAX_ATTEMPTS", "8")),
        },
        connect_timeout=10,
        read_timeout=60,
        max_pool_connections=32,
        **(_S3_TRANSFER_SETTINGS if service == "s3" else {}),
    )
    endpoint = os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}") or os.environ.get(
        "AWS_ENDPOINT_URL"
    )
    # Any: boto3-stubs types client() per literal service name; ours is a plain str.
    make_client: Any = boto3.client
    return make_client(
        service, region_name=region_name or region(), config=config, endpoint_url=endpoint or None
    )
