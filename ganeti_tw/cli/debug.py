"""gnt-debug: debugging commands."""

from typing import Any, List, Optional

from ganeti_tw import opcodes
from ganeti_tw.cli import Parser, UsageError, add_submit_option, make_parser, run, submit_one


def delay(opts: Any) -> int:
    if opts.duration < 0:
        raise UsageError("gnt-debug delay: error: the duration must not be negative")
    on_master = not opts.no_master and (opts.on_master or not opts.on_nodes)
    if not on_master and not opts.on_nodes:
        raise UsageError("gnt-debug delay: error: nothing to do: --no-master without -n NODE")
    submit_one(opts, opcodes.OpTestDelay(duration=opts.duration, on_master=on_master,
                                         on_nodes=opts.on_nodes))
    return 0


def build_parser() -> Parser:
    parser, sub = make_parser("gnt-debug", "Ganeti debugging commands")
    p = sub.add_parser("delay", help="run a job that sleeps (OP_TEST_DELAY)")
    p.add_argument("duration", type=float, help="seconds")
    p.add_argument("--on-master", action="store_true",
                   help="sleep on the master too (the default without -n)")
    p.add_argument("--no-master", action="store_true", help="do not sleep on the master")
    p.add_argument("-n", "--node", dest="on_nodes", action="append", default=[],
                   metavar="NODE", help="also sleep on NODE through node RPC (repeatable)")
    add_submit_option(p)
    p.set_defaults(func=delay)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    return run(build_parser(), argv)
