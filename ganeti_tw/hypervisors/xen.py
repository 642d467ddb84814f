"""The xen-pvm and xen-hvm hypervisors, driven through libvirt (spec 8.4).

Where Ganeti wrote ``/etc/xen/<name>`` and ran ``xm``, we hand libvirt a
domain XML built from the same parameters: start defines and creates the
domain, stop undefines it first (so it vanishes once it has stopped, like
the removed config file) and then shuts it down or destroys it.

The libvirt URI is ``xen:///system`` unless the node's
``etc/ganeti/xen-libvirt-uri`` names another one (read when the node daemon
makes the provider); tests point it at libvirt's ``test:///default``.
Live migration through libvirt is not implemented: it could not be tested
without two Xen hosts, so the migration calls refuse with one line.
"""

import os
import shlex
import stat
from typing import Any, Dict, List, Optional, Tuple

from zope.interface import implementer

from ganeti_tw import constants, errors, utils
from ganeti_tw.hypervisors import params, xen_domain
from ganeti_tw.hypervisors.interfaces import IHypervisor
from ganeti_tw.hypervisors.libvirt_conn import LibvirtConnection, error_code, libvirt, read_uri
from ganeti_tw.paths import Paths

InstanceInfo = Tuple[str, int, int, int, str, float]


@implementer(IHypervisor)
class XenHypervisor:
    """What xen-pvm and xen-hvm share; subclasses name the guest kind."""

    HV_NAME = ""
    OS_TYPE = ""  # libvirt's <os><type> of the guest kind

    def __init__(self, paths: Paths):
        self._paths = paths
        self._libvirt = LibvirtConnection(read_uri(paths.xen_libvirt_uri_file))
        self._domain_type: Optional[str] = None

    # blocking helpers: they run in libvirt's thread, given the connection --------------

    def _mark(self, dom: Any) -> Dict[str, str]:
        try:
            metadata = dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT,
                                    xen_domain.METADATA_NS)
        except libvirt.libvirtError:
            return {}
        return xen_domain.parse_mark(metadata)

    def _is_ours(self, dom: Any) -> bool:
        mark = self._mark(dom)
        return (mark.get("node-root") == self._paths.root
                and mark.get("hypervisor") == self.HV_NAME)

    def _lookup(self, conn: Any, name: str) -> Any:
        """The domain called ``name``, or None if libvirt has none."""
        try:
            return conn.lookupByName(name)
        except libvirt.libvirtError as err:
            if error_code(err) == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            raise

    def _running(self, conn: Any, name: str) -> Any:
        """Our running domain ``name``, or None."""
        dom = self._lookup(conn, name)
        if dom is None or not dom.isActive() or not self._is_ours(dom):
            return None
        return dom

    def _our_domains(self, conn: Any) -> List[Any]:
        return [dom for dom in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)
                if self._is_ours(dom)]

    def _guest_domain_type(self, conn: Any) -> str:
        if self._domain_type is None:
            found = xen_domain.domain_type(conn.getCapabilities(), self.OS_TYPE)
            if found is None:
                raise errors.HypervisorError(
                    "libvirt at %s cannot run %s guests (its capabilities offer no os_type"
                    " '%s')" % (self._libvirt.uri, self.HV_NAME, self.OS_TYPE))
            self._domain_type = found
        return self._domain_type

    def _info(self, dom: Any) -> InstanceInfo:
        state, _max_kib, memory_kib, vcpus, cpu_ns = dom.info()
        return (dom.name(), dom.ID(), memory_kib // 1024, vcpus,
                xen_domain.DOMAIN_STATES.get(state, "------"), cpu_ns / 1e9)

    def _vnc_password(self, instance: Any) -> Optional[str]:
        """The cluster's VNC password when the instance has VNC (spec 8.4: the file must exist)."""
        return None

    def _start(self, conn: Any, instance: Any, block_devices: List[tuple]) -> None:
        name = instance.name
        disks = [xen_domain.DiskSpec(path, _is_block_device(name, path),
                                     disk.get("mode") == constants.DISK_RDONLY)
                 for disk, path in block_devices]
        xml = xen_domain.domain_xml(self.HV_NAME, self._guest_domain_type(conn), instance,
                                    disks, self._paths.root, self._vnc_password(instance))
        existing = self._lookup(conn, name)
        if existing is not None:
            if not self._is_ours(existing):
                raise errors.HypervisorError("libvirt already has a domain named %s that is not"
                                             " an instance of this node" % name)
            if existing.isActive():
                raise errors.HypervisorError("Failed to start instance %s: already running"
                                             % name)
        dom = conn.defineXML(xml)
        try:
            dom.create()
        except libvirt.libvirtError:
            dom.undefine()
            raise

    def _stop(self, conn: Any, name: str, force: bool) -> None:
        dom = self._running(conn, name)
        if dom is None:
            raise errors.HypervisorError("Failed to stop instance %s: not running" % name)
        # transient from now on: libvirt forgets the domain once it has stopped
        if dom.isPersistent():
            dom.undefine()
        if force:
            dom.destroy()
        else:
            dom.shutdown()

    def _reboot(self, conn: Any, name: str) -> None:
        dom = self._running(conn, name)
        if dom is None:
            raise errors.HypervisorError("Failed to reboot instance %s: not running" % name)
        dom.reboot(0)

    def _node_info(self, conn: Any) -> Dict[str, int]:
        _model, memory_mib, cpus, _mhz, nodes, sockets, _cores, _threads = conn.getInfo()
        try:
            free_bytes = conn.getFreeMemory()
            if conn.getType().upper() == "TEST":
                # libvirt's test driver returns its cells' sizes, which are in KiB
                free_bytes *= 1024
            free = free_bytes // (1024 * 1024)
        except libvirt.libvirtError as err:
            if error_code(err) != libvirt.VIR_ERR_NO_SUPPORT:
                raise
            # the driver cannot say: what the running domains leave of the total
            used = sum(dom.info()[2] for dom in conn.listAllDomains(
                libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)) // 1024
            free = max(memory_mib - used, 0)
        try:
            dom0 = conn.lookupByID(0).info()[2] // 1024
        except libvirt.libvirtError:
            dom0 = 0  # not Xen (test driver): no domain 0 to account for
        return {"memory_total": memory_mib, "memory_free": free, "memory_dom0": dom0,
                "cpu_total": cpus, "cpu_nodes": nodes, "cpu_sockets": nodes * sockets}

    # IHypervisor ---------------------------------------------------------------------------

    async def start_instance(self, instance: Any, block_devices: List[tuple]) -> None:
        await self._libvirt.call("Failed to start instance %s" % instance.name, self._start,
                                 instance, block_devices)

    async def stop_instance(self, instance: Any, force: bool) -> None:
        await self._libvirt.call("Failed to stop instance %s" % instance.name, self._stop,
                                 instance.name, force)

    async def reboot_instance(self, instance: Any) -> None:
        await self._libvirt.call("Failed to reboot instance %s" % instance.name, self._reboot,
                                 instance.name)

    async def list_instances(self) -> List[str]:
        domains = await self._libvirt.call("Failed to list instances", self._our_domains)
        return utils.nice_sort(dom.name() for dom in domains)

    async def get_instance_info(self, name: str) -> Optional[InstanceInfo]:
        def info(conn: Any) -> Optional[InstanceInfo]:
            dom = self._running(conn, name)
            return self._info(dom) if dom is not None else None
        return await self._libvirt.call("Failed to get info of instance %s" % name, info)

    async def get_all_instances_info(self) -> List[InstanceInfo]:
        def infos(conn: Any) -> List[InstanceInfo]:
            return [self._info(dom) for dom in self._our_domains(conn)]
        return sorted(await self._libvirt.call("Failed to get instances' info", infos))

    async def get_node_info(self) -> Dict[str, int]:
        return await self._libvirt.call("Failed to get node info", self._node_info)

    def get_console_command(self, instance: Any) -> str:
        return "virsh -c %s console %s" % (shlex.quote(self._libvirt.uri),
                                           shlex.quote(instance.name))

    async def verify(self) -> Optional[str]:
        try:
            await self._libvirt.call("Cannot use libvirt", self._guest_domain_type)
        except errors.HypervisorError as err:
            return str(err)
        return None

    def _no_migration(self, instance: Any) -> errors.HypervisorError:
        return errors.HypervisorError(
            "Cannot migrate instance %s: live migration of %s instances is not implemented"
            " (use failover)" % (instance.name, self.HV_NAME))

    async def migration_info(self, instance: Any) -> str:
        raise self._no_migration(instance)

    async def accept_instance(self, instance: Any, info: str, target: str) -> None:
        raise self._no_migration(instance)

    async def migrate_instance(self, instance: Any, target: str, live: bool) -> None:
        raise self._no_migration(instance)

    async def migration_status(self, instance: Any) -> None:
        return None  # no migration ever runs: migrate_instance refuses

    async def finalize_migration(self, instance: Any, info: str, success: bool) -> None:
        if success:  # undoing an accept that never happened needs nothing
            raise self._no_migration(instance)

    def check_parameter_syntax(self, hvparams: Dict[str, Any]) -> None:
        params.check_syntax(self.HV_NAME, hvparams)

    def validate_parameters(self, hvparams: Dict[str, Any]) -> None:
        params.validate_local(self.HV_NAME, hvparams)


