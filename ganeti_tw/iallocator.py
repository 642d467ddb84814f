"""Master side of the iallocator protocol, version 2 (spec 12.1).

Builds the input document from plain config data and node answers, runs the
allocator on the master's node daemon and checks its answer.
"""

import json
from typing import Any, Dict, List, Optional

from ganeti_tw import constants, errors

# DRBD keeps its metadata beside each disk (Ganeti's _ComputeDiskSize).
DRBD_META_SIZE = 128
# The node daemon gives an allocator a minute; the call must outlast that.
IALLOCATOR_RPC_TIMEOUT = 120
_NODE_INFO_KEYS = ("memory_total", "memory_free", "memory_dom0", "vg_size", "vg_free",
                   "cpu_total")


def disk_space_total(disk_template: str, disks: List[Dict[str, Any]]) -> int:
    """Node storage (MiB) the disks need; file storage counts, as it is this version's disk."""
    if disk_template == constants.DT_DISKLESS:
        return 0
    if disk_template == constants.DT_DRBD8:
        return sum(int(d["size"]) + DRBD_META_SIZE for d in disks)
    return sum(int(d["size"]) for d in disks)


def _instance_data(inst: Dict[str, Any]) -> Dict[str, Any]:
    disks = [{"size": d["size"], "mode": d["mode"]} for d in inst.get("disks", [])]
    return {
        "tags": list(inst.get("tags", [])),
        "admin_up": bool(inst.get("admin_up")),
        "vcpus": inst["beparams"][constants.BE_VCPUS],
        "memory": inst["beparams"][constants.BE_MEMORY],
        "os": inst["os"],
        "nodes": [inst["primary_node"]] + list(inst.get("secondary_nodes", [])),
        "nics": [{"mac": n.get("mac"), "ip": n.get("ip"), "bridge": n.get("bridge")}
                 for n in inst.get("nics", [])],
        "disks": disks,
        "disk_template": inst["disk_template"],
        "hypervisor": inst["hypervisor"],
        "disk_space_total": disk_space_total(inst["disk_template"], disks),
    }


def _node_dynamic(name: str, info: Optional[Dict[str, Any]], instances: List[Dict[str, Any]],
                  used: Dict[str, int]) -> Dict[str, Any]:
    """Resources of one online node, free memory reduced for its primary instances."""
    if not isinstance(info, dict):
        raise errors.OpExecError("Can't get data for node %s" % name)
    values = {}
    for key in _NODE_INFO_KEYS:
        if key not in info:
            raise errors.OpExecError("Node '%s' didn't return attribute '%s'" % (name, key))
        try:
            values[key] = int(info[key])
        except (TypeError, ValueError) as err:
            raise errors.OpExecError("Node '%s' returned invalid value for '%s': %s"
                                     % (name, key, err))
    free = values["memory_free"]
    i_pri = i_pri_up = 0
    for inst in instances:
        if inst["primary_node"] != name:
            continue
        memory = int(inst["beparams"][constants.BE_MEMORY])
        i_pri += memory
        if inst.get("admin_up"):
            i_pri_up += memory
        # A stopped instance uses nothing yet but may start any time: it
        # reserves its full memory, a running one what it has not taken yet.
        free -= max(0, memory - int(used.get(inst["name"], 0)))
    return {
        "total_memory": values["memory_total"], "reserved_memory": values["memory_dom0"],
        "free_memory": free, "total_disk": values["vg_size"], "free_disk": values["vg_free"],
        "total_cpus": values["cpu_total"], "i_pri_memory": i_pri, "i_pri_up_memory": i_pri_up,
    }


