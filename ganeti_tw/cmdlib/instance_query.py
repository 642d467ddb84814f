"""Instance query logical units: list fields and detailed info (spec 5.3, 6.4)."""

import re
from typing import Any, Callable, Dict, List, Optional

from ganeti_tw import constants as C, errors, objects, utils
from ganeti_tw.cmdlib.base import LogicalUnit
from ganeti_tw.hypervisors import params
from ganeti_tw.hypervisors.params import HV_PARAMETERS
from ganeti_tw.locking import ALL_SET, LEVEL_INSTANCE, LEVEL_NODE

STATUS_RUNNING = "running"
STATUS_ADMIN_DOWN = "ADMIN_down"
STATUS_ERROR_UP = "ERROR_up"
STATUS_ERROR_DOWN = "ERROR_down"
STATUS_NODE_DOWN = "ERROR_nodedown"
STATUS_NODE_OFFLINE = "ERROR_nodeoffline"


class Defaults:
    """The cluster-wide parameter layers every instance of one query is filled from.

    Computed once per query rather than once per instance: a bulk list of
    1000 instances would otherwise rebuild the same default dicts 2000 times.
    """

    def __init__(self, cluster: objects.Cluster):
        self.cluster = cluster
        self.beparams = cluster.default_beparams()
        self._hvparams: Dict[str, Dict[str, Any]] = {}

    def hvparams(self, hv_name: str) -> Dict[str, Any]:
        """The cluster's effective defaults of ``hv_name`` (HypervisorError if unknown)."""
        filled = self._hvparams.get(hv_name)
        if filled is None:
            filled = self._hvparams[hv_name] = params.fill_hvparams(
                hv_name, self.cluster.hvparams.get(hv_name, {}), None)
        return filled


class _Row:
    """One instance and what its fields are computed from.

    ``node_result`` is the primary's ``all_instances_info`` answer, present
    only when a live field was asked for. Filled parameters are computed once
    per row, and only if a field needs them.
    """

    __slots__ = ("defaults", "inst", "node_result", "live", "_beparams", "_hvparams")

    def __init__(self, defaults: Defaults, inst: objects.Instance, node_result: Any = None):
        self.defaults = defaults
        self.inst = inst
        self.node_result = node_result
        # the hypervisor's view of the instance, None if it does not run (or unknown)
        self.live: Optional[Dict[str, Any]] = (
            None if node_result is None or node_result.failed
            else (node_result.data or {}).get(inst.name))
        self._beparams: Optional[Dict[str, Any]] = None
        self._hvparams: Optional[Dict[str, Any]] = None

    @property
    def cluster(self) -> objects.Cluster:
        return self.defaults.cluster

    @property
    def beparams(self) -> Dict[str, Any]:
        if self._beparams is None:
            self._beparams = {**self.defaults.beparams, **self.inst.beparams}
        return self._beparams

    @property
    def hvparams(self) -> Dict[str, Any]:
        if self._hvparams is None:
            self._hvparams = {**self.defaults.hvparams(self.inst.hypervisor),
                              **self.inst.hvparams}
        return self._hvparams

    @property
    def node_failed(self) -> bool:
        return self.node_result.failed


def _status(row: _Row) -> str:
    if row.node_result.offline:
        return STATUS_NODE_OFFLINE
    if row.node_failed:
        return STATUS_NODE_DOWN
    if row.live is not None:
        return STATUS_RUNNING if row.inst.admin_up else STATUS_ERROR_UP
    return STATUS_ERROR_DOWN if row.inst.admin_up else STATUS_ADMIN_DOWN


Getter = Callable[[_Row], Any]


def _nth(items: str, attr: str, index: int) -> Getter:
    """``attr`` of the index-th disk or NIC, None when the instance has fewer."""
    def get(row: _Row) -> Any:
        seq = getattr(row.inst, items)
        return getattr(seq[index], attr) if index < len(seq) else None
    return get


def _each(items: str, attr: str) -> Getter:
    return lambda row: [getattr(item, attr) for item in getattr(row.inst, items)]


LIVE_FIELDS = frozenset(["oper_state", "oper_ram", "oper_vcpus", "status"])

