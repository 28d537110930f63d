"""The JSONL channel: one line per story (compact JSON, UTF-8, ``\\n``-terminated), once each.

Check-and-append under an exclusive ``fcntl.flock`` on the file itself, so any number of
threads and processes (on one host; flock is not reliable on NFS) can write to one file:

1. open (creating parent directories and the file), lock, make sure the path still names
   the inode we locked (a rotated file is reopened);
2. read the ids of lines written since this process last looked (the ids read so far are
   cached with the inode and the offset they cover, so repeated sends read only new bytes;
   a truncated or replaced file is read again from the start);
3. if the story id is there, stop: it was written (by us before a crash, or by another
   writer); otherwise append the line, ``fsync`` (and the directory when the file is new).

A line cut short by a crash is closed with a newline before the next line is appended and is
skipped when reading ids, so every other line stays valid JSON.

Errors (``DeliveryError``): permission refused, a read-only file system, a path that is or
crosses something other than a directory → ``permanent`` (a person must fix the path);
anything else (no space left, quota, I/O errors) → retryable, since it can clear up without
a configuration change. The story is never half-counted: the id cache only advances over
bytes that are on disk.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from worker.alerts.config import JsonlConfig
from worker.errors import DeliveryError

log = structlog.get_logger("peacewatch.alerts")

_CHUNK = 1 << 20
_PERMANENT = frozenset(
    {
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.ENAMETOOLONG,
        errno.ELOOP,
        errno.EINVAL,
    }
)


def story_line(story: Mapping[str, Any]) -> bytes:
    """The story as one JSONL line."""
    text = json.dumps(story, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode() + b"\n"


@dataclass
class _Seen:
    """Ids found in the file up to ``offset`` (a line boundary) of inode ``(dev, ino)``."""

    dev: int = -1
    ino: int = -1
    offset: int = 0
    ids: set[str] = field(default_factory=set)


class JsonlChannel:
    """Appends each story once to a JSON Lines file (see the module doc)."""

    type = "jsonl"

    def __init__(self, config: JsonlConfig) -> None:
        self.config = config
        self.name = config.name
        self.path = Path(config.path).expanduser()
        self._seen = _Seen()
        self._lock = threading.Lock()  # flock orders processes; this orders our threads

    def send(self, story: Mapping[str, Any], *, key: str) -> None:
        try:
            story_id = str(story["id"])
            line = story_line(story)
        except (KeyError, TypeError, ValueError) as exc:
            raise DeliveryError(
                f"jsonl channel {self.name!r}: the story has no id or is not JSON", permanent=True
            ) from exc
        with self._lock:
            try:
                written = self._append_once(story_id, line)
            except OSError as exc:
                error = self._translate(exc)
                log.warning(
                    "alert.jsonl.failed",
                    channel=self.name,
                    key=key,
                    path=str(self.path),
                    permanent=error.permanent,
                    reason=str(error),
                )
                raise error from exc
        if written:
            log.info("alert.sent", channel=self.name, type=self.type, key=key)
        else:
            log.info("alert.jsonl.already_written", channel=self.name, key=key, story=story_id)

    def close(self) -> None:
        """Nothing to release: the file is opened and closed on each send."""

    # -- the check-and-append --------------------------------------------------------------
    def _append_once(self, story_id: str, line: bytes) -> bool:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError as exc:  # a file stands where a directory should be
            raise NotADirectoryError(errno.ENOTDIR, "Not a directory", exc.filename) from exc
        fd, created = self._open_locked()
        try:
            size = self._read_new_ids(fd)
            tail = os.pread(fd, size - self._seen.offset, self._seen.offset)
            tail_id = _line_id(tail) if tail else None  # an unterminated last line
            if story_id in self._seen.ids or story_id == tail_id:
                return False
            data = line
            if tail:
                data = b"\n" + line  # close the line a crashed writer left unterminated
                if tail_id is not None:
                    self._seen.ids.add(tail_id)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
            if created:
                _fsync_dir(self.path.parent)
            self._seen.offset = size + len(data)
            self._seen.ids.add(story_id)
            return True
        finally:
            os.close(fd)  # releases the flock

    def _open_locked(self) -> tuple[int, bool]:
        """An O_APPEND descriptor of the file under an exclusive flock, and "just created"."""
        while True:
            created = False
            try:
                fd = os.open(
                    self.path,
                    os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                    0o644,
                )
                created = True
            except FileExistsError:
                fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                held = os.fstat(fd)
                try:
                    current = os.stat(self.path)
                except FileNotFoundError:
                    current = None
            except BaseException:
                os.close(fd)
                raise
            if current is not None and (current.st_dev, current.st_ino) == (
                held.st_dev,
                held.st_ino,
            ):
                return fd, created
            os.close(fd)  # rotated or removed while we waited for the lock: open again

    def _read_new_ids(self, fd: int) -> int:
        """Add the ids of complete lines past the cached offset; return the file size."""
        st = os.fstat(fd)
        seen = self._seen
        if (st.st_dev, st.st_ino) != (seen.dev, seen.ino) or st.st_size < seen.offset:
            self._seen = seen = _Seen(dev=st.st_dev, ino=st.st_ino)
        offset = seen.offset
        pending = b""
        while offset + len(pending) < st.st_size:
            chunk = os.pread(
                fd, min(_CHUNK, st.st_size - offset - len(pending)), offset + len(pending)
            )
            if not chunk:
                break
            buffer = pending + chunk
            end = buffer.rfind(b"\n")
            if end < 0:
                pending = buffer
                continue
            for raw in buffer[:end].split(b"\n"):
                story_id = _line_id(raw)
                if story_id is not None:
                    seen.ids.add(story_id)
            offset += end + 1
            pending = buffer[end + 1 :]
        seen.offset = offset  # a trailing partial line is read again next time
        return st.st_size

    def _translate(self, exc: OSError) -> DeliveryError:
        permanent = exc.errno in _PERMANENT
        reason = exc.strerror or type(exc).__name__
        return DeliveryError(
            f"jsonl channel {self.name!r}: cannot append to {self.path}: {reason}",
            permanent=permanent,
        )


def _line_id(raw: bytes) -> str | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        obj = json.loads(raw)
    except ValueError:
        return None  # a line cut short by a crash
    if isinstance(obj, dict) and obj.get("id") is not None:
        return str(obj["id"])
    return None


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
