"""Node logical units: add, remove, query, modify (spec 2.2, 2.3, 5.2)."""

import socket
import time
from typing import Any, Dict, List

from twisted.internet import threads

from ganeti_tw import constants as C, errors, objects, utils
from ganeti_tw.cmdlib.base import LogicalUnit
from ganeti_tw.locking import LEVEL_NODE


async def resolve_ip(name: str) -> str:
    """The IPv4 address of a host name, without blocking the reactor."""
    try:
        infos = await threads.deferToThread(socket.getaddrinfo, name, None, socket.AF_INET)
    except socket.gaierror as err:
        raise errors.OpPrereqError("Cannot resolve host name %s: %s" % (name, err.strerror)) \
            from None
    return infos[0][4][0]


class LUNodeAdd(LogicalUnit):
    """Add a node whose daemon already runs with a certificate of this cluster.

    Holds the BGL exclusively (REQ_BGL), so it needs no node locks.
    """

    HPATH = "node-add"
    HTYPE = C.HTYPE_NODE

    def build_hooks_env(self) -> Any:
        env = {"OP_TARGET": self.op.node_name, "NODE_NAME": self.op.node_name,
               "NODE_PIP": self.primary, "NODE_SIP": self.secondary}
        existing = [n for n in self.cfg.online_nodes() if n != self.op.node_name]
        return env, existing, existing + [self.op.node_name]

    async def check_prereq(self) -> None:
        op = self.op
        name = op.node_name
        existing = self.cfg.get_node(name)
        if op.readd and existing is None:
            raise errors.OpPrereqError("Node %s is not in the configuration" % name)
        if not op.readd and existing is not None:
            raise errors.OpPrereqError("Node %s is already in the configuration" % name)
        primary = op.primary_ip or (existing.primary_ip if existing else None) \
            or await resolve_ip(name)
        secondary = op.secondary_ip or (existing.secondary_ip if existing else None) or primary
        if existing and (primary != existing.primary_ip or secondary != existing.secondary_ip):
            raise errors.OpPrereqError("Readded node %s must keep its addresses (%s, %s)"
                                       % (name, existing.primary_ip, existing.secondary_ip))
        for other in self.cfg.data.nodes.values():
            if other.name == name:
                continue
            if {primary, secondary} & {other.primary_ip, other.secondary_ip}:
                raise errors.OpPrereqError("New node %s has an address already used by node %s"
                                           % (name, other.name))
        master = self.cfg.get_node(self.cfg.master_node())
        if (master.primary_ip == master.secondary_ip) != (primary == secondary):
            raise errors.OpPrereqError("The master is %s-homed, the new node must be too"
                                       % ("single" if master.primary_ip == master.secondary_ip
                                          else "dual"))
        self.primary, self.secondary = primary, secondary
        result = await self.rpc.call_node(name, "version", [],
                                          address=(primary, self.cfg.cluster.noded_port))
        version = result.raise_on_error("Contacting the node daemon")
        if version != C.PROTOCOL_VERSION:
            raise errors.OpPrereqError("Node %s runs protocol version %s, this cluster %s"
                                       % (name, version, C.PROTOCOL_VERSION))
        self.fingerprint = self.rpc.peer_fingerprint(name)

    async def exec(self) -> Any:
        name = self.op.node_name
        current, target = self.cfg.candidate_stats(exceptions=(name,))
        eligible_target = min(target + 1, self.cfg.cluster.candidate_pool_size)
        candidate = current < eligible_target
        node = self.cfg.get_node(name)
        if node is None:
            node = objects.Node(name=name, primary_ip=self.primary,
                                secondary_ip=self.secondary, ctime=time.time())
            self.cfg.data.nodes[name] = node
            await self.context.glm.add(self.owner, LEVEL_NODE, [name])
        else:
            node.serial_no += 1
        node.offline = node.drained = False
        node.master_candidate = candidate
        node.cert_fingerprint = self.fingerprint
        node.mtime = time.time()
        self.cfg.cluster.serial_no += 1
        await self.context.save_config()
        if candidate:
            await self.sync_candidates([name])
        elif self.op.readd:
            await self.demote_candidate(name)
        self.feedback("Node %s added (%s)" % (name, "master candidate" if candidate
                                               else "regular node"))
        return True


