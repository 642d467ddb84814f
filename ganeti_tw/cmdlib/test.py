"""Test opcodes: OP_TEST_DELAY, the job queue's failure generator."""

from typing import Any

from twisted.internet import task

from ganeti_tw.cmdlib.base import LogicalUnit
from ganeti_tw.locking import LEVEL_NODE


class LUTestDelay(LogicalUnit):
    """Sleep on the master and/or on nodes (through node RPC)."""

    def expand_names(self) -> None:
        self.nodes = self.expand_nodes(self.op.on_nodes)
        if self.nodes:
            self.needed_locks[LEVEL_NODE] = self.nodes

    async def exec(self) -> Any:
        if self.op.on_master:
            await task.deferLater(self.context.reactor, self.op.duration, lambda: None)
        if self.nodes:
            results = await self.rpc.call(self.nodes, "test_delay", [self.op.duration],
                                          timeout=self.op.duration + 30)
            for node in self.nodes:
                results[node].raise_on_error("Delay")
        return True
