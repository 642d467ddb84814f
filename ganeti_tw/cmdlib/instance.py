"""Instance lifecycle logical units: create, remove, start, stop, reboot, reinstall, rename."""

import shlex
import time
from typing import Any, Dict, List, Tuple

from twisted.internet import endpoints, protocol

from ganeti_tw import constants as C, errors, hooks, iallocator, objects
from ganeti_tw.cmdlib.allocator import run_allocator
from ganeti_tw.cmdlib.instance_utils import (
    InstanceLU, check_hypervisor_enabled, check_hypervisor_params, check_memory_answer,
    hook_nodes, instance_dir, resolve_name, storage_base)
from ganeti_tw.hypervisors import params
from ganeti_tw.locking import ALL_SET, LEVEL_INSTANCE, LEVEL_NODE
from ganeti_tw.storage import templates


async def ip_in_use(reactor: Any, ip: str, port: int) -> bool:
    """Whether something answers on ``ip:port`` (spec 5.5 step 6's ping)."""
    endpoint = endpoints.TCP4ClientEndpoint(reactor, ip, port, timeout=2)
    try:
        proto = await endpoint.connect(protocol.Factory.forProtocol(protocol.Protocol))
    except Exception:
        return False
    proto.transport.abortConnection()
    return True


class LUInstanceCreate(InstanceLU):
    HPATH = "instance-add"

    def check_arguments(self) -> None:
        op = self.op
        self.template = templates.get_template(op.disk_template)
        self.hypervisor = op.hypervisor or self.cfg.cluster.default_hypervisor
        check_hypervisor_enabled(self.cfg, self.hypervisor)
        self.hv_overrides = check_hypervisor_params(
            self.hypervisor, self.cfg.cluster.hvparams.get(self.hypervisor, {}), op.hvparams)

    def expand_names(self) -> None:
        self.instance_name = self.op.instance_name
        if self.instance_name in self.cfg.data.instances:
            raise errors.OpPrereqError("Instance '%s' is already in the cluster"
                                       % self.instance_name)
        self.add_locks[LEVEL_INSTANCE] = [self.instance_name]
        if self.op.iallocator:
            self.needed_locks[LEVEL_NODE] = ALL_SET
        else:
            self.op.pnode = self.expand_node(self.op.pnode)
            self.needed_locks[LEVEL_NODE] = [self.op.pnode]

    def declare_locks(self, level: int) -> None:
        pass

    def _beparams(self) -> Dict[str, Any]:
        filled = dict(C.BEC_DEFAULTS)
        filled.update(self.cfg.cluster.beparams.get(C.PP_DEFAULT, {}))
        filled.update(self.op.beparams)
        return filled

    async def check_prereq(self) -> None:
        op, cfg = self.op, self.cfg
        name = self.instance_name
        if name in cfg.data.instances or name in cfg.data.nodes:
            raise errors.OpPrereqError("Name '%s' is already used in the cluster" % name)
        if op.snode:
            raise errors.OpPrereqError("Disk template %s uses no secondary node"
                                       % op.disk_template)
        self.ip = await resolve_name(name) if op.name_check else None
        if op.ip_check and await ip_in_use(self.context.reactor, self.ip,
                                           cfg.cluster.noded_port):
            raise errors.OpPrereqError("IP %s of instance %s already in use" % (self.ip, name))
        self.nics = self._nics()
        beparams = self._beparams()
        disks = [{"size": d["size"], "mode": d.get("mode", C.DISK_RDWR)} for d in op.disks]
        if op.iallocator:
            request = iallocator.allocate_request(
                name, op.disk_template, [], op.os_type, beparams[C.BE_VCPUS],
                beparams[C.BE_MEMORY], disks, [n.to_dict() for n in self.nics], self.hypervisor,
                self.template.nodes)
            op.pnode = (await run_allocator(self, op.iallocator, request,
                                            self.template.nodes))[0]
        pnode = op.pnode
        if cfg.get_node(pnode) is None:
            raise errors.OpPrereqError("Node '%s' is unknown" % pnode)
        self.check_node_usable(pnode)
        filled = params.instance_hvparams(cfg.cluster, self._new_instance([]))
        result = await self.rpc.call_one(pnode, "hypervisor_validate_params",
                                         [self.hypervisor, filled])
        result.raise_on_error("Validating the hypervisor parameters")
        await self.check_os(pnode, op.os_type)
        await self.check_free_disk(pnode, op.disk_template, sum(d["size"] for d in disks),
                                   "the disks of instance %s" % name)
        if op.start:
            await self.check_free_memory(pnode, beparams[C.BE_MEMORY],
                                         "starting instance %s" % name, self.hypervisor)
        self.disk_specs = disks

    def _nics(self) -> List[objects.NIC]:
        nics = []
        used = self.cfg.used_macs()
        for index, spec in enumerate(self.op.nics):
            ip = spec.get("ip")
            if ip == C.VALUE_NONE:
                ip = None
            elif ip == C.VALUE_AUTO:
                ip = self.ip
            mac = spec.get("mac") or C.VALUE_AUTO
            if mac not in (C.VALUE_AUTO, C.VALUE_GENERATE):
                mac = mac.lower()
                if mac in used:
                    raise errors.OpPrereqError("NIC %d: MAC address %s already in use"
                                               % (index, mac))
            mode = spec.get("mode") or C.NIC_MODE_BRIDGED
            bridge = None if mode == C.NIC_MODE_NONE else (
                spec.get("bridge") or self.cfg.cluster.default_bridge)
            nics.append(objects.NIC(mac=mac, ip=ip, bridge=bridge, mode=mode))
        return nics

    def _new_instance(self, disks: List[objects.Disk]) -> objects.Instance:
        now = time.time()
        return objects.Instance(
            name=self.instance_name, primary_node=self.op.pnode, os=self.op.os_type,
            hypervisor=self.hypervisor, hvparams=self.hv_overrides,
            beparams=dict(self.op.beparams), admin_up=False, nics=self.nics, disks=disks,
            disk_template=self.op.disk_template, ctime=now, mtime=now)

    def build_hooks_env(self) -> Tuple[Dict[str, Any], List[str], List[str]]:
        inst = self._new_instance([objects.Disk(size=d["size"], mode=d["mode"])
                                   for d in self.disk_specs])
        env = hooks.instance_hook_env(inst.to_dict(), self._beparams(),
                                      params.instance_hvparams(self.cfg.cluster, inst))
        env.update({"OP_TARGET": inst.name, "ADD_MODE": self.op.mode,
                    "INSTANCE_STATUS": "up" if self.op.start else "down"})
        nodes = hook_nodes(self.cfg, self.op.pnode)
        return env, nodes, nodes

    async def exec(self) -> Any:
        op, cfg = self.op, self.cfg
        reserved = set()
        for nic in self.nics:
            if nic.mac in (C.VALUE_AUTO, C.VALUE_GENERATE):
                nic.mac = cfg.generate_mac(reserved)
            reserved.add(nic.mac)
        base = storage_base(cfg, op.disk_template)
        if op.file_storage_dir:
            base = base.rstrip("/") + "/" + op.file_storage_dir.strip("/")
        disks = [objects.Disk.from_dict(d) for d in templates.generate_disks(
            op.disk_template, self.instance_name, self.disk_specs, base, op.file_driver)]
        instance = self._new_instance(disks)
        if self.hypervisor in C.HTS_REQ_PORT:
            instance.network_port = cfg.allocate_port()
        self.feedback("* creating instance disks...")
        await self.create_disks(instance)
        if self.instance_name in cfg.data.instances:
            await self.remove_disks(instance, ignore_failures=True)
            raise errors.OpExecError("Instance %s was added meanwhile" % self.instance_name)
        cfg.data.instances[self.instance_name] = instance
        cfg.cluster.serial_no += 1
        try:
            await self.context.save_config()
        except errors.GenericError:
            await self.remove_disks(instance, ignore_failures=True)
            raise
        instance = cfg.get_instance(self.instance_name)
        if disks and not op.no_install:
            self.feedback("* running the instance OS create scripts...")
            try:
                paths = [p for _, _, p in await self.assemble_disks(instance)]
                await self.run_os_script("instance_os_add", instance, [paths, False],
                                         "Installing OS %s" % instance.os)
            except errors.GenericError:
                self.feedback("* OS installation failed, removing the instance")
                await self._undo_create(instance)
                raise
        if op.start:
            self.instance = instance
            await self.mark_admin_state(True)
            self.feedback("* starting instance...")
            await self.start_instance(instance)
        return None

    async def _undo_create(self, instance: objects.Instance) -> None:
        await self.remove_disks(instance, ignore_failures=True)
        self.cfg.data.instances.pop(instance.name, None)
        self.cfg.cluster.serial_no += 1
        await self.context.save_config()


