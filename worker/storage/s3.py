"""The S3 backend: multipart, concurrent transfers; sha256 recorded and verified."""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

from worker import aws
from worker.errors import IntegrityError, NotFoundError, TransientError
from worker.storage.base import CHUNK, ObjectInfo, ProgressCallback, Store, sha256_file

#: Object metadata key holding the content's sha256 (``x-amz-meta-sha256``).
SHA256_META = "sha256"
PART_SIZE = 16 * 1024 * 1024
#: Below this a file goes up in one PutObject from memory (logs, results, small recordings).
SMALL_FILE = 8 * 1024 * 1024


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"{uri!r} is not an s3:// URI")
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def _transfer_config() -> Any:
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(
        multipart_threshold=PART_SIZE,
        multipart_chunksize=PART_SIZE,
        max_concurrency=int(os.environ.get("BENCH_S3_CONCURRENCY", "4")),
        use_threads=True,
    )


def _is_missing(exc: Exception) -> bool:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        return code in {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}
    return False


def _wrap(exc: Exception, what: str) -> Exception:
    from botocore.exceptions import BotoCoreError, ClientError

    if _is_missing(exc):
        return NotFoundError(f"{what}: no such object or bucket")
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"}:
            return NotFoundError(f"{what}: access denied ({code}); check the AWS credentials")
        return TransientError(f"{what}: {code or exc}")
    if isinstance(exc, BotoCoreError):
        return TransientError(f"{what}: {exc}")
    return exc


_CLIENTS: dict[tuple[str | None, ...], Any] = {}
_CLIENTS_LOCK = threading.Lock()


def shared_client() -> Any:
    """One S3 client per process and configuration: every store of a worker job (parameters,
    artifacts, dataset, results, recordings) shares it instead of building its own (tens of
    milliseconds each). boto3 clients are thread-safe."""
    key = (
        os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"),
        aws.region(),
        os.environ.get("AWS_ACCESS_KEY_ID"),
        os.environ.get("AWS_PROFILE"),
    )
    with _CLIENTS_LOCK:
        if key not in _CLIENTS:
            _CLIENTS[key] = aws.client("s3")
        return _CLIENTS[key]


class S3Store(Store):
    """Objects under ``s3://bucket/prefix``."""

    def __init__(self, base_uri: str, client: Any | None = None) -> None:
        super().__init__(base_uri)
        self.bucket, self.prefix = split_s3_uri(self.base_uri)
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = shared_client()
        return self._client

    def _key(self, key: str) -> str:
        key = key.lstrip("/")
        return f"{self.prefix}/{key}" if self.prefix else key

    def head(self, key: str) -> ObjectInfo | None:
        try:
            resp = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            if _is_missing(exc):
                return None
            raise _wrap(exc, self.uri(key)) from exc
        meta = resp.get("Metadata", {})
        return ObjectInfo(
            self.uri(key), int(resp["ContentLength"]), meta.get(SHA256_META), resp["ETag"]
        )

    def put_file(
        self,
        path: Path,
        key: str,
        *,
        sha256: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> ObjectInfo:
        if path.stat().st_size < SMALL_FILE:
            return self._put_small_file(path, key, sha256, progress)
        digest = sha256 or sha256_file(path)
        try:
            self.client.upload_file(
                str(path),
                self.bucket,
                self._key(key),
                ExtraArgs={"Metadata": {SHA256_META: digest}},
                Config=_transfer_config(),
                Callback=progress,
            )
        except Exception as exc:
            raise _wrap(exc, f"upload {path} to {self.uri(key)}") from exc
        return ObjectInfo(self.uri(key), path.stat().st_size, digest, "")

    def _put_small_file(
        self, path: Path, key: str, sha256: str | None, progress: ProgressCallback | None
    ) -> ObjectInfo:
        """One read and one PutObject: no transfer manager and its threads for a log file."""
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if sha256 is not None and sha256 != digest:
            raise IntegrityError(f"{path} changed while being uploaded (sha256 {digest})")
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._key(key),
                Metadata={SHA256_META: digest},
                **_body(data),
            )
        except Exception as exc:
            raise _wrap(exc, f"upload {path} to {self.uri(key)}") from exc
        if progress is not None and data:
            progress(len(data))
        return ObjectInfo(self.uri(key), len(data), digest, "")

    def get_file(
        self,
        key: str,
        dest: Path,
        *,
        expected_sha256: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> ObjectInfo:
        info = self.head(key)
        if info is None:
            raise NotFoundError(f"no object at {self.uri(key)}")
        expected = expected_sha256 or info.sha256
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            self.client.download_file(
                self.bucket,
                self._key(key),
                str(tmp),
                Config=_transfer_config(),
                Callback=progress,
            )
            digest = sha256_file(tmp)
            if expected is not None and digest != expected:
                raise IntegrityError(
                    f"{self.uri(key)}: sha256 {digest} does not match the expected {expected}"
                )
            os.replace(tmp, dest)
        except IntegrityError:
            tmp.unlink(missing_ok=True)
            raise
        except Exception as exc:
            tmp.unlink(missing_ok=True)
            raise _wrap(exc, f"download {self.uri(key)}") from exc
        return ObjectInfo(info.uri, info.size, digest, info.etag)

    def open_read(self, key: str) -> BinaryIO:
        try:
            resp = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            raise _wrap(exc, self.uri(key)) from exc
        return cast(BinaryIO, _StreamingBody(resp["Body"]))

    def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> ObjectInfo:
        digest = hashlib.sha256(data).hexdigest()
        extra: dict[str, Any] = {"Metadata": {SHA256_META: digest}}
        if content_type:
            extra["ContentType"] = content_type
        try:
            resp = self.client.put_object(
                Bucket=self.bucket, Key=self._key(key), **_body(data), **extra
            )
        except Exception as exc:
            raise _wrap(exc, f"write {self.uri(key)}") from exc
        return ObjectInfo(self.uri(key), len(data), digest, resp.get("ETag", ""))

    def get_bytes(self, key: str) -> bytes:
        with self.open_read(key) as body:
            return body.read()

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        full = self._key(prefix)
        strip = len(self.prefix) + 1 if self.prefix else 0
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                for obj in page.get("Contents", []):
                    yield obj["Key"][strip:]
        except Exception as exc:
            raise _wrap(exc, f"list {self.uri(prefix)}") from exc


def _body(data: bytes) -> dict[str, bytes]:
    """PutObject's body argument; none for an empty object. An explicit empty body leaves some
    S3 servers (SeaweedFS) answering in a way that stalls the next request on the same pooled
    connection until the read timeout; without one the request is the same empty PUT."""
    return {"Body": data} if data else {}


class _StreamingBody:
    """Adapts botocore's StreamingBody to the small file protocol tarfile/zstd need."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def read(self, size: int = -1) -> bytes:
        return cast(bytes, self._body.read(None if size is None or size < 0 else size))

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._body.close()

    def __enter__(self) -> _StreamingBody:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["CHUNK", "S3Store", "split_s3_uri"]
