"""The node daemon's answers on the wire: JSON where it round-trips, PB's encoding otherwise."""

from twisted.trial import unittest

from ganeti_tw.rpc import wire


class WireTests(unittest.SynchronousTestCase):
    def test_plain_data_travels_as_one_json_string_and_comes_back_equal(self):
        result = {"i1": {"memory": 128, "vcpus": 1, "state": "-b----", "time": 0.5},
                  "list": [None, True, "x", 1.25]}
        encoded = wire.encode_result(result)
        self.assertEqual(encoded[0], wire.OK_JSON)
        self.assertIsInstance(encoded[1], str)
        self.assertEqual(wire.decode_answer(encoded), (True, result))

    def test_values_json_would_change_keep_pb_encoding(self):
        for result in ((1, 2), [("a", 1)], {1: "int key"}, b"bytes", {"x": float("nan")}):
            encoded = wire.encode_result(result)
            self.assertIs(encoded[0], wire.OK, result)
            self.assertIs(encoded[1], result)

    def test_results_longer_than_one_pb_string_keep_pb_encoding(self):
        """PB refuses a single string over banana's SIZE_LIMIT; many small ones pass."""
        result = ["x" * 1000] * 700
        encoded = wire.encode_result(result)
        self.assertIs(encoded[0], wire.OK)
        self.assertEqual(wire.decode_answer(encoded), (True, result))

    def test_failures_and_malformed_answers(self):
        self.assertEqual(wire.decode_answer([False, "disk full"]), (False, "disk full"))
        self.assertEqual(wire.decode_answer([True, None]), (True, None))
        for bad in (None, [True], ["json", 5], ["json", "{not json"], ["yes", 1], [1, 2]):
            with self.assertRaises(ValueError):
                wire.decode_answer(bad)
