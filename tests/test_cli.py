"""CLI helpers: tables, option parsing, units, process exit."""

import os
import subprocess
import sys

from twisted.trial import unittest

from ganeti_tw import utils
from ganeti_tw.cli import generate_table, keyval_arg, selected_fields
from ganeti_tw.cli.cluster import verify_disks_plan
from ganeti_tw.cli.node import build_parser

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# buffered output, as a command's is when nobody sets PYTHONUNBUFFERED
CHILD_ENV = dict({k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"},
                 PYTHONPATH=REPO)


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


class ExitProcessTests(unittest.SynchronousTestCase):
    """bin/gnt-* end through exit_process: output flushed, exit codes kept."""

    def run_script(self, body: str) -> "subprocess.CompletedProcess":
        code = "from ganeti_tw.cli import exit_process\n" + body
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env=CHILD_ENV)

    def test_buffered_output_is_flushed_and_code_kept(self):
        proc = self.run_script("import sys\n"
                               "def main():\n"
                               "    print('rows', end='')\n"
                               "    sys.stderr.write('warn')\n"
                               "    return 3\n"
                               "exit_process(main)\n")
        self.assertEqual((proc.returncode, proc.stdout, proc.stderr), (3, "rows", "warn"))

    def test_help_exits_zero_with_its_text(self):
        proc = self.run_script("from ganeti_tw.cli.job import main\n"
                               "exit_process(lambda: main(['--help']))\n")
        self.assertEqual(proc.returncode, 0)
        self.assertIn("usage: gnt-job", proc.stdout)

    def test_unexpected_exception_keeps_its_traceback(self):
        proc = self.run_script("def main():\n    raise RuntimeError('boom')\nexit_process(main)\n")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("RuntimeError: boom", proc.stderr)

    def test_closed_pipe_is_a_quiet_failure(self):
        # the reader ("| head -1") has gone before the buffered output is flushed
        code = ("from ganeti_tw.cli import exit_process\n"
                "import sys\n"
                "def main():\n"
                "    sys.stdin.read()\n"
                "    print('row')\n"
                "    return 0\n"
                "exit_process(main)\n")
        proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=CHILD_ENV)
        proc.stdout.close()
        _, err = proc.communicate(b"")
        self.assertEqual((proc.returncode, err), (1, b""))