class LUInstanceRemove(InstanceLU):
    HPATH = "instance-remove"

    def build_hooks_env(self) -> Tuple[Dict[str, Any], List[str], List[str]]:
        env, _, _ = super().build_hooks_env()
        nodes = [self.cfg.master_node()]
        return env, nodes, nodes

    async def exec(self) -> Any:
        instance = self.instance
        self.feedback("* shutting down instance %s on node %s"
                      % (instance.name, instance.primary_node))
        result = await self.rpc.call_one(instance.primary_node, "instance_shutdown",
                                         [self.wire(instance)])
        if result.failed:
            if not self.op.ignore_failures:
                result.raise_on_error("Shutting down instance %s" % instance.name)
            self.log_warning("Could not shut down instance %s: %s"
                             % (instance.name, result.fail_msg))
        self.feedback("* removing instance disks")
        ok = await self.remove_disks(instance, ignore_failures=self.op.ignore_failures)
        if not ok:
            self.log_warning("Some disks of %s were not removed" % instance.name)
        del self.cfg.data.instances[instance.name]
        self.cfg.cluster.serial_no += 1
        await self.context.save_config()
        self.remove_locks[LEVEL_INSTANCE] = [instance.name]
        return None


class LUInstanceStartup(InstanceLU):
    HPATH = "instance-start"

    def hooks_env(self) -> Dict[str, Any]:
        return {"FORCE": self.op.force}

    async def check_prereq(self) -> None:
        await super().check_prereq()
        instance = self.instance
        self.check_node_online(instance.primary_node)
        self.hv_overrides = {}
        if self.op.hvparams:
            self.hv_overrides = check_hypervisor_params(
                instance.hypervisor, params.instance_hvparams(self.cfg.cluster, instance),
                self.op.hvparams)
        # both questions in one round trip: the memory answer is only unused
        # when the instance already runs
        memory = self.ask_node_memory(instance.primary_node, instance.hypervisor)
        running = await self.is_running(instance)
        memory_answer = await memory
        if not running:
            beparams = self.cfg.cluster.fill_beparams(instance)
            beparams.update(self.op.beparams)
            check_memory_answer(memory_answer, beparams[C.BE_MEMORY],
                                "starting instance %s" % instance.name)

    async def exec(self) -> Any:
        await self.mark_admin_state(True)
        await self.start_instance(self.instance, {"hvparams": self.hv_overrides,
                                                  "beparams": dict(self.op.beparams)})
        return None


