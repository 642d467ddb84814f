"""The master IP is only touched by root on a real device of the real root."""

import os
import shutil
import subprocess
import sys

from twisted.trial import unittest

from ganeti_tw import daemon_util, master_role
from ganeti_tw.paths import Paths


class MasterIpTests(unittest.SynchronousTestCase):
    def test_local_cluster_root_is_a_logged_no_op(self):
        paths = Paths(self.mktemp())
        for action in (master_role.activate_master_ip, master_role.deactivate_master_ip):
            self.assertIn("not managed here", action(paths, "127.0.22.254", "eth0"))

    def test_loopback_device_is_never_managed(self):
        paths = Paths("/")
        for netdev in ("lo", "lo:0"):
            self.assertIn("not managed here",
                          master_role.activate_master_ip(paths, "127.0.22.254", netdev))


class MasterIpInNamespaceTests(unittest.TestCase):
    """The real ``ip address`` path, on a veth device of a network namespace of our own."""

    NETNS = "gtw-master-ip"
    IP = "198.18.9.254"  # benchmark-test range: reaches nothing outside the namespace

    def setUp(self):
        if os.geteuid() != 0 or shutil.which("ip") is None:
            raise unittest.SkipTest("needs root and iproute2 to make a network namespace")
        subprocess.run(["ip", "netns", "del", self.NETNS], capture_output=True)
        for cmd in (["ip", "netns", "add", self.NETNS],
                    ["ip", "-n", self.NETNS, "link", "add", "gtw0", "type", "veth",
                     "peer", "name", "gtw1"],
                    ["ip", "-n", self.NETNS, "link", "set", "gtw0", "up"]):
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                subprocess.run(["ip", "netns", "del", self.NETNS], capture_output=True)
                raise unittest.SkipTest("cannot make a network namespace here: %s"
                                        % proc.stderr.strip())
        self.addCleanup(subprocess.run, ["ip", "netns", "del", self.NETNS], capture_output=True)

    def in_netns(self, action: str) -> str:
        """Run ``master_role.<action>`` for the real root inside the namespace."""
        code = ("import sys; from ganeti_tw import master_role; from ganeti_tw.paths import "
                "Paths; print(master_role.%s(Paths('/'), %r, 'gtw0'))" % (action, self.IP))
        proc = subprocess.run(["ip", "netns", "exec", self.NETNS, sys.executable, "-c", code],
                              capture_output=True, text=True, env=daemon_util.daemon_env())
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc.stdout.strip()

    def addresses(self) -> str:
        return subprocess.run(["ip", "-n", self.NETNS, "-o", "-4", "address", "show", "dev",
                               "gtw0"], capture_output=True, text=True).stdout

    def test_add_twice_then_remove_twice(self):
        self.assertEqual(self.in_netns("activate_master_ip"),
                         "master IP %s added to gtw0" % self.IP)
        self.assertIn(" %s/32 " % self.IP, self.addresses())
        self.assertIn("gtw0:0", self.addresses())
        self.assertEqual(self.in_netns("activate_master_ip"),
                         "master IP %s is already on gtw0" % self.IP)
        self.assertEqual(self.in_netns("deactivate_master_ip"),
                         "master IP %s removed from gtw0" % self.IP)
        self.assertNotIn(self.IP, self.addresses())
        self.assertEqual(self.in_netns("deactivate_master_ip"),
                         "master IP %s is not on gtw0" % self.IP)
