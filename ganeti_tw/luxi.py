"""LUXI: the CLI/RAPI <-> masterd protocol (spec 1.2).

JSON messages terminated by 0x03 on a Unix socket. This module is the
client side and the shared framing; it imports no Twisted so a gnt-*
command costs little more than the Python start-up.
"""

import socket
import time
from typing import Any, List, Optional

from ganeti_tw import constants, errors, serializer

KEY_METHOD = "method"
KEY_ARGS = "args"
KEY_SUCCESS = "success"
KEY_RESULT = "result"

REQ_SUBMIT_JOB = "SubmitJob"
REQ_SUBMIT_MANY_JOBS = "SubmitManyJobs"
REQ_WAIT_FOR_JOB_CHANGE = "WaitForJobChange"
REQ_CANCEL_JOB = "CancelJob"
REQ_ARCHIVE_JOB = "ArchiveJob"
REQ_AUTOARCHIVE_JOBS = "AutoArchiveJobs"
REQ_QUERY_JOBS = "QueryJobs"
REQ_QUERY_NODES = "QueryNodes"
REQ_QUERY_INSTANCES = "QueryInstances"
REQ_QUERY_CONFIG_VALUES = "QueryConfigValues"
REQ_QUERY_CLUSTER_INFO = "QueryClusterInfo"
REQ_QUERY_QUEUE_INFO = "QueryQueueInfo"
REQ_SET_DRAIN_FLAG = "SetDrainFlag"
REQ_SET_WATCHER_PAUSE = "SetWatcherPause"


MAX_MESSAGE = 64 * 1024 * 1024


def format_request(method: str, args: Any) -> bytes:
    return serializer.dump({KEY_METHOD: method, KEY_ARGS: args}) + constants.LUXI_EOM


def format_response(success: bool, result: Any) -> bytes:
    return serializer.dump({KEY_SUCCESS: success, KEY_RESULT: result}) + constants.LUXI_EOM


def parse_request(msg: bytes) -> "tuple[str, Any]":
    """Decode one request; ProtocolError if it is not ``{"method", "args"}``."""
    try:
        data = serializer.load(msg)
    except (ValueError, UnicodeDecodeError) as err:
        raise errors.ProtocolError("Invalid LUXI request: not JSON (%s)" % err) from None
    if not isinstance(data, dict) or KEY_METHOD not in data or KEY_ARGS not in data:
        raise errors.ProtocolError("Invalid LUXI request: expected an object with "
                                   "'method' and 'args'")
    if not isinstance(data[KEY_METHOD], str):
        raise errors.ProtocolError("Invalid LUXI request: 'method' must be a string")
    return data[KEY_METHOD], data[KEY_ARGS]


class Client:
    """A blocking LUXI client over the master socket."""

    def __init__(self, address: str, timeout: float = constants.LUXI_DEF_RWTO):
        self.address = address
        self.timeout = timeout
        self._sock: Optional[socket.socket] = None
        self._buffer = b""

    def _connect(self) -> socket.socket:
        if self._sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(10)
            try:
                sock.connect(self.address)
            except OSError:
                sock.close()
                raise errors.NoMasterError(self.address) from None
            sock.settimeout(self.timeout)
            self._sock = sock
        return self._sock

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
            self._buffer = b""

    def call(self, method: str, args: Any) -> Any:
        """Send one request and return its result, or raise the remote error."""
        sock = self._connect()
        try:
            sock.sendall(format_request(method, args))
            reply = self._recv_message(sock)
        except socket.timeout:
            self.close()
            raise errors.TimeoutError("Timeout waiting for the master daemon's answer "
                                      "to %s" % method) from None
        except OSError:
            self.close()
            raise errors.NoMasterError(self.address) from None
        try:
            data = serializer.load(reply)
        except ValueError as err:
            raise errors.ProtocolError("Invalid answer from the master daemon: %s" % err) from None
        if not isinstance(data, dict) or KEY_SUCCESS not in data:
            raise errors.ProtocolError("Invalid answer from the master daemon")
        if data[KEY_SUCCESS]:
            return data[KEY_RESULT]
        raise errors.decode_error(data[KEY_RESULT])

    def _recv_message(self, sock: socket.socket) -> bytes:
        deadline = time.monotonic() + 2 * self.timeout
        while constants.LUXI_EOM not in self._buffer:
            if time.monotonic() > deadline:
                raise socket.timeout()
            chunk = sock.recv(65536)
            if not chunk:
                raise OSError("connection closed by the master daemon")
            self._buffer += chunk
            if len(self._buffer) > MAX_MESSAGE:
                raise errors.ProtocolError("Answer from the master daemon too large")
        msg, _, self._buffer = self._buffer.partition(constants.LUXI_EOM)
        return msg

    # the methods of spec 1.2 ---------------------------------------------------

    def submit_job(self, ops: List[dict]) -> str:
        return self.call(REQ_SUBMIT_JOB, ops)

    def submit_many_jobs(self, jobs: List[List[dict]]) -> list:
        return self.call(REQ_SUBMIT_MANY_JOBS, jobs)

    def wait_for_job_change(self, job_id: str, fields: List[str], prev_job_info: Any,
                            prev_log_serial: int,
                            timeout: int = constants.LUXI_WFJC_TIMEOUT) -> Any:
        return self.call(REQ_WAIT_FOR_JOB_CHANGE,
                         [job_id, fields, prev_job_info, prev_log_serial, timeout])

    def cancel_job(self, job_id: str) -> list:
        return self.call(REQ_CANCEL_JOB, job_id)

    def archive_job(self, job_id: str) -> bool:
        return self.call(REQ_ARCHIVE_JOB, job_id)

    def autoarchive_jobs(self, age: int, timeout: int = constants.LUXI_WFJC_TIMEOUT) -> list:
        return self.call(REQ_AUTOARCHIVE_JOBS, [age, timeout])

    def query_jobs(self, job_ids: Optional[List[str]], fields: List[str]) -> list:
        return self.call(REQ_QUERY_JOBS, [job_ids, fields])

    def query_nodes(self, names: List[str], fields: List[str], use_locking: bool = False) -> list:
        return self.call(REQ_QUERY_NODES, [names, fields, use_locking])

    def query_instances(self, names: List[str], fields: List[str],
                        use_locking: bool = False) -> list:
        return self.call(REQ_QUERY_INSTANCES, [names, fields, use_locking])

    def query_config_values(self, fields: List[str]) -> list:
        return self.call(REQ_QUERY_CONFIG_VALUES, fields)

    def query_cluster_info(self) -> dict:
        return self.call(REQ_QUERY_CLUSTER_INFO, [])

    def query_queue_info(self) -> dict:
        return self.call(REQ_QUERY_QUEUE_INFO, [])

    def set_drain_flag(self, flag: bool) -> bool:
        return self.call(REQ_SET_DRAIN_FLAG, flag)

    def set_watcher_pause(self, until: Optional[float]) -> List[str]:
        return self.call(REQ_SET_WATCHER_PAUSE, until)
