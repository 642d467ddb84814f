"""Instance and block device procedures of a node (spec 1.3, 8.1, 9).

The master sends instances as ``Instance.to_dict()`` with hvparams and
beparams already filled, and disks as ``Disk.to_dict()``; everything here
is local to this node.
"""

import inspect
import os
from typing import Any, Dict, List, Optional

from twisted.internet import task

from ganeti_tw import errors, objects, storage, utils
from ganeti_tw.backend.context import NodeContext
from ganeti_tw.hypervisors import get_hypervisor
from ganeti_tw.storage import filestorage

# clean stop: ask, then poll (spec 8.1: ~2 minutes), then force
SHUTDOWN_TIMEOUT = 120
SHUTDOWN_POLL = 0.5


def _hypervisor(ctx: NodeContext, name: str) -> Any:
    """The node's provider for ``name``, made once (a provider may probe its binary)."""
    if name not in ctx.hypervisors:
        ctx.hypervisors[name] = get_hypervisor(name, ctx.paths)
    return ctx.hypervisors[name]


def _instance(data: Dict[str, Any]) -> objects.Instance:
    try:
        return objects.Instance.from_dict(data)
    except errors.ConfigurationError as err:
        raise errors.OpExecError("Invalid instance description: %s" % err) from None


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _device(ctx: NodeContext, disk: Dict[str, Any]) -> Any:
    try:
        return storage.device_for(disk, ctx.paths)
    except (KeyError, TypeError, ValueError, IndexError) as err:
        raise errors.BlockDeviceError("Invalid disk description %r: %s" % (disk, err)) from None


# block devices ------------------------------------------------------------------------

async def blockdev_create(ctx: NodeContext, disk: Dict[str, Any]) -> str:
    device = _device(ctx, disk)
    await device.create()
    return device.dev_path


async def blockdev_remove(ctx: NodeContext, disk: Dict[str, Any]) -> bool:
    await _device(ctx, disk).remove()
    return True


async def blockdev_assemble(ctx: NodeContext, disk: Dict[str, Any]) -> str:
    device = _device(ctx, disk)
    await device.assemble()
    return device.dev_path


async def blockdev_shutdown(ctx: NodeContext, disk: Dict[str, Any]) -> bool:
    await _device(ctx, disk).shutdown()
    return True


async def blockdev_grow(ctx: NodeContext, disk: Dict[str, Any], amount: int) -> bool:
    await _device(ctx, disk).grow(amount)
    return True


