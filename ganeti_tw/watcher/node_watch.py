"""One watcher pass on one node (spec 11.1), blocking and without Twisted.

Every node keeps its own node daemon alive; the master also keeps its
daemons alive, archives old jobs, restarts instances that died
(``ERROR_down``, at most :data:`constants.WATCHER_MAXTRIES` times per
outage), re-activates disks after a node reboot, writes the
instance-status file and activates disks whose links are gone (verify-disks).
"""

import logging
import time
from typing import Any, Dict, List, Optional

from ganeti_tw import constants as C, daemon_util, errors, luxi, master_role, ssconf, utils
from ganeti_tw.cli import poll_job
from ganeti_tw.cli.cluster import verify_disks_plan
from ganeti_tw.paths import Paths
from ganeti_tw.watcher import pause
from ganeti_tw.watcher.state import WatcherState, locked_state

log = logging.getLogger("ganeti_tw.watcher")

STATUS_ERROR_DOWN = "ERROR_down"
STATUSES_NODE_DOWN = ("ERROR_nodedown", "ERROR_nodeoffline")
INSTANCE_FIELDS = ["name", "status", "admin_state", "snodes"]
NODE_FIELDS = ["name", "bootid", "offline"]
# how long archiving may take per pass: the rest waits for the next one
ARCHIVE_TIMEOUT = 30


def run_once(paths: Paths, job_age: int = C.WATCHER_JOB_AGE) -> int:
    """One pass; returns the exit code (0 ok, 1 the master daemon cannot be started)."""
    until = pause.read_pause(paths)
    if until is not None:
        log.info("Watcher paused until %s, doing nothing", time.ctime(until))
        return C.EXIT_SUCCESS
    if daemon_util.read_pid(paths, C.DAEMON_NODED) is None:
        log.warning("The node daemon is not running, starting it")
        try:
            daemon_util.start_noded(paths)
        except errors.GenericError as err:
            log.error("Cannot start the node daemon: %s", err)
    with locked_state(paths) as state:
        master, myself = ssconf.get_master_and_myself(paths)
        if master is None or master != myself:
            return C.EXIT_SUCCESS
        try:
            started = master_role.start_master_daemons(paths)
        except errors.GenericError as err:
            log.error("Cannot start the master's daemons: %s", err)
            return C.EXIT_FAILURE
        for daemon in started:
            log.warning("%s was not running, started it", daemon)
        client = luxi.Client(paths.master_socket)
        try:
            MasterWatcher(paths, client, state).run(job_age)
        except errors.GenericError as err:
            log.error("Watcher pass on the master failed: %s", errors.format_error(err))
            return C.EXIT_FAILURE
        finally:
            client.close()
    return C.EXIT_SUCCESS


class MasterWatcher:
    """The master's part of a pass, through LUXI like any client."""

    def __init__(self, paths: Paths, client: luxi.Client, state: WatcherState):
        self.paths = paths
        self.client = client
        self.state = state

    def run(self, job_age: int) -> None:
        archived, left = self.client.autoarchive_jobs(job_age, ARCHIVE_TIMEOUT)
        if archived or left:
            log.info("Archived %d jobs, %d left for later", archived, left)
        instances = [dict(zip(INSTANCE_FIELDS, row))
                     for row in self.client.query_instances([], INSTANCE_FIELDS)]
        nodes = [dict(zip(NODE_FIELDS, row)) for row in self.client.query_nodes([], NODE_FIELDS)]
        self.write_instance_status(instances)
        restarted = self.restart_instances(instances)
        self.activate_disks_after_reboot(instances, nodes, restarted)
        self.verify_disks()

    def write_instance_status(self, instances: List[Dict[str, Any]]) -> None:
        text = "".join("%s %s\n" % (i["name"], i["status"]) for i in instances)
        utils.ensure_dirs([(self.paths.run_dir, 0o755)])
        utils.write_file_atomic(self.paths.instance_status_file, text.encode(), mode=0o644)

    def restart_instances(self, instances: List[Dict[str, Any]]) -> List[str]:
        """Start instances that should run but do not; returns those tried."""
        tried = []
        for inst in instances:
            name, status = inst["name"], inst["status"]
            if status == STATUS_ERROR_DOWN:
                count = self.state.restart_count(name)
                if count > C.WATCHER_MAXTRIES:
                    continue
                self.state.count_restart(name)
                if count == C.WATCHER_MAXTRIES:
                    log.error("Could not restart instance %s after %d attempts, giving up",
                              name, C.WATCHER_MAXTRIES)
                    continue
                log.info("Restarting instance %s (attempt #%d)", name, count + 1)
                tried.append(name)
                self.run_job([{"OP_ID": "OP_INSTANCE_STARTUP", "instance_name": name,
                               "force": False}], "restart of %s" % name)
            elif status in STATUSES_NODE_DOWN:
                self.state.forget_instance(name)
            elif self.state.forget_instance(name):
                log.info("Instance %s is %s again: its restart record is cleared",
                         name, status)
        return tried

    def activate_disks_after_reboot(self, instances: List[Dict[str, Any]],
                                    nodes: List[Dict[str, Any]], restarted: List[str]) -> None:
        """A rebooted node lost its assembled disks: activate those of running instances."""
        rebooted = []
        for node in nodes:
            boot_id = node["bootid"]
            if node["offline"] or not boot_id:
                continue
            old = self.state.boot_id(node["name"])
            if old is not None and old != boot_id:
                rebooted.append(node["name"])
            self.state.set_boot_id(node["name"], boot_id)
        if not rebooted:
            return
        log.info("Nodes rebooted since the last pass: %s", ", ".join(rebooted))
        for inst in instances:
            if inst["admin_state"] and inst["name"] not in restarted and \
                    set(inst["snodes"] or []) & set(rebooted):
                self.run_job([{"OP_ID": "OP_INSTANCE_ACTIVATE_DISKS",
                               "instance_name": inst["name"]}],
                             "disk activation of %s" % inst["name"])

    def verify_disks(self) -> None:
        """Step 10: one job activating the disks verify-disks finds unlinked."""
        result = self.run_job([{"OP_ID": "OP_CLUSTER_VERIFY_DISKS"}], "disk verification",
                              archive=True)
        if result is None:
            return
        nodes, to_activate, lost = verify_disks_plan(result[0])
        for line in nodes + lost:
            log.warning("%s", line)
        if to_activate:
            log.info("Activating the disks of %s", ", ".join(to_activate))
            self.run_job([{"OP_ID": "OP_INSTANCE_ACTIVATE_DISKS", "instance_name": name}
                          for name in to_activate], "disk activation")

    def run_job(self, ops: List[dict], what: str, archive: bool = False) -> Optional[list]:
        """Submit and wait; a failure is logged, never raised (the pass goes on).

        ``archive``: archive the job once it has succeeded (a routine check).
        """
        try:
            job_id = self.client.submit_job(ops)
            result = poll_job(self.client, job_id, feedback=lambda entry: None)
            if archive:
                self.client.archive_job(job_id)
            return result
        except (errors.JobQueueDrainError, errors.JobQueueFull) as err:
            log.warning("Cannot submit the %s: %s", what, errors.format_error(err))
        except errors.GenericError as err:
            log.error("The %s failed: %s", what, errors.format_error(err))
        return None
