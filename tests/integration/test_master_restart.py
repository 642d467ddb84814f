"""Master daemon killed and restarted: the queue and config come back consistent."""

import json
import os

from ganeti_tw import constants as C, daemon_util
from tests.integration.base import ClusterTestCase, delay_op


class MasterRestartTests(ClusterTestCase):
    BASE_IP = "127.0.4."

    def restart_masterd(self) -> None:
        daemon_util.start_daemon(self.cluster.paths(1), C.DAEMON_MASTERD)

    def test_kill_during_jobs_marks_running_error_and_runs_queued(self):
        running = [self.submit(delay_op(60)) for _ in range(25)]
        queued = [self.submit(delay_op(0)) for _ in range(3)]
        self.wait_status(running[-1], "running")
        self.assertEqual([self.client().query_jobs([j], ["status"])[0][0] for j in queued],
                         ["queued"] * 3)
        config_before = self.read_data_file(1, "config.data")
        self.kill_daemon(1, C.DAEMON_MASTERD)
        self.restart_masterd()
        for job in running:
            status, opstatus, opresult = self.wait_job(job)
            self.assertEqual((status, opstatus, opresult),
                             ("error", ["error"], ["Unclean master daemon shutdown"]))
        for job in queued:
            self.assertEqual(self.wait_job(job)[0], "success")
        self.assertEqual(self.read_data_file(1, "config.data"), config_before)
        # the new state reaches the candidates too (a candidate slower than
        # REPLICATION_WAIT is not waited for, so on a loaded machine it may lag)
        last = queued[-1]
        self.wait_until(lambda: self.read_data_file(2, "queue/job-%s" % last)
                        == self.read_data_file(1, "queue/job-%s" % last),
                        "the candidate's copy of job %s matches the master's" % last,
                        timeout=2 * C.REPLICATION_WAIT + 5)
        # no job id is reused after the restart
        new_job = self.submit(delay_op(0))
        self.assertGreater(int(new_job), int(queued[-1]))
        self.assertCommandOk("gnt-cluster", "verify")

    def test_sigterm_stops_cleanly_and_restart_keeps_jobs(self):
        job = self.submit(delay_op(0))
        self.wait_job(job)
        self.assertTrue(daemon_util.stop_daemon(self.cluster.paths(1), C.DAEMON_MASTERD))
        self.assertFalse(os.path.exists(self.cluster.paths(1).master_socket))
        line = self.assertCommandFails("gnt-job", "list")
        self.assertIn("Cannot communicate with the master daemon", line)
        self.restart_masterd()
        self.assertIn("success", self.assertCommandOk("gnt-job", "list", job))

    def test_corrupt_job_file_is_moved_aside(self):
        job = self.submit(delay_op(0))
        self.wait_job(job)
        daemon_util.stop_daemon(self.cluster.paths(1), C.DAEMON_MASTERD)
        queue_dir = self.cluster.paths(1).queue_dir
        with open(os.path.join(queue_dir, "job-%s" % job), "w") as fh:
            fh.write('{"id": "%s", "ops": [trunc' % job)
        self.restart_masterd()
        self.assertEqual(self.client().query_jobs([job], ["status"]), [None])
        moved = os.listdir(os.path.join(queue_dir, "archive", "corrupt"))
        self.assertEqual([m.split(".")[0] for m in moved], ["job-%s" % job])
        with open(self.cluster.paths(1).daemon_log(C.DAEMON_MASTERD)) as fh:
            self.assertIn("Job file %s/job-%s is unparseable" % (queue_dir, job), fh.read())
        # and the id is not handed out again
        self.assertGreater(int(self.submit(delay_op(0))), int(job))

    def test_left_over_temp_files_are_removed_at_start(self):
        daemon_util.stop_daemon(self.cluster.paths(1), C.DAEMON_MASTERD)
        leftover = os.path.join(self.cluster.paths(1).queue_dir, ".job-7.abc.tmp")
        with open(leftover, "w") as fh:
            fh.write("half")
        self.restart_masterd()
        self.assertFalse(os.path.exists(leftover))

    def test_corrupt_config_refuses_start_with_one_line(self):
        daemon_util.stop_daemon(self.cluster.paths(1), C.DAEMON_MASTERD)
        config_file = self.cluster.paths(1).config_file
        with open(config_file) as fh:
            good = fh.read()
        self.addCleanup(self._write, config_file, good)
        for bad in (good[:len(good) // 2], "", json.dumps({"version": 1})):
            self._write(config_file, bad)
            with self.assertRaises(Exception) as ctx:
                daemon_util.start_daemon(self.cluster.paths(1), C.DAEMON_MASTERD, timeout=10)
            message = str(ctx.exception)
            self.assertIn(config_file, message)
            self.assertNotIn("Traceback", message)
        # the CLI reads the same file the same way
        self._write(config_file, good)
        self.restart_masterd()
        self.assertCommandOk("gnt-cluster", "verify")

    @staticmethod
    def _write(path: str, text: str) -> None:
        with open(path, "w") as fh:
            fh.write(text)
