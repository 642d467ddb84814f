"""``ganeti-watcher``: one watcher pass, for cron (every 5 minutes on every node)."""

import argparse
import logging
import os
import sys
from typing import List, Optional

from ganeti_tw import constants as C, errors
from ganeti_tw.cli import Parser, parse_or_report
from ganeti_tw.paths import get_paths
from ganeti_tw.watcher import node_watch
from ganeti_tw.watcher.pause import parse_timespec


def _timespec(text: str) -> int:
    try:
        return parse_timespec(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def main(argv: Optional[List[str]] = None) -> int:
    parser = Parser(prog="ganeti-watcher",
                    description="Keep this node's daemons and the cluster's instances "
                                "running (one pass)")
    parser.add_argument("--root", help="node root directory (default: $GANETI_ROOT or /)")
    parser.add_argument("-d", "--debug", action="store_true", help="also log to stderr")
    parser.add_argument("-A", "--job-age", type=_timespec, default=C.WATCHER_JOB_AGE,
                        help="archive finished jobs older than this (default 6h)")
    opts = parse_or_report(parser, argv)
    if opts is None:
        return C.EXIT_FAILURE
    paths = get_paths(opts.root)
    logger = logging.getLogger("ganeti_tw.watcher")
    logger.setLevel(logging.DEBUG if opts.debug else logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    try:
        os.makedirs(paths.log_dir, mode=0o750, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(paths.daemon_log(C.DAEMON_WATCHER))
    except OSError as err:
        sys.stderr.write("ganeti-watcher: cannot open the log file: %s\n" % err)
        return C.EXIT_FAILURE
    handler.setFormatter(fmt)
    logger.addHandler(handler)
    if opts.debug:
        stderr = logging.StreamHandler(sys.stderr)
        stderr.setFormatter(fmt)
        logger.addHandler(stderr)
    try:
        return node_watch.run_once(paths, opts.job_age)
    except errors.GenericError as err:
        sys.stderr.write("ganeti-watcher: %s\n" % errors.format_error(err))
        return C.EXIT_FAILURE
