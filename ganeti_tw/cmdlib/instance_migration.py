"""Moving instances between nodes: failover and live migration (spec 9.4, 9.5).

This version has no mirrored disks: only templates whose disks every node
sees (sharedfile) can move, to ``target_node`` or where an iallocator says.
"""

from typing import Any, Dict, List, Optional, Tuple

from twisted.internet import defer, task

from ganeti_tw import constants as C, errors, iallocator
from ganeti_tw.cmdlib.allocator import run_allocator
from ganeti_tw.cmdlib.instance_utils import InstanceLU
from ganeti_tw.locking import ALL_SET, LEVEL_NODE
from ganeti_tw.storage import templates

# how often the job logs an ongoing migration's progress
MIGRATION_PROGRESS_INTERVAL = 1.0
MIB = 1024 * 1024


def _observe(deferred: defer.Deferred) -> defer.Deferred:
    """A Deferred that fires when ``deferred`` does; cancelling it leaves ``deferred`` alone."""
    observer: defer.Deferred = defer.Deferred()

    def fire(result: Any) -> Any:
        if not observer.called:
            observer.callback(None)
        return result
    deferred.addBoth(fire)
    return observer


def describe_migration(status: Dict[str, Any]) -> Optional[str]:
    """One feedback line from a QMP ``query-migrate`` style status, or None if it says nothing."""
    ram = status.get("ram") or {}
    if "transferred" not in ram:
        return None
    text = "* migration %s: %d MiB transferred, %d MiB remaining" % (
        status.get("status", "active"), ram["transferred"] // MIB, ram.get("remaining", 0) // MIB)
    if "downtime" in status:
        text += ", downtime %d ms" % status["downtime"]
    if "total-time" in status:
        text += ", total time %d ms" % status["total-time"]
    return text


class _MoveLU(InstanceLU):
    """Shared checks of failover and migrate: template, target, memory."""

    ACTION = ""

    def declare_locks(self, level: int) -> None:
        if level != LEVEL_NODE:
            return
        if self.op.iallocator:
            self.needed_locks[LEVEL_NODE] = ALL_SET
        else:
            nodes = self._instance().all_nodes
            if self.op.target_node:
                self.op.target_node = self.expand_node(self.op.target_node)
                nodes = nodes + [self.op.target_node]
            self.needed_locks[LEVEL_NODE] = sorted(set(nodes))

    def build_hooks_env(self) -> Tuple[Dict[str, Any], List[str], List[str]]:
        env, _, _ = super().build_hooks_env()
        env["NEW_PRIMARY"] = self.target or ""
        env["OLD_PRIMARY"] = self.instance.primary_node
        nodes = list(dict.fromkeys([self.cfg.master_node(), self.instance.primary_node]
                                   + ([self.target] if self.target else [])))
        return env, nodes, nodes

    async def check_prereq(self) -> None:
        await super().check_prereq()
        instance = self.instance
        self.target = None
        template = templates.get_template(instance.disk_template)
        if not template.can_failover:
            raise errors.OpPrereqError(
                "Instance %s has disk template %s: its disks exist on one node only, so it "
                "can't %s (use the sharedfile template)" % (instance.name,
                                                            instance.disk_template,
                                                            self.ACTION))
        if (self.op.target_node is None) == (self.op.iallocator is None):
            raise errors.OpPrereqError("Give exactly one of a target node and an iallocator "
                                       "to %s %s" % (self.ACTION, instance.name))
        target = self.op.target_node
        if self.op.iallocator:
            beparams = self.cfg.cluster.fill_beparams(instance)
            request = iallocator.allocate_request(
                instance.name, instance.disk_template, list(instance.tags), instance.os,
                beparams[C.BE_VCPUS], beparams[C.BE_MEMORY],
                [{"size": d.size, "mode": d.mode} for d in instance.disks],
                [n.to_dict() for n in instance.nics], instance.hypervisor, 1)
            target = (await run_allocator(self, self.op.iallocator, request, 1))[0]
        if target == instance.primary_node:
            raise errors.OpPrereqError("Instance %s is already on node %s"
                                       % (instance.name, target))
        if self.cfg.get_node(target) is None:
            raise errors.OpPrereqError("Node '%s' is unknown" % target)
        self.target = target
        self.check_node_usable(target)

    async def check_target_memory(self) -> None:
        instance = self.instance
        memory = self.cfg.cluster.fill_beparams(instance)[C.BE_MEMORY]
        await self.check_free_memory(self.target, memory, "%s of instance %s"
                                     % (self.ACTION, instance.name), instance.hypervisor)

    async def set_primary(self, node: str) -> None:
        self.instance.primary_node = node
        self.instance.serial_no += 1
        self.cfg.cluster.serial_no += 1
        await self.context.save_config()


class LUInstanceFailover(_MoveLU):
    """Stop on the source, start on the target; the admin state is kept."""

    HPATH = "instance-failover"
    ACTION = "fail over"

    def hooks_env(self) -> Dict[str, Any]:
        return {"IGNORE_CONSISTENCY": self.op.ignore_consistency}

    async def check_prereq(self) -> None:
        await super().check_prereq()
        if self.instance.admin_up:
            await self.check_target_memory()

    async def exec(self) -> Any:
        instance = self.instance
        source = instance.primary_node
        self.feedback("* shutting down instance %s on source node %s" % (instance.name, source))
        result = await self.rpc.call_one(source, "instance_shutdown", [self.wire(instance)])
        if result.failed:
            if not self.op.ignore_consistency:
                result.raise_on_error("Shutting down instance %s on node %s"
                                      % (instance.name, source))
            self.log_warning("Could not shutdown instance %s on node %s (%s); proceeding, make "
                             "sure the node is down" % (instance.name, source, result.fail_msg))
        await self.shutdown_disks(instance)
        await self.set_primary(self.target)
        if instance.admin_up:
            self.feedback("* starting the instance on the target node %s" % self.target)
            await self.start_instance(instance)
        return None


class LUInstanceMigrate(_MoveLU):
    """Move a running instance without stopping it (``--cleanup`` repairs a broken one)."""

    HPATH = "instance-migrate"
    ACTION = "migrate"

    def hooks_env(self) -> Dict[str, Any]:
        return {"MIGRATE_LIVE": self.op.live, "MIGRATE_CLEANUP": self.op.cleanup}

    async def check_prereq(self) -> None:
        await super().check_prereq()
        if self.op.cleanup:
            return
        self.check_node_online(self.instance.primary_node)
        if not await self.is_running(self.instance):
            raise errors.OpPrereqError("Instance %s is not running, can't migrate it (use "
                                       "failover)" % self.instance.name)
        await self.check_target_memory()

    async def exec(self) -> Any:
        if self.op.cleanup:
            return await self._cleanup()
        instance = self.instance
        source, target = instance.primary_node, self.target
        data = self.wire(instance)
        info = (await self.rpc.call_one(source, "migration_info", [data])).raise_on_error(
            "Gathering migration information")
        self.feedback("* preparing %s to accept the instance" % target)
        result = await self.rpc.call_one(target, "accept_instance",
                                         [data, info, self.cfg.get_node(target).secondary_ip])
        result.raise_on_error("Preparing node %s to accept the instance" % target)
        self.feedback("* migrating instance to %s" % target)
        result = await self._migrate_following_progress(
            source, [data, self.cfg.get_node(target).secondary_ip, self.op.live])
        if result.failed:
            abort = await self.rpc.call_one(target, "finalize_migration", [data, info, False])
            if abort.failed:
                self.log_warning("Could not clean up the target node %s: %s"
                                 % (target, abort.fail_msg))
            result.raise_on_error("Migrating instance %s" % instance.name)
        if isinstance(result.data, dict):
            self.feedback(describe_migration(result.data) or "* migration completed")
        await self.set_primary(target)
        result = await self.rpc.call_one(target, "finalize_migration", [data, info, True])
        result.raise_on_error("Finalizing the migration on %s (run migrate --cleanup)" % target)
        self.feedback("* done")
        return None

    async def _migrate_following_progress(self, source: str, args: List[Any]) -> Any:
        """Run migrate_instance on ``source``, logging the hypervisor's progress meanwhile."""
        call = defer.ensureDeferred(self.rpc.call_one(source, "migrate_instance", args))
        last = None
        while not call.called:
            # wake at the next interval or as soon as the migration ends, whichever is first
            await defer.race([task.deferLater(self.context.reactor,
                                              MIGRATION_PROGRESS_INTERVAL, lambda: None),
                              _observe(call)])
            if call.called:
                break
            status = await self.rpc.call_one(source, "migration_status", [args[0]])
            line = None if status.failed or not status.data else \
                describe_migration(status.data)
            if line and line != last:
                self.feedback(line)
                last = line
        return await call

    async def _cleanup(self) -> Any:
        """Find where the instance runs after an interrupted migration and fix the config."""
        instance = self.instance
        source, target = instance.primary_node, self.target
        data = self.wire(instance)
        found = [n for n in (source, target) if await self.is_running(instance, n)]
        if not found:
            # interrupted between the copy and its finalization: the target's copy
            # holds the state, so finish what the migration left undone there
            result = await self.rpc.call_one(target, "finalize_migration", [data, "", True])
            if not result.failed and await self.is_running(instance, target):
                self.feedback("* completed the interrupted migration on %s" % target)
                found = [target]
        if len(found) != 1:
            raise errors.OpExecError("Instance %s runs on %s; cannot tell which copy is right, "
                                     "please investigate by hand"
                                     % (instance.name, " and ".join(found) or "no node"))
        if found[0] == target:
            self.feedback("* instance runs on the target node %s, updating the configuration"
                          % target)
            await self.set_primary(target)
            return None
        self.feedback("* instance runs on its primary node %s; cleaning up %s" % (source, target))
        result = await self.rpc.call_one(target, "finalize_migration", [data, "", False])
        if result.failed:
            self.log_warning("Could not clean up the target node %s: %s"
                             % (target, result.fail_msg))
        return None
