"""Hypervisor parameters (spec 8.1, 8.3): the exact set per hypervisor, types, defaults, checks.

The tables live apart from the providers because the master type- and
syntax-checks hvparams of every hypervisor, including ones it has no
provider for; nodes then re-check them and look for the files they name.
"""

import ipaddress
import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Sequence

from ganeti_tw import constants, errors, utils

VTYPE_STRING = "string"
VTYPE_BOOL = "bool"
VTYPE_INT = "int"
VTYPE_SIZE = "size"
VALUE_TRUE = "true"
VALUE_FALSE = "false"

HV_KERNEL_PATH = "kernel_path"
HV_INITRD_PATH = "initrd_path"
HV_ROOT_PATH = "root_path"
HV_KERNEL_ARGS = "kernel_args"
HV_BOOT_ORDER = "boot_order"
HV_CDROM_IMAGE_PATH = "cdrom_image_path"
HV_NIC_TYPE = "nic_type"
HV_DISK_TYPE = "disk_type"
HV_VNC_BIND_ADDRESS = "vnc_bind_address"
HV_VNC_TLS = "vnc_tls"
HV_VNC_X509 = "vnc_x509_path"
HV_VNC_X509_VERIFY = "vnc_x509_verify"
HV_ACPI = "acpi"
HV_PAE = "pae"
HV_SERIAL_CONSOLE = "serial_console"
HV_USB_MOUSE = "usb_mouse"
HV_DEVICE_MODEL = "device_model"
HV_KVM_ACCELERATOR = "accelerator"
HV_MIGRATION_PORT = "migration_port"
HV_MIGRATION_BANDWIDTH = "migration_bandwidth"
HV_MIGRATION_DOWNTIME = "migration_downtime"

NIC_PARAVIRTUAL = "paravirtual"
DISK_PARAVIRTUAL = "paravirtual"
HVM_NIC_TYPES = ("rtl8139", "ne2k_pci", "ne2k_isa", NIC_PARAVIRTUAL)
HVM_DISK_TYPES = (DISK_PARAVIRTUAL, "ioemu")
HVM_BOOT_LETTERS = "acdn"
KVM_NIC_TYPES = ("rtl8139", "ne2k_pci", "ne2k_isa", "i82551", "i82557b", "i82559er", "pcnet",
                 "e1000", NIC_PARAVIRTUAL)
KVM_DISK_TYPES = (DISK_PARAVIRTUAL, "ide", "scsi", "sd", "mtd", "pflash")
KVM_BOOT_DISK = "disk"
KVM_BOOT_CDROM = "cdrom"
KVM_BOOT_NETWORK = "network"
KVM_BOOT_ORDERS = (KVM_BOOT_DISK, KVM_BOOT_CDROM, KVM_BOOT_NETWORK)
KVM_USB_MICE = ("mouse", "tablet")
KVM_ACCEL_KVM = "kvm"
KVM_ACCEL_TCG = "tcg"
KVM_ACCELERATORS = (KVM_ACCEL_KVM, KVM_ACCEL_TCG)

# A check returns what is wrong with a value (None if nothing); it only sees
# the value, so it runs on the master without touching the world.
Check = Callable[[Any], Optional[str]]


@dataclass(frozen=True)
class Param:
    """One hypervisor parameter: its type, its default and its checks.

    ``check`` and ``local`` only run on non-empty values; an empty value is
    an error only when ``required``. ``local`` runs on the node (files exist).
    """

    vtype: str
    default: Any
    required: bool = False
    check: Optional[Check] = None
    local: Optional[Check] = None


def _absolute(value: str) -> Optional[str]:
    return None if os.path.isabs(value) else "not an absolute path"


def _one_of(choices: Sequence[str]) -> Check:
    def check(value: str) -> Optional[str]:
        return None if value in choices else "must be one of %s" % ", ".join(choices)
    return check


def _hvm_boot_order(value: str) -> Optional[str]:
    if value.strip(HVM_BOOT_LETTERS):
        return "boot order letters must be among %s" % ", ".join(HVM_BOOT_LETTERS)
    return None


def _is_ipv4(value: str) -> bool:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


def _ipv4(value: str) -> Optional[str]:
    return None if _is_ipv4(value) else "not a valid IPv4 address"


def _ipv4_or_absolute(value: str) -> Optional[str]:
    if _is_ipv4(value) or os.path.isabs(value):
        return None
    return "neither an IPv4 address nor an absolute directory path"


def _int_range(low: int, high: int) -> Check:
    def check(value: int) -> Optional[str]:
        return None if low <= value <= high else "must be between %d and %d" % (low, high)
    return check


def _existing_file(value: str) -> Optional[str]:
    return None if os.path.isfile(value) else "not an existing file on this node"


def _existing_dir(value: str) -> Optional[str]:
    return None if os.path.isdir(value) else "not an existing directory on this node"


def _ipv4_or_existing_dir(value: str) -> Optional[str]:
    return None if _is_ipv4(value) else _existing_dir(value)


