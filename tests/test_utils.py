"""ganeti_tw.utils: the size parser shared by the CLI and the hypervisor parameters."""

from twisted.trial import unittest

from ganeti_tw.utils import parse_unit


class ParseUnitTests(unittest.SynchronousTestCase):
    def test_plain_number_is_mib_rounded_up_to_4(self):
        self.assertEqual(parse_unit("512"), 512)
        self.assertEqual(parse_unit("10"), 12)
        self.assertEqual(parse_unit("1.5"), 4)
        self.assertEqual(parse_unit("0"), 0)

    def test_suffixes_are_case_insensitive_in_every_spelling(self):
        for text, mib in (("1g", 1024), ("30G", 30720), ("1.5t", 1536 * 1024),
                          ("100MiB", 100), ("8mb", 8), ("2GB", 2048), ("1gib", 1024),
                          ("1TB", 1048576), ("1Tib", 1048576), ("16 M", 16)):
            self.assertEqual(parse_unit(text), mib, text)

    def test_fractions_round_up_after_scaling(self):
        self.assertEqual(parse_unit("0.001g"), 4)
        self.assertEqual(parse_unit(".5g"), 512)
        self.assertEqual(parse_unit("1.0001g"), 1028)

    def test_numbers_are_read_like_their_text(self):
        """JSON batch files and hvparams may give sizes as numbers."""
        self.assertEqual(parse_unit(130), 132)
        self.assertEqual(parse_unit(0.1), 4)

    def test_refuses_negative_and_garbage(self):
        for text in ("-1", "-1g", "12q", "abc", "", "g", "1.2.3g", "1e3", "9" * 400):
            self.assertRaises(ValueError, parse_unit, text)

    def test_errors_name_the_text_and_the_problem(self):
        for text, words in (("-5", "must not be negative"), ("12q", "unknown unit 'q'"),
                            ("abc", "expected a number"), ("9" * 400, "too large")):
            with self.assertRaises(ValueError) as ctx:
                parse_unit(text)
            self.assertIn(words, str(ctx.exception))
            self.assertIn(text[:20], str(ctx.exception))
