"""The node daemon's view of itself, handed to every backend procedure."""

from typing import Any, Callable, Dict

from twisted.internet import defer

from ganeti_tw.paths import Paths


class NodeContext:
    """Paths, node name and reactor of one node daemon."""

    def __init__(self, paths: Paths, name: str, reactor: Any,
                 request_stop: Callable[[], None] = lambda: None):
        self.paths = paths
        self.name = name
        self.reactor = reactor
        self.request_stop = request_stop
        # Writers of one file reuse its ".<name>.tmp": writes that may touch
        # the same files (queue updates, uploads) take turns.
        self.write_lock = defer.DeferredLock()
        # hypervisor providers by name, made on first use (one may probe its binary)
        self.hypervisors: Dict[str, Any] = {}

    async def in_thread(self, func: Callable[..., Any], *args: Any) -> Any:
        """Run a blocking file operation in a thread, one at a time."""
        from twisted.internet import threads
        return await self.write_lock.run(threads.deferToThread, func, *args)
