"""Random arguments to every LUXI method of a real master context: always a clean answer."""

import collections
import json
import random
import tempfile

from twisted.internet import defer, reactor, task
from twisted.internet.testing import StringTransport
from twisted.trial import unittest

from ganeti_tw import errors, luxi
from ganeti_tw.luxi_server import LuxiProtocol, LuxiHandler
from tests.test_jqueue import make_context

KNOWN_ERRORS = {name for name, obj in vars(errors).items()
                if isinstance(obj, type) and issubclass(obj, errors.GenericError)}


def random_json(rng: random.Random, depth: int = 0):
    choices = [None, True, False, 0, -1, 2 ** 40, 1.5, "", "x", "OP_TEST_DELAY", "node1",
               "status", "id", [], {}]
    if depth < 3:
        choices += ["list", "dict"]
    pick = rng.choice(choices)
    if pick == "list":
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if pick == "dict":
        keys = ["OP_ID", "duration", "on_nodes", "fields", rng.choice(["a", "b"])]
        return {rng.choice(keys): random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    return pick


class LuxiFuzzTests(unittest.TestCase):
    timeout = 60

    def setUp(self):
        self.ctx = make_context(tempfile.mkdtemp())
        self.ctx.jqueue.max_workers = 0  # submitted jobs stay queued: no node RPC needed
        self.ctx.jqueue.open()
        self.ctx.jqueue.start()
        self.addCleanup(lambda: defer.ensureDeferred(self.ctx.jqueue.stop()))

    async def ask(self, proto, transport, method, args):
        transport.clear()
        proto.dataReceived(luxi.format_request(method, args))
        for _ in range(200):
            if transport.value().endswith(b"\x03"):
                break
            await task.deferLater(reactor, 0.005, lambda: None)
        return json.loads(transport.value()[:-1])

    def test_random_arguments_never_escape_as_unexpected_errors(self):
        rng = random.Random(20261126)
        handler = LuxiHandler(self.ctx)
        methods = sorted(handler.methods)
        outcomes = collections.Counter()

        async def go():
            for i in range(400):
                proto = LuxiProtocol(handler)
                transport = StringTransport()
                proto.makeConnection(transport)
                method = rng.choice(methods)
                args = random_json(rng)
                if method == luxi.REQ_SUBMIT_JOB and rng.random() < 0.7:
                    args = [{"OP_ID": rng.choice(["OP_TEST_DELAY", "OP_NODE_SET_PARAMS",
                                                  "OP_CLUSTER_SET_PARAMS", "OP_NOPE"]),
                             rng.choice(["duration", "node_name", "offline",
                                         "candidate_pool_size", "on_nodes"]):
                             random_json(rng)}]
                if method == luxi.REQ_WAIT_FOR_JOB_CHANGE and isinstance(args, list) \
                        and len(args) == 5:
                    args[4] = 0  # do not wait
                answer = await self.ask(proto, transport, method, args)
                self.assertEqual(set(answer), {"success", "result"}, (method, args))
                if answer["success"]:
                    outcomes["ok"] += 1
                else:
                    name = answer["result"][0]
                    self.assertIn(name, KNOWN_ERRORS, (method, args, answer))
                    outcomes[name] += 1
            # an unexpected exception is logged as a failure by the server
            self.assertEqual(self.flushLoggedErrors(), [])
            self.assertGreater(outcomes["ok"], 20)
            self.assertGreaterEqual(len(outcomes), 4, outcomes)
        return defer.ensureDeferred(go())
