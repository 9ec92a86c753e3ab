"""Safe extraction of a tar stream: tarfile reads the headers, the file data goes straight from
the decompressed chunks to ``os.write``.

``tarfile``'s own extraction copies every byte through its stream buffers in small pieces and
resolves each member's path twice (``realpath`` for the ``data`` filter); on a dataset of a
thousand files that made writing slower than downloading. Here tarfile only parses headers
(ustar, GNU long names, pax, sparse maps), over a forward-only reader of the decompressed
chunks, and the data of each regular file is written from those chunks without another copy.

Safety follows tarfile's ``data`` filter: no absolute names, no ``..``, links only to places
inside the target, no device files or FIFOs, no set-id bits and no group/other write, owners
ignored. Instead of resolving every path, the extractor remembers the symlinks it made and only
resolves (``realpath``) a member whose path runs through one of them. Files are created with
``O_EXCL | O_NOFOLLOW``, so an existing name (a duplicate member) is replaced, never written
through.
"""

from __future__ import annotations

import os
import queue
import stat
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import cast

from worker.errors import ConfigError, UnsafeArchiveError

#: Largest single ``os.write``; larger pieces are split.
_WRITE_MAX = 8 * 1024 * 1024


class ChunkReader:
    """A forward-only file object over a source of byte chunks (``b""`` at the end): what
    tarfile needs to parse headers (``read``, ``tell``, forward ``seek``), plus
    :meth:`views` to hand file data on without copying it."""

    def __init__(self, next_chunk: Callable[[], bytes]) -> None:
        self._next_chunk = next_chunk
        self._chunk = memoryview(b"")
        self._pos = 0
        self._offset = 0  # stream offset of self._chunk[0]
        self._eof = False

    def _fill(self) -> bool:
        """Make the current chunk non-empty; False at the end of the stream."""
        while self._pos >= len(self._chunk):
            if self._eof:
                return False
            self._offset += len(self._chunk)
            data = self._next_chunk()
            if not data:
                self._eof = True
                self._chunk, self._pos = memoryview(b""), 0
                return False
            self._chunk, self._pos = memoryview(data), 0
        return True

    def views(self, size: int) -> Iterator[memoryview]:
        """The next ``size`` bytes as slices of the chunks; ends early at the end of the
        stream (the caller counts)."""
        while size > 0 and self._fill():
            take = min(size, len(self._chunk) - self._pos)
            yield self._chunk[self._pos : self._pos + take]
            self._pos += take
            size -= take

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            parts = [bytes(v) for v in self.views(1 << 62)]
            return b"".join(parts)
        if self._fill() and len(self._chunk) - self._pos >= size:  # the usual case
            out = self._chunk[self._pos : self._pos + size].tobytes()
            self._pos += size
            return out
        return b"".join(v.tobytes() for v in self.views(size))

    def tell(self) -> int:
        return self._offset + self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        target = offset if whence == os.SEEK_SET else self.tell() + offset
        if whence not in (os.SEEK_SET, os.SEEK_CUR) or target < self.tell():
            raise OSError("the archive stream only moves forward")
        for _ in self.views(target - self.tell()):
            pass
        return self.tell()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, data: bytes) -> int:
        raise OSError("the archive stream is read-only")

    def close(self) -> None:
        """Nothing to release: the chunks' producer owns the source."""

    def drain(self) -> None:
        """Read to the end of the stream (tar padding, trailing blocks)."""
        while self._fill():
            self._pos = len(self._chunk)


def queue_source(chunks: queue.Queue[bytes | BaseException]) -> Callable[[], bytes]:
    """``next_chunk`` for :class:`ChunkReader` from a queue a producer thread fills; an
    exception put on the queue is raised here, in the consumer."""

    def next_chunk() -> bytes:
        item = chunks.get()
        if isinstance(item, BaseException):
            raise item
        return item

    return next_chunk


def file_mode(member: tarfile.TarInfo) -> int:
    """The mode of an extracted file, as tarfile's ``data`` filter sets it: no set-id or
    sticky bits, no group/other write, owner read and write always, executable only when the
    owner may execute."""
    mode = member.mode & 0o755
    if not mode & 0o100:
        mode &= ~0o111
    return mode | 0o600


