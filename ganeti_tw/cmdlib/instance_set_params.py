"""gnt-instance modify: parameters, disks and NICs (spec 5.6); effective at next start."""

from typing import Any, Dict, List, Tuple

from ganeti_tw import constants as C, errors, hooks, objects
from ganeti_tw.cmdlib.instance_utils import InstanceLU, check_hypervisor_params, instance_dir
from ganeti_tw.hypervisors import params as hv_params
from ganeti_tw.opcodes import check_beparams


def merge_overrides(current: Dict[str, Any], changes: Dict[str, Any]) -> Dict[str, Any]:
    """Apply ``changes`` to an override dict; the value "default" drops the override."""
    merged = dict(current)
    for key, value in changes.items():
        if value == C.VALUE_DEFAULT:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


class LUInstanceSetParams(InstanceLU):
    HPATH = "instance-modify"

    async def check_prereq(self) -> None:
        await super().check_prereq()
        op, instance, cluster = self.op, self.instance, self.cfg.cluster
        self.new_hv = None
        if op.hvparams:
            self.new_hv = merge_overrides(instance.hvparams, op.hvparams)
            check_hypervisor_params(instance.hypervisor,
                                    cluster.hvparams.get(instance.hypervisor, {}), self.new_hv)
            probe = objects.Instance.from_dict(dict(instance.to_dict(), hvparams=self.new_hv))
            for node in instance.all_nodes:
                result = await self.rpc.call_one(
                    node, "hypervisor_validate_params",
                    [instance.hypervisor, hv_params.instance_hvparams(cluster, probe)])
                result.raise_on_error("Validating the hypervisor parameters")
        self.new_be = None
        if op.beparams:
            self.new_be = merge_overrides(instance.beparams, op.beparams)
            check_beparams(self.new_be)
            await self._check_memory()
        await self._check_disks()
        self._check_nics()

    async def _check_memory(self) -> None:
        instance, cluster = self.instance, self.cfg.cluster
        old = cluster.fill_beparams(instance)[C.BE_MEMORY]
        probe = objects.Instance.from_dict(dict(instance.to_dict(), beparams=self.new_be))
        new = cluster.fill_beparams(probe)[C.BE_MEMORY]
        if new <= old or self.op.force:
            return
        self.check_node_online(instance.primary_node)
        if await self.is_running(instance):
            # the instance keeps its current memory until restarted
            await self.check_free_memory(instance.primary_node, new - old,
                                         "increasing the memory of %s" % instance.name,
                                         instance.hypervisor)

    async def _check_disks(self) -> None:
        instance = self.instance
        for op, params in self.op.disks:
            if op == "add":
                if instance.disk_template == C.DT_DISKLESS:
                    raise errors.OpPrereqError("Diskless instances can't get disks")
                if len(instance.disks) >= C.MAX_DISKS:
                    raise errors.OpPrereqError("Instance %s already has %d disks, the maximum"
                                               % (instance.name, C.MAX_DISKS))
                await self.check_free_disk(instance.primary_node, instance.disk_template,
                                           params["size"], "a new disk of %s" % instance.name)
            elif op == "remove":
                if len(instance.disks) <= 1:
                    raise errors.OpPrereqError("Instance %s has only one disk, it can't be "
                                               "removed" % instance.name)
                if await self.is_running(instance):
                    raise errors.OpPrereqError("Instance %s is running, stop it to remove a "
                                               "disk" % instance.name)
            elif op >= len(instance.disks):
                raise errors.OpPrereqError("Instance %s has no disk %d" % (instance.name, op))

    def _check_nics(self) -> None:
        instance = self.instance
        used = self.cfg.used_macs()
        for op, params in self.op.nics:
            if op == "add" and len(instance.nics) >= C.MAX_NICS:
                raise errors.OpPrereqError("Instance %s already has %d NICs, the maximum"
                                           % (instance.name, C.MAX_NICS))
            if op == "remove" and not instance.nics:
                raise errors.OpPrereqError("Instance %s has no NIC to remove" % instance.name)
            if isinstance(op, int) and op >= len(instance.nics):
                raise errors.OpPrereqError("Instance %s has no NIC %d" % (instance.name, op))
            mac = params.get("mac")
            if mac and mac not in (C.VALUE_AUTO, C.VALUE_GENERATE) and mac.lower() in used:
                raise errors.OpPrereqError("MAC address %s already in use" % mac)

    def build_hooks_env(self) -> Tuple[Dict[str, Any], List[str], List[str]]:
        env, pre, post = super().build_hooks_env()
        if self.new_be is not None:
            probe = objects.Instance.from_dict(dict(self.instance.to_dict(),
                                                    beparams=self.new_be))
            filled = self.cfg.cluster.fill_beparams(probe)
            hvparams = hv_params.instance_hvparams(self.cfg.cluster, probe)
            env.update(hooks.instance_hook_env(probe.to_dict(), filled, hvparams))
        return env, pre, post

    async def exec(self) -> List[List[Any]]:
        instance = self.instance
        changes: List[List[Any]] = []
        if self.new_hv is not None:
            instance.hvparams = self.new_hv
            changes += [["hv/%s" % k, v] for k, v in sorted(self.op.hvparams.items())]
        if self.new_be is not None:
            instance.beparams = self.new_be
            changes += [["be/%s" % k, v] for k, v in sorted(self.op.beparams.items())]
        for op, params in self.op.disks:
            changes.append(await self._modify_disk(op, params))
        for op, params in self.op.nics:
            changes.append(self._modify_nic(op, params))
        instance.serial_no += 1
        await self.context.save_config()
        return changes

    async def _modify_disk(self, op: Any, params: Dict[str, Any]) -> List[Any]:
        instance = self.instance
        if op == "add":
            index = len(instance.disks)
            template = instance.disks[0] if instance.disks else None
            directory = instance_dir(instance)
            disk = objects.Disk(dev_type=template.dev_type,
                                logical_id=[template.logical_id[0],
                                            "%s/disk%d" % (directory, index)],
                                iv_name="disk/%d" % index, size=params["size"],
                                mode=params.get("mode", C.DISK_RDWR))
            await self.create_disks(instance, [disk])
            instance.disks.append(disk)
            return ["disk/%d" % index, "add:size=%s,mode=%s" % (disk.size, disk.mode)]
        if op == "remove":
            disk = instance.disks[-1]
            for node in instance.all_nodes:
                result = await self.rpc.call_one(node, "blockdev_remove", [disk.to_dict()])
                if result.failed:
                    self.log_warning("Could not remove disk %s on node %s: %s"
                                     % (disk.iv_name, node, result.fail_msg))
            instance.disks.pop()
            return [disk.iv_name, "remove"]
        instance.disks[op].mode = params.get("mode", instance.disks[op].mode)
        return ["disk.mode/%d" % op, instance.disks[op].mode]

    def _modify_nic(self, op: Any, params: Dict[str, Any]) -> List[Any]:
        instance = self.instance
        if op == "remove":
            instance.nics.pop()
            return ["nic.%d" % len(instance.nics), "remove"]
        if op == "add":
            nic = objects.NIC(mac=None, ip=None, bridge=self.cfg.cluster.default_bridge)
            instance.nics.append(nic)
            index = len(instance.nics) - 1
        else:
            nic, index = instance.nics[op], op
        mac = params.get("mac", C.VALUE_AUTO if op == "add" else None)
        if mac in (C.VALUE_AUTO, C.VALUE_GENERATE):
            nic.mac = self.cfg.generate_mac()
        elif mac:
            nic.mac = mac.lower()
        if "ip" in params:
            nic.ip = None if params["ip"] in (None, C.VALUE_NONE) else params["ip"]
        # a bridge implies bridged mode; leaving mode none drops the bridge
        mode = params.get("mode") or (C.NIC_MODE_BRIDGED if params.get("bridge") else nic.mode)
        if mode == C.NIC_MODE_NONE:
            nic.bridge = None
        else:
            nic.bridge = params.get("bridge") or nic.bridge or self.cfg.cluster.default_bridge
        nic.mode = mode
        return ["nic.%d" % index, "%smode=%s,mac=%s,ip=%s,bridge=%s"
                % ("add:" if op == "add" else "", nic.mode, nic.mac, nic.ip or "none",
                   nic.bridge or "none")]
