"""The watcher's state file, pause and instance-restart rules (spec 11.1)."""

import json
import os
import time

from twisted.trial import unittest

from ganeti_tw import constants as C, errors
from ganeti_tw.paths import Paths
from ganeti_tw.watcher import pause
from ganeti_tw.watcher.node_watch import MasterWatcher
from ganeti_tw.watcher.state import WatcherState, locked_state


class _Client:
    """Records submitted jobs; every job ends with the status given."""

    def __init__(self, status="success"):
        self.status = status
        self.jobs = []

    def submit_job(self, ops):
        self.jobs.append(ops)
        return str(len(self.jobs) - 1)

    def wait_for_job_change(self, job_id, fields, prev_info, prev_serial, timeout=0):
        return [[self.status], []]

    def query_jobs(self, ids, fields):
        result = None if self.status == "success" else errors.encode_error(
            errors.OpExecError("start failed"))
        return [[self.status, [self.status], [result]]]


class StateFileTests(unittest.SynchronousTestCase):
    def test_state_round_trips_and_corrupt_file_is_empty_state(self):
        paths = Paths(self.mktemp())
        with locked_state(paths) as state:
            state.count_restart("inst1")
            state.set_boot_id("node1", "b1")
        with open(paths.watcher_state_file) as fh:
            data = json.load(fh)
        self.assertEqual(data["instance"]["inst1"]["restart_count"], 1)
        self.assertEqual(data["node"], {"node1": {"bootid": "b1"}})
        with open(paths.watcher_state_file, "w") as fh:
            fh.write("{not json")
        with locked_state(paths) as state:
            self.assertEqual(state.to_dict(), {"instance": {}, "node": {}})

    def test_second_watcher_is_refused_while_one_runs(self):
        paths = Paths(self.mktemp())
        with locked_state(paths):
            with self.assertRaises(errors.CommandError):
                with locked_state(paths):
                    pass


class PauseTests(unittest.SynchronousTestCase):
    def test_pause_expires_and_continue_removes_it(self):
        paths = Paths(self.mktemp())
        self.assertIsNone(pause.read_pause(paths))
        until = time.time() + 600
        pause.write_pause(paths, until)
        self.assertEqual(pause.read_pause(paths), int(until))
        self.assertIsNone(pause.read_pause(paths, now=until + 1))
        pause.write_pause(paths, None)
        self.assertFalse(os.path.exists(paths.watcher_pause_file))

    def test_timespecs(self):
        self.assertEqual([pause.parse_timespec(t) for t in ("30", "90s", "15m", "6h", "2d", "1w")],
                         [30, 90, 900, 21600, 172800, 604800])
        for bad in ("", "h", "-5m", "1.5h", "3y"):
            self.assertRaises(ValueError, pause.parse_timespec, bad)


class RestartRuleTests(unittest.SynchronousTestCase):
    def watcher(self, status="success"):
        self.client = _Client(status)
        self.state = WatcherState()
        return MasterWatcher(Paths(self.mktemp()), self.client, self.state)

    def test_error_down_is_restarted_at_most_five_times_per_outage(self):
        watcher = self.watcher(status="error")
        down = [{"name": "inst1", "status": "ERROR_down", "admin_state": True, "snodes": []}]
        for _ in range(8):
            watcher.restart_instances(down)
        self.assertEqual(len(self.client.jobs), C.WATCHER_MAXTRIES)
        self.assertEqual(self.client.jobs[0], [{"OP_ID": "OP_INSTANCE_STARTUP",
                                                "instance_name": "inst1", "force": False}])
        self.assertEqual(self.state.restart_count("inst1"), C.WATCHER_MAXTRIES + 1)
        # running again ends the outage: the next one gets five attempts again
        watcher.restart_instances([dict(down[0], status="running")])
        self.assertEqual(self.state.restart_count("inst1"), 0)
        watcher.restart_instances(down)
        self.assertEqual(len(self.client.jobs), C.WATCHER_MAXTRIES + 1)

    def test_node_down_resets_the_record_without_restarting(self):
        watcher = self.watcher()
        self.state.count_restart("inst1")
        watcher.restart_instances([{"name": "inst1", "status": "ERROR_nodedown",
                                    "admin_state": True, "snodes": []}])
        self.assertEqual(self.client.jobs, [])
        self.assertEqual(self.state.restart_count("inst1"), 0)

    def test_rebooted_secondary_gets_disks_of_running_instances_activated(self):
        watcher = self.watcher()
        self.state.set_boot_id("node2", "old")
        instances = [{"name": "a", "status": "running", "admin_state": True, "snodes": ["node2"]},
                     {"name": "b", "status": "ADMIN_down", "admin_state": False,
                      "snodes": ["node2"]},
                     {"name": "c", "status": "running", "admin_state": True, "snodes": []}]
        nodes = [{"name": "node1", "bootid": "x", "offline": False},
                 {"name": "node2", "bootid": "new", "offline": False}]
        watcher.activate_disks_after_reboot(instances, nodes, restarted=[])
        self.assertEqual(self.client.jobs, [[{"OP_ID": "OP_INSTANCE_ACTIVATE_DISKS",
                                              "instance_name": "a"}]])
        self.assertEqual(self.state.boot_id("node2"), "new")
        # first sight of a node only records its boot id
        self.assertEqual(self.state.boot_id("node1"), "x")


class CommandLineTests(unittest.SynchronousTestCase):
    def test_bad_job_age_is_one_line_and_exit_1(self):
        from ganeti_tw.watcher import command
        self.assertEqual(command.main(["--root", self.mktemp(), "--job-age", "soon"]),
                         C.EXIT_FAILURE)


class _VerifyDisksClient(_Client):
    """Answers OP_CLUSTER_VERIFY_DISKS with ``answer``; records archived jobs."""

    def __init__(self, answer):
        super().__init__()
        self.answer = answer
        self.archived = []

    def query_jobs(self, ids, fields):
        ops = self.jobs[int(ids[0])]
        if ops[0]["OP_ID"] == "OP_CLUSTER_VERIFY_DISKS":
            return [["success", ["success"], [self.answer]]]
        return super().query_jobs(ids, fields)

    def archive_job(self, job_id):
        self.archived.append(job_id)
        return True


class VerifyDisksStepTests(unittest.SynchronousTestCase):
    def watcher(self, answer):
        self.client = _VerifyDisksClient(answer)
        return MasterWatcher(Paths(self.mktemp()), self.client, WatcherState())

    def test_one_job_activates_unlinked_instances_but_not_those_with_lost_disks(self):
        self.watcher([["node3"], {}, ["a", "b", "c"], {"b": [["node2", "disk/0"]]}]).verify_disks()
        self.assertEqual(self.client.jobs, [
            [{"OP_ID": "OP_CLUSTER_VERIFY_DISKS"}],
            [{"OP_ID": "OP_INSTANCE_ACTIVATE_DISKS", "instance_name": "a"},
             {"OP_ID": "OP_INSTANCE_ACTIVATE_DISKS", "instance_name": "c"}]])
        self.assertEqual(self.client.archived, ["0"])

    def test_nothing_to_activate_submits_only_the_check(self):
        self.watcher([[], {}, [], {}]).verify_disks()
        self.assertEqual(self.client.jobs, [[{"OP_ID": "OP_CLUSTER_VERIFY_DISKS"}]])