SIMPLE_FIELDS: Dict[str, Getter] = {
    "name": lambda row: row.inst.name,
    "os": lambda row: row.inst.os,
    "pnode": lambda row: row.inst.primary_node,
    "snodes": lambda row: list(row.inst.secondary_nodes),
    "admin_state": lambda row: row.inst.admin_up,
    "oper_state": lambda row: None if row.node_failed else row.live is not None,
    "oper_ram": lambda row: (row.live or {}).get("memory"),
    "status": _status,
    "disk_template": lambda row: row.inst.disk_template,
    "ip": _nth("nics", "ip", 0),
    "mac": _nth("nics", "mac", 0),
    "bridge": _nth("nics", "bridge", 0),
    "sda_size": _nth("disks", "size", 0),
    "sdb_size": _nth("disks", "size", 1),
    "vcpus": lambda row: row.beparams[C.BE_VCPUS],
    "tags": lambda row: list(row.inst.tags),
    "serial_no": lambda row: row.inst.serial_no,
    "ctime": lambda row: row.inst.ctime,
    "mtime": lambda row: row.inst.mtime,
    "network_port": lambda row: row.inst.network_port,
    "hypervisor": lambda row: row.inst.hypervisor,
    "hvparams": lambda row: dict(row.hvparams),
    "beparams": lambda row: dict(row.beparams),
    # file-based templates use exactly their disks' sizes, diskless none
    "disk_usage": lambda row: sum(disk.size for disk in row.inst.disks),
    "disk.count": lambda row: len(row.inst.disks),
    "disk.sizes": _each("disks", "size"),
    "disk.modes": _each("disks", "mode"),
    "nic.count": lambda row: len(row.inst.nics),
    "nic.macs": _each("nics", "mac"),
    "nic.ips": _each("nics", "ip"),
    "nic.bridges": _each("nics", "bridge"),
    # Ganeti 3 names (RAPI bulk lists): there are no
    # networks, spindles or per-device names and uuids in this version
    "uuid": lambda row: objects.object_uuid("instance", row.cluster.cluster_name, row.inst.name),
    "oper_vcpus": lambda row: (row.live or {}).get("vcpus"),
    "custom_hvparams": lambda row: dict(row.inst.hvparams),
    "custom_beparams": lambda row: dict(row.inst.beparams),
    "custom_nicparams": lambda row: [{} for _ in row.inst.nics],
    "nic.modes": _each("nics", "mode"),
    "nic.links": _each("nics", "bridge"),
    "nic.uuids": lambda row: [None for _ in row.inst.nics],
    "nic.names": lambda row: [None for _ in row.inst.nics],
    "nic.networks": lambda row: [None for _ in row.inst.nics],
    "nic.networks.names": lambda row: [None for _ in row.inst.nics],
    "disk.spindles": lambda row: [None for _ in row.inst.disks],
    "disk.uuids": lambda row: [None for _ in row.inst.disks],
    "disk.names": lambda row: [None for _ in row.inst.disks],
}
# "<prefix>/<N>": one attribute of the N-th disk or NIC
INDEXED_FIELDS = {"disk.size": ("disks", "size"), "nic.mac": ("nics", "mac"),
                  "nic.ip": ("nics", "ip"), "nic.bridge": ("nics", "bridge"),
                  "nic.mode": ("nics", "mode")}
# hv/<param> accepts a parameter of any hypervisor; other hypervisors' instances give None
HV_PARAM_NAMES = frozenset(name for table in HV_PARAMETERS.values() for name in table)
_INDEX_RE = re.compile(r"[0-9]+")


def field_getter(field: str) -> Optional[Getter]:
    """How to compute ``field`` of an instance, None for an unknown field."""
    if field in SIMPLE_FIELDS:
        return SIMPLE_FIELDS[field]
    prefix, _, rest = field.partition("/")
    if prefix in INDEXED_FIELDS and _INDEX_RE.fullmatch(rest):
        return _nth(*INDEXED_FIELDS[prefix], int(rest))
    if prefix == "be" and rest in C.BEC_DEFAULTS:
        return lambda row: row.beparams.get(rest)
    if prefix == "hv" and rest in HV_PARAM_NAMES:
        return lambda row: row.hvparams.get(rest)
    return None


def device_status(found: Optional[Dict[str, Any]]) -> Optional[List[Any]]:
    """A ``blockdev_find`` answer in the opcode's form (spec 5.3, as in Ganeti 2.0).

    ``[dev_path, major, minor, sync_percent, estimated_time, degraded, ldisk]``;
    None when the device is not active. File disks have no numbers nor sync.
    """
    if found is None:
        return None
    return [found["dev_path"], found.get("major"), found.get("minor"),
            found.get("sync_percent"), found.get("estimated_time"), found["degraded"],
            found["ldisk"]]


