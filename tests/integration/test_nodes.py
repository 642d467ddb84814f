"""Node roles and failures on a real 4-node cluster."""

import os
import shutil
import ssl
import socket

from ganeti_tw import constants as C, daemon_util
from tests.integration.base import ClusterTestCase, delay_op


class NodeTests(ClusterTestCase):
    NODES = 4
    BASE_IP = "127.0.5."

    def roles(self) -> dict:
        rows = self.client().query_nodes([], ["name", "role"])
        return dict(rows)

    def test_killed_node_daemon_is_named_by_verify_and_fails_jobs(self):
        self.kill_daemon(3, C.DAEMON_NODED)
        proc = self.gnt("gnt-cluster", "verify")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("ERROR: node node3: cannot communicate with the node daemon", proc.stdout)
        line = self.assertCommandFails("gnt-debug", "delay", "0", "-n", "node3")
        self.assertIn("node3", line)
        self.assertIn("Error connecting to 127.0.5.3:1811", line)
        # other nodes are not affected
        self.assertCommandOk("gnt-debug", "delay", "0", "-n", "node2")
        self.cluster.start_noded(3)
        self.assertCommandOk("gnt-debug", "delay", "0", "-n", "node3")

    def test_demote_candidate_needs_force_and_drops_config_copy(self):
        line = self.assertCommandFails("gnt-node", "modify", "-C", "no", "node3")
        self.assertIn("Not enough master candidates", line)
        out = self.assertCommandOk("gnt-node", "modify", "-C", "no", "--force", "node3")
        self.assertIn("master_candidate -> False", out)
        self.assertEqual(self.roles()["node3"], "R")
        self.assertIsNone(self.read_data_file(3, "config.data"))
        self.assertIsNone(self.read_data_file(3, "cluster-ca.key"))
        self.assertFalse(os.path.exists(os.path.join(self.cluster.paths(3).queue_dir,
                                                     "serial")))
        proc = self.gnt("gnt-cluster", "verify")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("ERROR: not enough master candidates: 3, desired 4", proc.stdout)
        # promote again: config, CA key and queue come back
        self.assertCommandOk("gnt-node", "modify", "-C", "yes", "node3")
        self.assertEqual(self.read_data_file(3, "config.data"),
                         self.read_data_file(1, "config.data"))
        self.assertIsNotNone(self.read_data_file(3, "queue/serial"))
        self.assertCommandOk("gnt-cluster", "verify")

    def test_drained_and_offline_transitions(self):
        out = self.assertCommandOk("gnt-node", "modify", "-D", "yes", "--force", "node2")
        self.assertIn("auto-demotion", out)
        self.assertEqual(self.roles()["node2"], "D")
        line = self.assertCommandFails("gnt-node", "modify", "-C", "yes", "node2")
        self.assertIn("drained", line)
        self.assertCommandOk("gnt-node", "modify", "-O", "yes", "node2")
        self.assertEqual(self.roles()["node2"], "O")
        # an offline node is never contacted: its daemon may be gone
        self.kill_daemon(2, C.DAEMON_NODED)
        self.assertIn("Skipping offline node node2", self.assertCommandOk("gnt-cluster", "verify"))
        rows = self.client().query_nodes(["node2"], ["name", "mfree", "offline"])
        self.assertEqual(rows, [["node2", None, True]])
        self.cluster.start_noded(2)
        self.assertCommandOk("gnt-node", "modify", "-O", "no", "node2")
        self.assertEqual(self.roles()["node2"], "R")
        self.assertCommandOk("gnt-node", "modify", "-C", "yes", "node2")
        self.assertCommandOk("gnt-cluster", "verify")

    def test_pool_size_keeps_candidates_and_removal_promotes(self):
        self.assertCommandOk("gnt-cluster", "modify", "-C", "3")
        self.assertCommandOk("gnt-node", "modify", "-C", "no", "--force", "node4")
        self.assertEqual(sorted(self.roles().items()),
                         [("node1", "M"), ("node2", "C"), ("node3", "C"), ("node4", "R")])
        self.assertIsNone(self.read_data_file(4, "config.data"))
        self.assertCommandOk("gnt-node", "remove", "node2")
        roles = self.roles()
        self.assertNotIn("node2", roles)
        self.assertEqual(roles["node4"], "C")
        self.assertEqual(self.read_data_file(4, "config.data"),
                         self.read_data_file(1, "config.data"))
        # the removed node forgot the cluster and its daemon stopped
        self.assertIsNone(self.read_data_file(2, "config.data"))
        self.assertIsNone(self.read_data_file(2, "ssconf_master_node"))
        self.assertIsNone(self.read_data_file(2, "server.pem"))
        self.wait_until(lambda: daemon_util.read_pid(self.cluster.paths(2), C.DAEMON_NODED)
                        is None, "the removed node's daemon stopped")
        self.assertCommandOk("gnt-cluster", "verify")

    def test_demoting_a_candidate_promotes_a_regular_node(self):
        self.assertCommandOk("gnt-cluster", "modify", "-C", "3")
        self.assertCommandOk("gnt-node", "modify", "-C", "no", "node4")
        self.assertIsNone(self.read_data_file(4, "config.data"))
        out = self.assertCommandOk("gnt-node", "modify", "-D", "yes", "node2")
        self.assertIn("Promoted node4 to master candidate", out)
        self.assertEqual(sorted(self.roles().items()),
                         [("node1", "M"), ("node2", "D"), ("node3", "C"), ("node4", "C")])
        self.assertEqual(self.read_data_file(4, "config.data"),
                         self.read_data_file(1, "config.data"))
        self.assertIsNone(self.read_data_file(2, "config.data"))
        self.assertCommandOk("gnt-cluster", "verify")

    def test_redist_conf_repairs_a_candidate(self):
        os.unlink(os.path.join(self.cluster.paths(3).data_dir, "config.data"))
        os.unlink(os.path.join(self.cluster.paths(4).data_dir, "ssconf_node_list"))
        proc = self.gnt("gnt-cluster", "verify")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("node node3: file config.data missing", proc.stdout)
        self.assertIn("node node4: file ssconf_node_list missing", proc.stdout)
        self.assertCommandOk("gnt-cluster", "redist-conf")
        self.assertCommandOk("gnt-cluster", "verify")

    def test_node_info(self):
        out = self.assertCommandOk("gnt-node", "info", "node2")
        self.assertIn("Node name: node2", out)
        self.assertIn("primary ip: 127.0.5.2", out)
        self.assertIn("role: master candidate", out)

    def test_removed_node_certificate_is_refused(self):
        kept = os.path.join(self.tmpdir, "node3-server.pem")
        shutil.copy(self.cluster.paths(3).node_pem, kept)
        self.assertCommandOk("gnt-node", "remove", "node3")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_cert_chain(kept)
        context.load_verify_locations(self.cluster.paths(1).ca_cert)
        context.check_hostname = False
        with socket.create_connection((self.cluster.ip(2), C.DEFAULT_NODED_PORT), 5) as raw:
            with self.assertRaises((ssl.SSLError, ConnectionResetError)):
                with context.wrap_socket(raw) as tls:
                    tls.sendall(b"x")
                    if not tls.recv(1):
                        raise ConnectionResetError("closed")
        with open(self.cluster.paths(2).daemon_log(C.DAEMON_NODED)) as fh:
            self.assertIn("certificate of 'node3'", fh.read())

    def test_readd_node(self):
        self.assertCommandOk("gnt-node", "modify", "-O", "yes", "--force", "node4")
        self.assertCommandOk("gnt-node", "add", "--readd", "--no-node-setup", "node4")
        self.assertIn(self.roles()["node4"], ("C", "R"))
        self.assertCommandOk("gnt-cluster", "verify")

    def test_add_existing_node_refused(self):
        line = self.assertCommandFails("gnt-node", "add", "--no-node-setup",
                                       "--primary-ip", "127.0.5.2", "node2")
        self.assertIn("already in the configuration", line)

    def test_add_node_without_daemon_fails_cleanly(self):
        line = self.assertCommandFails("gnt-node", "add", "--no-node-setup",
                                       "--primary-ip", "127.0.5.9", "node9")
        self.assertIn("node9", line)
        self.assertNotIn("node9", self.roles())

    def test_delay_on_all_nodes(self):
        job = self.submit(delay_op(0.2, on_nodes=["node1", "node2", "node3", "node4"]))
        self.assertEqual(self.wait_job(job)[0], "success")
