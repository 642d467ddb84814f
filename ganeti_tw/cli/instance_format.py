"""How gnt-instance shows instances: list columns and info text (spec 6.4)."""

from typing import Any, Dict, List, Optional

from ganeti_tw import constants as C, opcodes, utils
from ganeti_tw.cli import generate_table

DEFAULT_FIELDS = ["name", "hypervisor", "os", "pnode", "status", "oper_ram"]
HEADERS = {
    "name": "Instance", "os": "OS", "pnode": "Primary_node", "snodes": "Secondary_Nodes",
    "admin_state": "Autostart", "oper_state": "Running", "oper_ram": "Memory",
    "disk_template": "Disk_template", "ip": "IP_address", "mac": "MAC_address",
    "bridge": "Bridge", "sda_size": "Disk/0", "sdb_size": "Disk/1",
    "disk_usage": "DiskUsage", "status": "Status", "tags": "Tags",
    "network_port": "Network_port", "serial_no": "SerialNo", "hypervisor": "Hypervisor",
    "ctime": "CTime", "mtime": "MTime",
    "hvparams": "Hypervisor_parameters", "vcpus": "VCPUs",
    "be/memory": "Configured_memory", "be/vcpus": "VCPUs", "be/auto_balance": "Auto_balance",
    "disk.count": "Disks", "disk.sizes": "Disk_sizes", "nic.count": "NICs",
    "nic.ips": "NIC_IPs", "nic.bridges": "NIC_bridges", "nic.macs": "NIC_MACs",
    "nic.modes": "NIC_modes",
    "hv/kernel_path": "Kernel_path", "hv/initrd_path": "Initrd_path",
    "hv/boot_order": "HVM_boot_order", "hv/acpi": "HVM_ACPI", "hv/pae": "HVM_PAE",
    "hv/cdrom_image_path": "HVM_CDROM_image_path", "hv/nic_type": "HVM_NIC_type",
    "hv/disk_type": "HVM_Disk_type", "hv/vnc_bind_address": "VNC_bind_address",
}
_UNIT_FIELDS = ("be/memory", "oper_ram", "sda_size", "sdb_size")
_NUM_FIELDS = ("be/vcpus", "vcpus", "serial_no", "disk.count", "nic.count", "network_port",
               "disk_usage")


def is_unit_field(field: str) -> bool:
    return field in _UNIT_FIELDS or field.startswith("disk.size/")


def format_list_value(field: str, value: Any) -> Any:
    """A raw OP_INSTANCE_QUERY value as shown by ``list`` (sizes stay numbers for --units)."""
    if field == "snodes":
        return ",".join(value or []) or "-"
    if field == "admin_state":
        return "yes" if value else "no"
    if field == "oper_state":
        return "(node down)" if value is None else ("running" if value else "stopped")
    if field in ("sda_size", "sdb_size") and value is None:
        return "N/A"
    if value is None:
        return "-"
    return value


def format_instance_table(fields: List[str], rows: List[list], separator: Optional[str] = None,
                          no_headers: bool = False, units: Optional[str] = None) -> List[str]:
    """``list`` output of OP_INSTANCE_QUERY rows."""
    table = [[format_list_value(f, v) for f, v in zip(fields, row)] for row in rows]
    return generate_table(HEADERS, fields, table, separator, no_headers, units,
                          [f for f in fields if is_unit_field(f)],
                          [f for f in fields if f in _NUM_FIELDS or is_unit_field(f)])


def _format_status(status: Optional[list]) -> str:
    """One node's view of a device, from blockdev_find's ``[path, major, minor, sync
    percent, ETA seconds, degraded, local disk degraded]`` (null: not active)."""
    if not status:
        return "not active"
    path, major, minor, sync_percent, eta, degraded, ldisk = status
    text = "%s (%s:%s)" % (path, "N/A" if major is None else major,
                           "N/A" if minor is None else minor)
    if sync_percent is not None:
        text += " *RECOVERING* %5.2f%%, ETA %s," % (sync_percent,
                                                   "%ds" % eta if eta else "unknown")
    text += " status %s" % ("*DEGRADED*" if degraded else "ok")
    if ldisk:
        text += ", local disk *FAILED*"
    return text


