"""The node daemon's Perspective Broker root: a thin adapter over ``backend``."""

import inspect
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger
from twisted.spread import pb

from ganeti_tw import errors
from ganeti_tw.backend import PROCEDURES, NodeContext
from ganeti_tw.rpc import wire

log = Logger()


class NodeRoot(pb.Root):
    """Answers ``call(procedure, args)`` with a result or a message (see ``rpc/wire.py``)."""

    def __init__(self, ctx: NodeContext):
        self.ctx = ctx

    async def _run(self, procedure: str, args: Any) -> list:
        func = PROCEDURES.get(procedure)
        if func is None:
            return [False, "Unknown procedure '%s'" % procedure]
        if not isinstance(args, (list, tuple)):
            return [False, "Arguments of %s must be a list" % procedure]
        try:
            inspect.signature(func).bind(self.ctx, *args)
        except TypeError as err:
            return [False, "Invalid arguments for %s: %s" % (procedure, err)]
        try:
            result = func(self.ctx, *args)
            if inspect.isawaitable(result):
                result = await result
        except errors.GenericError as err:
            log.info("{proc} failed: {err}", proc=procedure, err=err)
            return [False, str(err)]
        except Exception as err:
            log.failure("Unexpected error in {proc}", proc=procedure)
            return [False, "Unexpected error in %s: %s" % (procedure, err)]
        return wire.encode_result(result)

    def remote_call(self, procedure: str, args: Any) -> defer.Deferred:
        return defer.ensureDeferred(self._run(procedure, args))
