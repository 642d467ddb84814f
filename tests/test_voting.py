"""Master start-up voting arithmetic (spec 2.4)."""

from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock
from twisted.trial import unittest

from ganeti_tw import voting
from ganeti_tw.rpc.client import RpcResult


class _Rpc:
    """Answers master_info from a table: name -> master it reports (None = down).

    ``serials``: name -> (config serial, next job id) reported by that node.
    """

    def __init__(self, answers, serials=None):
        self.answers = answers
        self.serials = serials or {}

    async def call(self, nodes, procedure, args, timeout=None, static=False):
        assert procedure == "master_info" and static
        return {n: (RpcResult(n, data=["lo", "1.2.3.4", self.answers[n]]
                              + list(self.serials.get(n, (None, None))))
                    if self.answers[n] else RpcResult(n, fail_msg="down")) for n in nodes}


class VotingTests(unittest.SynchronousTestCase):
    def check(self, answers, myself="node1", attempts=1, serials=None, config_serial=None):
        d = defer.ensureDeferred(voting.check_agreement(
            _Rpc(answers, serials), myself, [myself] + sorted(answers), MemoryReactorClock(),
            config_serial=config_serial, attempts=attempts))
        return self.successResultOf(d)

    def test_single_node_accepts(self):
        self.assertTrue(self.check({})[0])

    def test_majority_confirms(self):
        self.assertTrue(self.check({"node2": "node1", "node3": None})[0])

    def test_other_master_named_refuses(self):
        ok, why, _ = self.check({"node2": "node2", "node3": "node2"})
        self.assertFalse(ok)
        self.assertIn("name node2 as the master", why)

    def test_two_nodes_with_peer_down_refuses(self):
        ok, why, _ = self.check({"node2": None})
        self.assertFalse(ok)
        self.assertIn("did not answer", why)

    def test_ranking_puts_no_answer_last_on_ties(self):
        self.assertEqual(voting.count_votes({"a": None, "b": "node1"}),
                         [("node1", 1), (None, 1)])

    def test_candidate_with_newer_config_refuses_naming_it(self):
        ok, why, _ = self.check({"node2": "node1", "node3": "node1"}, config_serial=7,
                                serials={"node2": (7, 3), "node3": (9, 3)})
        self.assertFalse(ok)
        self.assertIn("node node3 holds a newer configuration (serial 9, this node has 7)", why)

    def test_equal_or_older_configs_accept(self):
        ok, _, _ = self.check({"node2": "node1", "node3": "node1"}, config_serial=7,
                              serials={"node2": (7, 3), "node3": (None, None)})
        self.assertTrue(ok)

    def test_highest_next_job_id_is_reported(self):
        _, _, next_id = self.check({"node2": "node1", "node3": "node1"}, config_serial=7,
                                   serials={"node2": (7, 12), "node3": (7, 40)})
        self.assertEqual(next_id, 40)

    def test_answers_without_serials_still_vote(self):
        self.assertEqual(voting.parse_answer(["lo", "1.2.3.4", "node1"]),
                         voting.NodeAnswer("node1", None, None))
        self.assertIsNone(voting.parse_answer(["lo", "1.2.3.4"]))
        self.assertIsNone(voting.parse_answer("garbage"))

    def test_retries_while_most_nodes_do_not_answer(self):
        clock = MemoryReactorClock()
        d = defer.ensureDeferred(voting.check_agreement(
            _Rpc({"node2": None}), "node1", ["node1", "node2"], clock, attempts=3,
            retry_delay=10))
        self.assertNoResult(d)
        clock.advance(10)
        self.assertNoResult(d)
        clock.advance(10)
        ok, why, _ = self.successResultOf(d)
        self.assertFalse(ok)
        self.assertIn("did not answer", why)
