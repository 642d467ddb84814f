"""What every daemon shares: the --root option and logging to the root's log dir."""

import gc
import os
import sys
from typing import NoReturn

from twisted.logger import globalLogPublisher, textFileLogObserver
from twisted.python import usage

from ganeti_tw import constants, ssconf
from ganeti_tw.paths import Paths, get_paths


class DaemonOptions(usage.Options):
    optParameters = [
        ["root", None, None, "Root directory of this node's files (default: $GANETI_ROOT or /)"],
    ]

    def paths(self) -> Paths:
        return get_paths(self["root"])


def log_to_file(paths: Paths, daemon: str) -> None:
    """Send every log event also to the daemon's log file (0600).

    Events logged before twistd starts its own logging are buffered and
    replayed to every observer when it does; each event is written once.
    """
    os.makedirs(paths.log_dir, mode=0o750, exist_ok=True)
    path = paths.daemon_log(daemon)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    write = textFileLogObserver(os.fdopen(fd, "a", buffering=1))

    def observer(event: dict) -> None:
        if event.get(_LOGGED_KEY) is not observer:
            event[_LOGGED_KEY] = observer
            write(event)

    globalLogPublisher.addObserver(observer)


_LOGGED_KEY = "ganeti_tw_logged"


def require_master(paths: Paths, daemon: str, role: str) -> str:
    """This node's name if it is the master; else refuse to start with Ganeti's exit code.

    ``role`` says, for the message, what runs only on the master.
    """
    master, myself = ssconf.get_master_and_myself(paths)
    if master is None:
        fail_startup("%s: this node is not part of a cluster (no ssconf files under %s)"
                     % (daemon, paths.data_dir), constants.EXIT_NOTCLUSTER)
    if master != myself:
        fail_startup("%s: this node (%s) is not the master; %s runs on the master, %s"
                     % (daemon, myself, role, master), constants.EXIT_NOTMASTER)
    return myself


def fail_startup(message: str, code: int) -> NoReturn:
    """Refuse to start: one line on stderr, Ganeti's exit code."""
    sys.stderr.write("%s\n" % message)
    raise SystemExit(code)


# Young-generation collections after this many net allocations instead of 700.
# A bulk answer (1000 instances) allocates ~50 000 containers that live until
# it is written: with CPython's default, a collection runs every 700 of them,
# the half-built answer is promoted to the old generation, and full
# collections over the whole config and job queue follow every few requests
# (a third of masterd's and ganeti-rapi's CPU time for GET /2/instances?bulk=1).
GC_THRESHOLDS = (10000, 20, 20)


def tune_gc() -> None:
    """Collect cyclic garbage less often: a long-running daemon's heap is mostly long-lived."""
    gc.set_threshold(*GC_THRESHOLDS)
