"""What the instance logical units share: locking, node checks, disks, hooks env."""

import socket
import time
from typing import Any, Dict, List, Optional, Tuple

from twisted.internet import defer, threads

from ganeti_tw import constants as C, errors, hooks
from ganeti_tw.cmdlib.base import LogicalUnit
from ganeti_tw.hypervisors import params
from ganeti_tw.locking import LEVEL_INSTANCE, LEVEL_NODE
from ganeti_tw.objects import Instance
from ganeti_tw.storage import templates

# an OS script may take long (debootstrap); node RPCs wait this long for it
OS_SCRIPT_TIMEOUT = 3600


def instance_dict(cfg: Any, instance: Instance) -> Dict[str, Any]:
    """The wire form nodes get: the instance with filled hv/be parameters."""
    data = instance.to_dict()
    data["hvparams"] = params.instance_hvparams(cfg.cluster, instance)
    data["beparams"] = cfg.cluster.fill_beparams(instance)
    return data


def storage_base(cfg: Any, template: str) -> str:
    """The cluster directory a file-based template keeps its instance directories in."""
    param = templates.get_template(template).storage_dir_param
    return getattr(cfg.cluster, param) if param else ""


def instance_dir(instance: Instance) -> Optional[str]:
    """The directory holding a file-based instance's disks (None without disks)."""
    if not instance.disks or instance.disks[0].dev_type not in ("file", "sharedfile"):
        return None
    return instance.disks[0].logical_id[1].rsplit("/", 1)[0]


async def resolve_name(name: str) -> str:
    """The IPv4 address of an instance name, without blocking the reactor."""
    try:
        infos = await threads.deferToThread(socket.getaddrinfo, name, None, socket.AF_INET)
    except (socket.gaierror, UnicodeError) as err:
        raise errors.OpPrereqError("Cannot resolve instance name %s: %s (use --no-name-check "
                                   "to skip the name check)" % (name, err)) from None
    return infos[0][4][0]


