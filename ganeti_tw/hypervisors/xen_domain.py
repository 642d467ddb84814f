"""The libvirt domain XML of a xen-pvm or xen-hvm instance (spec 8.3, 8.4).

It is what Ganeti wrote to ``/etc/xen/<name>`` for ``xm create``, said in
libvirt's words. Built with ElementTree from plain values, so no parameter
can inject markup; it touches no file (the caller says which disks are
block devices).
"""

import string
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ganeti_tw import constants, errors
from ganeti_tw.hypervisors import params

# Our mark on a domain: which node root started it. Instances of this node
# are exactly the domains holding it, so libvirt's own domains (the test
# driver's "test") and other local-cluster nodes' ones stay out of our lists.
METADATA_NS = "urn:ganeti-tw:instance:1"
METADATA_TAG = "instance"
ET.register_namespace("ganeti-tw", METADATA_NS)

# xm-style letters (r)unning (b)locked (p)aused (s)hutdown (c)rashed (d)ying
# for libvirt's virDomainState numbers; shut-off domains are never listed.
DOMAIN_STATES = {0: "------", 1: "r-----", 2: "-b----", 3: "--p---", 4: "---s--",
                 6: "----c-", 7: "--p---"}

# Ganeti named PVM disks sda, sdb, ... (root_path defaults to /dev/sda1).
_DISK_LETTERS = string.ascii_lowercase[:24]
_HVM_BOOT_DEVICES = {"a": "fd", "c": "hd", "d": "cdrom", "n": "network"}
# ide has four places; hdc is the CD-ROM's, as in Ganeti's HVM config
_IDE_DISKS = ("hda", "hdb", "hdd")
_CDROM_TARGET = "hdc"
# libvirt's name for Xen's paravirtual NIC in an HVM guest
_XEN_PV_NIC_MODEL = "netfront"


@dataclass(frozen=True)
class DiskSpec:
    """One instance disk as the domain sees it: the node's path to it and how."""

    path: str
    is_block: bool
    read_only: bool


