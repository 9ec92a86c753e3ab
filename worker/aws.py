"""Every AWS client is made here, at run time: explicit region, standard retries, and an
endpoint override from configuration (``AWS_ENDPOINT_URL``) for sandboxes and tests."""

from __future__ import annotations

import os
from typing import Any

DEFAULT_REGION = "eu-north-1"


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def client(service: str, *, region_name: str | None = None, max_attempts: int | None = None) -> Any:
    """A boto3 client using the standard credential chain; adaptive retries."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={
            "mode": "adaptive",
            "max_attempts": max_attempts or int(os.environ.get("AWS_MAX_ATTEMPTS", "8")),
        },
        connect_timeout=10,
        read_timeout=60,
        max_pool_connections=32,
    )
    endpoint = os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}") or os.environ.get(
        "AWS_ENDPOINT_URL"
    )
    return boto3.client(  # type: ignore[call-overload]
        service, region_name=region_name or region(), config=config, endpoint_url=endpoint or None
    )
