"""Bounded reads and safe writes of the files phigate takes and produces.

Every input file (config, waivers, baseline, snapshot, plan) may be hostile: a pull request
chooses its paths and a committed config may name ``/dev/zero`` or a FIFO. A reader therefore
opens without blocking (``O_NONBLOCK``: a FIFO with no writer cannot hang the open), checks on
the open descriptor that it is a regular file (never a device, FIFO or socket), and reads in
chunks up to a byte limit: a file that grows past the limit while it is read is refused too.
A refusal is an input problem (exit 2) naming the file.

Limits have documented defaults (``LIMITS``) and can be changed per run with an environment
variable ``PHIGATE_MAX_<NAME>_BYTES`` (e.g. ``PHIGATE_MAX_SNAPSHOT_BYTES=2147483648``).

Every output file that holds estate data (snapshots, reports) is written through a temporary
file with an unpredictable name, created with ``O_EXCL | O_NOFOLLOW`` and mode 0600 in the
target's folder, then renamed over the target: another user cannot redirect it with a planted
symlink, a reader never sees half a file, and the result is private to its owner (a report
rewritten over one its owner made readable keeps that mode). A target that is itself a symlink
is refused, but for the system's own streams (``/dev/stdout``, ``/dev/stderr``, ``/dev/null``,
``/dev/fd/N``), which are written in place.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import stat
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import IO, BinaryIO, TypeVar, cast

from phigate.problems import Problem, ProblemsError

#: Default byte limits of each input, by name (the environment variable's ``<NAME>``).
LIMITS: dict[str, int] = {
    "config": 2 * 1024 * 1024,  # also policies, frameworks, fixtures: YAML written by people
    "waivers": 2 * 1024 * 1024,
    "baseline": 512 * 1024 * 1024,
    "snapshot": 256 * 1024 * 1024,  # a whole-document JSON snapshot
    "snapshot_yaml": 64 * 1024 * 1024,  # a YAML snapshot (YAML parses slower than JSON)
    "snapshot_lines": 16 * 1024 * 1024 * 1024,  # a JSON Lines snapshot, streamed
    "plan": 512 * 1024 * 1024,
    "terraform": 16 * 1024 * 1024,  # each .tf file beside a plan (read for line numbers)
    "inventory_manifest": 64 * 1024 * 1024,  # an S3 Inventory manifest.json
    "directory": 256 * 1024 * 1024,  # a Google Workspace group membership export
    "report": 256 * 1024 * 1024,  # a JSON report to sign, verify or import
    "attestation": 4 * 1024 * 1024,  # a DSSE envelope
    "key": 64 * 1024,  # a PEM key
}
T = TypeVar("T")
#: Private to the owner: snapshots and reports hold estate data.
PRIVATE_MODE = 0o600
_CHUNK = 1024 * 1024


def limit(name: str) -> int:
    """The byte limit for input ``name``: ``PHIGATE_MAX_<NAME>_BYTES`` or the default."""
    variable = f"PHIGATE_MAX_{name.upper()}_BYTES"
    value = os.environ.get(variable)
    if value is None:
        return LIMITS[name]
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number <= 0:
        raise ProblemsError([Problem(variable, 1, 1, "takes a positive number of bytes")])
    return number


def _refuse(path: Path | str, message: str) -> ProblemsError:
    return ProblemsError([Problem(str(path), 1, 1, message)])


def _open_regular(path: Path | str) -> int:
    """A descriptor on ``path`` once it is known to be a regular file (else an input problem)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _refuse(path, f"cannot read file: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _refuse(path, f"not a regular file ({_kind(mode)}): refused")
        # Regular files ignore O_NONBLOCK; cleared anyway so reads behave as usual.
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a pipe"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a file"


def read_bounded(path: Path | str, name: str, max_bytes: int | None = None) -> bytes:
    """The whole content of a regular file of at most ``max_bytes`` (default: ``limit(name)``)."""
    cap = limit(name) if max_bytes is None else max_bytes
    with open_bounded(path, name, cap) as stream:
        return stream.read()


def open_bounded(path: Path | str, name: str, max_bytes: int | None = None) -> BinaryIO:
    """A binary stream on a regular file that refuses (input problem) to read past the limit."""
    cap = limit(name) if max_bytes is None else max_bytes
    fd = _open_regular(path)
    try:
        size = os.fstat(fd).st_size
        if size > cap:
            raise _refuse(path, f"file is {size} bytes, over the {cap}-byte limit "
                                f"(PHIGATE_MAX_{name.upper()}_BYTES)")
        raw = io.FileIO(fd, "rb", closefd=True)
    except BaseException:
        os.close(fd)
        raise
    return io.BufferedReader(_Capped(raw, path, name, cap), _CHUNK)


class _Capped(io.RawIOBase):
    """Counts what is read; reading past ``cap`` bytes is an input problem."""

    def __init__(self, raw: io.FileIO, path: Path | str, name: str, cap: int) -> None:
        self._raw, self._path, self._name, self._cap, self._read = raw, path, name, cap, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        room = self._cap + 1 - self._read
        view = memoryview(buffer)[: max(1, min(len(buffer), room))]
        count = self._raw.readinto(view) or 0
        self._read += count
        if self._read > self._cap:
            raise _refuse(self._path, f"file grew past the {self._cap}-byte limit while it was read "
                                      f"(PHIGATE_MAX_{self._name.upper()}_BYTES)")
        return count

    def close(self) -> None:
        self._raw.close()
        super().close()


def refuse_symlink(path: Path) -> None:
    """An output path that is a symlink is refused: it may point anywhere another user chose."""
    if path.is_symlink():
        raise _refuse(path, "is a symbolic link: phigate does not write through links "
                            "(remove it or give another path)")


def atomic_write(path: Path, *, mode: int = PRIVATE_MODE,
                 keep_mode: bool = False) -> AbstractContextManager[IO[str]]:
    """Text written to ``path`` through a private temporary file, renamed into place. With
    ``keep_mode``, a file already at ``path`` keeps its permission bits (a report its owner
    chose to publish, say); phigate never widens them itself."""
    if keep_mode:
        with suppress(OSError):
            found = path.lstat()
            if stat.S_ISREG(found.st_mode):
                mode = stat.S_IMODE(found.st_mode) & 0o777
    return cast("AbstractContextManager[IO[str]]", _atomic_write(path, binary=False, mode=mode))


def write_whole(path: Path, render: Callable[[IO[str]], T], *, keep_mode: bool = True) -> T:
    """Text rendered into ``path``: whole or not at all, never through a link, created 0600 (with
    ``keep_mode``, keeping the mode of a file it replaces). A failure is an input problem (exit 2)."""
    try:
        with atomic_write(path, keep_mode=keep_mode) as out:
            return render(out)
    except OSError as exc:
        raise _refuse(path, f"cannot write: {exc.strerror or exc}") from None


def atomic_write_bytes(path: Path, *, mode: int = PRIVATE_MODE) -> AbstractContextManager[IO[bytes]]:
    """Bytes written to ``path`` as :func:`atomic_write` does."""
    return cast("AbstractContextManager[IO[bytes]]", _atomic_write(path, binary=True, mode=mode))


#: Streams named on the command line (``--format json=/dev/stdout``): written in place, since
#: there is nothing to replace; only the system controls these paths.
_STREAMS = re.compile(r"/dev/(?:stdout|stderr|null|fd/\d+)|/proc/self/fd/\d+")


@contextmanager
def _atomic_write(path: Path, *, binary: bool, mode: int) -> Iterator[IO[str] | IO[bytes]]:
    if _STREAMS.fullmatch(str(path)):
        with path.open("wb" if binary else "w", encoding=None if binary else "utf-8") as stream:
            yield stream
        return
    refuse_symlink(path)
    folder = path.parent
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    for _ in range(16):
        temporary = folder / f".{path.name}.{secrets.token_hex(8)}.partial"
        try:
            fd = os.open(temporary, flags, mode)
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - 16 collisions of 64 random bits
        raise _refuse(path, "cannot create a temporary file beside it")
    try:
        os.fchmod(fd, mode)  # whatever the umask: exactly ``mode``
        with (os.fdopen(fd, "wb") if binary
              else os.fdopen(fd, "w", encoding="utf-8")) as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        refuse_symlink(path)  # planted while the file was written
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


__all__ = ["LIMITS", "PRIVATE_MODE", "atomic_write", "atomic_write_bytes", "limit", "open_bounded",
           "read_bounded", "refuse_symlink", "write_whole"]
