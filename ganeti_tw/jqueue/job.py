"""Jobs and queued opcodes as data: states, status computation, file format.

No I/O and no Twisted here, so the state rules of spec 4.2 are tested
synchronously.
"""

import time
from typing import Any, Dict, List, Optional

from ganeti_tw import constants as C, errors, opcodes


def timestamp(now: Optional[float] = None) -> List[int]:
    """``[sec, usec]`` as Ganeti stores times."""
    now = time.time() if now is None else now
    sec = int(now)
    return [sec, int((now - sec) * 1000000)]


def ts_float(ts: Optional[List[int]]) -> Optional[float]:
    return None if ts is None else ts[0] + ts[1] / 1000000.0


class QueuedOpCode:
    """One opcode of a job with its status, result and log."""

    def __init__(self, op_input: Dict[str, Any]):
        self.input = op_input
        self.status = C.OP_STATUS_QUEUED
        self.result: Any = None
        self.log: List[list] = []
        self.start_timestamp: Optional[List[int]] = None
        self.exec_timestamp: Optional[List[int]] = None
        self.end_timestamp: Optional[List[int]] = None

    def to_dict(self) -> Dict[str, Any]:
        return {"input": self.input, "status": self.status, "result": self.result,
                "log": self.log, "start_timestamp": self.start_timestamp,
                "exec_timestamp": self.exec_timestamp, "end_timestamp": self.end_timestamp}

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "QueuedOpCode":
        op = cls(data["input"])
        op.status = data["status"]
        if op.status not in C.OPS_FINALIZED | {C.OP_STATUS_QUEUED, C.OP_STATUS_WAITING,
                                               C.OP_STATUS_RUNNING, C.OP_STATUS_CANCELING}:
            raise ValueError("unknown opcode status %r" % op.status)
        op.result = data.get("result")
        op.log = list(data.get("log") or [])
        op.start_timestamp = data.get("start_timestamp")
        op.exec_timestamp = data.get("exec_timestamp")
        op.end_timestamp = data.get("end_timestamp")
        return op


class QueuedJob:
    """A job: an ordered list of opcodes run one after the other."""

    def __init__(self, job_id: int, ops: List[Dict[str, Any]],
                 received: Optional[List[int]] = None):
        self.id = job_id
        self.ops = [QueuedOpCode(op) for op in ops]
        self.run_op_index = -1
        self.received_timestamp = received or timestamp()
        self.start_timestamp: Optional[List[int]] = None
        self.end_timestamp: Optional[List[int]] = None
        self.log_serial = 0

    # persistence -----------------------------------------------------------

    def to_dict(self) -> Dict[str, Any]:
        return {"id": str(self.id), "run_op_index": self.run_op_index,
                "received_timestamp": self.received_timestamp,
                "start_timestamp": self.start_timestamp,
                "end_timestamp": self.end_timestamp,
                "ops": [op.to_dict() for op in self.ops]}

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "QueuedJob":
        """Rebuild a job from its file; ValueError/KeyError/TypeError if malformed."""
        job = cls(int(data["id"]), [], data["received_timestamp"])
        job.ops = [QueuedOpCode.from_dict(op) for op in data["ops"]]
        if not job.ops:
            raise ValueError("job without opcodes")
        job.run_op_index = int(data.get("run_op_index", -1))
        job.start_timestamp = data.get("start_timestamp")
        job.end_timestamp = data.get("end_timestamp")
        job.log_serial = max((entry[0] for op in job.ops for entry in op.log), default=0)
        return job

    # status ----------------------------------------------------------------

    def calc_status(self) -> str:
        """The job status derived from its opcodes' states (spec 4.2)."""
        statuses = [op.status for op in self.ops]
        if all(s == C.OP_STATUS_SUCCESS for s in statuses):
            return C.JOB_STATUS_SUCCESS
        status = C.JOB_STATUS_QUEUED
        for s in statuses:
            if s in (C.OP_STATUS_ERROR, C.OP_STATUS_CANCELED, C.OP_STATUS_CANCELING):
                return s
            if s in (C.OP_STATUS_WAITING, C.OP_STATUS_RUNNING):
                status = s
        return status

    def is_finalized(self) -> bool:
        return self.calc_status() in C.JOBS_FINALIZED

    def add_log(self, msg_type: str, message: Any) -> list:
        """Append a log entry to the current opcode with the next per-job serial."""
        self.log_serial += 1
        entry = [self.log_serial, timestamp(), msg_type, message]
        self.ops[max(self.run_op_index, 0)].log.append(entry)
        return entry

    def log_since(self, serial: int) -> List[list]:
        return sorted((entry for op in self.ops for entry in op.log if entry[0] > serial),
                      key=lambda e: e[0])

    def finalize_unfinished(self, status: str, result: Any) -> None:
        """Mark every opcode not yet finished with ``status`` (cancel, unclean stop)."""
        now = timestamp()
        for op in self.ops:
            if op.status not in C.OPS_FINALIZED:
                op.status = status
                op.result = result
                op.end_timestamp = op.end_timestamp or now
        self.run_op_index = -1
        self.end_timestamp = self.end_timestamp or now

    def age_reference(self) -> float:
        """End time, else start time, else received time (spec 4.4 autoarchive)."""
        return ts_float(self.end_timestamp or self.start_timestamp or self.received_timestamp)

    def summary(self) -> List[str]:
        out = []
        for op in self.ops:
            try:
                out.append(opcodes.OpCode.from_dict(op.input).summary())
            except errors.GenericError:
                out.append(str(op.input.get("OP_ID", "?"))[3:])
        return out

    def get_info(self, fields: List[str]) -> List[Any]:
        """One row of ``QueryJobs`` for ``fields``; unknown fields are refused."""
        row = []
        for field in fields:
            getter = _FIELDS.get(field)
            if getter is None:
                raise errors.ParameterError("Unknown job field '%s'" % field)
            row.append(getter(self))
        return row


_FIELDS = {
    "id": lambda j: str(j.id),
    "status": lambda j: j.calc_status(),
    "ops": lambda j: [op.input for op in j.ops],
    "opresult": lambda j: [op.result for op in j.ops],
    "opstatus": lambda j: [op.status for op in j.ops],
    "oplog": lambda j: [op.log for op in j.ops],
    "opstart": lambda j: [op.start_timestamp for op in j.ops],
    "opexec": lambda j: [op.exec_timestamp for op in j.ops],
    "opend": lambda j: [op.end_timestamp for op in j.ops],
    "received_ts": lambda j: j.received_timestamp,
    "start_ts": lambda j: j.start_timestamp,
    "end_ts": lambda j: j.end_timestamp,
    "summary": lambda j: j.summary(),
}
JOB_FIELDS = tuple(_FIELDS)
