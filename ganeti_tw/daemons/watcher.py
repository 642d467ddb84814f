"""ganeti-watcher as a twistd service: one watcher pass every ``--interval`` seconds.

The pass is blocking code shared with the cron command, so it runs in a
thread; passes never overlap (the next starts after the previous ended).
"""

import logging
from typing import Any

from twisted.application import internet, service
from twisted.internet import threads
from twisted.logger import LogLevel, Logger
from twisted.python import usage

from ganeti_tw import constants
from ganeti_tw.daemons.common import DaemonOptions, log_to_file
from ganeti_tw.watcher import node_watch

log = Logger()


class Options(DaemonOptions):
    synopsis = "[--root DIR] [--interval SECONDS] [--job-age SECONDS]"
    longdesc = ("Ganeti watcher: keeps the node daemon (and, on the master, the master's "
                "daemons and its instances) running.")
    optParameters = [
        ["interval", "i", constants.WATCHER_INTERVAL, "Seconds between passes", float],
        ["job-age", "A", constants.WATCHER_JOB_AGE,
         "Archive finished jobs older than this many seconds", int],
    ]

    def postOptions(self) -> None:
        if self["interval"] <= 0:
            raise usage.UsageError("--interval must be positive")


_LEVELS = {logging.DEBUG: LogLevel.debug, logging.INFO: LogLevel.info,
           logging.WARNING: LogLevel.warn, logging.ERROR: LogLevel.error,
           logging.CRITICAL: LogLevel.critical}


class _ToTwistedLog(logging.Handler):
    """The pass logs with the standard library; the service's log gets every line."""

    def emit(self, record: logging.LogRecord) -> None:
        log.emit(_LEVELS.get(record.levelno, LogLevel.info), "{message}",
                 message=record.getMessage())


class WatcherService(internet.TimerService):
    def __init__(self, paths: Any, interval: float, job_age: int):
        internet.TimerService.__init__(self, interval, self.run_pass)
        self.paths = paths
        self.job_age = job_age

    def run_pass(self) -> Any:
        d = threads.deferToThread(node_watch.run_once, self.paths, self.job_age)
        d.addErrback(lambda failure: log.failure("Watcher pass crashed", failure))
        return d


def makeService(options: Options) -> service.MultiService:
    paths = options.paths()
    log_to_file(paths, constants.DAEMON_WATCHER)
    logger = logging.getLogger("ganeti_tw.watcher")
    logger.setLevel(logging.INFO)
    logger.addHandler(_ToTwistedLog())
    top = service.MultiService()
    WatcherService(paths, options["interval"], options["job-age"]).setServiceParent(top)
    return top
