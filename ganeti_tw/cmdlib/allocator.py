"""Asking an iallocator for nodes, and OP_TEST_ALLOCATOR (spec 12.1)."""

import json
from typing import Any, Dict, List

from ganeti_tw import constants as C, iallocator
from ganeti_tw.cmdlib.base import LogicalUnit


async def gather_input(lu: Any, request: Dict[str, Any]) -> Dict[str, Any]:
    """The protocol version 2 input document: config plus live node data."""
    cfg = lu.cfg
    nodes = [cfg.get_node(n) for n in cfg.node_names()]
    usable = [n.name for n in nodes if not (n.offline or n.drained)]
    hypervisor = request.get("hypervisor") or cfg.cluster.default_hypervisor
    infos = await lu.rpc.call(usable, "node_info", [hypervisor])
    running = await lu.rpc.call(usable, "all_instances_info",
                                [list(cfg.cluster.enabled_hypervisors)])
    node_info: Dict[str, Any] = {}
    used: Dict[str, Dict[str, int]] = {}
    for name in usable:
        if infos[name].failed:
            lu.log_warning("Node %s left out of the allocation: %s"
                           % (name, infos[name].fail_msg))
            continue
        node_info[name] = infos[name].data
        if not running[name].failed:
            used[name] = {i: v["memory"] for i, v in running[name].data.items()}
    instances = []
    for inst in cfg.data.instances.values():
        data = inst.to_dict()
        data["beparams"] = cfg.cluster.fill_beparams(inst)
        instances.append(data)
    cluster = {"cluster_name": cfg.cluster.cluster_name, "tags": list(cfg.cluster.tags),
               "enabled_hypervisors": list(cfg.cluster.enabled_hypervisors)}
    return iallocator.build_input(cluster, [n.to_dict() for n in nodes if n.name in node_info
                                            or n.offline or n.drained],
                                  node_info, instances, request, used)


async def run_allocator(lu: Any, name: str, request: Dict[str, Any], required: int) -> List[str]:
    """Run allocator ``name`` on the master and return the ``required`` nodes it chose."""
    document = await gather_input(lu, request)
    text = await iallocator.run(lu.rpc, lu.cfg.master_node(), name, document)
    chosen = iallocator.parse_response(text, required, allocator=name)
    lu.log_info("Selected nodes for instance %s via iallocator %s: %s"
                % (request.get("name"), name, ", ".join(chosen)))
    return chosen


class LUTestAllocator(LogicalUnit):
    """``in``: the document an allocator would get; ``out``: the allocator's raw answer."""

    def _request(self) -> Dict[str, Any]:
        op = self.op
        if op.mode == C.IALLOCATOR_MODE_RELOC:
            name = self.cfg.expand_instance_name(op.name)
            instance = self.cfg.get_instance(name).to_dict()
            return iallocator.relocate_request(instance, [instance["primary_node"]])
        disks = [{"size": d["size"], "mode": d.get("mode", "w")} for d in op.disks]
        nics = [{"mac": n.get("mac"), "ip": n.get("ip"), "bridge": n.get("bridge")}
                for n in op.nics]
        required = 2 if op.disk_template == C.DT_DRBD8 else 1
        return iallocator.allocate_request(op.name, op.disk_template, list(op.tags), op.os,
                                           op.vcpus, op.mem_size, disks, nics,
                                           op.hypervisor or self.cfg.cluster.default_hypervisor,
                                           required)

    async def exec(self) -> str:
        document = await gather_input(self, self._request())
        if self.op.direction == C.IALLOCATOR_DIR_IN:
            return json.dumps(document, indent=2, sort_keys=True)
        return await iallocator.run(self.rpc, self.cfg.master_node(), self.op.allocator,
                                    document)
