"""The qemu command line of a kvm instance, from its runtime and what the binary supports.

Pure functions of their arguments, so every choice made from the probed
capabilities is unit-tested without running qemu. The runtime holds what
defines the virtual machine (memory, CPUs, hvparams, NICs, disk modes) and is
the same on every node; ``InstanceFiles`` holds this node's paths (pidfile,
sockets, disk links, NIC scripts), which differ between the nodes of a
local cluster. A migration target therefore builds the same machine with its
own files.
"""

import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from ganeti_tw import constants, errors
from ganeti_tw.hypervisors import params as P
from ganeti_tw.hypervisors.qemu_probe import QemuCapabilities

NIC_DEVICES = {
    P.NIC_PARAVIRTUAL: "virtio-net-pci", "rtl8139": "rtl8139", "ne2k_pci": "ne2k_pci",
    "ne2k_isa": "ne2k_isa", "i82551": "i82551", "i82557b": "i82557b", "i82559er": "i82559er",
    "pcnet": "pcnet", "e1000": "e1000",
}
DISK_DEVICES = {P.DISK_PARAVIRTUAL: "virtio-blk-pci", "ide": "ide-hd", "scsi": "scsi-hd"}
# disk types qemu only offers as -drive interfaces, without a -device model
DRIVE_ONLY_DISK_TYPES = ("sd", "mtd", "pflash")
SCSI_CONTROLLERS = ("virtio-scsi-pci", "lsi53c895a")
VNC_TLS_ID = "vnc-tls"


@dataclass
class InstanceFiles:
    """This node's files of one instance (all absolute: ``-daemonize`` changes to ``/``)."""

    pidfile: str
    qmp_socket: str
    serial_socket: str
    disks: List[str] = field(default_factory=list)
    nic_scripts: List[str] = field(default_factory=list)


def _unsupported(what: str, caps: QemuCapabilities) -> errors.HypervisorError:
    return errors.HypervisorError("The installed qemu %s does not support %s"
                                  % (".".join(map(str, caps.version)), what))


def _require_device(caps: QemuCapabilities, device: str, why: str) -> str:
    if not caps.has_device(device):
        raise _unsupported("the device %s (%s)" % (device, why), caps)
    return device


def _opts(*pairs: str) -> str:
    return ",".join(pairs)


def _machine_args(caps: QemuCapabilities, hv: Dict[str, Any]) -> List[str]:
    accel = hv[P.HV_KVM_ACCELERATOR]
    machine = ["pc"] if "pc" in caps.machines else []
    if not hv[P.HV_ACPI] and not caps.has_option("-no-acpi"):
        machine.append("acpi=off")  # qemu 9 removed -no-acpi
    args = []
    if caps.has_option("-accel"):
        args += ["-accel", accel]
    else:
        machine.append("accel=%s" % accel)
    if machine:
        args += ["-machine", ",".join(machine)]
    if not hv[P.HV_ACPI] and caps.has_option("-no-acpi"):
        args.append("-no-acpi")
    return args