def build_input(cluster: Dict[str, Any], nodes: List[Dict[str, Any]],
                node_info: Dict[str, Optional[Dict[str, Any]]],
                instances: List[Dict[str, Any]], request: Dict[str, Any],
                instance_memory: Optional[Dict[str, Dict[str, int]]] = None) -> Dict[str, Any]:
    """The allocator's input document.

    Args:
      node_info: each node's ``node_info`` RPC answer (None if it failed); only
        nodes neither offline nor drained need one.
      instances: instance dicts with filled ``beparams``.
      instance_memory: per node, the memory each running instance uses now;
        instances missing there count as stopped.
    """
    instance_memory = instance_memory or {}
    node_data = {}
    for node in nodes:
        entry = {
            "tags": list(node.get("tags", [])),
            "primary_ip": node["primary_ip"], "secondary_ip": node["secondary_ip"],
            "offline": bool(node.get("offline")), "drained": bool(node.get("drained")),
            "master_candidate": bool(node.get("master_candidate")),
        }
        if not (entry["offline"] or entry["drained"]):
            entry.update(_node_dynamic(node["name"], node_info.get(node["name"]), instances,
                                       instance_memory.get(node["name"], {})))
        node_data[node["name"]] = entry
    return {
        "version": constants.IALLOCATOR_VERSION,
        "cluster_name": cluster["cluster_name"],
        "cluster_tags": list(cluster.get("tags", [])),
        "enabled_hypervisors": list(cluster["enabled_hypervisors"]),
        "nodes": node_data,
        "instances": {inst["name"]: _instance_data(inst) for inst in instances},
        "request": request,
    }


def allocate_request(name: str, disk_template: str, tags: List[str], os: str, vcpus: int,
                     memory: int, disks: List[Dict[str, Any]], nics: List[Dict[str, Any]],
                     hypervisor: str, required_nodes: int) -> Dict[str, Any]:
    """An ``allocate`` request: where to place a new instance."""
    disks = [{"size": d["size"], "mode": d["mode"]} for d in disks]
    return {
        "type": constants.IALLOCATOR_MODE_ALLOC, "name": name,
        "disk_template": disk_template, "tags": list(tags), "os": os, "vcpus": vcpus,
        "memory": memory, "disks": disks,
        "disk_space_total": disk_space_total(disk_template, disks),
        "nics": [{"mac": n.get("mac"), "ip": n.get("ip"), "bridge": n.get("bridge")}
                 for n in nics],
        "required_nodes": required_nodes, "hypervisor": hypervisor,
    }


def relocate_request(instance: Dict[str, Any], relocate_from: List[str]) -> Dict[str, Any]:
    """A ``relocate`` request: a new secondary for a mirrored instance."""
    return {
        "type": constants.IALLOCATOR_MODE_RELOC, "name": instance["name"],
        "disk_space_total": disk_space_total(instance["disk_template"], instance["disks"]),
        "required_nodes": 1, "relocate_from": list(relocate_from),
    }


def parse_response(text: str, required_nodes: int, allocator: str = "iallocator") -> List[str]:
    """The nodes chosen by the allocator, or OpPrereqError saying what is wrong."""
    try:
        answer = json.loads(text)
    except ValueError as err:
        raise errors.OpPrereqError("Can't parse the answer of %s: %s" % (allocator, err))
    if not isinstance(answer, dict):
        raise errors.OpPrereqError("The answer of %s is not a JSON object" % allocator)
    for key in ("success", "info", "nodes"):
        if key not in answer:
            raise errors.OpPrereqError("The answer of %s lacks '%s'" % (allocator, key))
    if not answer["success"]:
        raise errors.OpPrereqError("Can't compute nodes using %s: %s"
                                   % (allocator, answer["info"]))
    chosen = answer["nodes"]
    if not isinstance(chosen, list) or not all(isinstance(n, str) for n in chosen):
        raise errors.OpPrereqError("%s returned 'nodes' that are not a list of names: %r"
                                   % (allocator, chosen))
    if len(chosen) != required_nodes:
        raise errors.OpPrereqError("%s returned %d node(s) (%s) instead of %d"
                                   % (allocator, len(chosen), ", ".join(chosen),
                                      required_nodes))
    return chosen


async def run(rpc: Any, master: str, allocator: str, data: Dict[str, Any]) -> str:
    """Run ``allocator`` on the master's node daemon; its raw answer."""
    res = await rpc.call_one(master, "iallocator_runner", [allocator, json.dumps(data)],
                             timeout=IALLOCATOR_RPC_TIMEOUT)
    if res.failed:
        raise errors.OpPrereqError("Can't run instance allocator %s: %s"
                                   % (allocator, res.fail_msg))
    return res.data[1]