class InstanceLU(LogicalUnit):
    """A logical unit acting on one existing instance, locked with its nodes."""

    HTYPE = C.HTYPE_INSTANCE
    HPATH: Optional[str] = None
    LOCK_NODES = True
    SHARE_LOCKS = False

    def expand_names(self) -> None:
        self.instance_name = self.cfg.expand_instance_name(self.op.instance_name)
        self.needed_locks[LEVEL_INSTANCE] = [self.instance_name]
        self.share_locks = {LEVEL_INSTANCE: self.SHARE_LOCKS, LEVEL_NODE: self.SHARE_LOCKS}

    def declare_locks(self, level: int) -> None:
        if level == LEVEL_NODE and self.LOCK_NODES:
            self.needed_locks[LEVEL_NODE] = self._instance().all_nodes

    def _instance(self) -> Instance:
        instance = self.cfg.get_instance(self.instance_name)
        if instance is None:
            raise errors.OpPrereqError("Instance '%s' not known" % self.instance_name)
        return instance

    async def check_prereq(self) -> None:
        self.instance = self._instance()

    # hooks -----------------------------------------------------------------------

    def hooks_env(self) -> Dict[str, Any]:
        """Extra variables of this operation (spec 12.2's table)."""
        return {}

    def build_hooks_env(self) -> Tuple[Dict[str, Any], List[str], List[str]]:
        inst = self.instance
        env = hooks.instance_hook_env(inst.to_dict(), self.cfg.cluster.fill_beparams(inst),
                                      params.instance_hvparams(self.cfg.cluster, inst))
        env["OP_TARGET"] = inst.name
        env.update(self.hooks_env())
        nodes = [self.cfg.master_node()] + inst.all_nodes
        return env, nodes, nodes

    # node checks -------------------------------------------------------------------

    def check_node_online(self, name: str) -> None:
        if self.cfg.get_node(name).offline:
            raise errors.OpPrereqError("Node %s is offline and can't be contacted" % name)

    def check_node_usable(self, name: str) -> None:
        """A node that may receive an instance: online and not drained."""
        self.check_node_online(name)
        if self.cfg.get_node(name).drained:
            raise errors.OpPrereqError("Node %s is drained and accepts no new instances" % name)

    async def check_free_memory(self, node: str, needed: int, reason: str,
                                hypervisor: str) -> None:
        """Refuse unless ``node`` has ``needed`` MiB free, saying how much is missing."""
        check_memory_answer(await self.ask_node_memory(node, hypervisor), needed, reason)

    def ask_node_memory(self, node: str, hypervisor: str) -> "defer.Deferred[Any]":
        """The node's hypervisor_node_info answer (for ``check_memory_answer``), started now."""
        return defer.ensureDeferred(self.rpc.call_one(node, "hypervisor_node_info",
                                                      [hypervisor]))

    async def check_free_disk(self, node: str, template: str, needed: int, reason: str) -> None:
        disk_template = templates.get_template(template)
        if not needed or not disk_template.check_free_space:
            return
        result = await self.rpc.call_one(node, "storage_free",
                                         [disk_template.dev_type, storage_base(self.cfg, template)])
        free = result.raise_on_error("Querying free disk space")
        if free < needed:
            raise errors.OpPrereqError(
                "Not enough free disk space on node %s for %s: needed %d MiB, available %d "
                "MiB (%d MiB missing)" % (node, reason, needed, free, needed - free))

    async def check_os(self, node: str, os_name: str) -> None:
        result = await self.rpc.call_one(node, "os_get", [os_name])
        if result.failed:
            raise errors.OpPrereqError("OS '%s' is not usable on node %s: %s"
                                       % (os_name, node, result.fail_msg))

    async def is_running(self, instance: Instance, node: Optional[str] = None) -> bool:
        node = node or instance.primary_node
        result = await self.rpc.call_one(node, "instance_info",
                                         [instance.name, instance.hypervisor])
        return result.raise_on_error("Checking whether instance %s runs" % instance.name) \
            is not None

    async def check_not_running(self, instance: Instance, action: str) -> None:
        self.check_node_online(instance.primary_node)
        if instance.admin_up:
            raise errors.OpPrereqError("Instance %s is marked to be up, cannot %s it; stop it "
                                       "first" % (instance.name, action))
        if await self.is_running(instance):
            raise errors.OpPrereqError("Instance %s is running on %s, cannot %s it"
                                       % (instance.name, instance.primary_node, action))

    async def mark_admin_state(self, admin_up: bool) -> None:
        """Record the admin state (spec 5.3: startup/reboot mark up, shutdown down)."""
        instance = self.instance
        if instance.admin_up != admin_up:
            instance.admin_up = admin_up
            instance.serial_no += 1
            instance.mtime = time.time()
            await self.context.save_config()

    # disks ----------------------------------------------------------------------------

    def wire(self, instance: Instance) -> Dict[str, Any]:
        return instance_dict(self.cfg, instance)

    async def assemble_disks(self, instance: Instance) -> List[List[str]]:
        """Make the disks usable on the primary: ``[[node, iv_name, path], ...]``."""
        out = []
        for disk in instance.disks:
            result = await self.rpc.call_one(instance.primary_node, "blockdev_assemble",
                                             [disk.to_dict()])
            path = result.raise_on_error("Activating disk %s" % disk.iv_name)
            out.append([instance.primary_node, disk.iv_name, path])
        return out

    async def shutdown_disks(self, instance: Instance, ignore_failures: bool = True) -> None:
        for node in instance.all_nodes:
            for disk in instance.disks:
                result = await self.rpc.call_one(node, "blockdev_shutdown", [disk.to_dict()])
                if result.failed:
                    if not ignore_failures:
                        result.raise_on_error("Deactivating disk %s" % disk.iv_name)
                    self.log_warning("Could not deactivate disk %s on node %s: %s"
                                     % (disk.iv_name, node, result.fail_msg))

    async def create_disks(self, instance: Instance, disks: Optional[List[Any]] = None) -> None:
        """Create the storage dir and ``disks`` (default: all) on the primary.

        On failure whatever this call created is removed again before raising.
        """
        node = instance.primary_node
        disks = instance.disks if disks is None else disks
        directory = instance_dir(instance)
        if directory:
            dev_type = instance.disks[0].dev_type
            result = await self.rpc.call_one(
                node, "file_storage_dir_create",
                [dev_type, storage_base(self.cfg, instance.disk_template), directory])
            result.raise_on_error("Creating the storage directory %s" % directory)
        created = []
        for disk in disks:
            result = await self.rpc.call_one(node, "blockdev_create", [disk.to_dict()])
            if result.failed:
                for done in created:
                    await self.rpc.call_one(node, "blockdev_remove", [done.to_dict()])
                if directory and len(disks) == len(instance.disks):
                    await self._remove_dir(instance)
                result.raise_on_error("Creating disk %s" % disk.iv_name)
            created.append(disk)

    async def remove_disks(self, instance: Instance, ignore_failures: bool = False) -> bool:
        """Remove every disk and the storage dir; returns False if something stayed."""
        ok = True
        for node in instance.all_nodes:
            for disk in instance.disks:
                result = await self.rpc.call_one(node, "blockdev_remove", [disk.to_dict()])
                if result.failed:
                    ok = False
                    if not ignore_failures:
                        result.raise_on_error("Removing disk %s" % disk.iv_name)
                    self.log_warning("Could not remove disk %s on node %s: %s"
                                     % (disk.iv_name, node, result.fail_msg))
        if instance_dir(instance):
            ok = await self._remove_dir(instance) and ok
        return ok

    async def _remove_dir(self, instance: Instance) -> bool:
        directory = instance_dir(instance)
        result = await self.rpc.call_one(
            instance.primary_node, "file_storage_dir_remove",
            [instance.disks[0].dev_type, storage_base(self.cfg, instance.disk_template),
             directory])
        if result.failed:
            self.log_warning("Could not remove the storage directory %s on node %s: %s"
                             % (directory, instance.primary_node, result.fail_msg))
        return not result.failed

    async def start_instance(self, instance: Instance,
                             overrides: Optional[Dict[str, Any]] = None) -> None:
        """Start on the primary; on failure the disks are deactivated again."""
        data = self.wire(instance)
        for key, values in (overrides or {}).items():
            data[key].update(values)
        result = await self.rpc.call_one(instance.primary_node, "instance_start", [data])
        if result.failed:
            await self.shutdown_disks(instance)
            result.raise_on_error("Starting instance %s" % instance.name)

    async def run_os_script(self, procedure: str, instance: Instance, args: List[Any],
                            what: str) -> Any:
        result = await self.rpc.call_one(instance.primary_node, procedure,
                                         [self.wire(instance)] + args,
                                         timeout=OS_SCRIPT_TIMEOUT)
        return result.raise_on_error(what)


