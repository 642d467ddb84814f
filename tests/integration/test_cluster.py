"""A 3-node cluster of real daemons: verify, jobs, locks, cancel, replication, bad input."""

import json
import os
import socket
import ssl
import tempfile
import time

from ganeti_tw import constants as C, errors
from ganeti_tw.jqueue.job import ts_float
from tests.integration.base import ClusterTestCase, delay_op


class ClusterTests(ClusterTestCase):
    BASE_IP = "127.0.2."

    def test_verify_passes_on_fresh_cluster(self):
        out = self.assertCommandOk("gnt-cluster", "verify")
        self.assertIn("Cluster verify passed", out)
        self.assertNotIn("ERROR", out)

    def test_node_list_shows_all_nodes_with_roles(self):
        out = self.assertCommandOk("gnt-node", "list", "--no-headers", "--separator=|",
                                   "-o", "name,role,pip,master_candidate")
        self.assertEqual(out.splitlines(), [
            "node1|M|127.0.2.1|Y", "node2|C|127.0.2.2|Y", "node3|C|127.0.2.3|Y"])

    def test_node_list_live_fields_are_numbers(self):
        rows = self.client().query_nodes([], ["name", "mtotal", "mfree", "dtotal", "ctotal"])
        self.assertEqual(len(rows), 3)
        for name, mtotal, mfree, dtotal, ctotal in rows:
            self.assertGreater(mtotal, 0)
            self.assertTrue(0 < mfree <= mtotal)
            self.assertGreater(dtotal, 0)
            self.assertGreaterEqual(ctotal, 1)

    def test_getmaster_and_info(self):
        self.assertEqual(self.assertCommandOk("gnt-cluster", "getmaster").strip(), "node1")
        out = self.assertCommandOk("gnt-cluster", "info")
        self.assertIn("Cluster name: local-cluster", out)
        self.assertIn("candidate pool size: 10", out)

    def test_jobs_on_one_node_are_serialized_and_others_run_concurrently(self):
        first = self.submit(delay_op(1.0, on_master=False, on_nodes=["node2"]))
        second = self.submit(delay_op(0, on_master=False, on_nodes=["node2"]))
        other = self.submit(delay_op(1.0, on_master=False, on_nodes=["node3"]))
        for job in (first, second, other):
            self.assertEqual(self.wait_job(job)[0], "success")
        times = {j: self.client().query_jobs([j], ["opstart", "end_ts"])[0]
                 for j in (first, second, other)}
        # second waited for first's node2 lock: it started running only after first ended
        rows = self.client().query_jobs([second], ["oplog", "opstatus"])
        self.assertEqual(rows[0][1], ["success"])
        first_end = ts_float(times[first][1])
        second_start = ts_float(times[second][0][0])
        second_end = ts_float(times[second][1])
        self.assertGreaterEqual(second_end, first_end)
        self.assertLess(second_start, first_end)  # it was waiting meanwhile
        # the node3 job overlapped with the node2 job
        other_start = ts_float(times[other][0][0])
        self.assertLess(other_start, first_end)

    def test_cancel_waiting_job_marks_all_opcodes_canceled(self):
        blocker = self.submit(delay_op(1.5, on_master=False, on_nodes=["node3"]))
        self.wait_status(blocker, "running")
        waiting = self.submit(delay_op(0, on_master=False, on_nodes=["node3"]),
                              delay_op(0))
        self.wait_status(waiting, "waiting")
        out = self.assertCommandOk("gnt-job", "cancel", waiting)
        self.assertIn("will be canceled", out)
        status, opstatus, opresult = self.wait_job(waiting)
        self.assertEqual(status, "canceled")
        self.assertEqual(opstatus, ["canceled", "canceled"])
        self.assertEqual(opresult, ["Job canceled by request"] * 2)
        self.assertEqual(self.wait_job(blocker)[0], "success")

    def test_cancel_queued_job(self):
        """With every worker busy a new job stays queued and cancel removes it at once."""
        busy = [self.submit(delay_op(2)) for _ in range(25)]
        queued = self.submit(delay_op(0))
        self.wait_status(busy[-1], "running")
        self.assertEqual(self.client().query_jobs([queued], ["status"])[0], ["queued"])
        self.assertEqual(self.client().cancel_job(queued), [True, "Job %s canceled" % queued])
        self.assertEqual(self.wait_job(queued)[0], "canceled")
        for job in busy:
            self.assertEqual(self.wait_job(job)[0], "success")

    def test_cancel_running_job_is_refused(self):
        job = self.submit(delay_op(1))
        self.wait_status(job, "running")
        success, message = self.client().cancel_job(job)
        self.assertFalse(success)
        self.assertIn("no longer waiting", message)
        self.assertEqual(self.wait_job(job)[0], "success")

    def test_config_and_job_files_identical_on_candidates(self):
        job = self.submit(delay_op(0))
        self.wait_job(job)
        master_config = self.read_data_file(1, "config.data")
        master_job = self.read_data_file(1, "queue/job-%s" % job)
        self.assertIsNotNone(master_job)
        for node in (2, 3):
            self.assertEqual(self.read_data_file(node, "config.data"), master_config)
            # a query may show the final state while its write is still in flight
            # (the queue serves in-memory state): wait, bounded, for the copy
            self.wait_until(lambda: self.read_data_file(node, "queue/job-%s" % job)
                            == self.read_data_file(1, "queue/job-%s" % job),
                            "node%d's copy of job %s matches the master's" % (node, job),
                            timeout=2 * C.REPLICATION_WAIT + 5)
            self.assertEqual(self.read_data_file(node, "queue/serial"),
                             self.read_data_file(1, "queue/serial"))
            for key in C.VALID_SS_KEYS:
                self.assertEqual(self.read_data_file(node, "ssconf_%s" % key),
                                 self.read_data_file(1, "ssconf_%s" % key), key)

    def test_secrets_and_job_files_are_not_world_readable(self):
        job = self.submit(delay_op(0))
        self.wait_job(job)
        for node in (1, 2):
            data_dir = self.cluster.paths(node).data_dir
            for name in ("config.data", "server.pem", "cluster-ca.key", "queue/job-%s" % job):
                mode = os.stat(os.path.join(data_dir, name)).st_mode & 0o777
                self.assertEqual(mode & 0o077, 0, "%s on node%d has mode %o" % (name, node, mode))
        sock_dir = self.cluster.paths(1).socket_dir
        self.assertEqual(os.stat(sock_dir).st_mode & 0o777, 0o700)

    def test_watch_streams_job_log(self):
        job = self.submit({"OP_ID": "OP_CLUSTER_VERIFY"})
        out = self.assertCommandOk("gnt-job", "watch", job)
        self.assertIn("Output from job %s follows" % job, out)
        self.assertIn("Verifying node node2", out)

    def test_job_list_and_info(self):
        job = self.submit(delay_op(0))
        self.wait_job(job)
        out = self.assertCommandOk("gnt-job", "list", "--no-headers", job)
        self.assertEqual(out.split(), [job, "success", "TEST_DELAY(0.0)"])
        info = self.assertCommandOk("gnt-job", "info", job)
        self.assertIn("OP_ID: OP_TEST_DELAY", info)
        self.assertIn("Status: success", info)

    def test_unknown_job_id_reported(self):
        line = self.gnt("gnt-job", "list", "999999").stderr.strip()
        self.assertEqual(line, "No such job: 999999")

    def test_drain_refuses_new_jobs_until_undrained(self):
        self.assertCommandOk("gnt-cluster", "queue", "drain")
        try:
            self.assertIn("The drain flag is set", self.assertCommandOk("gnt-cluster", "queue",
                                                                         "info"))
            line = self.assertCommandFails("gnt-debug", "delay", "0")
            self.assertIn("drain", line)
            # the flag is replicated, so a new master would keep it
            self.assertIsNotNone(self.read_data_file(2, "queue/drain"))
        finally:
            self.assertCommandOk("gnt-cluster", "queue", "undrain")
        self.assertCommandOk("gnt-debug", "delay", "0")
        self.assertIsNone(self.read_data_file(2, "queue/drain"))

    def test_archive_moves_job_file_on_master_and_candidates(self):
        job = self.submit(delay_op(0))
        self.wait_job(job)
        self.assertCommandOk("gnt-job", "archive", job)
        archived = "queue/archive/%d/job-%s" % (int(job) // 10000, job)
        for node in (1, 2, 3):
            self.assertIsNone(self.read_data_file(node, "queue/job-%s" % job))
            self.assertIsNotNone(self.read_data_file(node, archived))
        # archived jobs can still be looked at
        self.assertIn("success", self.assertCommandOk("gnt-job", "list", job))

    def test_autoarchive_all_archives_finished_jobs(self):
        job = self.submit(delay_op(0))
        self.wait_job(job)
        out = self.assertCommandOk("gnt-job", "autoarchive", "all")
        self.assertRegex(out, r"Archived [1-9]\d* jobs, 0 unchecked left")
        self.assertNotIn(job, self.assertCommandOk("gnt-job", "list", "--no-headers").split())

    def test_failing_opcode_stops_the_job(self):
        job = self.submit(delay_op(0, on_master=False, on_nodes=["nosuchnode"]), delay_op(0))
        status, opstatus, opresult = self.wait_job(job)
        self.assertEqual(status, "error")
        self.assertEqual(opstatus, ["error", "queued"])
        self.assertEqual(errors.decode_error(opresult[0]).__class__, errors.OpPrereqError)

    def test_job_ids_are_sequential_and_unique(self):
        ids = [int(self.submit(delay_op(0))) for _ in range(5)]
        self.assertEqual(ids, list(range(ids[0], ids[0] + 5)))


class BadInputTests(ClusterTestCase):
    """Bad input gets one clear error and changes nothing."""

    BASE_IP = "127.0.3."

    def _submit_file(self, content: str) -> str:
        fd, path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(fd, "w") as fh:
            fh.write(content)
        self.addCleanup(os.unlink, path)
        before = self.client().query_jobs(None, ["id"])
        line = self.assertCommandFails("gnt-job", "submit", path)
        self.assertEqual(self.client().query_jobs(None, ["id"]), before)
        return line

    def test_unknown_opcode(self):
        self.assertIn("Unknown opcode OP_NO_SUCH_THING",
                      self._submit_file('[{"OP_ID": "OP_NO_SUCH_THING"}]'))

    def test_missing_field(self):
        self.assertIn("missing required parameter 'duration'",
                      self._submit_file('[{"OP_ID": "OP_TEST_DELAY"}]'))

    def test_wrong_type(self):
        self.assertIn("parameter 'duration' must be a number",
                      self._submit_file('[{"OP_ID": "OP_TEST_DELAY", "duration": "soon"}]'))

    def test_unknown_field(self):
        self.assertIn("unknown parameter(s) colour",
                      self._submit_file('[{"OP_ID": "OP_TEST_DELAY", "duration": 0, '
                                        '"colour": "red"}]'))

    def test_malformed_json_file(self):
        self.assertIn("is not valid JSON", self._submit_file("[{not json"))

    def test_malformed_json_on_luxi_socket(self):
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(self.cluster.paths(1).master_socket)
        self.addCleanup(sock.close)
        for garbage in (b"{not json\x03", b'{"method": 1}\x03', b"[1,2]\x03",
                        b'{"method": "NoSuchMethod", "args": []}\x03',
                        b'{"method": "QueryJobs", "args": "x"}\x03'):
            sock.sendall(garbage)
            reply = b""
            while not reply.endswith(b"\x03"):
                reply += sock.recv(4096)
            answer = json.loads(reply[:-1])
            self.assertFalse(answer["success"], garbage)
            self.assertIsInstance(answer["result"][1][0], str)
        # the daemon still answers properly on the same connection
        sock.sendall(b'{"method": "QueryConfigValues", "args": ["cluster_name"]}\x03')
        reply = b""
        while not reply.endswith(b"\x03"):
            reply += sock.recv(4096)
        self.assertEqual(json.loads(reply[:-1]), {"success": True, "result": ["local-cluster"]})

    def test_cli_usage_errors_are_one_line(self):
        for args in (("gnt-node", "modify", "node2", "-C", "maybe"),
                     ("gnt-node", "frobnicate"),
                     ("gnt-debug", "delay", "soon"),
                     ("gnt-job", "autoarchive", "3x"),
                     ("gnt-node", "modify", "node2")):
            line = self.assertCommandFails(*args)
            self.assertIn("error", line)

    def test_unknown_node_in_query(self):
        line = self.assertCommandFails("gnt-node", "list", "nosuchnode")
        self.assertIn("Node 'nosuchnode' is unknown", line)

    def test_unknown_list_field(self):
        line = self.assertCommandFails("gnt-node", "list", "-o", "name,colour")
        self.assertIn("Unknown output fields selected: colour", line)

    def test_master_role_cannot_be_changed(self):
        line = self.assertCommandFails("gnt-node", "modify", "-D", "yes", "node1")
        self.assertIn("master failover", line)

    def test_commands_refuse_on_non_master(self):
        proc = self.cluster.gnt("gnt-job", "list", node=2, check=False, capture=True)
        self.assertEqual(proc.returncode, C.EXIT_NOTMASTER)
        self.assertIn("please connect to node node1", proc.stderr)

    def test_tls_client_without_cluster_certificate_is_refused(self):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with socket.create_connection((self.cluster.ip(2), C.DEFAULT_NODED_PORT), 5,
                                      source_address=("127.0.3.99", 0)) as raw:
            with self.assertRaises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
                with context.wrap_socket(raw) as tls:
                    tls.sendall(b"hello")
                    if not tls.recv(1):
                        raise ConnectionResetError("closed")
        deadline = time.monotonic() + 5
        log_path = self.cluster.paths(2).daemon_log(C.DAEMON_NODED)
        while time.monotonic() < deadline:
            with open(log_path) as fh:
                if "Refused TLS connection with 127.0.3.99:" in fh.read():
                    break
            time.sleep(0.1)
        else:
            self.fail("the refusal was not logged with the peer address")
