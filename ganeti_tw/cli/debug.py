"""gnt-debug: debugging commands."""

from typing import Any, List, Optional

from ganeti_tw import constants as C, opcodes, utils
from ganeti_tw.cli import (Parser, UsageError, add_command, add_submit_option, make_parser, run,
                           submit_one)
from ganeti_tw.cli.instance import size_arg


def delay(opts: Any) -> int:
    if opts.duration < 0:
        raise UsageError("gnt-debug delay: error: the duration must not be negative")
    on_master = not opts.no_master and (opts.on_master or not opts.on_nodes)
    if not on_master and not opts.on_nodes:
        raise UsageError("gnt-debug delay: error: nothing to do: --no-master without -n NODE")
    submit_one(opts, opcodes.OpTestDelay(duration=opts.duration, on_master=on_master,
                                         on_nodes=opts.on_nodes))
    return 0


def build_allocator_op(opts: Any) -> opcodes.OpCode:
    """OP_TEST_ALLOCATOR from the options; NICs are ``mac/ip/bridge`` (empty = unset)."""
    try:
        disks = [{"size": utils.parse_unit(size), "mode": "w"} for size in opts.disks.split(",")]
    except ValueError as err:
        raise UsageError("gnt-debug allocator: error: --disks: %s" % err) from None
    nics = []
    for spec in opts.nics.split(","):
        parts = spec.split("/")
        if len(parts) > 3:
            raise UsageError("gnt-debug allocator: error: invalid NIC '%s' (expected "
                             "mac/ip/bridge)" % spec)
        parts += [""] * (3 - len(parts))
        nics.append({key: value or None for key, value in zip(("mac", "ip", "bridge"), parts)})
    return opcodes.OpTestAllocator(
        direction=opts.direction, mode=opts.mode, name=opts.name, mem_size=opts.mem,
        disks=disks, disk_template=opts.disk_template, nics=nics, os=opts.os_type,
        vcpus=opts.vcpus, tags=opts.tags.split(",") if opts.tags else [],
        allocator=opts.allocator)


def allocator(opts: Any) -> int:
    print(submit_one(opts, build_allocator_op(opts)))
    return 0


def build_parser() -> Parser:
    parser, sub = make_parser("gnt-debug", "Ganeti debugging commands")
    p = add_command(sub, "delay", delay, "run a job that sleeps (OP_TEST_DELAY)")
    p.add_argument("duration", type=float, help="seconds")
    p.add_argument("--on-master", action="store_true",
                   help="sleep on the master too (the default without -n)")
    p.add_argument("--no-master", action="store_true", help="do not sleep on the master")
    p.add_argument("-n", "--node", dest="on_nodes", action="append", default=[],
                   metavar="NODE", help="also sleep on NODE through node RPC (repeatable)")
    add_submit_option(p)

    p = add_command(sub, "allocator", allocator, "show an iallocator's input, or run it "
                                                 "(OP_TEST_ALLOCATOR)")
    p.add_argument("--dir", dest="direction", default=C.IALLOCATOR_DIR_IN,
                   choices=[C.IALLOCATOR_DIR_IN, C.IALLOCATOR_DIR_OUT],
                   help="in: print the allocator's input; out: run the allocator")
    p.add_argument("--algorithm", dest="allocator", metavar="NAME",
                   help="the allocator to run (with --dir out)")
    p.add_argument("-m", "--mode", default=C.IALLOCATOR_MODE_RELOC,
                   choices=[C.IALLOCATOR_MODE_ALLOC, C.IALLOCATOR_MODE_RELOC])
    p.add_argument("--mem", type=size_arg, default=128, metavar="SIZE",
                   help="memory of the instance (default 128)")
    p.add_argument("--disks", default="4096,4096", metavar="SIZE,SIZE...",
                   help="disk sizes (default 4096,4096)")
    p.add_argument("-t", "--disk-template", default=C.DT_FILE, choices=sorted(C.DISK_TEMPLATES),
                   help="default file")
    p.add_argument("--nics", default="00:11:22:33:44:55", metavar="MAC/IP/BRIDGE,...",
                   help="NICs (default 00:11:22:33:44:55)")
    p.add_argument("-o", "--os-type", metavar="OS")
    p.add_argument("-p", "--vcpus", type=int, default=1)
    p.add_argument("--tags", metavar="TAG,TAG...")
    p.add_argument("name", metavar="INSTANCE")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    return run(build_parser(), argv)