class LUNodeRemove(LogicalUnit):
    HPATH = "node-remove"
    HTYPE = C.HTYPE_NODE

    def build_hooks_env(self) -> Any:
        others = [n for n in self.cfg.online_nodes() if n != self.node]
        return {"OP_TARGET": self.node, "NODE_NAME": self.node}, others, others

    def expand_names(self) -> None:
        self.node = self.expand_node(self.op.node_name)
        self.needed_locks[LEVEL_NODE] = [self.node]

    async def check_prereq(self) -> None:
        if self.node == self.cfg.master_node():
            raise errors.OpPrereqError("Node %s is the master node, failover to another "
                                       "node is required" % self.node)
        users = [i.name for i in self.cfg.data.instances.values() if i.primary_node == self.node]
        if users:
            raise errors.OpPrereqError("Instance(s) %s still use node %s"
                                       % (", ".join(sorted(users)), self.node))

    async def exec(self) -> Any:
        node = self.cfg.data.nodes.pop(self.node)
        self.cfg.cluster.serial_no += 1
        promoted = self.cfg.maintain_candidate_pool()
        await self.context.save_config()
        await self.context.glm.remove(self.owner, LEVEL_NODE, [self.node])
        await self.sync_candidates(promoted, promoted=True)
        if not node.offline:
            result = await self.rpc.call_node(
                self.node, "node_leave_cluster", [],
                address=(node.primary_ip, self.cfg.cluster.noded_port))
            if result.failed:
                self.log_warning("Node %s did not leave the cluster cleanly: %s"
                                 % (self.node, result.fail_msg))
        return True


# node fields (spec 5.2 OP_NODE_QUERY) ------------------------------------------------

def _instances_of(cfg: Any, name: str) -> List[str]:
    return utils.nice_sort(i.name for i in cfg.data.instances.values() if i.primary_node == name)


STATIC_FIELDS = {
    "name": lambda cfg, n: n.name,
    "pinst_cnt": lambda cfg, n: len(_instances_of(cfg, n.name)),
    "sinst_cnt": lambda cfg, n: 0,
    "pinst_list": lambda cfg, n: _instances_of(cfg, n.name),
    "sinst_list": lambda cfg, n: [],
    "pip": lambda cfg, n: n.primary_ip,
    "sip": lambda cfg, n: n.secondary_ip,
    "tags": lambda cfg, n: list(n.tags),
    "serial_no": lambda cfg, n: n.serial_no,
    "master_candidate": lambda cfg, n: n.master_candidate,
    "master": lambda cfg, n: n.name == cfg.master_node(),
    "offline": lambda cfg, n: n.offline,
    "drained": lambda cfg, n: n.drained,
    "role": lambda cfg, n: objects.node_role(n, cfg.master_node()),
    "ctime": lambda cfg, n: n.ctime,
    # Ganeti 3 names (RAPI bulk lists): one group, every node may hold instances
    "uuid": lambda cfg, n: objects.object_uuid("node", cfg.cluster.cluster_name, n.name),
    "group": lambda cfg, n: C.DEFAULT_GROUP,
    "group.uuid": lambda cfg, n: objects.object_uuid("group", cfg.cluster.cluster_name,
                                                     C.DEFAULT_GROUP),
    "master_capable": lambda cfg, n: True,
    "vm_capable": lambda cfg, n: True,
    "ndparams": lambda cfg, n: dict(C.NDC_DEFAULTS),
    "sptotal": lambda cfg, n: None,
    "spfree": lambda cfg, n: None,
    "mtime": lambda cfg, n: n.mtime,
}
LIVE_FIELDS = {
    "dtotal": "vg_size", "dfree": "vg_free", "mtotal": "memory_total",
    "mnode": "memory_dom0", "mfree": "memory_free", "bootid": "bootid",
    "ctotal": "cpu_total", "cnodes": "cpu_nodes", "csockets": "cpu_sockets",
    "cnos": "cpu_total",
}
NODE_FIELDS = tuple(STATIC_FIELDS) + tuple(LIVE_FIELDS)