class LUInstanceShutdown(InstanceLU):
    HPATH = "instance-stop"

    async def check_prereq(self) -> None:
        await super().check_prereq()
        self.check_node_online(self.instance.primary_node)

    async def exec(self) -> Any:
        instance = self.instance
        await self.mark_admin_state(False)
        result = await self.rpc.call_one(instance.primary_node, "instance_shutdown",
                                         [self.wire(instance)])
        if result.failed:
            self.log_warning("Could not shutdown instance %s: %s"
                             % (instance.name, result.fail_msg))
        await self.shutdown_disks(instance)
        return None


class LUInstanceReboot(InstanceLU):
    HPATH = "instance-reboot"

    def hooks_env(self) -> Dict[str, Any]:
        return {"IGNORE_SECONDARIES": self.op.ignore_secondaries,
                "REBOOT_TYPE": self.op.reboot_type}

    async def check_prereq(self) -> None:
        await super().check_prereq()
        self.check_node_online(self.instance.primary_node)
        self.running = await self.is_running(self.instance)
        if self.op.reboot_type != C.REBOOT_FULL and not self.running:
            raise errors.OpPrereqError("Instance %s is not running; a %s reboot needs a running "
                                       "instance (use a full reboot or start it)"
                                       % (self.instance.name, self.op.reboot_type))

    async def exec(self) -> Any:
        instance = self.instance
        if self.op.reboot_type == C.REBOOT_FULL:
            result = await self.rpc.call_one(instance.primary_node, "instance_shutdown",
                                             [self.wire(instance)])
            result.raise_on_error("Shutting down instance %s for the reboot" % instance.name)
            await self.shutdown_disks(instance)
            await self.start_instance(instance)
        else:
            result = await self.rpc.call_one(instance.primary_node, "instance_reboot",
                                             [self.wire(instance), self.op.reboot_type])
            result.raise_on_error("Rebooting instance %s" % instance.name)
        await self.mark_admin_state(True)
        return None


