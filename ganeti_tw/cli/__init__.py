"""What every gnt-* command shares: parsing, LUXI, job polling, tables, exit codes.

Imports no Twisted: a gnt-* call should cost little more than Python start-up.
"""

import argparse
import json
import os
import sys
import time
from typing import Any, Callable, Dict, List, NoReturn, Optional, Sequence

from ganeti_tw import constants as C, errors, luxi, ssconf, utils
from ganeti_tw.paths import Paths, get_paths


class UsageError(Exception):
    """Bad command line: one line, exit code 1."""


class Parser(argparse.ArgumentParser):
    """argparse that reports errors as one line and Ganeti's exit code 1."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError("%s: error: %s (see --help)" % (self.prog, message))


def bool_arg(text: str) -> bool:
    """``yes``/``no`` option values (gnt-node modify -C/-D/-O)."""
    value = text.strip().lower()
    if value in ("yes", "true", "y"):
        return True
    if value in ("no", "false", "n"):
        return False
    raise argparse.ArgumentTypeError("expected yes or no, got '%s'" % text)


def keyval_arg(text: str) -> Dict[str, Any]:
    """``key=val,key2=val2``; bare ``key`` is true, ``no_key`` false, ``-key`` null (spec 6.1)."""
    out: Dict[str, Any] = {}
    for item in filter(None, text.split(",")):
        if "=" in item:
            key, value = item.split("=", 1)
            parsed: Any = value
            if value.isdigit():
                parsed = int(value)
            elif value.lower() in ("true", "false"):
                parsed = value.lower() == "true"
        elif item.startswith("no_"):
            key, parsed = item[3:], False
        elif item.startswith("-"):
            key, parsed = item[1:], None
        else:
            key, parsed = item, True
        if key in out:
            raise argparse.ArgumentTypeError("duplicate key '%s' in '%s'" % (key, text))
        out[key] = parsed
    return out


def ident_keyval_arg(text: str) -> tuple:
    """``name:key=val,...`` (e.g. ``-H kvm:acpi=false``)."""
    name, _, rest = text.partition(":")
    if not name:
        raise argparse.ArgumentTypeError("expected NAME:key=value,... got '%s'" % text)
    return name, keyval_arg(rest)


def make_parser(prog: str, description: str) -> "tuple[Parser, Any]":
    parser = Parser(prog=prog, description=description)
    parser.add_argument("--root", help="node root directory (default: $GANETI_ROOT or /)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    subparsers.required = True
    return parser, subparsers


def add_command(sub: Any, name: str, func: Callable[[Any], int], help_text: str,
                aliases: Sequence[str] = ()) -> argparse.ArgumentParser:
    """A sub-command that runs ``func(opts)``; ``opts.cmd`` is its name."""
    p = sub.add_parser(name, help=help_text, aliases=list(aliases))
    p.set_defaults(func=func, cmd=name)
    return p


def add_list_options(parser: argparse.ArgumentParser, units: bool = True) -> None:
    parser.add_argument("--no-headers", action="store_true", help="do not print headers")
    parser.add_argument("--separator", help="field separator (disables alignment)")
    if units:
        parser.add_argument("--units", choices=["h", "m", "g", "t"],
                            help="units of size fields (default: h, or m with --separator)")
    parser.add_argument("-o", "--output", dest="output",
                        help="comma-separated fields; +FIELDS adds to the defaults")


def add_submit_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--submit", action="store_true",
                        help="submit the job and print its id without waiting")


def selected_fields(option: Optional[str], defaults: Sequence[str]) -> List[str]:
    if not option:
        return list(defaults)
    if option.startswith("+"):
        return list(defaults) + [f for f in option[1:].split(",") if f]
    return [f for f in option.split(",") if f]


# talking to the master ---------------------------------------------------------

def get_client(paths: Paths) -> luxi.Client:
    """A LUXI client, after checking (via ssconf) that this node is the master."""
    master, myself = ssconf.get_master_and_myself(paths)
    if master is None:
        raise errors.NotClusterError("This node is not part of a cluster (no ssconf files "
                                     "under %s)" % paths.data_dir)
    if master != myself:
        raise NotMasterError("This is not the master node, please connect to node %s" % master)
    return luxi.Client(paths.master_socket)


class NotMasterError(errors.GenericError):
    """The command must run on the master node."""


def format_log_message(entry: list) -> str:
    serial, ts, msg_type, message = entry
    if not isinstance(message, str):
        message = str(message)
    return "%s %s" % (time.ctime(ts[0] + ts[1] / 1e6), message)


def poll_job(client: luxi.Client, job_id: str,
             feedback: Callable[[list], None] = lambda e: print(format_log_message(e),
                                                                 flush=True)) -> list:
    """Follow a job to its end printing its log; return the opcode results or raise."""
    prev_info = None
    prev_serial = None
    while True:
        answer = client.wait_for_job_change(job_id, ["status"], prev_info, prev_serial)
        if answer is None:
            raise errors.JobLost("Job with id %s lost" % job_id)
        if answer == "nochange":
            continue
        info, entries = answer
        for entry in entries:
            feedback(entry)
            prev_serial = max(prev_serial or 0, entry[0])
        if info[0] in (C.JOB_STATUS_SUCCESS, C.JOB_STATUS_ERROR, C.JOB_STATUS_CANCELING,
                       C.JOB_STATUS_CANCELED):
            break
        prev_info = info
    rows = client.query_jobs([job_id], ["status", "opstatus", "opresult"])
    if not rows or rows[0] is None:
        raise errors.JobLost("Job with id %s lost" % job_id)
    status, opstatus, opresult = rows[0]
    if status == C.JOB_STATUS_SUCCESS:
        return opresult
    if status in (C.JOB_STATUS_CANCELING, C.JOB_STATUS_CANCELED):
        raise errors.OpExecError("Job %s was canceled" % job_id)
    for index, (op_status, result) in enumerate(zip(opstatus, opresult)):
        if op_status == C.OP_STATUS_ERROR:
            err = errors.decode_error(result)
            if index > 0:
                err.args = ("partial failure (opcode %d): %s"
                            % (index, ", ".join(map(str, err.args))),)
            raise err
    raise errors.OpExecError("Job %s finished with status %s" % (job_id, status))


def submit_or_wait(opts: Any, ops: List[Any]) -> Optional[list]:
    """Submit one job; with --submit print ``JobID: N`` and return None."""
    client = get_client(opts.paths)
    job_id = client.submit_job([op.to_dict() for op in ops])
    if getattr(opts, "submit", False):
        print("JobID: %s" % job_id)
        return None
    return poll_job(client, job_id)


def submit_one(opts: Any, op: Any) -> Any:
    results = submit_or_wait(opts, [op])
    return None if results is None else results[0]


# tables -------------------------------------------------------------------------------

def format_value(value: Any) -> str:
    if value is None:
        return "?"
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, (list, tuple)):
        return ",".join(format_value(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def generate_table(headers: Dict[str, str], fields: List[str], rows: List[List[Any]],
                   separator: Optional[str] = None, no_headers: bool = False,
                   units: Optional[str] = None, unit_fields: Sequence[str] = (),
                   num_fields: Sequence[str] = ()) -> List[str]:
    """Ganeti's list output: aligned columns, or ``separator``-joined fields."""
    if units is None:
        units = "m" if separator is not None else "h"
    table = []
    for row in rows:
        cells = []
        for field, value in zip(fields, row):
            if field in unit_fields and isinstance(value, (int, float)) and \
                    not isinstance(value, bool):
                cells.append(utils.format_unit(value, units))
            else:
                cells.append(format_value(value))
        table.append(cells)
    if not no_headers:
        table.insert(0, [headers.get(f, f) for f in fields])
    if separator is not None:
        return [separator.join(cells) for cells in table]
    widths = [max([len(r[i]) for r in table] or [0]) for i in range(len(fields))]
    lines = []
    for cells in table:
        parts = []
        for i, (field, cell) in enumerate(zip(fields, cells)):
            right = field in num_fields or field in unit_fields
            last = i == len(fields) - 1
            parts.append(cell.rjust(widths[i]) if right else
                         (cell if last else cell.ljust(widths[i])))
        lines.append(" ".join(parts).rstrip())
    return lines


