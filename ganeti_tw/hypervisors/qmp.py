"""The QEMU Machine Protocol (QMP) as a Twisted protocol: JSON lines over a Unix socket.

qemu greets with ``{"QMP": ...}``; the client must send ``qmp_capabilities``
before any other command. Replies carry the ``id`` of their command; events
(``{"event": ...}``) may arrive at any time and are kept for whoever waits.
"""

import json
from typing import Any, Dict, List, Optional

from twisted.internet import defer, error as net_error, protocol
from twisted.internet.endpoints import UNIXClientEndpoint
from twisted.protocols.basic import LineOnlyReceiver

from ganeti_tw import errors

CONNECT_TIMEOUT = 10


class QMPError(errors.HypervisorError):
    """qemu answered a command with an error, or the monitor went away."""


class QMPProtocol(LineOnlyReceiver):
    """One QMP session; ``ready`` fires once capabilities are negotiated."""

    delimiter = b"\n"
    MAX_LENGTH = 16 * 1024 * 1024

    def __init__(self) -> None:
        self.ready: defer.Deferred = defer.Deferred()
        self.greeting: Optional[Dict[str, Any]] = None
        self.events: List[Dict[str, Any]] = []
        self._pending: Dict[int, defer.Deferred] = {}
        self._next_id = 0
        self._closed: Optional[Exception] = None

    def lineReceived(self, line: bytes) -> None:
        line = line.strip()
        if not line:
            return
        try:
            message = json.loads(line)
        except ValueError:
            self._fail_all(QMPError("Invalid QMP message from qemu: %r" % line[:200]))
            self.transport.loseConnection()
            return
        if "QMP" in message and self.greeting is None:
            self.greeting = message
            self._send("qmp_capabilities", None).addCallbacks(
                lambda _: self.ready.callback(self), self.ready.errback)
        elif "event" in message:
            self.events.append(message)
        elif message.get("id") in self._pending:
            waiter = self._pending.pop(message["id"])
            if "error" in message:
                err = message["error"]
                waiter.errback(QMPError("%s: %s" % (err.get("class", "Error"),
                                                    err.get("desc", err))))
            else:
                waiter.callback(message.get("return"))

    def _send(self, command: str, arguments: Optional[Dict[str, Any]]) -> defer.Deferred:
        if self._closed is not None:
            return defer.fail(QMPError("QMP connection closed: %s" % self._closed))
        self._next_id += 1
        request: Dict[str, Any] = {"execute": command, "id": self._next_id}
        if arguments:
            request["arguments"] = arguments
        waiter: defer.Deferred = defer.Deferred()
        self._pending[self._next_id] = waiter
        self.sendLine(json.dumps(request).encode("utf-8"))
        return waiter

    async def execute(self, command: str, arguments: Optional[Dict[str, Any]] = None) -> Any:
        """Run one QMP command; its ``return`` value, or QMPError."""
        return await self._send(command, arguments)

    def _fail_all(self, reason: Exception) -> None:
        pending, self._pending = self._pending, {}
        for waiter in pending.values():
            waiter.errback(reason)

    def connectionLost(self, reason: Any = protocol.connectionDone) -> None:
        self._closed = reason.value if hasattr(reason, "value") else Exception(str(reason))
        failure = QMPError("QMP connection closed: %s" % self._closed)
        self._fail_all(failure)
        if not self.ready.called:
            self.ready.errback(failure)


class _Factory(protocol.Factory):
    protocol = QMPProtocol


async def connect(reactor: Any, socket_path: str,
                  timeout: float = CONNECT_TIMEOUT) -> QMPProtocol:
    """A negotiated QMP session on ``socket_path``; HypervisorError if qemu isn't there."""
    endpoint = UNIXClientEndpoint(reactor, socket_path, timeout=timeout)
    try:
        proto = await endpoint.connect(_Factory())
    except (net_error.ConnectError, OSError) as err:
        raise QMPError("Cannot connect to the QMP socket %s: %s" % (socket_path, err)) from None
    timer = reactor.callLater(timeout, proto.transport.loseConnection)
    try:
        await proto.ready
    finally:
        if timer.active():
            timer.cancel()
    return proto


async def call(reactor: Any, socket_path: str, command: str,
               arguments: Optional[Dict[str, Any]] = None) -> Any:
    """Connect, run one command, disconnect."""
    proto = await connect(reactor, socket_path)
    try:
        return await proto.execute(command, arguments)
    finally:
        proto.transport.loseConnection()
