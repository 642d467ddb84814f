"""Instance disk logical units: activate, deactivate, grow (spec 9.6)."""

from typing import Any, Dict, List

from ganeti_tw import errors
from ganeti_tw.cmdlib.instance_utils import InstanceLU
from ganeti_tw.storage import templates


class LUInstanceActivateDisks(InstanceLU):
    """Assemble the disks on the primary; safe while the instance runs."""

    async def check_prereq(self) -> None:
        await super().check_prereq()
        self.check_node_online(self.instance.primary_node)

    async def exec(self) -> List[List[str]]:
        """``[[node, iv_name, path], ...]``; the node also relinks the disks for the instance."""
        instance = self.instance
        result = await self.rpc.call_one(instance.primary_node, "instance_activate_disks",
                                         [self.wire(instance)])
        paths = result.raise_on_error("Activating the disks of %s" % instance.name)
        return [[instance.primary_node, disk.iv_name, path]
                for disk, path in zip(instance.disks, paths)]


class LUInstanceDeactivateDisks(InstanceLU):
    async def check_prereq(self) -> None:
        await super().check_prereq()
        self.check_node_online(self.instance.primary_node)
        if await self.is_running(self.instance):
            raise errors.OpPrereqError("Instance %s is running, its disks can't be deactivated"
                                       % self.instance.name)

    async def exec(self) -> Any:
        await self.shutdown_disks(self.instance, ignore_failures=False)
        return None


class LUInstanceGrowDisk(InstanceLU):
    HPATH = "disk-grow"

    def hooks_env(self) -> Dict[str, Any]:
        return {"DISK": self.op.disk, "AMOUNT": self.op.amount}

    def build_hooks_env(self) -> Any:
        env, _, _ = super().build_hooks_env()
        nodes = list(dict.fromkeys([self.cfg.master_node(), self.instance.primary_node]))
        return env, nodes, nodes

    async def check_prereq(self) -> None:
        await super().check_prereq()
        instance = self.instance
        template = templates.get_template(instance.disk_template)
        if not template.can_grow:
            raise errors.OpPrereqError("Instance %s has disk template %s, whose disks can't "
                                       "be grown" % (instance.name, instance.disk_template))
        if self.op.disk >= len(instance.disks):
            raise errors.OpPrereqError("Instance %s has no disk %d (it has %d)"
                                       % (instance.name, self.op.disk, len(instance.disks)))
        for node in instance.all_nodes:
            self.check_node_online(node)
            await self.check_free_disk(node, instance.disk_template, self.op.amount,
                                       "growing disk %d of %s" % (self.op.disk, instance.name))

    async def exec(self) -> Any:
        instance = self.instance
        disk = instance.disks[self.op.disk]
        for node in instance.all_nodes:
            result = await self.rpc.call_one(node, "blockdev_grow",
                                             [disk.to_dict(), self.op.amount])
            result.raise_on_error("Growing disk %s of %s" % (disk.iv_name, instance.name))
        disk.size += self.op.amount
        instance.serial_no += 1
        await self.context.save_config()
        self.feedback("Disk %s of %s is now %d MiB" % (disk.iv_name, instance.name, disk.size))
        return None
