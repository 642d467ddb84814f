"""ganeti-cleaner (spec 11.2): prune the job archive and left-overs of interrupted writes.

Run daily from cron on every node. Finished jobs are archived by the
watcher and pruned here, so the queue directory never grows without bound.
"""

import os
import re
import sys
import time
from typing import List, Optional

from ganeti_tw import constants as C
from ganeti_tw.cli import Parser, parse_or_report
from ganeti_tw.paths import Paths, get_paths

# what utils.write_files_atomic leaves behind when interrupted: ".<name>.tmp"
_TEMP_RE = re.compile(r"^\..+\.tmp$")


def _older_than(path: str, cutoff: float) -> bool:
    try:
        return os.lstat(path).st_mtime < cutoff
    except FileNotFoundError:
        return False


def _remove(path: str) -> bool:
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False


def clean_archive(paths: Paths, max_age: float = C.CLEANER_ARCHIVE_AGE,
                  now: Optional[float] = None) -> List[str]:
    """Remove archived job files (``archive/<dir>/*``) older than ``max_age`` seconds."""
    cutoff = (time.time() if now is None else now) - max_age
    removed = []
    base = paths.queue_archive_dir
    if not os.path.isdir(base):
        return removed
    for subdir in sorted(os.listdir(base)):
        directory = os.path.join(base, subdir)
        if not os.path.isdir(directory):
            continue
        for name in os.listdir(directory):
            path = os.path.join(directory, name)
            if os.path.isfile(path) and _older_than(path, cutoff) and _remove(path):
                removed.append(path)
        try:
            os.rmdir(directory)  # only succeeds once empty
        except OSError:
            pass
    return removed


def clean_temp_files(paths: Paths, max_age: float = C.CLEANER_TEMP_AGE,
                     now: Optional[float] = None) -> List[str]:
    """Remove ``.<name>.tmp`` files of atomic writes interrupted more than ``max_age`` ago.

    A write in progress is younger than a second; the age threshold keeps
    the cleaner off files still being written.
    """
    cutoff = (time.time() if now is None else now) - max_age
    removed = []
    for directory in (paths.data_dir, paths.queue_dir, paths.run_dir, paths.fake_hv_dir):
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        for name in names:
            path = os.path.join(directory, name)
            if _TEMP_RE.match(name) and os.path.isfile(path) and _older_than(path, cutoff) \
                    and _remove(path):
                removed.append(path)
    return removed


def main(argv: Optional[List[str]] = None) -> int:
    parser = Parser(prog="ganeti-cleaner",
                    description="Remove archived jobs older than 21 days and stale "
                                "temporary files")
    parser.add_argument("--root", help="node root directory (default: $GANETI_ROOT or /)")
    parser.add_argument("-v", "--verbose", action="store_true", help="list removed files")
    opts = parse_or_report(parser, argv)
    if opts is None:
        return C.EXIT_FAILURE
    paths = get_paths(opts.root)
    try:
        removed = clean_archive(paths) + clean_temp_files(paths)
    except OSError as err:
        sys.stderr.write("ganeti-cleaner: %s\n" % err)
        return C.EXIT_FAILURE
    for path in removed if opts.verbose else []:
        print("removed %s" % path)
    return C.EXIT_SUCCESS