def _sub(parent: ET.Element, tag: str, text: Optional[str] = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _disk_targets(hv_name: str, hvparams: Mapping[str, Any], count: int) -> List[tuple]:
    """``(device name, bus)`` for ``count`` disks, or HypervisorError if they do not fit."""
    kind = "%s instance" % hv_name
    if hv_name == constants.HT_XEN_HVM:
        kind = "%s instance with disk_type %s" % (hv_name, hvparams[params.HV_DISK_TYPE])
        if hvparams[params.HV_DISK_TYPE] == params.DISK_PARAVIRTUAL:
            names: Sequence[str] = ["xvd" + letter for letter in _DISK_LETTERS]
            bus = "xen"
        else:
            names, bus = _IDE_DISKS, "ide"
    else:
        names, bus = ["sd" + letter for letter in _DISK_LETTERS], "xen"
    if count > len(names):
        raise errors.HypervisorError("A %s can have at most %d disks, not %d"
                                     % (kind, len(names), count))
    return [(names[i], bus) for i in range(count)]


def _add_disk(devices: ET.Element, disk: DiskSpec, target: str, bus: str) -> None:
    kind = "block" if disk.is_block else "file"
    element = _sub(devices, "disk", type=kind, device="disk")
    # phy: for block devices, a raw file otherwise (spec 8.4's phy:/file:)
    if disk.is_block:
        _sub(element, "driver", name="phy")
    else:
        _sub(element, "driver", name="qemu", type="raw")
    _sub(element, "source", **{"dev" if disk.is_block else "file": disk.path})
    _sub(element, "target", dev=target, bus=bus)
    if disk.read_only:
        _sub(element, "readonly")


def _add_nic(devices: ET.Element, nic: Any, model: Optional[str]) -> None:
    """A bridged NIC when the NIC names a bridge, else a bare vif (mode none)."""
    element = _sub(devices, "interface", type="bridge" if nic.bridge else "ethernet")
    _sub(element, "mac", address=nic.mac)
    if nic.bridge:
        _sub(element, "source", bridge=nic.bridge)
    if nic.ip:
        # the address the vif scripts allow (Ganeti's vif ip=)
        _sub(element, "ip", address=nic.ip)
    if model:
        _sub(element, "model", type=model)


def _add_pvm_os(domain: ET.Element, hvparams: Mapping[str, Any]) -> None:
    os_element = _sub(domain, "os")
    _sub(os_element, "type", "xen")
    _sub(os_element, "kernel", hvparams[params.HV_KERNEL_PATH])
    if hvparams[params.HV_INITRD_PATH]:
        _sub(os_element, "initrd", hvparams[params.HV_INITRD_PATH])
    cmdline = "root=%s" % hvparams[params.HV_ROOT_PATH]
    if hvparams[params.HV_KERNEL_ARGS]:
        cmdline += " " + hvparams[params.HV_KERNEL_ARGS]
    _sub(os_element, "cmdline", cmdline)


def _add_hvm_os(domain: ET.Element, hvparams: Mapping[str, Any]) -> None:
    os_element = _sub(domain, "os")
    _sub(os_element, "type", "hvm")
    _sub(os_element, "loader", hvparams[params.HV_KERNEL_PATH])
    for letter in dict.fromkeys(hvparams[params.HV_BOOT_ORDER]):
        _sub(os_element, "boot", dev=_HVM_BOOT_DEVICES[letter])
    features = _sub(domain, "features")
    if hvparams[params.HV_ACPI]:
        # Ganeti turned the APIC on with ACPI
        _sub(features, "acpi")
        _sub(features, "apic")
    if hvparams[params.HV_PAE]:
        _sub(features, "pae")
    _sub(domain, "clock", offset="localtime")


def _add_hvm_devices(devices: ET.Element, hvparams: Mapping[str, Any],
                     network_port: Optional[int], vnc_password: Optional[str]) -> None:
    if hvparams[params.HV_CDROM_IMAGE_PATH]:
        cdrom = _sub(devices, "disk", type="file", device="cdrom")
        _sub(cdrom, "source", file=hvparams[params.HV_CDROM_IMAGE_PATH])
        _sub(cdrom, "target", dev=_CDROM_TARGET, bus="ide")
        _sub(cdrom, "readonly")
    _sub(devices, "input", type="tablet", bus="usb")
    address = hvparams[params.HV_VNC_BIND_ADDRESS]
    if address:
        graphics = _sub(devices, "graphics", type="vnc", listen=address)
        if network_port:
            graphics.set("port", str(network_port))
            graphics.set("autoport", "no")
        else:
            graphics.set("autoport", "yes")
        if vnc_password is not None:
            graphics.set("passwd", vnc_password)


def domain_xml(hv_name: str, domain_type: str, instance: Any, disks: Sequence[DiskSpec],
               node_root: str, vnc_password: Optional[str] = None) -> str:
    """The domain XML of ``instance`` (filled hvparams and beparams) for ``hv_name``.

    ``domain_type`` is the ``<domain type=...>`` the libvirt driver wants for
    this guest kind (``xen`` on real Xen); ``node_root`` goes into our
    metadata so ``list_instances`` finds this node's domains only.
    """
    hvparams = instance.hvparams
    domain = ET.Element("domain", type=domain_type)
    _sub(domain, "name", instance.name)
    _sub(domain, "memory", str(instance.beparams[constants.BE_MEMORY]), unit="MiB")
    _sub(domain, "vcpu", str(instance.beparams[constants.BE_VCPUS]))
    metadata = _sub(domain, "metadata")
    ET.SubElement(metadata, "{%s}%s" % (METADATA_NS, METADATA_TAG),
                  {"name": instance.name, "node-root": node_root, "hypervisor": hv_name})
    if hv_name == constants.HT_XEN_HVM:
        _add_hvm_os(domain, hvparams)
    else:
        _add_pvm_os(domain, hvparams)
    _sub(domain, "on_poweroff", "destroy")
    _sub(domain, "on_reboot", "restart")
    _sub(domain, "on_crash", "restart")
    devices = _sub(domain, "devices")
    nic_model = None
    if hv_name == constants.HT_XEN_HVM:
        _sub(devices, "emulator", hvparams[params.HV_DEVICE_MODEL])
        nic_type = hvparams[params.HV_NIC_TYPE]
        nic_model = _XEN_PV_NIC_MODEL if nic_type == params.NIC_PARAVIRTUAL else nic_type
    for disk, (target, bus) in zip(disks, _disk_targets(hv_name, hvparams, len(disks))):
        _add_disk(devices, disk, target, bus)
    for nic in instance.nics:
        _add_nic(devices, nic, nic_model)
    _sub(devices, "serial", type="pty")
    _sub(devices, "console", type="pty")
    if hv_name == constants.HT_XEN_HVM:
        _add_hvm_devices(devices, hvparams, instance.network_port, vnc_password)
    return ET.tostring(domain, encoding="unicode")


def parse_mark(metadata: str) -> Dict[str, str]:
    """The attributes of our metadata element, as libvirt gives it back; {} if unreadable."""
    try:
        return dict(ET.fromstring(metadata).attrib)
    except ET.ParseError:
        return {}


def domain_type(capabilities: str, os_type: str) -> Optional[str]:
    """The ``<domain type>`` a driver's capabilities offer for ``os_type`` guests, or None.

    Asked, not assumed: real Xen says ``xen``, libvirt's test driver ``test``.
    """
    try:
        caps = ET.fromstring(capabilities)
    except ET.ParseError:
        return None
    for guest in caps.findall("guest"):
        domain = guest.find("arch/domain")
        if guest.findtext("os_type") == os_type and domain is not None:
            return domain.get("type")
    return None
