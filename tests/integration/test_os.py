"""gnt-os on a real 2-node cluster: list, diagnose, an OS broken or missing on one node."""

import os

from ganeti_tw import constants as C
from ganeti_tw.backend import osdefs
from tests.integration.base import ClusterTestCase

TINY = os.path.join(osdefs.PACKAGE_OS_DIR, "tiny")
NOOP = "/usr/share/ganeti/os/noop"


def write_os(top: str, name: str, api: str) -> str:
    os_dir = os.path.join(top, name)
    os.makedirs(os_dir)
    with open(os.path.join(os_dir, osdefs.API_FILE), "w") as fh:
        fh.write(api)
    for script in osdefs.OS_SCRIPTS:
        path = os.path.join(os_dir, script)
        with open(path, "w") as fh:
            fh.write("#!/bin/sh\nexit 0\n")
        os.chmod(path, 0o755)
    return os_dir


class OSTests(ClusterTestCase):
    NODES = 2
    BASE_IP = "127.0.9."

    def os_dir(self, node: int) -> str:
        """The first OS search dir of ``node``: what it holds hides everything else."""
        return self.cluster.paths(node).os_search_path[0]

    def diagnose_block(self, stdout: str, name: str) -> list:
        """The lines of ``name``'s block in diagnose output, up to the blank line ending it."""
        lines = stdout.splitlines()
        start = next((i for i, line in enumerate(lines) if line.startswith("OS: %s " % name)),
                     None)
        self.assertIsNotNone(start, "no block for %s in %r" % (name, stdout))
        return lines[start:lines.index("", start)]

    def test_list_shows_the_shipped_and_installed_definitions(self):
        lines = self.assertCommandOk("gnt-os", "list").splitlines()
        self.assertEqual(lines[0], "Name")
        self.assertIn("tiny", lines[1:])
        if os.path.isdir(NOOP):
            self.assertIn("noop", lines[1:])
        lines = self.assertCommandOk("gnt-os", "list", "--no-headers").splitlines()
        self.assertNotIn("Name", lines)
        self.assertIn("tiny", lines)

    def test_diagnose_reports_each_node_and_exits_0_when_all_valid(self):
        out = self.assertCommandOk("gnt-os", "diagnose")
        self.assertEqual(self.diagnose_block(out, "tiny"), [
            "OS: tiny [global status: valid]",
            "  Node: node1, status: valid (path: %s)" % TINY,
            "  Node: node2, status: valid (path: %s)" % TINY,
        ])

    def test_os_broken_on_one_node_is_partial_valid_and_fails_diagnose(self):
        broken = write_os(self.os_dir(2), "tiny", api="5\n")
        write_os(self.os_dir(1), "onlyone", api="10\n")
        proc = self.gnt("gnt-os", "diagnose")
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertEqual(self.diagnose_block(proc.stdout, "tiny"), [
            "OS: tiny [global status: partial valid]",
            "  Node: node1, status: valid (path: %s)" % TINY,
            "  Node: node2, status: invalid - API version mismatch (found [5] want 10) "
            "(path: %s)" % broken,
            "    [hidden] path: %s, status: valid" % TINY,
        ])
        self.assertEqual(self.diagnose_block(proc.stdout, "onlyone"), [
            "OS: onlyone [global status: partial valid]",
            "  Node: node1, status: valid (path: %s)"
            % os.path.join(self.os_dir(1), "onlyone"),
            "  Node: node2, status: OS not found",
        ])
        names = self.assertCommandOk("gnt-os", "list", "--no-headers").splitlines()
        self.assertNotIn("tiny", names)
        self.assertNotIn("onlyone", names)

    def test_os_broken_everywhere_is_invalid(self):
        for node in (1, 2):
            write_os(self.os_dir(node), "broken", api="ten\n")
        proc = self.gnt("gnt-os", "diagnose")
        self.assertEqual(proc.returncode, 1, proc.stderr)
        block = self.diagnose_block(proc.stdout, "broken")
        self.assertEqual(block[0], "OS: broken [global status: invalid]")
        self.assertIn("  Node: node2, status: invalid - API version is not integer", block[2])

    def test_unreachable_node_is_left_out_with_a_warning(self):
        self.kill_daemon(2, C.DAEMON_NODED)
        out = self.assertCommandOk("gnt-os", "diagnose")
        self.assertIn(" - WARNING: Cannot get the OS list of node node2: ", out)
        self.assertEqual(self.diagnose_block(out, "tiny"), [
            "OS: tiny [global status: valid]",
            "  Node: node1, status: valid (path: %s)" % TINY,
        ])
