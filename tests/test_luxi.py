"""LUXI framing and the server protocol's error handling."""

import json

from twisted.internet.testing import StringTransport
from twisted.trial import unittest

from ganeti_tw import errors, luxi
from ganeti_tw.luxi_server import LuxiHandler, LuxiProtocol


class FramingTests(unittest.SynchronousTestCase):
    def test_request_round_trip(self):
        msg = luxi.format_request("QueryJobs", [None, ["id"]])
        self.assertTrue(msg.endswith(b"\x03"))
        self.assertEqual(luxi.parse_request(msg[:-1]), ("QueryJobs", [None, ["id"]]))

    def test_bad_requests(self):
        for msg in (b"", b"{", b"[]", b'{"method": "x"}', b'{"method": 3, "args": []}'):
            self.assertRaises(errors.ProtocolError, luxi.parse_request, msg)

    def test_error_encoding_round_trip(self):
        err = errors.decode_error(errors.encode_error(errors.OpPrereqError("no", 3)))
        self.assertIsInstance(err, errors.OpPrereqError)
        self.assertEqual(err.args, ("no", 3))
        self.assertIsInstance(errors.decode_error("garbage"), errors.OpExecError)
        self.assertIsInstance(errors.decode_error(["NoSuchClass", []]), errors.OpExecError)


class _Queue:
    """The least a handler needs to answer QueryJobs for the protocol tests."""

    def query_jobs(self, ids, fields):
        return [[1]]


class _Context:
    jqueue = _Queue()


class ProtocolTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.proto = LuxiProtocol(LuxiHandler(_Context()))
        self.transport = StringTransport()
        self.proto.makeConnection(self.transport)

    def answers(self):
        return [json.loads(m) for m in self.transport.value().split(b"\x03") if m]

    def test_pipelined_requests_answered_in_order(self):
        self.proto.dataReceived(luxi.format_request("QueryJobs", [None, ["id"]]) +
                                b"{broken\x03" +
                                luxi.format_request("Nope", []) +
                                luxi.format_request("QueryJobs", "x"))
        answers = self.answers()
        self.assertEqual(answers[0], {"success": True, "result": [[1]]})
        self.assertEqual([a["success"] for a in answers], [True, False, False, False])
        self.assertEqual(answers[1]["result"][0], "ProtocolError")
        self.assertEqual(answers[2]["result"][0], "LuxiError")
        self.assertEqual(answers[3]["result"][0], "ParameterError")

    def test_partial_message_waits_for_terminator(self):
        msg = luxi.format_request("QueryJobs", [None, ["id"]])
        self.proto.dataReceived(msg[:5])
        self.assertEqual(self.transport.value(), b"")
        self.proto.dataReceived(msg[5:])
        self.assertEqual(len(self.answers()), 1)
