"""gnt-job: inspect and control jobs."""

import json
import sys
import time
from typing import Any, List, Optional

from ganeti_tw import constants as C, errors, serializer, utils
from ganeti_tw.cli import (Parser, UsageError, add_command, add_list_options,
                           generate_table, get_client, make_parser, poll_job, run,
                           selected_fields)
from ganeti_tw.jqueue.job import JOB_FIELDS

DEFAULT_FIELDS = ["id", "status", "summary"]
HEADERS = {
    "id": "ID", "status": "Status", "ops": "OpCodes", "opresult": "OpCode_result",
    "opstatus": "OpCode_status", "oplog": "OpCode_log", "opstart": "OpCode_start",
    "opexec": "OpCode_exec", "opend": "OpCode_end", "received_ts": "Received",
    "start_ts": "Start", "end_ts": "End",
    "summary": "Summary",
}
TS_FIELDS = ("received_ts", "start_ts", "end_ts")
OP_TS_FIELDS = ("opstart", "opexec", "opend")


def format_ts(ts: Optional[list]) -> str:
    if not ts:
        return "N/A"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts[0])) + ".%06d" % ts[1]


def _job_ids(args: List[str]) -> List[str]:
    for job_id in args:
        if not job_id.isdigit():
            raise UsageError("gnt-job: error: invalid job id '%s'" % job_id)
    return args


def list_jobs(opts: Any) -> int:
    fields = selected_fields(opts.output, DEFAULT_FIELDS)
    unknown = [f for f in fields if f not in JOB_FIELDS]
    if unknown:
        raise UsageError("gnt-job list: error: unknown field(s) %s" % ", ".join(unknown))
    ids = _job_ids(opts.job_ids)
    rows = get_client(opts.paths).query_jobs(ids or None, fields)
    missing = [jid for jid, row in zip(ids, rows) if row is None]
    for jid in missing:
        sys.stderr.write("No such job: %s\n" % jid)
    table = []
    for row in rows:
        if row is None:
            continue
        table.append([_format_field(f, v) for f, v in zip(fields, row)])
    for line in generate_table(HEADERS, fields, table, opts.separator, opts.no_headers,
                               num_fields=("id",)):
        print(line)
    return C.EXIT_FAILURE if missing else 0


def _format_field(field: str, value: Any) -> Any:
    if field in TS_FIELDS:
        return format_ts(value)
    if field in OP_TS_FIELDS:
        return ",".join(format_ts(ts) for ts in value)
    if field == "summary":
        return ",".join(value)
    return value


def _delta(start: Optional[list], end: Optional[list]) -> str:
    if not start or not end:
        return ""
    return " (delta %.6fs)" % ((end[0] + end[1] / 1e6) - (start[0] + start[1] / 1e6))


def info(opts: Any) -> int:
    fields = ["id", "status", "ops", "opresult", "opstatus", "oplog", "opstart", "opexec",
              "opend", "received_ts", "start_ts", "end_ts"]
    ids = _job_ids(opts.job_ids)
    rows = get_client(opts.paths).query_jobs(ids or None, fields)
    code = 0
    for jid, row in zip(ids or [None] * len(rows), rows):
        if row is None:
            sys.stderr.write("No such job: %s\n" % jid)
            code = C.EXIT_FAILURE
            continue
        (job_id, status, ops, results, statuses, logs, starts, execs, ends, recv, start,
         end) = row
        print("Job ID: %s" % job_id)
        print("  Status: %s" % status)
        print("  Received:         %s" % format_ts(recv))
        print("  Processing start: %s%s" % (format_ts(start), _delta(recv, start)))
        print("  Processing end:   %s%s" % (format_ts(end), _delta(start, end)))
        print("  Total processing time: %s" % (_delta(recv, end).strip(" ()") or "N/A"))
        print("  Opcodes:")
        for op, result, op_status, log, op_start, op_exec, op_end in zip(
                ops, results, statuses, logs, starts, execs, ends):
            print("    OP_ID: %s" % op["OP_ID"])
            print("      Status: %s" % op_status)
            print("      Processing start: %s" % format_ts(op_start))
            print("      Execution start:  %s" % format_ts(op_exec))
            print("      Processing end:   %s" % format_ts(op_end))
            print("      Input fields:")
            for key in sorted(k for k in op if k != "OP_ID"):
                print("        %s: %s" % (key, json.dumps(op[key])))
            print("      Result: %s" % json.dumps(result))
            print("      Execution log:")
            for serial, ts, msg_type, message in log:
                print("        %s:%s:%s %s" % (serial, format_ts(ts), msg_type, message))
    return code