class LUInstanceReinstall(InstanceLU):
    HPATH = "instance-reinstall"

    async def check_prereq(self) -> None:
        await super().check_prereq()
        instance = self.instance
        if instance.disk_template == C.DT_DISKLESS:
            raise errors.OpPrereqError("Instance %s is diskless, there is nothing to install "
                                       "onto" % instance.name)
        await self.check_not_running(instance, "reinstall")
        await self.check_os(instance.primary_node, self.op.os_type or instance.os)

    async def exec(self) -> Any:
        instance = self.instance
        if self.op.os_type and self.op.os_type != instance.os:
            self.feedback("Changing OS to %s..." % self.op.os_type)
            instance.os = self.op.os_type
            instance.serial_no += 1
            await self.context.save_config()
        paths = [p for _, _, p in await self.assemble_disks(instance)]
        try:
            self.feedback("Running the instance OS create scripts...")
            await self.run_os_script("instance_os_add", instance, [paths, True],
                                     "Reinstalling OS %s" % instance.os)
        finally:
            await self.shutdown_disks(instance)
        return None


class LUInstanceRename(InstanceLU):
    """Rename a stopped instance; holds the BGL exclusively, so it declares no locks."""

    HPATH = "instance-rename"
    LOCK_NODES = False

    async def _rename_dir(self, instance: objects.Instance, old: str, new: str) -> None:
        result = await self.rpc.call_one(
            instance.primary_node, "file_storage_dir_rename",
            [instance.disks[0].dev_type, storage_base(self.cfg, instance.disk_template),
             old, new])
        result.raise_on_error("Renaming the storage directory %s" % old)

    def expand_names(self) -> None:
        self.instance_name = self.cfg.expand_instance_name(self.op.instance_name)

    def hooks_env(self) -> Dict[str, Any]:
        return {"INSTANCE_NEW_NAME": self.op.new_name}

    async def check_prereq(self) -> None:
        await super().check_prereq()
        new = self.op.new_name
        await self.check_not_running(self.instance, "rename")
        if new in self.cfg.data.instances or new in self.cfg.data.nodes:
            raise errors.OpPrereqError("Name '%s' is already used in the cluster" % new)
        if self.op.name_check:
            ip = await resolve_name(new)
            if not self.op.ignore_ip and await ip_in_use(self.context.reactor, ip,
                                                         self.cfg.cluster.noded_port):
                raise errors.OpPrereqError("IP %s of instance %s already in use" % (ip, new))

    async def exec(self) -> Any:
        cfg, instance = self.cfg, self.instance
        old, new = instance.name, self.op.new_name
        old_dir = instance_dir(instance)
        new_dir = old_dir and old_dir.rsplit("/", 1)[0] + "/" + new
        if old_dir:
            await self._rename_dir(instance, old_dir, new_dir)
        try:
            for disk in instance.disks if old_dir else []:
                disk.logical_id = [disk.logical_id[0],
                                   new_dir + disk.logical_id[1][len(old_dir):]]
            del cfg.data.instances[old]
            instance.name = new
            instance.serial_no += 1
            cfg.data.instances[new] = instance
            cfg.cluster.serial_no += 1
            await self.context.save_config()
        except errors.GenericError:
            if old_dir:
                await self._rename_dir(instance, new_dir, old_dir)
            raise
        instance = self.instance = cfg.get_instance(new)
        # Holding the BGL exclusively, no other job can wait for these locks.
        glm = self.context.glm
        await glm.acquire(self.owner, LEVEL_INSTANCE, [old])
        await glm.remove(self.owner, LEVEL_INSTANCE, [old])
        await glm.add(self.owner, LEVEL_INSTANCE, [new])
        if instance.disks:
            paths = [p for _, _, p in await self.assemble_disks(instance)]
            try:
                await self.run_os_script("instance_run_rename", instance, [paths, old],
                                         "Running the OS rename script")
            except errors.GenericError as err:
                self.log_warning("Could not run the OS rename script for %s: %s" % (new, err))
            finally:
                await self.shutdown_disks(instance)
        return None


class LUInstanceConsole(InstanceLU):
    """The argv that reaches the console (spec 5.3): local on the master, else over ssh."""

    async def check_prereq(self) -> None:
        await super().check_prereq()
        self.check_node_online(self.instance.primary_node)
        if not await self.is_running(self.instance):
            raise errors.OpPrereqError("Instance %s is not running" % self.instance.name)

    async def exec(self) -> List[str]:
        instance = self.instance
        result = await self.rpc.call_one(instance.primary_node, "instance_console",
                                         [self.wire(instance)])
        command = result.raise_on_error("Getting the console command")
        if instance.primary_node == self.cfg.master_node():
            return ["sh", "-c", command]
        node = self.cfg.get_node(instance.primary_node)
        return ["ssh", "-q", "-oEscapeChar=none", "-oBatchMode=yes", "-t",
                "root@%s" % node.primary_ip, shlex.quote(command)]
