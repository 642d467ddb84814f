"""The node daemon's view of itself, handed to every backend procedure."""

from typing import Any, Callable

from ganeti_tw.paths import Paths


class NodeContext:
    """Paths, node name and reactor of one node daemon."""

    def __init__(self, paths: Paths, name: str, reactor: Any,
                 request_stop: Callable[[], None] = lambda: None):
        self.paths = paths
        self.name = name
        self.reactor = reactor
        self.request_stop = request_stop