def _disk_args(caps: QemuCapabilities, hv: Dict[str, Any], runtime: Dict[str, Any],
               files: InstanceFiles) -> List[str]:
    disk_type = hv[P.HV_DISK_TYPE]
    boot_disk = hv[P.HV_BOOT_ORDER] == P.KVM_BOOT_DISK and not hv[P.HV_KERNEL_PATH]
    args: List[str] = []
    if disk_type == "scsi" and runtime["disks"]:
        controller = next((c for c in SCSI_CONTROLLERS if caps.has_device(c)), None)
        if controller is None:
            raise _unsupported("a SCSI controller (%s)" % ", ".join(SCSI_CONTROLLERS), caps)
        args += ["-device", "%s,id=scsi0" % controller]
    for index, (disk, path) in enumerate(zip(runtime["disks"], files.disks)):
        read_only = "on" if disk["mode"] == constants.DISK_RDONLY else "off"
        node = "disk%d" % index
        if disk_type in DRIVE_ONLY_DISK_TYPES:
            args += ["-drive", _opts("file=%s" % path, "format=raw", "if=%s" % disk_type,
                                     "readonly=%s" % read_only)]
            continue
        device = _require_device(caps, DISK_DEVICES[disk_type], "disk_type %s" % disk_type)
        if caps.has_option("-blockdev"):
            args += ["-blockdev", _opts("driver=file", "filename=%s" % path,
                                        "node-name=%s-file" % node, "read-only=%s" % read_only),
                     "-blockdev", _opts("driver=raw", "file=%s-file" % node,
                                        "node-name=%s" % node, "read-only=%s" % read_only)]
        else:
            args += ["-drive", _opts("file=%s" % path, "format=raw", "if=none",
                                     "id=%s" % node, "readonly=%s" % read_only)]
        options = [device, "drive=%s" % node, "id=%s-dev" % node]
        if boot_disk and index == 0:
            options.append("bootindex=1")
        args += ["-device", _opts(*options)]
    return args


def _cdrom_args(caps: QemuCapabilities, hv: Dict[str, Any]) -> List[str]:
    image = hv[P.HV_CDROM_IMAGE_PATH]
    if not image:
        return []
    device = _require_device(caps, "ide-cd", "cdrom_image_path")
    if caps.has_option("-blockdev"):
        args = ["-blockdev", _opts("driver=file", "filename=%s" % image,
                                   "node-name=cdrom-file", "read-only=on"),
                "-blockdev", _opts("driver=raw", "file=cdrom-file", "node-name=cdrom",
                                   "read-only=on")]
    else:
        args = ["-drive", _opts("file=%s" % image, "format=raw", "if=none", "id=cdrom",
                                "media=cdrom", "readonly=on")]
    options = [device, "drive=cdrom", "id=cdrom-dev"]
    if hv[P.HV_BOOT_ORDER] == P.KVM_BOOT_CDROM:
        options.append("bootindex=0")
    return args + ["-device", _opts(*options)]


def _nic_args(caps: QemuCapabilities, hv: Dict[str, Any], runtime: Dict[str, Any],
              files: InstanceFiles) -> List[str]:
    model = _require_device(caps, NIC_DEVICES[hv[P.HV_NIC_TYPE]],
                            "nic_type %s" % hv[P.HV_NIC_TYPE])
    args: List[str] = []
    for index, nic in enumerate(runtime["nics"]):
        options = [model, "mac=%s" % nic["mac"], "id=nic%d" % index]
        if nic.get("bridge"):
            # qemu names the tap itself (unique on the host, whichever node root
            # started it) and hands the name to the NIC's ifup script
            args += ["-netdev", _opts("tap", "id=net%d" % index,
                                      "script=%s" % files.nic_scripts[index],
                                      "downscript=no")]
            options.append("netdev=net%d" % index)
        if hv[P.HV_BOOT_ORDER] == P.KVM_BOOT_NETWORK and index == 0:
            options.append("bootindex=0")
        args += ["-device", _opts(*options)]
    return args


def _kernel_args(hv: Dict[str, Any]) -> List[str]:
    if not hv[P.HV_KERNEL_PATH]:
        return []
    args = ["-kernel", hv[P.HV_KERNEL_PATH]]
    if hv[P.HV_INITRD_PATH]:
        args += ["-initrd", hv[P.HV_INITRD_PATH]]
    append = "root=%s %s" % (hv[P.HV_ROOT_PATH], hv[P.HV_KERNEL_ARGS])
    if hv[P.HV_SERIAL_CONSOLE]:
        append += " console=ttyS0,38400"
    return args + ["-append", append.strip()]


def vnc_display(runtime: Dict[str, Any]) -> Optional[str]:
    """Where the instance's VNC server listens (``ADDR:PORT`` or a socket path), or None."""
    address = runtime["hvparams"][P.HV_VNC_BIND_ADDRESS]
    if not address:
        return None
    if os.path.isabs(address):
        return os.path.join(address, "%s.vnc" % runtime["name"])
    return "%s:%d" % (address, runtime["network_port"])


