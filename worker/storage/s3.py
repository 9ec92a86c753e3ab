"""The S3 backend: multipart, concurrent transfers; sha256 recorded and verified."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

from worker import aws
from worker.errors import IntegrityError, NotFoundError, TransientError, aws_error
from worker.storage.base import CHUNK, ObjectInfo, ProgressCallback, Store, sha256_file

log = logging.getLogger(__name__)

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
    if isinstance(exc, (ClientError, BotoCoreError)):
        return aws_error(exc, what)  # 75 only for what a retry can fix
    return exc


#: Pauses before a whole transfer is started again, after botocore's own retries gave up on a
#: broken connection. Since botocore 1.44 those retries back off from 50 ms for such errors, so
#: all of them fit in a network blip of a few seconds; a transfer is idempotent (same key, same
#: bytes), so it is restarted, twice at most, before the job gives up (exit 75).
TRANSFER_RESTART_DELAYS = (2.0, 5.0)


def _restarting(
    what: str, transfer: Callable[[], None], sleep: Callable[[float], None] = time.sleep
) -> None:
    for delay in (*TRANSFER_RESTART_DELAYS, None):
        try:
            transfer()
            return
        except TransientError as exc:
            if delay is None:
                raise
            log.warning("%s: %s; restarting the transfer in %.0f s", what, exc, delay)
            sleep(delay)


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
        os.environ.get("AWS_MAX_ATTEMPTS"),  # read by aws.client into the client's config
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
        what = f"upload {path} to {self.uri(key)}"

        def upload() -> None:
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
                raise _wrap(exc, what) from exc

        _restarting(what, upload)
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
        what = f"download {self.uri(key)}"

        def download() -> None:
            try:
                self.client.download_file(
                    self.bucket, self._key(key), str(tmp), Config=_transfer_config(),
                    Callback=progress,
                )  # fmt: skip
            except Exception as exc:
                raise _wrap(exc, what) from exc

        try:
            _restarting(what, download)
            digest = sha256_file(tmp)
            if expected is not None and digest != expected:
                raise IntegrityError(
                    f"{self.uri(key)}: sha256 {digest} does not match the expected {expected}"
                )
            os.replace(tmp, dest)
        except IntegrityError:
            tmp.unlink(missing_ok=True)
            raise
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return ObjectInfo(info.uri, info.size, digest, info.etag)

    def open_read(self, key: str) -> BinaryIO:
        """A stream of the object that resumes where the network broke it (see
        :class:`_ResumingBody`)."""
        return cast(BinaryIO, _ResumingBody(self, key))

    def _get(self, key: str, *, offset: int = 0, etag: str | None = None) -> Any:
        """GetObject from ``offset``; with ``etag``, only if the object is still that one."""
        extra: dict[str, Any] = {}
        if offset:
            extra["Range"] = f"bytes={offset}-"
        if etag:
            extra["IfMatch"] = etag
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key), **extra)
        except Exception as exc:
            from botocore.exceptions import ClientError

            if isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in {
                "PreconditionFailed",
                "412",
            }:
                raise IntegrityError(
                    f"{self.uri(key)} changed while it was read; fetch it again"
                ) from exc
            raise _wrap(exc, self.uri(key)) from exc

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


class _ResumingBody:
    """The small file protocol tarfile/zstd need, over GetObject, resuming broken streams.

    A response stream that breaks (connection reset or closed, read timeout) is resumed with a
    ranged GET from the first byte not yet read, pinned to the object's ETag. Resuming is what
    lets a long dataset download survive a network blip without starting over. A stream that
    breaks ``RESUME_ATTEMPTS`` times in a row, each time before ``RESUME_PROGRESS`` more bytes
    arrived, is a lasting fault: ``TransientError`` (the job exits 75 and Batch retries it).
    """

    RESUME_ATTEMPTS = 5
    RESUME_PROGRESS = 16 * 1024 * 1024
    FIRST_DELAY = 0.2

    def __init__(self, store: S3Store, key: str, sleep: Any = None) -> None:
        self._store, self._key = store, key
        self._sleep = sleep or time.sleep
        resp = store._get(key)
        self._body = resp["Body"]
        self._etag: str | None = resp.get("ETag")
        self._offset = 0
        self._since_resume = 0
        self._failures = 0

    def read(self, size: int = -1) -> bytes:
        while True:
            try:
                data = cast(bytes, self._body.read(None if size is None or size < 0 else size))
            except Exception as exc:
                if not _is_broken_stream(exc):
                    raise
                self._resume(exc)
                continue
            self._offset += len(data)
            self._since_resume += len(data)
            return data

    def _resume(self, exc: Exception) -> None:
        if self._since_resume >= self.RESUME_PROGRESS:
            self._failures = 0
        self._failures += 1
        if self._failures > self.RESUME_ATTEMPTS:
            raise TransientError(
                f"{self._store.uri(self._key)}: the download kept breaking "
                f"({self.RESUME_ATTEMPTS} resumes at byte {self._offset}): {exc}"
            ) from exc
        self._sleep(self.FIRST_DELAY * 2 ** (self._failures - 1))
        self._close_body()
        self._body = self._store._get(self._key, offset=self._offset, etag=self._etag)["Body"]
        self._since_resume = 0

    def _close_body(self) -> None:
        with contextlib.suppress(Exception):  # a broken connection may fail to close
            self._body.close()

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._close_body()

    def __enter__(self) -> _ResumingBody:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _is_broken_stream(exc: Exception) -> bool:
    """A response stream the network broke (worth resuming), not a bug or a refusal."""
    from botocore.exceptions import BotoCoreError
    from urllib3.exceptions import HTTPError as Urllib3Error

    return isinstance(exc, BotoCoreError | Urllib3Error | ConnectionError | TimeoutError)


__all__ = ["CHUNK", "S3Store", "split_s3_uri"]
