"""Fault injection on a real local cluster: nothing is lost, nothing is torn.

Each test prints one ``fault-injection:`` line saying what it injected and
what it verified (counts), so a run of the suite shows its own summary.
"""

import os
import random
import re
import shutil
import subprocess
import tempfile
import time
from typing import Dict, List, Tuple

from ganeti_tw import config, constants as C, daemon_util, errors, luxi, serializer
from ganeti_tw.local_cluster import LocalCluster
from tests.integration.base import ClusterTestCase, delay_op, run_watcher

KILLS = 30
# jobs that are not final may be queued, or already re-run after the restart
NOT_LOST = C.JOBS_FINALIZED | {C.JOB_STATUS_QUEUED, C.JOB_STATUS_WAITING,
                               C.JOB_STATUS_RUNNING}
_TEMP_RE = re.compile(r"^\..+\.tmp$")


def summary(what: str, **counts: int) -> None:
    print("\nfault-injection: %s: %s" % (what, ", ".join("%s=%d" % kv for kv in counts.items())),
          flush=True)


def create_op(name: str, node: str) -> dict:
    return {"OP_ID": "OP_INSTANCE_CREATE", "instance_name": name, "disk_template": "diskless",
            "os_type": "tiny", "pnode": node, "ip_check": False, "name_check": False,
            "beparams": {"memory": 32}}


def instance_op(op_id: str, name: str) -> dict:
    return {"OP_ID": op_id, "instance_name": name}


