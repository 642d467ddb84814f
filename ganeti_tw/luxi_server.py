"""masterd's LUXI endpoint: framing, dispatch and error encoding (spec 1.2)."""

from typing import Any, Callable, Dict, List

from twisted.internet import defer, protocol
from twisted.logger import Logger

from ganeti_tw import constants, errors, luxi, opcodes

log = Logger()


def _job_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or \
            not str(value).isdigit():
        raise errors.ParameterError("Invalid job id %r" % (value,))
    return int(value)


def _args(args: Any, count: int, method: str) -> list:
    if not isinstance(args, list) or len(args) != count:
        raise errors.ParameterError("%s takes a list of %d arguments" % (method, count))
    return args


def _str_list(value: Any, what: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise errors.ParameterError("%s must be a list of strings" % what)
    return value


class LuxiHandler:
    """Executes LUXI methods against the master context."""

    def __init__(self, context: Any):
        self.context = context
        self.methods: Dict[str, Callable[[Any], Any]] = {
            luxi.REQ_SUBMIT_JOB: self.submit_job,
            luxi.REQ_SUBMIT_MANY_JOBS: self.submit_many_jobs,
            luxi.REQ_WAIT_FOR_JOB_CHANGE: self.wait_for_job_change,
            luxi.REQ_CANCEL_JOB: self.cancel_job,
            luxi.REQ_ARCHIVE_JOB: self.archive_job,
            luxi.REQ_AUTOARCHIVE_JOBS: self.autoarchive_jobs,
            luxi.REQ_QUERY_JOBS: self.query_jobs,
            luxi.REQ_QUERY_NODES: self.query_nodes,
            luxi.REQ_QUERY_INSTANCES: self.query_instances,
            luxi.REQ_QUERY_CONFIG_VALUES: self.query_config_values,
            luxi.REQ_QUERY_CLUSTER_INFO: self.query_cluster_info,
            luxi.REQ_QUERY_QUEUE_INFO: self.query_queue_info,
            luxi.REQ_SET_DRAIN_FLAG: self.set_drain_flag,
            luxi.REQ_SET_WATCHER_PAUSE: self.set_watcher_pause,
        }

    async def handle(self, method: str, args: Any) -> Any:
        func = self.methods.get(method)
        if func is None:
            raise errors.LuxiError("Unknown LUXI method '%s'" % method)
        return await func(args)

    @property
    def queue(self) -> Any:
        return self.context.jqueue

    async def submit_job(self, args: Any) -> str:
        return str(await self.queue.submit_job(args))

    async def submit_many_jobs(self, args: Any) -> list:
        if not isinstance(args, list):
            raise errors.ParameterError("SubmitManyJobs takes a list of jobs")
        results = []
        for ops in args:
            try:
                results.append([True, str(await self.queue.submit_job(ops))])
            except errors.GenericError as err:
                results.append([False, errors.format_error(err)])
        return results

    async def wait_for_job_change(self, args: Any) -> Any:
        job_id, fields, prev_info, prev_serial, timeout = _args(args, 5, "WaitForJobChange")
        if not isinstance(timeout, (int, float)) or (prev_serial is not None and
                                                     not isinstance(prev_serial, int)):
            raise errors.ParameterError("WaitForJobChange: invalid timeout or log serial")
        return await self.queue.wait_for_job_change(_job_id(job_id),
                                                    _str_list(fields, "fields"),
                                                    prev_info, prev_serial, timeout)

    async def cancel_job(self, args: Any) -> list:
        return await self.queue.cancel_job(_job_id(args))

    async def archive_job(self, args: Any) -> bool:
        return await self.queue.archive_job(_job_id(args))

    async def autoarchive_jobs(self, args: Any) -> list:
        age, timeout = _args(args, 2, "AutoArchiveJobs")
        if not isinstance(age, int) or not isinstance(timeout, (int, float)):
            raise errors.ParameterError("AutoArchiveJobs takes [age_seconds, timeout]")
        return await self.queue.autoarchive_jobs(age, timeout)

    async def query_jobs(self, args: Any) -> list:
        job_ids, fields = _args(args, 2, "QueryJobs")
        ids = [_job_id(j) for j in (job_ids or [])]
        return self.queue.query_jobs(ids, _str_list(fields, "fields"))

    async def _query(self, op_class: Any, args: Any, method: str) -> list:
        names, fields, use_locking = _args(args, 3, method)
        op = op_class(names=_str_list(names, "names"), output_fields=_str_list(fields, "fields"),
                      use_locking=use_locking)
        return await self.context.processor.run_query(op)

    async def query_nodes(self, args: Any) -> list:
        return await self._query(opcodes.OpNodeQuery, args, "QueryNodes")

    async def query_instances(self, args: Any) -> list:
        return await self._query(opcodes.OpInstanceQuery, args, "QueryInstances")

    async def query_config_values(self, args: Any) -> list:
        op = opcodes.OpClusterConfigQuery(output_fields=_str_list(args, "fields"))
        return await self.context.processor.run_query(op)

    async def query_cluster_info(self, args: Any) -> dict:
        return await self.context.processor.run_query(opcodes.OpClusterQuery())

    async def query_queue_info(self, args: Any) -> dict:
        return self.queue.queue_info()

    async def set_drain_flag(self, args: Any) -> bool:
        if not isinstance(args, bool):
            raise errors.ParameterError("SetDrainFlag takes a boolean")
        return await self.queue.set_drain_flag(args)

    async def set_watcher_pause(self, args: Any) -> List[str]:
        """Pause (until a Unix time) or resume (None) the watcher on every online node.

        Returns the nodes that could not be told (they keep watching).
        """
        if args is not None and (isinstance(args, bool) or not isinstance(args, (int, float))):
            raise errors.ParameterError("SetWatcherPause takes a timestamp or null")
        cfg = self.context.cfg
        results = await self.context.rpc.call(cfg.online_nodes(), "set_watcher_pause", [args])
        return sorted(node for node, result in results.items() if result.failed)


class LuxiProtocol(protocol.Protocol):
    """One client connection; requests are answered in order."""

    def __init__(self, handler: LuxiHandler):
        self.handler = handler
        self._buffer = b""
        self._busy = False

    def dataReceived(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) > luxi.MAX_MESSAGE:
            log.warn("LUXI client sent an oversized message; closing")
            self.transport.loseConnection()
            return
        self._next()

    def _next(self) -> None:
        if self._busy or constants.LUXI_EOM not in self._buffer:
            return
        msg, _, self._buffer = self._buffer.partition(constants.LUXI_EOM)
        self._busy = True
        defer.ensureDeferred(self._answer(msg))

    async def _answer(self, msg: bytes) -> None:
        try:
            method, args = luxi.parse_request(msg)
            result = await self.handler.handle(method, args)
            reply = luxi.format_response(True, result)
        except errors.GenericError as err:
            reply = luxi.format_response(False, errors.encode_error(err))
        except Exception as err:
            log.failure("Unexpected error answering a LUXI request")
            reply = luxi.format_response(False, errors.encode_error(errors.OpExecError(str(err))))
        self._busy = False
        if self.transport is not None and self.connected:
            self.transport.write(reply)
            self._next()


class LuxiFactory(protocol.Factory):
    def __init__(self, context: Any):
        self.handler = LuxiHandler(context)

    def buildProtocol(self, addr: Any) -> LuxiProtocol:
        proto = LuxiProtocol(self.handler)
        proto.factory = self
        return proto