# running a command ------------------------------------------------------------------------

EXIT_FOR_ERROR = [
    (errors.NotClusterError, C.EXIT_NOTCLUSTER),
    (errors.ConfigurationError, C.EXIT_CONFIG_ERROR),
    (NotMasterError, C.EXIT_NOTMASTER),
]


def _log_command(paths: Paths, argv: List[str]) -> None:
    """Append the invocation to commands.log (spec 6.1); never fails the command."""
    try:
        os.makedirs(paths.log_dir, mode=0o750, exist_ok=True)
        fd = os.open(paths.commands_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a") as fh:
            fh.write("%s pid=%d %s\n" % (time.strftime("%Y-%m-%d %H:%M:%S"), os.getpid(),
                                        " ".join(argv)))
    except OSError:
        pass


def parse_or_report(parser: Parser, argv: Optional[List[str]]) -> Optional[argparse.Namespace]:
    """The parsed options, or None after writing the usage error's one line to stderr."""
    try:
        return parser.parse_args(argv)
    except UsageError as err:
        sys.stderr.write("%s\n" % err)
        return None


def run(parser: Parser, argv: Optional[List[str]] = None) -> int:
    """Parse, dispatch to ``opts.func(opts)``, and turn errors into one line + exit code."""
    argv = sys.argv[1:] if argv is None else argv
    opts = parse_or_report(parser, argv)
    if opts is None:
        return C.EXIT_FAILURE
    opts.paths = get_paths(opts.root)
    _log_command(opts.paths, [parser.prog] + argv)
    try:
        code = opts.func(opts)
    except UsageError as err:
        sys.stderr.write("%s\n" % err)
        return C.EXIT_FAILURE
    except errors.GenericError as err:
        sys.stderr.write("%s\n" % errors.format_error(err))
        for cls, code in EXIT_FOR_ERROR:
            if isinstance(err, cls):
                return code
        return C.EXIT_FAILURE
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted\n")
        return C.EXIT_FAILURE
    except BrokenPipeError:
        return C.EXIT_FAILURE
    return code or C.EXIT_SUCCESS


def exit_process(main: Callable[[], int]) -> NoReturn:
    """The body of a bin/gnt-* script: run ``main``, flush the output, end the process.

    Skips the interpreter's teardown (``os._exit``): finalizing the modules
    costs about 8 ms per command, a tenth of a whole job's round trip, and a
    command has nothing left to clean up (its files are closed by their
    ``with`` blocks, its LUXI socket by the kernel). An unexpected exception
    still ends the normal way, with its traceback.
    """
    try:
        code = main()
    except SystemExit as err:  # argparse's --help
        code = err.code
    if code is not None and not isinstance(code, int):
        sys.exit(code)
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. "gnt-instance list | head -1"
        code = code or C.EXIT_FAILURE
    try:
        sys.stderr.flush()
    except BrokenPipeError:
        pass
    os._exit(code or 0)