def _path(default: str, required: bool = False, local: Check = _existing_file) -> Param:
    return Param(VTYPE_STRING, default, required, _absolute, local)


def _choice(default: str, choices: Sequence[str]) -> Param:
    return Param(VTYPE_STRING, default, True, _one_of(choices))


def _string(default: str, required: bool = False) -> Param:
    return Param(VTYPE_STRING, default, required)


def _bool(default: bool) -> Param:
    return Param(VTYPE_BOOL, default)


HV_PARAMETERS: Dict[str, Dict[str, Param]] = {
    constants.HT_FAKE: {},
    constants.HT_XEN_PVM: {
        HV_KERNEL_PATH: _path("/boot/vmlinuz-2.6-xenU", required=True),
        HV_INITRD_PATH: _path(""),
        HV_ROOT_PATH: _string("/dev/sda1", required=True),
        HV_KERNEL_ARGS: _string("ro"),
    },
    constants.HT_XEN_HVM: {
        HV_KERNEL_PATH: _path("/usr/lib/xen/boot/hvmloader", required=True),
        HV_BOOT_ORDER: Param(VTYPE_STRING, "cd", True, _hvm_boot_order),
        HV_CDROM_IMAGE_PATH: _path(""),
        HV_NIC_TYPE: _choice("rtl8139", HVM_NIC_TYPES),
        HV_DISK_TYPE: _choice(DISK_PARAVIRTUAL, HVM_DISK_TYPES),
        HV_VNC_BIND_ADDRESS: Param(VTYPE_STRING, "0.0.0.0", check=_ipv4),
        HV_ACPI: _bool(True),
        HV_PAE: _bool(True),
        HV_DEVICE_MODEL: _path("/usr/lib/xen/bin/qemu-dm", required=True),
    },
    constants.HT_KVM: {
        HV_KERNEL_PATH: _path("/boot/vmlinuz-2.6-kvmU"),
        HV_INITRD_PATH: _path(""),
        HV_ROOT_PATH: _string("/dev/vda1"),
        HV_KERNEL_ARGS: _string("ro"),
        HV_BOOT_ORDER: _choice(KVM_BOOT_DISK, KVM_BOOT_ORDERS),
        HV_CDROM_IMAGE_PATH: _path(""),
        HV_NIC_TYPE: _choice(NIC_PARAVIRTUAL, KVM_NIC_TYPES),
        HV_DISK_TYPE: _choice(DISK_PARAVIRTUAL, KVM_DISK_TYPES),
        HV_VNC_BIND_ADDRESS: Param(VTYPE_STRING, "", check=_ipv4_or_absolute,
                                   local=_ipv4_or_existing_dir),
        HV_VNC_TLS: _bool(False),
        HV_VNC_X509: _path("", local=_existing_dir),
        HV_VNC_X509_VERIFY: _bool(False),
        HV_ACPI: _bool(True),
        HV_SERIAL_CONSOLE: _bool(True),
        HV_USB_MOUSE: Param(VTYPE_STRING, "", check=_one_of(KVM_USB_MICE)),
        # not in Ganeti 2.0: qemu's software emulation (tcg) where KVM can't run guests
        HV_KVM_ACCELERATOR: _choice(KVM_ACCEL_KVM, KVM_ACCELERATORS),
        # Ganeti 2.1+ parameters: where the target listens, how fast and how long a pause
        HV_MIGRATION_PORT: Param(VTYPE_INT, 8102, True, _int_range(1, 65535)),
        HV_MIGRATION_BANDWIDTH: Param(VTYPE_INT, 32, True, _int_range(1, 1024 * 1024)),
        HV_MIGRATION_DOWNTIME: Param(VTYPE_INT, 30, True, _int_range(1, 60 * 1000)),
    },
}

HVC_DEFAULTS: Dict[str, Dict[str, Any]] = {
    hv: {name: param.default for name, param in table.items()}
    for hv, table in HV_PARAMETERS.items()
}


def _kvm_rules(params: Mapping[str, Any]) -> Optional[str]:
    """The kvm rules that tie parameters together (spec 8.3, 'Meaning / validation')."""
    if params[HV_KERNEL_PATH] and not params[HV_ROOT_PATH]:
        return "kvm parameter 'root_path' is required when 'kernel_path' is set"
    if params[HV_BOOT_ORDER] == KVM_BOOT_CDROM and not params[HV_CDROM_IMAGE_PATH]:
        return "kvm cannot boot from cdrom without 'cdrom_image_path'"
    if params[HV_BOOT_ORDER] == KVM_BOOT_NETWORK and params[HV_NIC_TYPE] == NIC_PARAVIRTUAL:
        return ("kvm cannot boot from network with a paravirtual NIC; "
                "set 'nic_type' to an emulated model")
    if params[HV_VNC_X509_VERIFY] and not params[HV_VNC_X509]:
        return "kvm parameter 'vnc_x509_verify' requires 'vnc_x509_path'"
    return None


_CROSS_RULES: Dict[str, Callable[[Mapping[str, Any]], Optional[str]]] = {
    constants.HT_KVM: _kvm_rules,
}