class LUNodeQuery(LogicalUnit):
    def check_arguments(self) -> None:
        unknown = [f for f in self.op.output_fields if f not in NODE_FIELDS]
        if unknown:
            raise errors.ParameterError("Unknown output fields selected: %s" % ", ".join(unknown))

    def expand_names(self) -> None:
        self.nodes = (self.expand_nodes(self.op.names) if self.op.names
                      else self.cfg.node_names())

    async def exec(self) -> List[List[Any]]:
        fields = self.op.output_fields
        live: Dict[str, Any] = {}
        if any(f in LIVE_FIELDS for f in fields):
            results = await self.rpc.call(self.nodes, "node_info",
                                          [self.cfg.cluster.default_hypervisor], timeout=15)
            live = {name: r.data for name, r in results.items() if not r.failed}
        rows = []
        for name in utils.nice_sort(self.nodes):
            node = self.cfg.get_node(name)
            row = []
            for field in fields:
                if field in STATIC_FIELDS:
                    row.append(STATIC_FIELDS[field](self.cfg, node))
                else:
                    row.append((live.get(name) or {}).get(LIVE_FIELDS[field]))
            rows.append(row)
        return rows


class LUNodeSetParams(LogicalUnit):
    """Change a node's role flags with the transition rules of spec 2.2."""

    HPATH = "node-modify"
    HTYPE = C.HTYPE_NODE

    def build_hooks_env(self) -> Any:
        env = {"OP_TARGET": self.node_name, "MASTER_CANDIDATE": self.op.master_candidate,
               "OFFLINE": self.op.offline, "DRAINED": self.op.drained}
        nodes = list(dict.fromkeys([self.cfg.master_node(), self.node_name]))
        return env, nodes, nodes

    def expand_names(self) -> None:
        self.node_name = self.expand_node(self.op.node_name)
        self.needed_locks[LEVEL_NODE] = [self.node_name]

    async def check_prereq(self) -> None:
        op = self.op
        node = self.cfg.get_node(self.node_name)
        if self.node_name == self.cfg.master_node():
            raise errors.OpPrereqError("The master node %s's role can't be changed: the "
                                       "master role moves only by master failover"
                                       % self.node_name)
        demoting = node.master_candidate and (op.master_candidate is False or op.offline is True
                                              or op.drained is True)
        if demoting:
            current, target = self.cfg.candidate_stats()
            promotable = [n for n in self.cfg.data.nodes.values()
                          if n.name != self.node_name and not (n.master_candidate or n.offline
                                                               or n.drained)]
            if current - 1 + len(promotable) < target:
                message = ("Not enough master candidates (desired %d, new value would be %d)"
                           % (target, current - 1))
                if not op.force:
                    raise errors.OpPrereqError(message + "; use --force to demote anyway")
                self.log_warning(message)
        if op.master_candidate is True and op.offline is not False and node.offline:
            raise errors.OpPrereqError("Node %s is offline; clear the offline flag in the same "
                                       "call to make it a master candidate" % self.node_name)
        if op.master_candidate is True and op.drained is not False and node.drained:
            raise errors.OpPrereqError("Node %s is drained; clear the drained flag in the same "
                                       "call to make it a master candidate" % self.node_name)
        if op.master_candidate is True and not node.cert_fingerprint:
            raise errors.OpPrereqError("Node %s has no known certificate; readd it first"
                                       % self.node_name)
        if node.offline and op.offline is False:
            result = await self.rpc.call([self.node_name], "version", [], static=True)
            result[self.node_name].raise_on_error("Contacting the node being brought online")

    async def exec(self) -> List[List[Any]]:
        op = self.op
        node = self.cfg.get_node(self.node_name)
        was_candidate = node.master_candidate
        changes = []
        for flag in op.FLAGS:
            value = getattr(op, flag)
            if value is None:
                continue
            setattr(node, flag, value)
            changes.append([flag, str(value)])
            if value:
                # setting one flag clears the others (spec 2.2); report each once
                for other in op.FLAGS:
                    if other != flag and getattr(node, other) and getattr(op, other) is None:
                        setattr(node, other, False)
                        changes.append([other, "auto-demotion due to %s"
                                        % flag.replace("_", " ")
                                        if other == "master_candidate" else "False"])
        node.serial_no += 1
        node.mtime = time.time()
        promoted = []
        if was_candidate and not node.master_candidate:
            promoted = self.cfg.maintain_candidate_pool(exceptions=(self.node_name,))
        self.cfg.cluster.serial_no += 1
        await self.context.save_config()
        changes += [["master_candidate(%s)" % name, "True"] for name in promoted]
        await self.sync_candidates(promoted, promoted=True)
        if node.master_candidate and not was_candidate:
            await self.sync_candidates([self.node_name])
        elif was_candidate and not node.master_candidate and not node.offline:
            await self.demote_candidate(self.node_name)
        return changes
