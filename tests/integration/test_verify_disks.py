"""gnt-cluster verify-disks and the watcher's step 10 on a real 2-node cluster (spec 5.1, 11.1).

File disks cannot go "offline" like LVM volumes; what a reboot loses is the
instance's disk link in the node's volatile run dir. These tests take the
link (or the disk file) away behind the cluster's back.
"""

import os
import subprocess
import sys

from ganeti_tw import constants as C, daemon_util
from ganeti_tw.local_cluster import BIN_DIR
from tests.integration.base import ClusterTestCase

INSTANCE = "inst1.example.com"
ADD = ("add", "--no-name-check", "--no-ip-check", "-o", "tiny", "-t", "file",
       "--disk", "0:size=8m", "-n", "node2", INSTANCE)
ALL_WELL = "All disks of running instances on online nodes are present and activated"


class VerifyDisksTests(ClusterTestCase):
    NODES = 2
    BASE_IP = "127.0.30."

    def setUp(self) -> None:
        super().setUp()
        self.assertCommandOk("gnt-instance", *ADD)
        self.link = self.cluster.paths(2).instance_disk_link(INSTANCE, 0)
        self.disk = os.path.join(self.cluster.paths(2).file_storage_dir, INSTANCE, "disk0")
        self.assertTrue(os.path.islink(self.link), "a started instance has its disk link")

    def verify_disks(self) -> subprocess.CompletedProcess:
        proc = self.gnt("gnt-cluster", "verify-disks")
        self.assertNotIn("Traceback", proc.stderr)
        return proc

    def test_lost_link_is_activated_and_lost_file_is_reported(self):
        proc = self.verify_disks()
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(proc.stdout, ALL_WELL + "\n")

        os.unlink(self.link)
        result = self.client().submit_job([{"OP_ID": "OP_CLUSTER_VERIFY_DISKS"}])
        self.assertEqual(self.wait_job(result)[2], [[[], {}, [INSTANCE], {}]])
        proc = self.verify_disks()
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("Activating disks for instance %s\n  activated" % INSTANCE, proc.stdout)
        self.assertEqual(os.readlink(self.link), self.disk)

        os.unlink(self.disk)
        proc = self.verify_disks()
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        lines = [line for line in proc.stdout.splitlines() if INSTANCE in line]
        self.assertEqual(lines, ["Instance %s: disk/0 missing on node node2: the disk file is "
                                 "gone; reinstall the instance or restore the disk from a "
                                 "backup" % INSTANCE])
        # cluster verify asks the same question through the same helper
        self.assertIn("instance %s: disk disk/0 missing on node node2" % INSTANCE,
                      self.gnt("gnt-cluster", "verify").stdout)

    def test_watcher_relinks_then_unreachable_node_is_reported_and_offline_one_skipped(self):
        os.unlink(self.link)
        env = dict(daemon_util.daemon_env(), GANETI_ROOT=self.cluster.root(1))
        proc = subprocess.run([sys.executable, os.path.join(BIN_DIR, "ganeti-watcher")],
                              env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(os.readlink(self.link), self.disk)

        self.kill_daemon(2, C.DAEMON_NODED)
        proc = self.verify_disks()
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn("Node node2 is unreachable: its disks were not checked", proc.stdout)
        self.assertNotIn("Activating", proc.stdout)
        # an offline node is not asked at all (spec 5.1: online nodes only)
        self.assertCommandOk("gnt-node", "modify", "--force", "--offline", "yes", "node2")
        proc = self.verify_disks()
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(proc.stdout, ALL_WELL + "\n")