class XenPvmHypervisor(XenHypervisor):
    """Paravirtual guests: libvirt boots kernel_path with root_path and kernel_args."""

    HV_NAME = constants.HT_XEN_PVM
    OS_TYPE = "xen"


class XenHvmHypervisor(XenHypervisor):
    """Fully virtualised guests: hvmloader, device model, emulated or PV devices, VNC."""

    HV_NAME = constants.HT_XEN_HVM
    OS_TYPE = "hvm"

    def _vnc_password(self, instance: Any) -> Optional[str]:
        if not instance.hvparams[params.HV_VNC_BIND_ADDRESS]:
            return None
        path = self._paths.vnc_password_file
        try:
            text = utils.read_file(path).decode("utf-8", "replace")
        except OSError as err:
            raise errors.HypervisorError("Cannot read the VNC password of xen-hvm instances"
                                         " from %s: %s" % (path, err.strerror)) from None
        lines = text.splitlines()
        return lines[0].strip() if lines else ""


def _is_block_device(instance: str, path: str) -> bool:
    """Whether a disk's path (the instance-disks symlink) leads to a block device."""
    try:
        return stat.S_ISBLK(os.stat(path).st_mode)
    except OSError as err:
        raise errors.HypervisorError("Disk %s of instance %s is not usable: %s"
                                     % (path, instance, err.strerror)) from None
