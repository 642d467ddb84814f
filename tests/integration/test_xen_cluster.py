"""A xen-pvm instance through gnt-cluster and gnt-instance on a real local cluster.

There is no Xen here: each node daemon's xen hypervisor talks to libvirt's
in-memory test:///default driver (named in the node's xen-libvirt-uri file),
so everything but running a guest is real: daemons, TLS, jobs, libvirt.
"""

import os

from twisted.trial import unittest

from ganeti_tw.hypervisors import libvirt_conn
from tests.integration.base import ClusterTestCase


class XenPvmClusterTests(ClusterTestCase):
    NODES = 2
    BASE_IP = "127.0.18."

    def setUp(self) -> None:
        if libvirt_conn.libvirt is None:
            raise unittest.SkipTest("libvirt-python is not importable (scripts/setup-env.sh"
                                    " installs it)")
        super().setUp()
        for node in (1, 2):
            with open(self.cluster.paths(node).xen_libvirt_uri_file, "w") as fh:
                fh.write("test:///default\n")
        self.kernel = os.path.join(self.tmpdir, "vmlinuz-xenU")
        with open(self.kernel, "wb") as fh:
            fh.write(b"\0" * 4096)

    def gi(self, *args: str) -> str:
        return self.assertCommandOk("gnt-instance", *args)

    def row(self, name: str, fields: str) -> list:
        return self.gi("list", "--no-headers", "--separator=|", "-o", fields, name
                       ).strip().split("|")

    def test_xen_pvm_instance_lifecycle(self):
        line = self.assertCommandFails("gnt-cluster", "modify",
                                       "--enabled-hypervisors", "fake,xen-pvm")
        self.assertIn("Hypervisor xen-pvm can't be used on node", line)
        self.assertIn("kernel_path", line)
        self.assertCommandOk("gnt-cluster", "modify", "--enabled-hypervisors", "fake,xen-pvm",
                             "-H", "xen-pvm:kernel_path=%s" % self.kernel)
        # the nodes' hypervisor self-check opens their libvirt connection
        self.assertNotIn("xen-pvm", self.assertCommandOk("gnt-cluster", "verify"))

        line = self.assertCommandFails("gnt-instance", "add", "--no-name-check",
                                       "--no-ip-check", "-o", "tiny", "-t", "sharedfile",
                                       "-s", "8m", "-n", "node1",
                                       "-H", "xen-pvm:kernel_path=vmlinuz", "bad1")
        self.assertIn("not an absolute path", line)
        self.gi("add", "--no-name-check", "--no-ip-check", "-o", "tiny", "-t", "sharedfile",
                "-s", "8m", "-B", "memory=96,vcpus=2", "-n", "node1", "-H", "xen-pvm",
                "x1.example.com")
        self.assertEqual(self.row("x1", "hypervisor,pnode,status,oper_ram"),
                         ["xen-pvm", "node1", "running", "96"])

        for kind in ("soft", "hard"):
            self.gi("reboot", "-t", kind, "x1")
            self.assertEqual(self.row("x1", "status"), ["running"])
        self.gi("shutdown", "x1")
        self.assertEqual(self.row("x1", "status,oper_ram"), ["ADMIN_down", "-"])
        self.gi("startup", "x1")
        self.assertEqual(self.row("x1", "status"), ["running"])
        self.assertIn("virsh -c test:///default console x1.example.com",
                      self.gi("console", "--show-cmd", "x1"))

        line = self.assertCommandFails("gnt-instance", "migrate", "-f", "-n", "node2", "x1")
        self.assertIn("live migration of xen-pvm instances is not implemented", line)
        self.assertEqual(self.row("x1", "pnode,status"), ["node1", "running"])
        self.gi("failover", "-f", "-n", "node2", "x1")
        self.assertEqual(self.row("x1", "pnode,status,oper_ram"), ["node2", "running", "96"])
        self.gi("remove", "-f", "x1")
        self.assertEqual(self.gi("list", "--no-headers", "-o", "name").split(), [])

    def test_unusable_libvirt_is_reported_by_verify_and_refuses_starts(self):
        with open(self.cluster.paths(2).xen_libvirt_uri_file, "w") as fh:
            fh.write("nosuchdriver:///system\n")
        self.assertCommandOk("gnt-cluster", "modify", "--enabled-hypervisors", "xen-pvm,fake",
                             "-H", "xen-pvm:kernel_path=%s" % self.kernel)
        proc = self.gnt("gnt-cluster", "verify")
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("node node2: hypervisor xen-pvm: Cannot use libvirt: cannot connect to"
                      " libvirt at nosuchdriver:///system: ", proc.stdout + proc.stderr)
        self.assertNotIn("node node1: hypervisor xen-pvm", proc.stdout + proc.stderr)
        line = self.assertCommandFails("gnt-instance", "add", "--no-name-check",
                                       "--no-ip-check", "-o", "tiny", "-t", "sharedfile",
                                       "-s", "8m", "-n", "node2", "-H", "xen-pvm", "x2")
        self.assertIn("Failed to get node info: cannot connect to libvirt at"
                      " nosuchdriver:///system", line)