def _table(hv_name: str) -> Dict[str, Param]:
    try:
        return HV_PARAMETERS[hv_name]
    except KeyError:
        raise errors.HypervisorError("Unknown hypervisor '%s' (known: %s)"
                                     % (hv_name, ", ".join(sorted(HV_PARAMETERS)))) from None


def fill_hvparams(hv_name: str, cluster_hvparams: Optional[Mapping[str, Any]],
                  instance_overrides: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """The effective hvparams: built-in defaults < cluster defaults < instance overrides.

    The built-in defaults are the base so that a cluster written before a
    parameter existed still yields a complete dict ("missing keys
    filled from built-in defaults on load", spec 3.1).
    """
    filled = {name: param.default for name, param in _table(hv_name).items()}
    filled.update(cluster_hvparams or {})
    filled.update(instance_overrides or {})
    return filled


def instance_hvparams(cluster: Any, instance: Any) -> Dict[str, Any]:
    """The effective hvparams of a config Instance in its Cluster."""
    return fill_hvparams(instance.hypervisor, cluster.hvparams.get(instance.hypervisor, {}),
                         instance.hvparams)


def convert_value(name: str, vtype: str, value: Any) -> Any:
    """``value`` as a ``vtype``, the way the CLI and RAPI may give it (spec 8.1).

    Raises TypeEnforcementError naming the parameter when it cannot be converted.
    """
    def fail(what: str) -> errors.TypeEnforcementError:
        return errors.TypeEnforcementError("'%s' (%r) is not a valid %s" % (name, value, what))

    if vtype == VTYPE_STRING:
        if value is False or (isinstance(value, str) and value.lower() == VALUE_FALSE):
            return ""
        if not isinstance(value, str):
            raise fail("string")
        return value
    if vtype == VTYPE_BOOL:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in (VALUE_TRUE, VALUE_FALSE):
            return value.lower() == VALUE_TRUE
        raise fail("boolean")
    if vtype == VTYPE_INT:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise fail("integer")
    if vtype == VTYPE_SIZE:
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            try:
                return utils.parse_unit(value)
            except ValueError as err:
                raise fail("size: %s" % err) from None
        raise fail("size")
    raise errors.ProgrammerError("Unknown parameter type '%s' of '%s'" % (vtype, name))


def upgrade_types(hv_name: str, params: Mapping[str, Any]) -> Dict[str, Any]:
    """A copy of (partial) ``params`` with every value converted to its declared type.

    Used on user input (CLI ``-H``, RAPI, opcodes) before it is merged or stored.
    """
    table = _table(hv_name)
    upgraded = {}
    for name, value in params.items():
        if name not in table:
            raise errors.ParameterError("Unknown parameter '%s' for hypervisor %s"
                                        % (name, hv_name))
        upgraded[name] = convert_value(name, table[name].vtype, value)
    return upgraded


_PYTHON_TYPES = {VTYPE_STRING: str, VTYPE_BOOL: bool, VTYPE_INT: int, VTYPE_SIZE: int}


def _check_key_set(hv_name: str, table: Mapping[str, Param],
                   params: Mapping[str, Any]) -> None:
    extra = sorted(set(params) - set(table))
    if extra:
        raise errors.HypervisorError("Parameter '%s' is not supported by hypervisor %s"
                                     % (extra[0], hv_name))
    missing = [name for name in table if name not in params]
    if missing:
        raise errors.HypervisorError("Parameter '%s' of hypervisor %s is missing"
                                     % (missing[0], hv_name))


def _invalid(hv_name: str, name: str, value: Any, reason: str) -> errors.HypervisorError:
    return errors.HypervisorError("Invalid %s parameter '%s' = %r: %s"
                                  % (hv_name, name, value, reason))


def check_syntax(hv_name: str, params: Mapping[str, Any]) -> None:
    """Master-side check of a filled hvparams dict; touches no file.

    Raises HypervisorError with one line saying which parameter is wrong and why.
    """
    table = _table(hv_name)
    _check_key_set(hv_name, table, params)
    for name, param in table.items():
        value = params[name]
        pytype = _PYTHON_TYPES[param.vtype]
        if not isinstance(value, pytype) or (pytype is int and isinstance(value, bool)):
            raise _invalid(hv_name, name, value, "not a %s" % param.vtype)
        if value == "":
            if param.required:
                raise errors.HypervisorError("%s parameter '%s' is required"
                                             % (hv_name, name))
            continue
        reason = param.check(value) if param.check else None
        if reason:
            raise _invalid(hv_name, name, value, reason)
    rule = _CROSS_RULES.get(hv_name)
    reason = rule(params) if rule else None
    if reason:
        raise errors.HypervisorError(reason)


def validate_local(hv_name: str, params: Mapping[str, Any]) -> None:
    """Node-side check: the syntax again, then the files and directories named exist here."""
    check_syntax(hv_name, params)
    for name, param in _table(hv_name).items():
        value = params[name]
        reason = param.local(value) if param.local and value else None
        if reason:
            raise _invalid(hv_name, name, value, reason)