class KillMasterdTests(ClusterTestCase):
    BASE_IP = "127.0.23."

    def setUp(self) -> None:
        super().setUp()
        seed = int(os.environ.get("GANETI_FAULT_SEED", time.time()))
        print("\nfault-injection seed: %d (set GANETI_FAULT_SEED to replay)" % seed)
        self.rng = random.Random(seed)
        self.names: List[str] = []
        self.jobs: List[Tuple[int, str, str]] = []  # (id, OP_ID, instance or "")

    def random_job(self) -> Tuple[list, str, str]:
        """A delay, or an instance create/start/stop/remove on the fake hypervisor."""
        choice = self.rng.random()
        if choice < 0.3 or not self.names and choice < 0.5:
            return [delay_op(round(self.rng.uniform(0, 0.5), 2))], "OP_TEST_DELAY", ""
        if choice < 0.55 or not self.names:
            name = "fi%d" % len(self.names)
            self.names.append(name)
            node = "node%d" % self.rng.randint(1, self.NODES)
            return [create_op(name, node)], "OP_INSTANCE_CREATE", name
        name = self.rng.choice(self.names)
        op_id = self.rng.choice(["OP_INSTANCE_STARTUP", "OP_INSTANCE_SHUTDOWN",
                                 "OP_INSTANCE_SHUTDOWN", "OP_INSTANCE_REMOVE"])
        return [instance_op(op_id, name)], op_id, name

    def submit_batch(self, client: luxi.Client, count: int) -> None:
        for _ in range(count):
            ops, op_id, name = self.random_job()
            job_id = int(client.submit_job(ops))
            self.jobs.append((job_id, op_id, name))

    def test_kill_9_masterd_at_random_moments_loses_nothing(self):
        found = 0
        for _ in range(KILLS):
            client = self.client()
            self.submit_batch(client, self.rng.randint(2, 5))
            time.sleep(self.rng.uniform(0, 0.4))  # somewhere in the jobs' execution
            self.kill_daemon(1, C.DAEMON_MASTERD)
            before = [job_id for job_id, _, _ in self.jobs]
            daemon_util.start_daemon(self.cluster.paths(1), C.DAEMON_MASTERD, timeout=60)
            rows = self.client().query_jobs([str(j) for j in before], ["status"])
            lost = [j for j, row in zip(before, rows) if row is None or row[0] not in NOT_LOST]
            self.assertEqual(lost, [], "jobs lost after a kill -9 of masterd")
            found += len(before)
        ids = [job_id for job_id, _, _ in self.jobs]
        self.assertEqual(len(ids), len(set(ids)), "a job id was handed out twice")
        self.assertEqual(ids, sorted(ids))
        final = {job_id: self.wait_job(str(job_id), timeout=120)[0] for job_id in ids}
        instances = self.check_instances(final)
        self.check_verify_after_watcher(final)
        checked_files = self.check_files_whole()
        configs = {self.read_data_file(n, "config.data") for n in range(1, self.NODES + 1)}
        self.assertEqual(len(configs), 1, "config.data differs between master and candidates")
        for node in range(1, self.NODES + 1):
            config.load_config(self.cluster.paths(node).config_file)
        statuses: Dict[str, int] = {}
        for status in final.values():
            statuses[status] = statuses.get(status, 0) + 1
        summary("kill -9 of masterd during a stream of mixed jobs", kills=KILLS,
                jobs_submitted=len(ids), job_lookups_after_kills=found,
                **{"jobs_" + k: v for k, v in sorted(statuses.items())},
                instances_checked=instances, files_parsed=checked_files,
                configs_identical_on_nodes=self.NODES)

    def temp_files(self) -> List[str]:
        found = []
        for node in range(1, self.NODES + 1):
            paths = self.cluster.paths(node)
            for directory in (paths.data_dir, paths.queue_dir):
                found += [os.path.join(directory, n) for n in os.listdir(directory)
                          if _TEMP_RE.match(n)]
        return found

    def check_files_whole(self) -> int:
        """Every job file and config.data parses on every node; no temp file is left.

        masterd is stopped first, so that no copy is in flight: a temp file
        that stays is a left-over, one that goes was a write in progress.
        """
        daemon_util.stop_daemon(self.cluster.paths(1), C.DAEMON_MASTERD)
        deadline = time.monotonic() + 10
        while self.temp_files() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(self.temp_files(), [], "left-over temp files")
        parsed = 0
        for node in range(1, self.NODES + 1):
            paths = self.cluster.paths(node)
            names = [n for n in os.listdir(paths.queue_dir) if n.startswith("job-")]
            for name in names + ["../config.data"]:
                with open(os.path.join(paths.queue_dir, name), "rb") as fh:
                    serializer.load(fh.read())
                parsed += 1
        return parsed

    def check_verify_after_watcher(self, final: Dict[int, str]) -> None:
        """After one watcher pass, verify finds only what a killed shutdown explains.

        Startup and shutdown record the admin state before they act, as in
        Ganeti: a kill in between leaves an instance marked up but stopped
        (the watcher's to restart) or marked down but running (the admin
        reruns the shutdown, which failed with "Unclean master daemon
        shutdown").
        """
        proc = run_watcher(self.cluster, 1)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        last_job: Dict[str, Tuple[str, str]] = {}
        for job_id, op_id, name in self.jobs:
            if name:
                last_job[name] = (op_id, final[job_id])
        proc = self.gnt("gnt-cluster", "verify")
        errors_found = re.findall(r"- ERROR: (.*)", proc.stdout)
        self.assertEqual(proc.returncode, 1 if errors_found else 0, proc.stdout + proc.stderr)
        for line in errors_found:
            match = re.match(r"instance (\S+): running on \S+ but marked down$", line)
            self.assertTrue(match and last_job.get(match.group(1)) == (
                "OP_INSTANCE_SHUTDOWN", C.JOB_STATUS_ERROR), "verify after a watcher pass: "
                + line)

    def check_instances(self, final: Dict[int, str]) -> int:
        """No instance lost (created, never removed) or unknown in config; returns count."""
        in_config = {row[0] for row in self.client().query_instances([], ["name"])}
        self.assertTrue(in_config <= set(self.names), in_config - set(self.names))
        removes = {name for _, op_id, name in self.jobs if op_id == "OP_INSTANCE_REMOVE"}
        for job_id, op_id, name in self.jobs:
            if op_id == "OP_INSTANCE_CREATE" and final[job_id] == C.JOB_STATUS_SUCCESS \
                    and name not in removes:
                self.assertIn(name, in_config, "instance %s lost" % name)
            if op_id == "OP_INSTANCE_REMOVE" and final[job_id] == C.JOB_STATUS_SUCCESS:
                self.assertNotIn(name, in_config, "removed instance %s still there" % name)
        return len(self.names)


