"""A LUXI client of masterd for the reactor: never blocks, reuses connections.

The CLI's :class:`ganeti_tw.luxi.Client` uses a blocking socket; ganeti-rapi
serves many HTTP clients on one thread, so it speaks the same framing
(``ganeti_tw.luxi``) over Twisted UNIX connections. Each connection carries
one request at a time (LUXI answers in order); idle connections are kept for
the next request, so a GET costs no connect().
"""

import json
from typing import Any, List, Optional

from twisted.internet import defer, protocol
from twisted.internet.endpoints import UNIXClientEndpoint
from twisted.internet.error import ConnectError

from ganeti_tw import constants, errors, luxi

# idle connections kept open; more concurrent requests open more connections
MAX_IDLE = 8
CONNECT_TIMEOUT = 10


class _LuxiConnection(protocol.Protocol):
    """One connection to masterd; ``call`` must not overlap on it."""

    def __init__(self) -> None:
        self._buffer = b""
        self._waiting: Optional[defer.Deferred] = None
        self.closed = False

    def call(self, method: str, args: Any) -> defer.Deferred:
        self._waiting = defer.Deferred()
        self.transport.write(luxi.format_request(method, args))
        return self._waiting

    def dataReceived(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) > luxi.MAX_MESSAGE:
            self._fail(errors.ProtocolError("Answer from the master daemon too large"))
            self.transport.loseConnection()
            return
        if constants.LUXI_EOM in self._buffer and self._waiting is not None:
            msg, _, self._buffer = self._buffer.partition(constants.LUXI_EOM)
            waiting, self._waiting = self._waiting, None
            waiting.callback(msg)

    def connectionLost(self, reason: Any = None) -> None:
        self.closed = True
        self._fail(errors.NoMasterError("the master daemon closed the connection"))

    def _fail(self, err: Exception) -> None:
        if self._waiting is not None:
            waiting, self._waiting = self._waiting, None
            waiting.errback(err)


class AsyncLuxiClient:
    """LUXI calls as coroutines; errors come back as our error classes."""

    def __init__(self, reactor: Any, address: str,
                 timeout: float = constants.LUXI_DEF_RWTO):
        self.reactor = reactor
        self.address = address
        self.timeout = timeout
        self._idle: List[_LuxiConnection] = []

    async def _connection(self) -> _LuxiConnection:
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed:
                return conn
        endpoint = UNIXClientEndpoint(self.reactor, self.address, timeout=CONNECT_TIMEOUT)
        try:
            return await endpoint.connect(protocol.Factory.forProtocol(_LuxiConnection))
        except (ConnectError, OSError):
            raise errors.NoMasterError(self.address) from None

    async def call(self, method: str, args: Any, timeout: Optional[float] = None) -> Any:
        """Send one request and return its result, or raise the remote error."""
        conn = await self._connection()
        limit = self.timeout if timeout is None else timeout
        pending = conn.call(method, args)
        pending.addTimeout(limit, self.reactor)
        try:
            reply = await pending
        except defer.TimeoutError:
            conn.transport.loseConnection()
            raise errors.TimeoutError("Timeout waiting for the master daemon's answer to %s"
                                      % method) from None
        if len(self._idle) < MAX_IDLE and not conn.closed:
            self._idle.append(conn)
        else:
            conn.transport.loseConnection()
        try:
            data = json.loads(reply)  # bytes: decoded by the parser, no copy as str
        except (ValueError, UnicodeDecodeError) as err:
            raise errors.ProtocolError("Invalid answer from the master daemon: %s" % err) \
                from None
        if not isinstance(data, dict) or luxi.KEY_SUCCESS not in data:
            raise errors.ProtocolError("Invalid answer from the master daemon")
        if data[luxi.KEY_SUCCESS]:
            return data[luxi.KEY_RESULT]
        raise errors.decode_error(data[luxi.KEY_RESULT])

    def close(self) -> None:
        for conn in self._idle:
            conn.transport.loseConnection()
        self._idle = []
