"""The master IP is only touched by root on a real device of the real root."""

from twisted.trial import unittest

from ganeti_tw import master_role
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
