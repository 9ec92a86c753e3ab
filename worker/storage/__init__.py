"""One storage interface with two real backends: S3 (``s3://``) and a local directory.

``open_store(uri)`` returns a :class:`Store` rooted at ``uri``; keys are relative to it.
"""

from __future__ import annotations

from worker.storage.base import ObjectInfo, ProgressCallback, Store, join_uri
from worker.storage.factory import open_object, open_store

__all__ = ["ObjectInfo", "ProgressCallback", "Store", "join_uri", "open_object", "open_store"]
