"""Small helpers with no Twisted dependency: durable files, sorting, units."""

import errno
import functools
import math
import os
import re
from typing import Iterable, List, Optional, Union


def fsync_dir(path: str) -> None:
    """fsync a directory so a rename inside it survives a crash."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_temp_path(dirname: str, name: str) -> str:
    """Where an atomic write of ``dirname/name`` puts its data before the rename."""
    return os.path.join(dirname, ".%s.tmp" % name)


def write_file_atomic(path: str, data: bytes, mode: int = 0o600,
                      sync_dir: bool = True) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new file."""
    dirname, basename = os.path.split(path)
    write_files_atomic(dirname, [(basename, data)], mode, sync_dir)


def write_files_atomic(dirname: str, files: Iterable[tuple], mode: int = 0o600,
                       sync_dir: bool = True) -> None:
    """Atomically replace several ``(name, data)`` files of one directory.

    Each file goes to ``.<name>.tmp``, is fsynced and renamed over ``name``;
    then the directory is fsynced, so a crash leaves every file old or new,
    never torn. All temp files are written before the first fsync: its
    journal commit carries the others, which makes a batch cost little more
    than one file. Writers of one file are serialized by their owner (one
    daemon, one writer), so the temp name needs no randomness, and left-overs
    of an interrupted write are recognisable.
    """
    pending = []
    try:
        for name, data in files:
            tmp = atomic_temp_path(dirname, name)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
            pending.append((fd, tmp, os.path.join(dirname, name)))
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        for fd, _, _ in pending:
            os.fsync(fd)
    except BaseException:
        for fd, tmp, _ in pending:
            os.close(fd)
            _unlink_quiet(tmp)
        raise
    for fd, _, _ in pending:
        os.close(fd)
    for _, tmp, path in pending:
        os.rename(tmp, path)
    if sync_dir:
        fsync_dir(dirname)


def _unlink_quiet(path: str) -> None:
    try:
        os.unlink(path)
    except OSError as err:
        if err.errno != errno.ENOENT:
            raise


def remove_file(path: str) -> None:
    """Remove a file; a missing file is not an error."""
    _unlink_quiet(path)


def read_file(path: str, limit: Optional[int] = None) -> bytes:
    with open(path, "rb") as fh:
        return fh.read() if limit is None else fh.read(limit)


def process_has_argument(pid: int, argument: str) -> bool:
    """Whether process ``pid`` lives and has ``argument`` on its command line.

    What tells a daemon we started (by the pidfile it was given) from an
    unrelated process that reuses its pid; a zombie has no command line.
    """
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as fh:
            argv = fh.read().split(b"\0")
    except OSError:
        return False
    return argument.encode() in argv


def ensure_dirs(dirs: Iterable[tuple]) -> None:
    """Create ``(path, mode)`` directories and force their modes."""
    for path, mode in dirs:
        os.makedirs(path, mode=mode, exist_ok=True)
        os.chmod(path, mode)


_NICE_RE = re.compile(r"(\d+)")


@functools.lru_cache(maxsize=65536)
def nice_sort_key(name: str) -> tuple:
    """Sort key putting node2 before node10 (Ganeti's "nice" order).

    Cached: the master sorts every instance name for each instance query.
    """
    return tuple(int(part) if part.isdigit() else part for part in _NICE_RE.split(name))


def nice_sort(names: Iterable[str]) -> List[str]:
    return sorted(names, key=nice_sort_key)


_UNIT_RE = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)$", re.IGNORECASE)
_UNIT_FACTORS = {"": 1, "m": 1, "mb": 1, "mib": 1, "g": 1024, "gb": 1024, "gib": 1024,
                 "t": 1024 * 1024, "tb": 1024 * 1024, "tib": 1024 * 1024}


def parse_unit(text: Union[str, int, float]) -> int:
    """``NUMBER[m|g|t]`` as MiB (plain number = MiB), rounded up to a multiple of 4 (spec 0).

    Rounding to 4 MiB keeps sizes whole LVM extents, as Ganeti does. Units
    are case-insensitive and may be spelled ``mb``/``mib`` etc.; raises
    ValueError, naming the text, for a negative size or anything else.
    """
    text = str(text).strip()
    if text.startswith("-"):
        raise ValueError("invalid size '%s': it must not be negative" % text)
    match = _UNIT_RE.match(text)
    if not match:
        raise ValueError("invalid size '%s' (expected a number with an optional unit "
                         "m, g or t)" % text)
    unit = match.group(2).lower()
    if unit not in _UNIT_FACTORS:
        raise ValueError("unknown unit '%s' in size '%s' (use m, g or t)"
                         % (match.group(2), text))
    value = float(match.group(1)) * _UNIT_FACTORS[unit]
    if not math.isfinite(value):
        raise ValueError("size '%s' is too large" % text)
    mib = math.ceil(value)
    return mib + (-mib % 4)


def format_unit(value: float, units: str) -> str:
    """Format a MiB value: ``h`` human readable, else ``m``/``g``/``t``."""
    if units == "h":
        if value >= 1024 * 1024:
            return "%.1fT" % (value / (1024.0 * 1024))
        if value >= 1024:
            return "%.1fG" % (value / 1024.0)
        return "%dM" % round(value)
    if units == "m":
        return "%d" % round(value)
    if units == "g":
        return "%.1f" % (value / 1024.0)
    if units == "t":
        return "%.1f" % (value / (1024.0 * 1024))
    raise ValueError("Invalid unit '%s'" % units)


def parse_age(text: str) -> int:
    """Parse an age with suffix s/m/h/d/w (bare number = seconds)."""
    text = text.strip()
    factors = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    suffix = text[-1:].lower()
    number = text[:-1] if suffix in factors else text
    factor = factors.get(suffix, 1)
    if not number.isdigit():
        raise ValueError("Invalid time specification '%s'" % text)
    return int(number) * factor