class _InstanceSelection(LogicalUnit):
    """Selects instances by (short) name, all if none given, optionally share-locked."""

    def select(self, names: List[str], lock: bool) -> None:
        self.wanted = (utils.nice_sort(dict.fromkeys(self.cfg.expand_instance_name(n)
                                                     for n in names))
                       if names else ALL_SET)
        self.locking = lock
        if lock:
            self.needed_locks[LEVEL_INSTANCE] = self.wanted
            self.share_locks[LEVEL_INSTANCE] = self.share_locks[LEVEL_NODE] = True

    def declare_locks(self, level: int) -> None:
        # holding the instance locks, the selection can no longer change
        if level == LEVEL_NODE and self.locking:
            self.needed_locks[LEVEL_NODE] = sorted(
                {node for inst in self.selected() for node in inst.all_nodes})

    def selected(self) -> List[objects.Instance]:
        """The selected instances, nicely sorted by name."""
        names = self.cfg.instance_names() if self.wanted is ALL_SET else self.wanted
        missing = [name for name in names if self.cfg.get_instance(name) is None]
        if missing:
            raise errors.OpExecError("Instance(s) %s removed while being queried"
                                     % ", ".join(missing))
        return [self.cfg.get_instance(name) for name in names]


class LUInstanceQuery(_InstanceSelection):
    """OP_INSTANCE_QUERY: one row of raw field values per instance (the CLI formats).

    Only the live fields contact nodes: one ``all_instances_info`` call to the
    primaries of the selected instances.
    """

    def check_arguments(self) -> None:
        self.getters = [field_getter(f) for f in self.op.output_fields]
        unknown = [f for f, get in zip(self.op.output_fields, self.getters) if get is None]
        if unknown:
            raise errors.ParameterError("Unknown output fields selected: %s" % ", ".join(unknown))

    def expand_names(self) -> None:
        self.select(self.op.names, self.op.use_locking)

    async def exec(self) -> List[List[Any]]:
        instances = self.selected()
        node_results: Dict[str, Any] = {}
        if instances and LIVE_FIELDS.intersection(self.op.output_fields):
            primaries = utils.nice_sort({inst.primary_node for inst in instances})
            node_results = await self.rpc.call(primaries, "all_instances_info",
                                               [list(self.cfg.cluster.enabled_hypervisors)])
        defaults = Defaults(self.cfg.cluster)
        getters = self.getters
        return [[get(row) for get in getters]
                for row in (_Row(defaults, inst, node_results.get(inst.primary_node))
                            for inst in instances)]


class LUInstanceQueryData(_InstanceSelection):
    """OP_INSTANCE_QUERY_DATA: everything ``gnt-instance info`` shows.

    Unless ``static``, asks the primary whether the instance runs and where
    its disks are; an unreachable primary gives None there and a warning.
    """

    def expand_names(self) -> None:
        self.select(self.op.instances, lock=True)

    async def exec(self) -> Dict[str, Dict[str, Any]]:
        return {inst.name: await self._instance_data(inst) for inst in self.selected()}

    async def _instance_data(self, inst: objects.Instance) -> Dict[str, Any]:
        run_state = None
        node_ok = not self.op.static
        if node_ok:
            result = await self.rpc.call_one(inst.primary_node, "instance_info",
                                             [inst.name, inst.hypervisor])
            if result.failed:
                self.log_warning("Cannot get the state of instance %s from node %s: %s"
                                 % (inst.name, inst.primary_node, result.fail_msg))
                node_ok = False
            else:
                run_state = "up" if result.data else "down"
        cluster = self.cfg.cluster
        return {
            "name": inst.name,
            "config_state": "up" if inst.admin_up else "down",
            "run_state": run_state,
            "pnode": inst.primary_node,
            "snodes": list(inst.secondary_nodes),
            "os": inst.os,
            "nics": [[nic.mac, nic.ip, nic.bridge] for nic in inst.nics],
            "disks": [await self._disk_status(inst, disk, node_ok) for disk in inst.disks],
            "hypervisor": inst.hypervisor,
            "network_port": inst.network_port,
            "hv_instance": dict(inst.hvparams),
            "hv_actual": params.instance_hvparams(cluster, inst),
            "be_instance": dict(inst.beparams),
            "be_actual": cluster.fill_beparams(inst),
        }

    async def _disk_status(self, inst: objects.Instance, disk: objects.Disk,
                           ask_node: bool) -> Dict[str, Any]:
        """One disk status tree; ``pstatus`` is the primary's view of the device."""
        pstatus = None
        if ask_node:
            result = await self.rpc.call_one(inst.primary_node, "blockdev_find",
                                             [disk.to_dict()])
            if result.failed:
                self.log_warning("Cannot find disk %s of instance %s on node %s: %s"
                                 % (disk.iv_name, inst.name, inst.primary_node, result.fail_msg))
            else:
                pstatus = device_status(result.data)
        return {
            "iv_name": disk.iv_name,
            "dev_type": disk.dev_type,
            "logical_id": list(disk.logical_id),
            "physical_id": list(disk.physical_id),
            "pstatus": pstatus,
            "sstatus": None,  # no template of this version has a secondary
            "children": [await self._disk_status(inst, objects.Disk.from_dict(child), ask_node)
                         for child in disk.children],
            "mode": disk.mode,
            "size": disk.size,
        }