def watch(opts: Any) -> int:
    job_id = _job_ids([opts.job_id])[0]
    client = get_client(opts.paths)
    rows = client.query_jobs([job_id], ["status"])
    if rows[0] is None:
        raise errors.OpPrereqError("No such job: %s" % job_id)
    header = "Output from job %s follows" % job_id
    print(header)
    print("-" * len(header), flush=True)
    try:
        poll_job(client, job_id)
    except errors.GenericError as err:
        sys.stderr.write("Job %s failed: %s\n" % (job_id, errors.format_error(err)))
        return C.EXIT_FAILURE
    return 0


def cancel(opts: Any) -> int:
    client = get_client(opts.paths)
    code = 0
    for job_id in _job_ids(opts.job_ids):
        success, message = client.cancel_job(job_id)
        print(message)
        code = code or (0 if success else C.EXIT_FAILURE)
    return code


def archive(opts: Any) -> int:
    client = get_client(opts.paths)
    code = 0
    for job_id in _job_ids(opts.job_ids):
        if not client.archive_job(job_id):
            sys.stderr.write("Failed to archive job %s (unknown or not finished)\n" % job_id)
            code = C.EXIT_FAILURE
    return code


def autoarchive(opts: Any) -> int:
    if opts.age == "all":
        age = -1
    else:
        try:
            age = utils.parse_age(opts.age)
        except ValueError as err:
            raise UsageError("gnt-job autoarchive: error: %s" % err) from None
    archived, left = get_client(opts.paths).autoarchive_jobs(age)
    print("Archived %d jobs, %d unchecked left" % (archived, left))
    return 0


def submit(opts: Any) -> int:
    """Submit the opcodes of a JSON file (a list of opcode objects) as one job."""
    try:
        with (sys.stdin if opts.file == "-" else open(opts.file, "rb")) as fh:
            ops = serializer.load(fh.read())
    except OSError as err:
        raise errors.OpPrereqError("Cannot read %s: %s" % (opts.file, err.strerror)) from None
    except ValueError as err:
        raise errors.OpPrereqError("%s is not valid JSON: %s" % (opts.file, err)) from None
    if isinstance(ops, dict):
        ops = [ops]
    client = get_client(opts.paths)
    job_id = client.submit_job(ops)
    if opts.submit:
        print("JobID: %s" % job_id)
        return 0
    for result in poll_job(client, job_id):
        print(json.dumps(result))
    return 0


def build_parser() -> Parser:
    parser, sub = make_parser("gnt-job", "Ganeti job administration")
    p = add_command(sub, "list", list_jobs, "list jobs")
    add_list_options(p, units=False)
    p.add_argument("job_ids", nargs="*")
    p = add_command(sub, "info", info, "show job details")
    p.add_argument("job_ids", nargs="*")
    p = add_command(sub, "watch", watch, "follow a job's log until it ends")
    p.add_argument("job_id")
    p = add_command(sub, "cancel", cancel, "cancel queued or waiting jobs")
    p.add_argument("job_ids", nargs="+")
    p = add_command(sub, "archive", archive, "archive finished jobs")
    p.add_argument("job_ids", nargs="+")
    p = add_command(sub, "autoarchive", autoarchive, "archive finished jobs older than AGE")
    p.add_argument("age", metavar="AGE|all", help="e.g. 3600, 30m, 6h, 2d, 1w or all")
    p = add_command(sub, "submit", submit, "submit a job from a JSON file of opcodes")
    p.add_argument("file", help="JSON list of opcodes (- for standard input)")
    p.add_argument("--submit", action="store_true", help="print the job id and return")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    return run(build_parser(), argv)
