"""A real local cluster per test class: daemons as processes, TLS on loopback."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any, List, Optional

from twisted.trial import unittest

from ganeti_tw import constants as C, daemon_util, luxi
from ganeti_tw.local_cluster import BIN_DIR, LocalCluster


def run_watcher(cluster: LocalCluster, node: int, *args: str) -> subprocess.CompletedProcess:
    """One ganeti-watcher pass on ``node``, as cron would run it."""
    env = dict(daemon_util.daemon_env(), GANETI_ROOT=cluster.root(node))
    return subprocess.run([sys.executable, os.path.join(BIN_DIR, "ganeti-watcher")]
                          + list(args), env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120)


class ClusterTestCase(unittest.SynchronousTestCase):
    """Starts ``NODES`` nodes on ``BASE_IP``<i> for each test, stops them after."""

    NODES = 3
    BASE_IP = "127.0.2."
    HYPERVISORS = C.HT_FAKE
    cluster: LocalCluster

    def cluster_init_args(self) -> List[str]:
        """Extra ``gnt-cluster init`` arguments of this test's cluster."""
        return []

    def setUp(self) -> None:
        # short path: the LUXI socket path must fit in sun_path (108 bytes)
        self.tmpdir = tempfile.mkdtemp(prefix="gtw-", dir="/tmp")
        self.addCleanup(shutil.rmtree, self.tmpdir, True)
        self.cluster = LocalCluster(self.tmpdir, self.NODES, self.BASE_IP, verbose=False,
                                    hypervisors=self.HYPERVISORS,
                                    init_args=self.cluster_init_args())
        self.addCleanup(self.cluster.down)
        self.cluster.up()

    # helpers ----------------------------------------------------------------

    def gnt(self, command: str, *args: str, node: int = 1) -> subprocess.CompletedProcess:
        return self.cluster.gnt(command, *args, node=node, check=False, capture=True)

    def assertCommandOk(self, command: str, *args: str) -> str:
        proc = self.gnt(command, *args)
        self.assertEqual(proc.returncode, 0, "%s %s failed: %s%s" % (
            command, " ".join(args), proc.stdout, proc.stderr))
        return proc.stdout

    def assertCommandFails(self, command: str, *args: str, code: int = 1) -> str:
        """The command exits ``code`` with exactly one line on stderr; returns that line."""
        proc = self.gnt(command, *args)
        self.assertEqual(proc.returncode, code, "%s %s: exit %d, stderr %r" % (
            command, " ".join(args), proc.returncode, proc.stderr))
        lines = proc.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, "expected one error line, got %r" % proc.stderr)
        self.assertNotIn("Traceback", proc.stderr)
        return lines[0]

    def client(self, node: int = 1) -> luxi.Client:
        return luxi.Client(self.cluster.paths(node).master_socket)

    def submit(self, *ops: dict) -> str:
        return self.client().submit_job(list(ops))

    def wait_job(self, job_id: str, timeout: float = 30) -> List[Any]:
        """Wait until the job is finalized; returns [status, opstatus, opresult]."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row = self.client().query_jobs([job_id], ["status", "opstatus", "opresult"])[0]
            if row is not None and row[0] in C.JOBS_FINALIZED:
                return row
            time.sleep(0.05)
        self.fail("job %s did not finish within %ds" % (job_id, timeout))

    def wait_status(self, job_id: str, status: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.client().query_jobs([job_id], ["status"])[0] == [status]:
                return
            time.sleep(0.02)
        self.fail("job %s never reached %s" % (job_id, status))

    def wait_until(self, predicate: Any, what: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                self.fail("timed out waiting until %s" % what)
            time.sleep(0.02)

    def read_data_file(self, node: int, name: str) -> Optional[bytes]:
        path = os.path.join(self.cluster.paths(node).data_dir, name)
        try:
            with open(path, "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            return None

    def kill_daemon(self, node: int, daemon: str) -> None:
        pid = daemon_util.read_pid(self.cluster.paths(node), daemon)
        self.assertIsNotNone(pid, "%s is not running on node%d" % (daemon, node))
        os.kill(pid, signal.SIGKILL)
        self.wait_until(lambda: daemon_util.read_pid(self.cluster.paths(node), daemon) is None,
                        "%s died" % daemon)


def delay_op(duration: float = 0, on_master: bool = True, on_nodes: Optional[list] = None) -> dict:
    return {"OP_ID": "OP_TEST_DELAY", "duration": duration, "on_master": on_master,
            "on_nodes": on_nodes or []}
