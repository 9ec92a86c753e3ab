"""Picks the backend from a URI."""

from __future__ import annotations

from worker.errors import ConfigError
from worker.storage.base import Store


def open_store(base_uri: str) -> Store:
    """A store rooted at ``base_uri``: ``s3://bucket/prefix``, ``file:///dir`` or a path."""
    if base_uri.startswith("s3://"):
        from worker.storage.s3 import S3Store

        return S3Store(base_uri)
    if "://" in base_uri and not base_uri.startswith("file://"):
        scheme = base_uri.split("://", 1)[0]
        raise ConfigError(
            f"{base_uri}: storage scheme {scheme!r} is not supported; use s3://, file:// or a path"
        )
    from worker.storage.local import LocalStore

    return LocalStore(base_uri)


def open_object(uri: str) -> tuple[Store, str]:
    """The store holding one object and the object's key in it."""
    base, _, key = uri.rstrip("/").rpartition("/")
    if not key or base.endswith(":/") or base.endswith(":"):
        raise ConfigError(f"{uri}: not the URI of an object")
    return open_store(base or "."), key
