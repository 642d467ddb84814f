"""Master start-up voting arithmetic (spec 2.4)."""

from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock
from twisted.trial import unittest

from ganeti_tw import voting
from ganeti_tw.rpc.client import RpcResult


class _Rpc:
    """Answers master_info from a table: name -> master it reports (None = down)."""

    def __init__(self, answers):
        self.answers = answers

    async def call(self, nodes, procedure, args, timeout=None, static=False):
        assert procedure == "master_info" and static
        return {n: (RpcResult(n, data=["lo", "1.2.3.4", self.answers[n]])
                    if self.answers[n] else RpcResult(n, fail_msg="down")) for n in nodes}


class VotingTests(unittest.SynchronousTestCase):
    def check(self, answers, myself="node1", attempts=1):
        d = defer.ensureDeferred(voting.check_agreement(
            _Rpc(answers), myself, [myself] + sorted(answers), MemoryReactorClock(),
            attempts=attempts))
        return self.successResultOf(d)

    def test_single_node_accepts(self):
        self.assertTrue(self.check({})[0])

    def test_majority_confirms(self):
        self.assertTrue(self.check({"node2": "node1", "node3": None})[0])

    def test_other_master_named_refuses(self):
        ok, why = self.check({"node2": "node2", "node3": "node2"})
        self.assertFalse(ok)
        self.assertIn("name node2 as the master", why)

    def test_two_nodes_with_peer_down_refuses(self):
        ok, why = self.check({"node2": None})
        self.assertFalse(ok)
        self.assertIn("did not answer", why)

    def test_ranking_puts_no_answer_last_on_ties(self):
        self.assertEqual(voting.count_votes({"a": None, "b": "node1"}),
                         [("node1", 1), (None, 1)])