def _format_logical_id(dev_type: str, logical_id: Any) -> str:
    if dev_type in (C.DT_FILE, C.DT_SHARED_FILE) and isinstance(logical_id, list) and \
            len(logical_id) == 2:
        return "%s (driver %s)" % (logical_id[1], logical_id[0])
    return str(logical_id)


def _format_disk(index: int, disk: Dict[str, Any], top_level: bool, static: bool,
                 indent: int) -> List[str]:
    """A disk status tree entry of OP_INSTANCE_QUERY_DATA as indented lines."""
    name = (disk.get("iv_name") or "disk %d" % index) if top_level else "child %d" % index
    size = disk.get("size")
    size_text = utils.format_unit(size, "h") if isinstance(size, int) else size
    pad = " " * indent
    lines = ["%s- %s: %s, size %s" % (pad, name, disk.get("dev_type"), size_text)]
    items: List[Any] = []
    if top_level:
        items.append(("access mode", disk.get("mode")))
    if disk.get("logical_id"):
        items.append(("logical_id", _format_logical_id(disk.get("dev_type"),
                                                       disk["logical_id"])))
    if not static:
        items.append(("on primary", _format_status(disk.get("pstatus"))))
        if disk.get("sstatus"):
            items.append(("on secondary", _format_status(disk["sstatus"])))
    lines.extend("%s  %s: %s" % (pad, key, value) for key, value in items)
    if disk.get("children"):
        lines.append("%s  child devices:" % pad)
        for child_index, child in enumerate(disk["children"]):
            lines.extend(_format_disk(child_index, child, False, static, indent + 4))
    return lines


def _vnc_location(data: Dict[str, Any]) -> Optional[str]:
    address = data.get("hv_actual", {}).get("vnc_bind_address")
    port = data.get("network_port")
    if not address or port is None:
        return None
    display = int(port) - C.VNC_BASE_PORT
    if display > 0 and address == "0.0.0.0":
        return "%s:%s (display %s)" % (data["pnode"], port, display)
    if display > 0 and opcodes.is_valid_ipv4(address):
        return "%s:%s (node %s) (display %s)" % (address, port, data["pnode"], display)
    return "%s:%s" % (data["pnode"], address)


def format_instance_info(data: Dict[str, Any], static: bool) -> List[str]:
    """One instance of OP_INSTANCE_QUERY_DATA (spec 5.3) as ``info`` prints it."""
    state = "State: configured to be %s" % data["config_state"]
    if not static:
        # null: the primary node could not be asked
        state += ", actual state is %s" % (data["run_state"] or "unknown")
    lines = ["Instance name: %s" % data["name"], state,
             "  Nodes:",
             "    - primary: %s" % data["pnode"],
             "    - secondaries: %s" % ", ".join(data.get("snodes") or []),
             "  Operating system: %s" % data["os"]]
    if data.get("network_port") is not None:
        lines.append("  Allocated network port: %s" % data["network_port"])
    lines.append("  Hypervisor: %s" % data["hypervisor"])
    vnc = _vnc_location(data)
    if vnc:
        lines.append("    - console connection: vnc to %s" % vnc)
    hv_instance = data.get("hv_instance") or {}
    for key, value in sorted((data.get("hv_actual") or {}).items()):
        shown = hv_instance[key] if key in hv_instance else "default (%s)" % value
        lines.append("    - %s: %s" % (key, shown))
    be_actual = data.get("be_actual") or {}
    lines += ["  Hardware:",
              "    - VCPUs: %s" % be_actual.get(C.BE_VCPUS),
              "    - memory: %sMiB" % be_actual.get(C.BE_MEMORY),
              "    - auto_balance: %s" % be_actual.get(C.BE_AUTO_BALANCE),
              "    - NICs:"]
    for index, (mac, ip, bridge) in enumerate(data.get("nics") or []):
        lines.append("      - nic/%d: MAC: %s, IP: %s, bridge: %s"
                     % (index, mac, ip or "-", bridge or "none (mode none: not connected)"))
    lines.append("  Disks:")
    for index, disk in enumerate(data.get("disks") or []):
        lines.extend(_format_disk(index, disk, True, static, 4))
    return lines