class DiskFullTests(ClusterTestCase):
    """config.data cannot be written: the job fails clearly, the old config stays."""

    NODES = 1
    BASE_IP = "127.0.24."

    def mount_small_data_dir(self) -> str:
        """Put node1's data dir on a 1 MiB tmpfs (its queue on its own tmpfs beside it)."""
        if os.geteuid() != 0:
            self.skipTest("needs root to mount a small tmpfs as the node's data dir")
        paths = self.cluster.paths(1)
        daemon_util.stop_daemon(paths, C.DAEMON_MASTERD)
        saved = paths.data_dir + ".saved"
        os.rename(paths.data_dir, saved)
        os.makedirs(paths.data_dir)
        for target, size in ((paths.data_dir, "1m"), (paths.queue_dir, "16m")):
            os.makedirs(target, exist_ok=True)
            proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs",
                                   target], capture_output=True, text=True)
            if proc.returncode != 0:
                self.skipTest("cannot mount a tmpfs here: %s" % proc.stderr.strip())
            self.addCleanup(subprocess.run, ["umount", "-l", target])
        subprocess.run(["cp", "-a", saved + "/.", paths.data_dir], check=True)
        daemon_util.start_daemon(paths, C.DAEMON_MASTERD)
        return paths.data_dir

    def fill(self, directory: str) -> str:
        filler = os.path.join(directory, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass  # full
        finally:
            os.close(fd)
        return filler

    def test_config_write_on_full_disk_fails_job_and_keeps_config(self):
        data_dir = self.mount_small_data_dir()
        before = self.read_data_file(1, "config.data")
        filler = self.fill(data_dir)
        job = self.submit(create_op("full1", "node1"))
        status, opstatus, opresult = self.wait_job(job)
        self.assertEqual((status, opstatus), ("error", ["error"]))
        message = errors.format_error(errors.decode_error(opresult[0]))
        self.assertIn("Cannot write the configuration file", message)
        self.assertIn("No space left on device", message)
        self.assertNotIn("Traceback", message)
        self.assertEqual(self.read_data_file(1, "config.data"), before)
        config.load_config(self.cluster.paths(1).config_file)
        self.assertEqual(self.client().query_instances([], ["name"]), [])
        os.unlink(filler)
        self.assertEqual(self.wait_job(self.submit(create_op("full2", "node1")))[0], "success")
        summary("disk full while writing config.data", writes_failed=1,
                configs_intact=1, jobs_after_space_freed_ok=1)


class _NetnsCluster(LocalCluster):
    """A local cluster whose node i lives in network namespace ``namespaces[i]``."""

    def __init__(self, directory: str, nodes: int, base_ip: str, namespaces: Dict[int, str]):
        super().__init__(directory, nodes, base_ip, verbose=False)
        self.namespaces = namespaces

    def wrap(self, index: int) -> List[str]:
        return ["ip", "netns", "exec", self.namespaces[index]]


class PartitionTests(ClusterTestCase):
    """One node cut off the network: jobs touching it fail clearly, the others go on."""

    SUBNET = "198.18.7."

    def sh(self, *args: str) -> None:
        proc = subprocess.run(list(args), capture_output=True, text=True)
        if proc.returncode != 0:
            raise errors.CommandError("%s: %s" % (" ".join(args), proc.stderr.strip()))

    def setUp(self) -> None:
        if os.geteuid() != 0:
            self.skipTest("needs root to create network namespaces")
        if subprocess.run(["ip", "netns", "list"], capture_output=True).returncode != 0:
            self.skipTest("ip netns is not available")
        tag = "%d" % (os.getpid() % 100000)
        self.bridge = "gtwbr%s" % tag
        try:
            self.sh("ip", "link", "add", self.bridge, "type", "bridge")
        except errors.CommandError as err:
            self.skipTest("cannot create network devices here: %s" % err)
        self.addCleanup(subprocess.run, ["ip", "link", "del", self.bridge])
        self.sh("ip", "link", "set", self.bridge, "up")
        namespaces, self.links = {}, {}
        for i in range(1, self.NODES + 1):
            ns, link = "gtw-fi%s-%d" % (tag, i), "gtwv%s%d" % (tag, i)
            self.sh("ip", "netns", "add", ns)
            self.addCleanup(subprocess.run, ["ip", "netns", "del", ns])
            self.sh("ip", "link", "add", link, "type", "veth", "peer", "name", "eth0",
                    "netns", ns)
            self.sh("ip", "link", "set", link, "master", self.bridge, "up")
            for cmd in (["ip", "link", "set", "lo", "up"],
                        ["ip", "address", "add", "%s%d/24" % (self.SUBNET, i), "dev", "eth0"],
                        ["ip", "link", "set", "eth0", "up"]):
                self.sh("ip", "netns", "exec", ns, *cmd)
            namespaces[i], self.links[i] = ns, link
        self.tmpdir = tempfile.mkdtemp(prefix="gtw-", dir="/tmp")
        self.addCleanup(shutil.rmtree, self.tmpdir, True)
        self.cluster = _NetnsCluster(self.tmpdir, self.NODES, self.SUBNET, namespaces)
        self.addCleanup(self.cluster.down)
        self.cluster.up()

    def test_cut_node_fails_its_jobs_within_rpc_timeout_and_others_proceed(self):
        self.sh("ip", "link", "set", self.links[3], "down")
        start = time.monotonic()
        cut_job = self.submit(delay_op(0, on_master=False, on_nodes=["node3"]))
        ok_job = self.submit(delay_op(0, on_master=False, on_nodes=["node2"]))
        self.assertEqual(self.wait_job(ok_job, timeout=60)[0], "success")
        ok_after = time.monotonic() - start
        create = self.submit(create_op("part1", "node2"))
        self.assertEqual(self.wait_job(create, timeout=60)[0], "success")
        status, _, opresult = self.wait_job(cut_job, timeout=90)
        failed_after = time.monotonic() - start
        self.assertEqual(status, "error")
        message = errors.format_error(errors.decode_error(opresult[0]))
        self.assertEqual(len(message.splitlines()), 1, message)
        self.assertIn("node3", message)
        self.assertIn("Timeout after 30s calling test_delay on %s3:1811" % self.SUBNET, message)
        # the wait for node3's copy of the job + the delay RPC's timeout (duration + 30 s)
        self.assertLess(failed_after, C.REPLICATION_WAIT + 30 + 15)
        # the network comes back: node3 gets the config and the queue again
        self.sh("ip", "link", "set", self.links[3], "up")
        master_config = self.read_data_file(1, "config.data")
        self.wait_until(lambda: self.read_data_file(3, "config.data") == master_config,
                        "node3 was resynced", timeout=3 * C.CANDIDATE_RESYNC_INTERVAL)
        self.wait_until(lambda: self.read_data_file(3, "queue/job-%s" % create) ==
                        self.read_data_file(1, "queue/job-%s" % create),
                        "node3 has the queue again", timeout=3 * C.CANDIDATE_RESYNC_INTERVAL)
        summary("network partition of one node (netns, link down)", nodes_cut=1,
                jobs_failed_on_cut_node=1, jobs_ok_elsewhere=2,
                seconds_to_fail=int(failed_after), seconds_other_job_ok=int(ok_after),
                candidate_back_in_sync=1)
