"""The RAPI's non-blocking LUXI client against a LUXI endpoint on a real UNIX socket."""

import os
import tempfile
from typing import Any, List

from twisted.internet import defer, protocol, reactor
from twisted.trial import unittest

from ganeti_tw import constants, errors, luxi
from ganeti_tw.rapi.luxi_client import AsyncLuxiClient


class _Endpoint(protocol.Protocol):
    """Answers each request from the factory's script, in order."""

    def dataReceived(self, data: bytes) -> None:
        self.factory.connections.add(self)
        self.buffer = getattr(self, "buffer", b"") + data
        while constants.LUXI_EOM in self.buffer:
            msg, _, self.buffer = self.buffer.partition(constants.LUXI_EOM)
            method, args = luxi.parse_request(msg)
            self.factory.seen.append((method, args))
            action = self.factory.script.pop(0)
            if action == "close":
                self.transport.loseConnection()
            elif action != "silence":
                self.transport.write(action)


class AsyncLuxiClientTests(unittest.TestCase):
    def setUp(self) -> None:
        self.path = os.path.join(tempfile.mkdtemp(prefix="gtw-luxi-"), "sock")
        self.factory = protocol.Factory.forProtocol(_Endpoint)
        self.factory.script: List[Any] = []
        self.factory.seen = []
        self.factory.connections = set()
        self.port = reactor.listenUNIX(self.path, self.factory)
        self.addCleanup(self.port.stopListening)
        self.client = AsyncLuxiClient(reactor, self.path, timeout=5)
        self.addCleanup(self.client.close)

    def tearDown(self) -> defer.Deferred:
        for conn in self.factory.connections:
            conn.transport.loseConnection()
        return defer.succeed(None)

    async def _results_and_errors_come_back_over_one_connection(self) -> None:
        self.factory.script = [luxi.format_response(True, {"name": "c"}),
                               luxi.format_response(False, ["OpPrereqError", ["no such"]]),
                               luxi.format_response(True, [1, 2])]
        self.assertEqual(await self.client.call("QueryClusterInfo", []), {"name": "c"})
        with self.assertRaises(errors.OpPrereqError) as caught:
            await self.client.call("QueryInstances", [["x"], ["name"], False])
        self.assertEqual(caught.exception.args, ("no such",))
        self.assertEqual(await self.client.call("QueryJobs", [None, ["id"]]), [1, 2])
        self.assertEqual([m for m, _ in self.factory.seen],
                         ["QueryClusterInfo", "QueryInstances", "QueryJobs"])
        self.assertEqual(len(self.factory.connections), 1)

    def test_results_and_errors_come_back_over_one_connection(self):
        return defer.ensureDeferred(self._results_and_errors_come_back_over_one_connection())

    async def _no_master_timeout_and_closed_connection(self) -> None:
        self.factory.script = ["silence", "close", luxi.format_response(True, "ok")]
        with self.assertRaises(errors.TimeoutError):
            await self.client.call("QueryClusterInfo", [], timeout=0.2)
        with self.assertRaises(errors.NoMasterError):
            await self.client.call("QueryClusterInfo", [])
        # a fresh connection after both failures
        self.assertEqual(await self.client.call("QueryClusterInfo", []), "ok")
        await self.port.stopListening()
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.client.close()  # drop the idle connection: the next call must connect
        with self.assertRaises(errors.NoMasterError):
            await self.client.call("QueryClusterInfo", [])

    def test_no_master_timeout_and_closed_connection(self):
        return defer.ensureDeferred(self._no_master_timeout_and_closed_connection())
