"""The watcher pause (``gnt-cluster watcher pause|continue|info``, from Ganeti 2.2).

One file per node holding the Unix time until which the watcher does
nothing; admins set it cluster-wide before maintenance so the watcher does
not restart what they stop on purpose.
"""

import time
from typing import Optional

from ganeti_tw import utils
from ganeti_tw.paths import Paths


def write_pause(paths: Paths, until: Optional[float]) -> None:
    """Pause until ``until`` (Unix time); None resumes."""
    if until is None:
        utils.remove_file(paths.watcher_pause_file)
    else:
        utils.ensure_dirs([(paths.data_dir, 0o755)])
        utils.write_file_atomic(paths.watcher_pause_file, b"%d\n" % int(until), mode=0o644)


def read_pause(paths: Paths, now: Optional[float] = None) -> Optional[float]:
    """Until when the watcher is paused, or None (no pause, expired or unreadable)."""
    try:
        until = float(utils.read_file(paths.watcher_pause_file).decode().strip())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return until if until > (time.time() if now is None else now) else None


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_timespec(text: str) -> int:
    """Seconds in ``30``, ``90s``, ``15m``, ``6h``, ``2d`` or ``1w`` (Ganeti's time specs)."""
    text = text.strip().lower()
    unit = 1
    if text and text[-1] in _UNITS:
        text, unit = text[:-1], _UNITS[text[-1]]
    if not text.isdigit():
        raise ValueError("invalid time specification (expected e.g. 30, 90s, 15m, 6h, 2d, 1w)")
    return int(text) * unit
