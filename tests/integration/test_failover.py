"""gnt-cluster masterfailover (spec 2.5) and start-up voting (spec 2.4) on real clusters."""

import json
import os

from ganeti_tw import constants as C, daemon_util, errors
from tests.integration.base import ClusterTestCase, delay_op
from tests.integration.rapi_util import RapiConnection
from tests.integration.test_faults import summary


class FailoverTestCase(ClusterTestCase):
    """A cluster whose master may move: helpers talk to the current master."""

    master = 1

    def setUp(self) -> None:
        self.master = 1
        super().setUp()

    def client(self, node=None):
        return super().client(node or self.master)

    def gnt(self, command, *args, node=None):
        return super().gnt(command, *args, node=node or self.master)

    def failover(self, node: int, *args: str) -> str:
        proc = self.gnt("gnt-cluster", "masterfailover", *args, node=node)
        self.assertEqual(proc.returncode, 0, "masterfailover on node%d failed: %s%s"
                         % (node, proc.stdout, proc.stderr))
        self.master = node
        return proc.stdout

    def failover_fails(self, node: int, *args: str) -> str:
        """masterfailover on ``node`` exits 1 with one line on stderr; returns it."""
        proc = self.gnt("gnt-cluster", "masterfailover", *args, node=node)
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        lines = proc.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, proc.stderr)
        return lines[0]

    def kill_node(self, node: int) -> None:
        """The node dies: every daemon it runs is killed with SIGKILL."""
        for daemon in (C.DAEMON_NODED,) + C.MASTER_DAEMONS:
            if daemon_util.read_pid(self.cluster.paths(node), daemon) is not None:
                self.kill_daemon(node, daemon)

    def job_ids(self):
        listed = self.assertCommandOk("gnt-job", "list", "--no-headers", "-o", "id")
        return sorted(listed.split(), key=int)

    def masters_in_ssconf(self, nodes):
        return {n: (self.read_data_file(n, "ssconf_master_node") or b"").decode().strip()
                for n in nodes}

    def config_serial(self, node: int) -> int:
        return json.loads(self.read_data_file(node, "config.data"))["serial_no"]


class ThreeNodeFailoverTests(FailoverTestCase):
    BASE_IP = "127.0.22."

    def test_failover_while_jobs_run_finishes_queued_jobs_on_new_master(self):
        running = [self.submit(delay_op(60)) for _ in range(25)]
        queued = [self.submit(delay_op(0)) for _ in range(5)]
        self.wait_status(running[-1], "running")
        before = self.job_ids()
        self.assertTrue(set(running + queued) <= set(before))
        out = self.failover(2)
        self.assertIn("node1: stopped ganeti-masterd", out)
        self.assertIsNone(daemon_util.read_pid(self.cluster.paths(1), C.DAEMON_MASTERD))
        self.assertEqual(self.masters_in_ssconf([1, 2, 3]), {1: "node2", 2: "node2", 3: "node2"})
        # the remote API moved with the master role
        self.assertIsNone(daemon_util.read_pid(self.cluster.paths(1), C.DAEMON_RAPI))
        rapi = RapiConnection(self.cluster.ip(2))
        self.addCleanup(rapi.close)
        status, info, _ = rapi.request("GET", "/2/info")
        self.assertEqual((status, info["master"]), (200, "node2"))
        for job in running:
            self.assertEqual(self.wait_job(job), ["error", ["error"],
                                                  ["Unclean master daemon shutdown"]])
        for job in queued:
            self.assertEqual(self.wait_job(job)[0], "success")
        self.assertEqual(self.job_ids(), before)
        new_job = self.submit(delay_op(0))
        self.assertGreater(int(new_job), max(int(j) for j in queued))
        self.assertEqual(self.wait_job(new_job)[0], "success")
        configs = {self.read_data_file(n, "config.data") for n in (1, 2, 3)}
        self.assertEqual(len(configs), 1, "config.data differs between the candidates")
        # the old master now is a candidate like any other: the CLI there points here
        proc = self.gnt("gnt-job", "list", node=1)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("please connect to node node2", proc.stderr)
        summary("master failover while jobs run", failovers=1,
                running_jobs_ended_error=len(running), queued_jobs_run_by_new_master=len(queued),
                jobs_listed_on_new_master=len(before), configs_identical_on_nodes=3)

    def test_dead_master_fails_over_and_does_not_come_back_as_master(self):
        self.kill_node(1)
        self.failover(2)
        self.assertEqual(self.wait_job(self.submit(delay_op(0)))[0], "success")
        # node1 comes back with its old ssconf naming itself master: the vote stops it
        self.assertEqual(self.masters_in_ssconf([1]), {1: "node1"})
        self.cluster.start_noded(1)
        with self.assertRaises(errors.CommandError) as ctx:
            daemon_util.start_daemon(self.cluster.paths(1), C.DAEMON_MASTERD, timeout=60)
        self.assertIn("the nodes name node2 as the master", str(ctx.exception))
        # redist-conf on the new master brings node1 up to date
        self.assertCommandOk("gnt-cluster", "redist-conf")
        self.assertEqual(self.masters_in_ssconf([1]), {1: "node2"})
        self.assertEqual(self.config_serial(1), self.config_serial(2))
        summary("master node dead, 3 nodes", nodes_killed=1, failovers_with_voting=1,
                old_master_restarts_refused=1)

    def test_failover_refused_on_master_and_on_regular_node(self):
        self.assertIn("already the master", self.failover_fails(1))
        self.assertCommandOk("gnt-node", "modify", "-C", "no", "--force", "node3")
        line = self.failover_fails(3)
        self.assertIn("is not a master candidate", line)
        self.assertIn("node1, node2", line)

    def test_candidate_with_newer_config_stops_masterd_naming_it(self):
        daemon_util.stop_daemon(self.cluster.paths(1), C.DAEMON_MASTERD)
        path = self.cluster.paths(3).config_file
        data = json.loads(self.read_data_file(3, "config.data"))
        data["serial_no"] += 5
        with open(path, "w") as fh:
            json.dump(data, fh)
        with self.assertRaises(errors.CommandError) as ctx:
            daemon_util.start_daemon(self.cluster.paths(1), C.DAEMON_MASTERD, timeout=60)
        self.assertIn("node node3 holds a newer configuration (serial %d, this node has %d)"
                      % (data["serial_no"], data["serial_no"] - 5), str(ctx.exception))
        summary("candidate with a newer config", configs_made_newer=1,
                master_starts_refused_naming_node=1)
        # --no-voting is the admin's override
        daemon_util.start_daemon(self.cluster.paths(1), C.DAEMON_MASTERD,
                                 ["--no-voting", "--yes-do-it"])
        self.assertEqual(self.wait_job(self.submit(delay_op(0)))[0], "success")


class TwoNodeFailoverTests(FailoverTestCase):
    NODES = 2
    BASE_IP = "127.0.22."

    def test_dead_master_needs_no_voting(self):
        self.kill_node(1)
        line = self.failover_fails(2)
        self.assertIn("most nodes did not respond", line)
        self.assertIn("--no-voting", line)
        self.assertIn("aborted", self.failover_fails(2, "--no-voting"))
        self.failover(2, "--no-voting", "--yes-do-it")
        self.assertEqual(self.wait_job(self.submit(delay_op(0)))[0], "success")
        self.assertEqual(self.masters_in_ssconf([2]), {2: "node2"})
        self.assertTrue(os.path.exists(self.cluster.paths(2).master_socket))
        summary("master node dead, 2 nodes", nodes_killed=1, failovers_refused_with_voting=1,
                failovers_with_no_voting=1)