async def blockdev_find(ctx: NodeContext, disk: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    return await _device(ctx, disk).find()


async def blockdev_rename(ctx: NodeContext, disk: Dict[str, Any],
                          new_logical_id: List[Any]) -> bool:
    await _device(ctx, disk).rename(new_logical_id)
    return True


async def file_storage_dir_create(ctx: NodeContext, dev_type: str, base: str, path: str) -> bool:
    root = storage.node_path(dev_type, base, ctx.paths)
    await filestorage.create_file_storage_dir(storage.node_path(dev_type, path, ctx.paths), root)
    return True


async def file_storage_dir_remove(ctx: NodeContext, dev_type: str, base: str, path: str) -> bool:
    root = storage.node_path(dev_type, base, ctx.paths)
    await filestorage.remove_file_storage_dir(storage.node_path(dev_type, path, ctx.paths), root)
    return True


async def file_storage_dir_rename(ctx: NodeContext, dev_type: str, base: str, old: str,
                                  new: str) -> bool:
    root = storage.node_path(dev_type, base, ctx.paths)
    await filestorage.rename_file_storage_dir(storage.node_path(dev_type, old, ctx.paths),
                                              storage.node_path(dev_type, new, ctx.paths), root)
    return True


async def storage_free(ctx: NodeContext, dev_type: str, base: str) -> int:
    """Free MiB where disks of ``dev_type`` would be created (placement check)."""
    return await filestorage.free_space_mib(storage.node_path(dev_type, base, ctx.paths))


def _write_links(ctx: NodeContext, name: str, paths: List[str]) -> List[str]:
    os.makedirs(ctx.paths.instance_disks_dir, mode=0o750, exist_ok=True)
    links = []
    for index, path in enumerate(paths):
        link = ctx.paths.instance_disk_link(name, index)
        tmp = link + ".new"
        utils.remove_file(tmp)
        os.symlink(path, tmp)
        os.replace(tmp, link)
        links.append(link)
    return links


def _remove_links(ctx: NodeContext, name: str) -> None:
    directory = ctx.paths.instance_disks_dir
    if not os.path.isdir(directory):
        return
    for entry in os.listdir(directory):
        if entry.rsplit(":", 1)[0] == name:
            utils.remove_file(os.path.join(directory, entry))


async def assemble_instance_disks(ctx: NodeContext, instance: Dict[str, Any]) -> List[str]:
    """Assemble every disk of ``instance`` and return their device paths."""
    paths = []
    for disk in instance.get("disks", []):
        paths.append(await blockdev_assemble(ctx, disk))
    return paths


async def instance_activate_disks(ctx: NodeContext, data: Dict[str, Any]) -> List[str]:
    """Assemble the disks and (re)write the instance's links to them; the device paths.

    The links live in the volatile run dir, so a reboot loses them while the
    disk files stay: activation must bring both back (spec 9.6, 11.1 step 10).
    """
    instance = _instance(data)
    devices = await assemble_instance_disks(ctx, data)
    _write_links(ctx, instance.name, devices)
    return devices


async def _disk_status(ctx: NodeContext, name: str, index: int,
                       disk: Dict[str, Any]) -> Dict[str, Any]:
    try:
        device = _device(ctx, disk)
        found = await device.find() is not None
    except errors.GenericError as err:
        return {"found": False, "linked": False, "error": str(err)}
    link = ctx.paths.instance_disk_link(name, index)
    linked = os.path.islink(link) and os.readlink(link) == device.dev_path
    return {"found": found, "linked": linked, "error": None}


async def instance_disks_status(ctx: NodeContext,
                                instances: Dict[str, List[Dict[str, Any]]]
                                ) -> Dict[str, List[Dict[str, Any]]]:
    """For ``{instance: [disk, ...]}``: per disk ``{found, linked, error}``.

    ``found``: the disk exists here; ``linked``: its assembled link (what
    activation or start writes) is in place. Found but not linked means the
    disks need activating again, typically after a reboot.
    """
    out = {}
    for name, disks in instances.items():
        out[name] = [await _disk_status(ctx, name, index, disk)
                     for index, disk in enumerate(disks)]
    return out


# instances ------------------------------------------------------------------------------

async def instance_start(ctx: NodeContext, data: Dict[str, Any]) -> bool:
    """Assemble the disks, link them under instance-disks/, start the instance."""
    instance = _instance(data)
    hv = _hypervisor(ctx, instance.hypervisor)
    if instance.name in await _maybe_await(hv.list_instances()):
        return True
    devices = await assemble_instance_disks(ctx, data)
    links = _write_links(ctx, instance.name, devices)
    try:
        await _maybe_await(hv.start_instance(instance, list(zip(data.get("disks", []), links))))
    except Exception:
        _remove_links(ctx, instance.name)
        raise
    return True


async def _wait_stopped(ctx: NodeContext, hv: Any, name: str, timeout: float) -> bool:
    waited = 0.0
    while waited < timeout:
        if name not in await _maybe_await(hv.list_instances()):
            return True
        await task.deferLater(ctx.reactor, SHUTDOWN_POLL, lambda: None)
        waited += SHUTDOWN_POLL
    return name not in await _maybe_await(hv.list_instances())


async def instance_shutdown(ctx: NodeContext, data: Dict[str, Any],
                            timeout: float = SHUTDOWN_TIMEOUT) -> bool:
    """Clean stop, then a forced one after ``timeout`` (spec 8.1); not running is success."""
    instance = _instance(data)
    hv = _hypervisor(ctx, instance.hypervisor)
    if instance.name in await _maybe_await(hv.list_instances()):
        await _maybe_await(hv.stop_instance(instance, False))
        if not await _wait_stopped(ctx, hv, instance.name, timeout):
            await _maybe_await(hv.stop_instance(instance, True))
            if not await _wait_stopped(ctx, hv, instance.name, 5):
                raise errors.HypervisorError("Could not shutdown instance %s even by force"
                                             % instance.name)
    _remove_links(ctx, instance.name)
    return True


async def instance_reboot(ctx: NodeContext, data: Dict[str, Any], reboot_type: str) -> bool:
    """soft: the hypervisor's reboot; hard: stop and start on this node (spec 5.3)."""
    instance = _instance(data)
    hv = _hypervisor(ctx, instance.hypervisor)
    if instance.name not in await _maybe_await(hv.list_instances()):
        raise errors.HypervisorError("Cannot reboot instance %s: it is not running"
                                     % instance.name)
    if reboot_type == "soft":
        await _maybe_await(hv.reboot_instance(instance))
    elif reboot_type == "hard":
        await instance_shutdown(ctx, data)
        await instance_start(ctx, data)
    else:
        raise errors.OpExecError("Invalid reboot type %r for a node" % reboot_type)
    return True


async def instance_list(ctx: NodeContext, hypervisors: List[str]) -> List[str]:
    names: List[str] = []
    for name in hypervisors:
        names.extend(await _maybe_await(_hypervisor(ctx, name).list_instances()))
    return sorted(names)


def _info_dict(info: Any) -> Dict[str, Any]:
    _, hv_id, memory, vcpus, state, cpu_time = info
    return {"memory": memory, "vcpus": vcpus, "state": state, "time": cpu_time}


async def instance_info(ctx: NodeContext, name: str, hvname: str) -> Optional[Dict[str, Any]]:
    info = await _maybe_await(_hypervisor(ctx, hvname).get_instance_info(name))
    return _info_dict(info) if info else None


async def all_instances_info(ctx: NodeContext, hypervisors: List[str]) -> Dict[str, Any]:
    """{name: {memory, vcpus, state, time}} of everything running here."""
    out: Dict[str, Any] = {}
    for hvname in hypervisors:
        for info in await _maybe_await(_hypervisor(ctx, hvname).get_all_instances_info()):
            out[info[0]] = _info_dict(info)
    return out


async def hypervisor_node_info(ctx: NodeContext, hvname: str) -> Dict[str, Any]:
    return await _maybe_await(_hypervisor(ctx, hvname).get_node_info())


def hypervisor_validate_params(ctx: NodeContext, hvname: str, hvparams: Dict[str, Any]) -> bool:
    _hypervisor(ctx, hvname).validate_parameters(hvparams)
    return True


async def hypervisor_verify(ctx: NodeContext, hypervisors: List[str]) -> Dict[str, Any]:
    """{hypervisor: None or error text}."""
    out = {}
    for name in hypervisors:
        try:
            out[name] = await _maybe_await(_hypervisor(ctx, name).verify())
        except errors.GenericError as err:
            out[name] = str(err)
    return out


def instance_console(ctx: NodeContext, data: Dict[str, Any]) -> str:
    instance = _instance(data)
    return _hypervisor(ctx, instance.hypervisor).get_console_command(instance)


# migration (spec 9.5, hypervisor side) ---------------------------------------------------

async def migration_info(ctx: NodeContext, data: Dict[str, Any]) -> Any:
    instance = _instance(data)
    return await _maybe_await(_hypervisor(ctx, instance.hypervisor).migration_info(instance))


async def accept_instance(ctx: NodeContext, data: Dict[str, Any], info: Any,
                          target: str) -> bool:
    instance = _instance(data)
    await instance_activate_disks(ctx, data)
    hypervisor = _hypervisor(ctx, instance.hypervisor)
    await _maybe_await(hypervisor.accept_instance(instance, info, target))
    return True


async def migrate_instance(ctx: NodeContext, data: Dict[str, Any], target: str,
                           live: bool) -> Any:
    """Send the instance away; the hypervisor's final migration status, or True."""
    instance = _instance(data)
    hypervisor = _hypervisor(ctx, instance.hypervisor)
    status = await _maybe_await(hypervisor.migrate_instance(instance, target, live))
    _remove_links(ctx, instance.name)
    return status if status is not None else True


async def migration_status(ctx: NodeContext, data: Dict[str, Any]) -> Any:
    instance = _instance(data)
    return await _maybe_await(_hypervisor(ctx, instance.hypervisor).migration_status(instance))


async def finalize_migration(ctx: NodeContext, data: Dict[str, Any], info: Any,
                             success: bool) -> bool:
    instance = _instance(data)
    hypervisor = _hypervisor(ctx, instance.hypervisor)
    await _maybe_await(hypervisor.finalize_migration(instance, info, success))
    if not success:
        _remove_links(ctx, instance.name)
    return True
