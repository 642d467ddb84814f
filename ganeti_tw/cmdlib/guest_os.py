"""OS logical units: which guest OS definitions the nodes have (spec 5.4, 10)."""

from typing import Any, Dict, List

from ganeti_tw import utils
from ganeti_tw.cmdlib.base import LogicalUnit
from ganeti_tw.locking import ALL_SET, LEVEL_NODE


class LUOsDiagnose(LogicalUnit):
    """OP_OS_DIAGNOSE: every OS any online node has, and its state on each node.

    An OS is ``valid`` only if its first match in the search path is valid
    on every node that answered; a node that did not answer is left out
    (with a warning) rather than making every OS invalid.
    """

    def expand_names(self) -> None:
        self.needed_locks[LEVEL_NODE] = ALL_SET
        self.share_locks[LEVEL_NODE] = True

    async def exec(self) -> List[List[Any]]:
        results = await self.rpc.call(self.cfg.online_nodes(), "os_diagnose", [])
        answered = [name for name in utils.nice_sort(results) if not results[name].failed]
        for name in utils.nice_sort(results):
            if results[name].failed:
                self.log_warning("Cannot get the OS list of node %s: %s"
                                 % (name, results[name].fail_msg))
        # os name -> node -> [[status, path, valid], ...] in search order
        found: Dict[str, Dict[str, List[List[Any]]]] = {}
        for node in answered:
            for os_name, path, status, valid in results[node].data:
                per_node = found.setdefault(os_name, {n: [] for n in answered})
                per_node[node].append([status, path, valid])
        rows = []
        for os_name in utils.nice_sort(found):
            per_node = found[os_name]
            values = {
                "name": os_name,
                "valid": all(entries and entries[0][2] for entries in per_node.values()),
                "node_status": {node: [[status, path] for status, path, _ in entries]
                                for node, entries in per_node.items()},
            }
            rows.append([values[field] for field in self.op.output_fields])
        return rows
