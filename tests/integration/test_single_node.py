"""A one-node cluster: init refusals and destroy."""

import os

from ganeti_tw import constants as C, daemon_util
from tests.integration.base import ClusterTestCase


class SingleNodeTests(ClusterTestCase):
    NODES = 1
    BASE_IP = "127.0.6."

    def test_init_twice_is_refused(self):
        line = self.assertCommandFails("gnt-cluster", "init", "--primary-ip", "127.0.6.1",
                                       "--master-ip", "127.0.6.254", "again")
        self.assertIn("already initialised", line)

    def test_destroy_needs_confirmation_then_removes_everything(self):
        line = self.assertCommandFails("gnt-cluster", "destroy")
        self.assertIn("--yes-do-it", line)
        self.assertCommandOk("gnt-cluster", "destroy", "--yes-do-it")
        paths = self.cluster.paths(1)
        self.assertIsNone(daemon_util.read_pid(paths, C.DAEMON_MASTERD))
        self.assertIsNone(daemon_util.read_pid(paths, C.DAEMON_NODED))
        self.assertEqual([n for n in os.listdir(paths.data_dir)
                          if os.path.isfile(os.path.join(paths.data_dir, n))], [])
        for command in (("gnt-node", "list"), ("gnt-cluster", "getmaster")):
            line = self.assertCommandFails(*command, code=C.EXIT_NOTCLUSTER)
            self.assertIn("not part of a cluster", line)

    def test_destroy_refused_with_other_nodes(self):
        self.cluster.add_node(2)
        line = self.assertCommandFails("gnt-cluster", "destroy", "--yes-do-it")
        self.assertIn("remove them first", line)
        self.assertCommandOk("gnt-cluster", "verify")

    def test_init_argument_errors_are_one_line(self):
        for args in (("--enabled-hypervisors", "vmware", "x"), ("-m", "zz:zz", "x"),
                     ("--master-ip", "1.2.3", "x"), ("-g", "xenvg", "x")):
            proc = self.cluster.gnt("gnt-cluster", "init", *args, check=False, capture=True)
            self.assertEqual(proc.returncode, 1, args)
            self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)

    def test_daemon_util_actions_and_exit_codes(self):
        def util(*args):
            return self.cluster.gnt("ganeti-daemon-util", "--root", self.cluster.root(1),
                                    *args, check=False, capture=True)
        self.assertEqual(util("check", "ganeti-noded").returncode, 0)
        self.assertEqual(util("stop", "ganeti-noded").returncode, 0)
        self.assertEqual(util("check", "ganeti-noded").returncode, 1)
        proc = util("restart", "ganeti-noded", "--", "--bind", self.cluster.ip(1))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(util("check", "ganeti-noded").returncode, 0)
        self.assertCommandOk("gnt-cluster", "verify")