class Extractor:
    """Extracts members one by one into ``target`` (an empty directory), refusing unsafe ones
    before anything of them is written."""

    def __init__(self, target: Path) -> None:
        self.target = str(target)
        self.top: str | None = None
        self._dirs: set[str] = {""}  # relative directories known to exist
        self._symlinks: set[str] = set()  # relative paths of the symlinks made
        self._dir_times: list[tuple[str, float]] = []

    def extract_all(self, reader: ChunkReader) -> str | None:
        """Every member of the archive; returns the single top-level directory's name."""
        try:
            archive = tarfile.TarFile(fileobj=reader, mode="r")
            while (member := archive.next()) is not None:
                self.extract(member, reader)
        except tarfile.TarError as exc:
            raise ConfigError(f"dataset archive is damaged or not a tar archive: {exc}") from None
        for path, mtime in reversed(self._dir_times):  # after their contents, like tar
            os.utime(path, (mtime, mtime), follow_symlinks=False)
        return self.top

    def extract(self, member: tarfile.TarInfo, reader: ChunkReader) -> None:
        name = self._checked_name(member)
        if not name:  # "." or "./": the target itself
            return
        self._check_kind(member)
        path = os.path.join(self.target, name)
        parent = name.rpartition("/")[0]
        self._make_dirs(parent)
        if member.isdir():
            self._make_dir(name, path, member)
        elif member.issym():
            self._check_link(member, parent)
            self._replace(path)
            os.symlink(member.linkname, path)
            self._symlinks.add(name)
        elif member.islnk():
            link = self._check_link(member, "")
            self._replace(path)
            try:
                os.link(os.path.join(self.target, link), path, follow_symlinks=False)
            except OSError as exc:  # no such member yet, or a directory
                raise ConfigError(
                    f"dataset archive: hard link {member.name!r} -> {member.linkname!r} does "
                    f"not name an earlier file ({exc.strerror})"
                ) from None
            os.chmod(path, file_mode(member), follow_symlinks=False)
        else:
            self._write_file(member, path, reader)

    # ------------------------------------------------------------------ checks

    def _checked_name(self, member: tarfile.TarInfo) -> str:
        """The member's normalised relative name, after the checks on names and layout."""
        raw = member.name
        parts = PurePosixPath(raw).parts
        if raw.startswith("/") or ".." in parts:
            raise UnsafeArchiveError(f"dataset archive refused: member {raw!r} escapes the target")
        parts = tuple(p for p in parts if p != ".")
        if not parts:
            return ""
        first = parts[0]
        if self.top is not None and first != self.top:
            raise ConfigError(
                f"dataset archive must hold exactly one top-level directory; found "
                f"{self.top!r} and {first!r}"
            )
        self.top = first
        name = "/".join(parts)
        self._check_no_symlink_on_the_way(name)
        return name

    def _check_no_symlink_on_the_way(self, name: str) -> None:
        """A path through a symlink this archive made is resolved and must stay inside."""
        if not self._symlinks:
            return
        prefix = name
        while "/" in prefix:
            prefix = prefix.rpartition("/")[0]
            if prefix in self._symlinks:
                real = os.path.realpath(os.path.join(self.target, name))
                base = os.path.realpath(self.target)
                if os.path.commonpath([real, base]) != base:
                    raise UnsafeArchiveError(
                        f"dataset archive refused: member {name!r} leads outside through "
                        f"the link {prefix!r}"
                    )
                return

    @staticmethod
    def _check_kind(member: tarfile.TarInfo) -> None:
        if not (member.isreg() or member.isdir() or member.issym() or member.islnk()):
            raise UnsafeArchiveError(
                f"dataset archive refused: {member.name!r} is a special file (device, FIFO "
                "or unknown type)"
            )

    def _check_link(self, member: tarfile.TarInfo, parent: str) -> str:
        """A link's target as a path from the top of the target; it must stay inside.

        A symlink's target is relative to its own directory, a hard link's to the archive's
        root; neither may be absolute or climb out. Once the archive has made symlinks, the
        target could run through one of them: it is then resolved (``realpath``) as well."""
        link = member.linkname
        kind = "link" if member.issym() else "hard link"
        if link.startswith("/"):
            raise UnsafeArchiveError(
                f"dataset archive refused: {kind} {member.name!r} -> {link!r} is absolute"
            )
        outside = UnsafeArchiveError(
            f"dataset archive refused: {kind} {member.name!r} -> {link!r} points outside"
        )
        depth = 0
        for part in PurePosixPath(parent, link).parts:
            depth += -1 if part == ".." else (0 if part == "." else 1)
            if depth < 0:
                raise outside
        joined = os.path.join(parent, link)
        if self._symlinks:
            base = os.path.realpath(self.target)
            real = os.path.realpath(os.path.join(self.target, joined))
            if os.path.commonpath([real, base]) != base:
                raise outside
        return joined

    # ------------------------------------------------------------------ writes

    def _make_dirs(self, rel: str) -> None:
        if rel in self._dirs:
            return
        os.makedirs(os.path.join(self.target, rel), exist_ok=True)
        while rel and rel not in self._dirs:
            self._dirs.add(rel)
            rel = rel.rpartition("/")[0]

    def _make_dir(self, name: str, path: str, member: tarfile.TarInfo) -> None:
        if name not in self._dirs:
            try:
                os.mkdir(path)
            except FileExistsError:
                if not stat.S_ISDIR(os.lstat(path).st_mode):
                    self._replace(path)
                    os.mkdir(path)
            self._dirs.add(name)
        self._dir_times.append((path, member.mtime))

    @staticmethod
    def _replace(path: str) -> None:
        """Makes room for a member whose name exists already (a later duplicate wins, as
        with tar); a directory is not replaced by a file or link."""
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            raise ConfigError(f"dataset archive: member {path!r} would replace a directory")
        os.unlink(path)

    def _write_file(self, member: tarfile.TarInfo, path: str, reader: ChunkReader) -> None:
        if member.offset_data < reader.tell():
            raise ConfigError(f"dataset archive is damaged at {member.name!r}")
        reader.seek(member.offset_data)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError:
            self._replace(path)
            fd = os.open(path, flags, 0o600)
        try:
            sparse = cast("list[tuple[int, int]] | None", member.sparse)  # typeshed: int
            if sparse is not None:
                for offset, size in sparse:
                    os.lseek(fd, offset, os.SEEK_SET)
                    self._copy(reader, fd, size, member)
                os.ftruncate(fd, member.size)
            else:
                self._copy(reader, fd, member.size, member)
            os.fchmod(fd, file_mode(member))
            os.utime(fd, (member.mtime, member.mtime))
        finally:
            os.close(fd)

    @staticmethod
    def _copy(reader: ChunkReader, fd: int, size: int, member: tarfile.TarInfo) -> None:
        left = size
        for piece in reader.views(size):
            left -= len(piece)
            view = piece
            while view:
                written = os.write(fd, view[:_WRITE_MAX])
                view = view[written:]
        if left:
            raise ConfigError(
                f"dataset archive is damaged or not a tar archive: unexpected end of data in "
                f"{member.name!r}"
            )