def _display_args(caps: QemuCapabilities, hv: Dict[str, Any],
                  runtime: Dict[str, Any]) -> List[str]:
    address = hv[P.HV_VNC_BIND_ADDRESS]
    if not address:
        return ["-display", "none"]
    if os.path.isabs(address):
        vnc = "unix:%s" % vnc_display(runtime)
    else:
        port = runtime.get("network_port")
        if port is None or port < constants.VNC_BASE_PORT:
            raise errors.HypervisorError("Instance %s has no usable VNC port (%s)"
                                         % (runtime["name"], port))
        vnc = "%s:%d" % (address, port - constants.VNC_BASE_PORT)
    args = ["-device", _require_device(caps, "VGA", "the VNC console")]
    if hv[P.HV_VNC_TLS]:
        # the ",tls,x509=DIR" options of -vnc are gone from qemu; TLS credentials objects
        if hv[P.HV_VNC_X509]:
            kind = "tls-creds-x509"
            creds = [kind, "id=%s" % VNC_TLS_ID, "endpoint=server",
                     "dir=%s" % hv[P.HV_VNC_X509],
                     "verify-peer=%s" % ("on" if hv[P.HV_VNC_X509_VERIFY] else "off")]
        else:
            kind = "tls-creds-anon"
            creds = [kind, "id=%s" % VNC_TLS_ID, "endpoint=server"]
        if kind not in caps.objects:
            raise _unsupported("%s objects (vnc_tls)" % kind, caps)
        args += ["-object", _opts(*creds)]
        vnc += ",tls-creds=%s" % VNC_TLS_ID
    return args + ["-vnc", vnc]


def _usb_args(caps: QemuCapabilities, hv: Dict[str, Any]) -> List[str]:
    mouse = hv[P.HV_USB_MOUSE]
    if not mouse:
        return []
    # -usbdevice is gone from recent qemu; a USB controller plus a device works everywhere
    device = _require_device(caps, "usb-%s" % mouse, "usb_mouse %s" % mouse)
    return ["-usb", "-device", device]


def build_command(binary: str, caps: QemuCapabilities, runtime: Dict[str, Any],
                  files: InstanceFiles, incoming: Optional[str] = None) -> List[str]:
    """The argv that starts the instance described by ``runtime`` as a qemu daemon.

    ``incoming``: ``defer`` or ``tcp:HOST:PORT`` to wait for a migration.
    Raises HypervisorError naming what this qemu cannot do.
    """
    hv = runtime["hvparams"]
    args = [binary, "-name", runtime["name"], "-m", str(runtime["memory"]),
            "-smp", str(runtime["vcpus"]), "-nodefaults", "-no-user-config",
            "-pidfile", files.pidfile, "-daemonize"]
    args += _machine_args(caps, hv)
    args += ["-chardev", _opts("socket", "id=qmp", "path=%s" % files.qmp_socket,
                               "server=on", "wait=off"),
             "-mon", "chardev=qmp,mode=control"]
    if hv[P.HV_SERIAL_CONSOLE]:
        args += ["-chardev", _opts("socket", "id=serial0", "path=%s" % files.serial_socket,
                                   "server=on", "wait=off"),
                 "-serial", "chardev:serial0"]
    args += _kernel_args(hv)
    if not hv[P.HV_KERNEL_PATH]:
        args += ["-boot", {P.KVM_BOOT_DISK: "c", P.KVM_BOOT_CDROM: "d",
                           P.KVM_BOOT_NETWORK: "n"}[hv[P.HV_BOOT_ORDER]]]
    args += _disk_args(caps, hv, runtime, files)
    args += _cdrom_args(caps, hv)
    args += _nic_args(caps, hv, runtime, files)
    args += _display_args(caps, hv, runtime)
    args += _usb_args(caps, hv)
    if incoming:
        args += ["-incoming", incoming]
    return args
