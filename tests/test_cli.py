"""CLI helpers: tables, option parsing, units."""

from twisted.trial import unittest

from ganeti_tw import utils
from ganeti_tw.cli import generate_table, keyval_arg, selected_fields
from ganeti_tw.cli.cluster import verify_disks_plan
from ganeti_tw.cli.node import build_parser


class TableTests(unittest.SynchronousTestCase):
    def test_aligned_with_units(self):
        lines = generate_table({"name": "Node", "mfree": "MFree"}, ["name", "mfree"],
                               [["node1", 2048], ["node10", None]], unit_fields=["mfree"])
        self.assertEqual(lines, ["Node   MFree", "node1   2.0G", "node10     ?"])

    def test_separator_uses_mib_and_no_alignment(self):
        lines = generate_table({}, ["name", "mfree", "master"], [["n", 2048, True]],
                               separator="|", no_headers=True, unit_fields=["mfree"])
        self.assertEqual(lines, ["n|2048|Y"])

    def test_selected_fields(self):
        self.assertEqual(selected_fields(None, ["a"]), ["a"])
        self.assertEqual(selected_fields("+b,c", ["a"]), ["a", "b", "c"])
        self.assertEqual(selected_fields("b", ["a"]), ["b"])


class ParsingTests(unittest.SynchronousTestCase):
    def test_keyval(self):
        self.assertEqual(keyval_arg("memory=512,acpi,no_usb"),
                         {"memory": 512, "acpi": True, "usb": False})
        self.assertEqual(keyval_arg("auto_balance=false,acpi=True"),
                         {"auto_balance": False, "acpi": True})
        self.assertEqual(keyval_arg("-kernel_path,vcpus=2"), {"kernel_path": None, "vcpus": 2})
        self.assertRaises(Exception, keyval_arg, "a=1,a=2")

    def test_parse_age(self):
        self.assertEqual(utils.parse_age("6h"), 21600)
        self.assertEqual(utils.parse_age("90"), 90)
        self.assertRaises(ValueError, utils.parse_age, "x")

    def test_nice_sort(self):
        self.assertEqual(utils.nice_sort(["node10", "node2", "node1"]),
                         ["node1", "node2", "node10"])

    def test_node_modify_flags(self):
        opts = build_parser().parse_args(["modify", "-C", "yes", "-D", "no", "node2"])
        self.assertEqual((opts.master_candidate, opts.drained, opts.offline), (True, False, None))


class VerifyDisksPlanTests(unittest.SynchronousTestCase):
    def test_instances_with_lost_disks_are_reported_not_activated(self):
        nodes, to_activate, lost = verify_disks_plan(
            [["node3"], {"node4": "disk check failed"}, ["a", "b"],
             {"b": [["node2", "disk/0"], ["node2", "disk/1"]]}])
        self.assertEqual(nodes, ["Node node3 is unreachable: its disks were not checked",
                                 "Node node4: cannot check its disks: disk check failed"])
        self.assertEqual(to_activate, ["a"])
        self.assertEqual(len(lost), 1)
        self.assertTrue(lost[0].startswith("Instance b: disk/0, disk/1 missing on node node2: "
                                           "the disk file is gone"), lost[0])
        self.assertNotIn("replace-disks", lost[0])

    def test_clean_answer_plans_nothing(self):
        self.assertEqual(verify_disks_plan([[], {}, [], {}]), ([], [], []))
