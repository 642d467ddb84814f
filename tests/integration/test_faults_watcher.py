"""ganeti-watcher on a real cluster: dead daemons and dead instances come back (spec 11.1)."""

import json
import os
import subprocess

from ganeti_tw import constants as C, daemon_util
from tests.integration.base import ClusterTestCase, delay_op, run_watcher
from tests.integration.rapi_util import RapiConnection
from tests.integration.test_faults import summary

ADD = ("add", "--no-name-check", "--no-ip-check", "-o", "tiny", "-t", "diskless")


class WatcherTests(ClusterTestCase):
    BASE_IP = "127.0.25."

    def watch(self, node: int, *args: str) -> subprocess.CompletedProcess:
        return run_watcher(self.cluster, node, *args)

    def watcher_log(self, node: int) -> str:
        try:
            with open(self.cluster.paths(node).daemon_log(C.DAEMON_WATCHER)) as fh:
                return fh.read()
        except FileNotFoundError:
            return ""

    def instance_status(self, name: str) -> str:
        return self.client().query_instances([name], ["status"])[0][0]

    def fake_state(self, node: int, name: str) -> str:
        return os.path.join(self.cluster.paths(node).fake_hv_dir, name)

    def test_service_restarts_a_killed_node_daemon(self):
        paths = self.cluster.paths(2)
        daemon_util.start_daemon(paths, C.DAEMON_WATCHER, ["--interval", "0.5"])
        self.addCleanup(daemon_util.stop_daemon, paths, C.DAEMON_WATCHER)
        self.kill_daemon(2, C.DAEMON_NODED)
        self.wait_until(lambda: daemon_util.read_pid(paths, C.DAEMON_NODED) is not None,
                        "the watcher restarted ganeti-noded", timeout=60)
        self.assertIn("The node daemon is not running, starting it", self.watcher_log(2))
        # and the node answers the master again
        job = self.submit(delay_op(0, on_master=False, on_nodes=["node2"]))
        self.assertEqual(self.wait_job(job)[0], "success")
        summary("node daemon killed", daemons_killed=1, restarted_by_watcher_service=1)

    def test_cron_pass_restarts_killed_master_daemons(self):
        for daemon in C.MASTER_DAEMONS:
            self.kill_daemon(1, daemon)
        proc = self.watch(1)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        for daemon in C.MASTER_DAEMONS:
            self.assertIn("%s was not running, started it" % daemon, self.watcher_log(1))
        self.assertEqual(self.wait_job(self.submit(delay_op(0)))[0], "success")
        rapi = RapiConnection(self.cluster.ip(1))
        self.addCleanup(rapi.close)
        self.assertEqual(rapi.request("GET", "/2/info")[0], 200)

    def test_vanished_instance_restarted_but_not_after_five_failures(self):
        self.assertCommandOk("gnt-instance", *ADD, "-n", "node2", "inst1")
        os.unlink(self.fake_state(2, "inst1"))
        self.assertEqual(self.instance_status("inst1"), "ERROR_down")
        self.assertEqual(self.watch(1).returncode, 0)
        self.assertEqual(self.instance_status("inst1"), "running")
        with open(self.cluster.paths(1).instance_status_file) as fh:
            self.assertEqual(fh.read(), "inst1 ERROR_down\n")
        self.assertEqual(self.watch(1).returncode, 0)  # sees it running: record cleared
        with open(self.cluster.paths(1).instance_status_file) as fh:
            self.assertEqual(fh.read(), "inst1 running\n")
        # now every start fails: its temporary state file cannot be created
        os.unlink(self.fake_state(2, "inst1"))
        os.mkdir(self.fake_state(2, ".inst1.tmp"))
        for _ in range(C.WATCHER_MAXTRIES + 2):
            self.assertEqual(self.watch(1).returncode, 0)
        starts = [row for row in self.client().query_jobs(None, ["summary"])
                  if row[0] == ["INSTANCE_STARTUP(inst1)"]]
        self.assertEqual(len(starts), 1 + C.WATCHER_MAXTRIES)
        self.assertIn("Could not restart instance inst1 after 5 attempts, giving up",
                      self.watcher_log(1))
        with open(self.cluster.paths(1).watcher_state_file) as fh:
            state = json.load(fh)
        self.assertEqual(state["instance"]["inst1"]["restart_count"], C.WATCHER_MAXTRIES + 1)
        self.assertEqual(self.instance_status("inst1"), "ERROR_down")
        summary("instance state vanished (fake hypervisor)", instances_vanished=2,
                restarted_by_watcher=1, failed_restart_attempts=C.WATCHER_MAXTRIES,
                watcher_passes_failing=C.WATCHER_MAXTRIES + 2)

    def test_pause_stops_the_watcher_on_every_node_until_continue(self):
        self.assertIn("paused until", self.assertCommandOk("gnt-cluster", "watcher", "pause",
                                                           "1h"))
        self.assertIn("paused until", self.assertCommandOk("gnt-cluster", "watcher", "info"))
        self.kill_daemon(3, C.DAEMON_NODED)
        self.assertEqual(self.watch(3).returncode, 0)
        self.assertIsNone(daemon_util.read_pid(self.cluster.paths(3), C.DAEMON_NODED))
        # node3 is unreachable now: continue reports it and resumes the others
        proc = self.gnt("gnt-cluster", "watcher", "continue")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("could not reach node3", proc.stderr)
        self.assertIn("not paused", self.assertCommandOk("gnt-cluster", "watcher", "info"))
        os.unlink(self.cluster.paths(3).watcher_pause_file)  # the admin, by hand
        self.assertEqual(self.watch(3).returncode, 0)
        self.assertIsNotNone(daemon_util.read_pid(self.cluster.paths(3), C.DAEMON_NODED))
        line = self.assertCommandFails("gnt-cluster", "watcher", "pause", "soon")
        self.assertIn("invalid time specification", line)

    def test_finished_jobs_are_archived_and_counted(self):
        jobs = [self.submit(delay_op(0)) for _ in range(4)]
        for job in jobs:
            self.wait_job(job)
        self.assertEqual(self.watch(1, "--job-age", "0").returncode, 0)
        info = self.assertCommandOk("gnt-cluster", "queue", "info")
        self.assertIn("Jobs in the queue: 0", info)
        # and the 2 node adds, and the pass's own verify-disks job (spec 11.1 step 10)
        self.assertIn("Archived jobs: %d" % (len(jobs) + 3), info)
        for job in jobs:
            self.assertTrue(os.path.exists(self.cluster.paths(1).archived_job_file(int(job))))
            self.assertTrue(os.path.exists(self.cluster.paths(2).archived_job_file(int(job))))