def check_memory_answer(result: Any, needed: int, reason: str) -> None:
    """Refuse unless a node's hypervisor_node_info answer shows ``needed`` MiB free."""
    info = result.raise_on_error("Querying free memory")
    free = info.get("memory_free")
    if not isinstance(free, int):
        raise errors.OpPrereqError("Node %s did not report its free memory" % result.node)
    if free < needed:
        raise errors.OpPrereqError(
            "Not enough memory on node %s for %s: needed %d MiB, available %d MiB "
            "(%d MiB missing)" % (result.node, reason, needed, free, needed - free))


def check_hypervisor_params(hypervisor: str, cluster_hvparams: Dict[str, Any],
                            overrides: Dict[str, Any]) -> Dict[str, Any]:
    """Type-upgrade ``overrides`` and syntax-check the filled result; returns the overrides."""
    upgraded = params.upgrade_types(hypervisor, overrides)
    params.check_syntax(hypervisor, params.fill_hvparams(hypervisor, cluster_hvparams, upgraded))
    return upgraded


def check_hypervisor_enabled(cfg: Any, hypervisor: str) -> None:
    if hypervisor not in cfg.cluster.enabled_hypervisors:
        raise errors.OpPrereqError("Hypervisor %s is not enabled in this cluster (enabled: %s)"
                                   % (hypervisor, ", ".join(cfg.cluster.enabled_hypervisors)))


def hook_nodes(cfg: Any, *nodes: str) -> List[str]:
    return list(dict.fromkeys([cfg.master_node()] + [n for n in nodes if n]))
