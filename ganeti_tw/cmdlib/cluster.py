"""Cluster logical units: query, verify, modify, redistribute, destroy."""

import hashlib
import os
import platform
from typing import Any, Dict, List

from twisted.internet import defer

from ganeti_tw import constants as C, errors, objects, utils
from ganeti_tw.cmdlib.base import LogicalUnit
from ganeti_tw.hypervisors import params
from ganeti_tw.locking import ALL_SET, LEVEL_INSTANCE, LEVEL_NODE


def cluster_info(context: Any) -> Dict[str, Any]:
    """The OP_CLUSTER_QUERY dict (spec 5.1)."""
    cluster = context.cfg.cluster
    return {
        "software_version": C.RELEASE_VERSION,
        "protocol_version": C.PROTOCOL_VERSION,
        "config_version": C.CONFIG_VERSION,
        "os_api_version": C.OS_API_VERSION,
        "export_version": C.EXPORT_VERSION,
        "architecture": [platform.architecture()[0], platform.machine()],
        "name": cluster.cluster_name,
        "master": cluster.master_node,
        "default_hypervisor": cluster.default_hypervisor,
        "enabled_hypervisors": list(cluster.enabled_hypervisors),
        "hvparams": {hv: params.fill_hvparams(hv, cluster.hvparams.get(hv, {}), {})
                     for hv in cluster.enabled_hypervisors},
        "beparams": dict(cluster.beparams),
        "candidate_pool_size": cluster.candidate_pool_size,
        "default_bridge": cluster.default_bridge,
        "master_netdev": cluster.master_netdev,
        "master_ip": cluster.master_ip,
        "volume_group_name": cluster.volume_group_name,
        "file_storage_dir": cluster.file_storage_dir,
        "shared_file_storage_dir": cluster.shared_file_storage_dir,
        "mac_prefix": cluster.mac_prefix,
        "tags": list(cluster.tags),
        "serial_no": cluster.serial_no,
        "config_serial_no": context.cfg.data.serial_no,
        "ctime": cluster.ctime,
        "mtime": cluster.mtime,
    }


class LUClusterQuery(LogicalUnit):
    async def exec(self) -> Dict[str, Any]:
        return cluster_info(self.context)


class LUClusterConfigQuery(LogicalUnit):
    async def exec(self) -> List[Any]:
        values = {"cluster_name": self.cfg.cluster.cluster_name,
                  "master_node": self.cfg.master_node(),
                  "drain_flag": self.context.jqueue.is_drained()}
        return [values[f] for f in self.op.output_fields]


class LUClusterRedistConf(LogicalUnit):
    def expand_names(self) -> None:
        self.needed_locks[LEVEL_NODE] = ALL_SET
        self.share_locks[LEVEL_NODE] = True

    async def exec(self) -> bool:
        self.cfg.cluster.serial_no += 1
        await self.context.save_config(force_distribution=True)
        await self.sync_candidates(self.context.other_candidates())
        return True


class LUClusterSetParams(LogicalUnit):
    HPATH = "cluster-modify"

    def expand_names(self) -> None:
        self.needed_locks[LEVEL_NODE] = ALL_SET
        self.share_locks[LEVEL_NODE] = True

    def build_hooks_env(self) -> Any:
        env, pre, post = super().build_hooks_env()
        env.update({"OP_TARGET": self.cfg.cluster.cluster_name, "NEW_VG_NAME": self.op.vg_name})
        return env, pre, post

    async def check_prereq(self) -> None:
        """Type- and syntax-check changed or newly enabled hypervisors, then ask the nodes."""
        op, cluster = self.op, self.cfg.cluster
        self.hvparams = {hv: params.upgrade_types(hv, values)
                         for hv, values in (op.hvparams or {}).items()}
        enabled = op.enabled_hypervisors or cluster.enabled_hypervisors
        to_check = set(self.hvparams) | (set(enabled) - set(cluster.enabled_hypervisors))
        nodes = self.cfg.online_nodes()
        for hv in sorted(to_check & set(enabled)):
            merged = dict(cluster.hvparams.get(hv, {}), **self.hvparams.get(hv, {}))
            filled = params.fill_hvparams(hv, merged, {})
            params.check_syntax(hv, filled)
            results = await self.rpc.call(nodes, "hypervisor_validate_params", [hv, filled])
            for name, result in sorted(results.items()):
                if result.failed:
                    raise errors.OpPrereqError("Hypervisor %s can't be used on node %s: %s"
                                               % (hv, name, result.fail_msg))
        if op.beparams and C.BE_MEMORY in op.beparams:
            self.log_info("New default memory %d MiB applies to instances at their next start"
                          % op.beparams[C.BE_MEMORY])

    async def exec(self) -> List[List[Any]]:
        op = self.op
        cluster = self.cfg.cluster
        changes = []
        if op.vg_name == "":
            cluster.volume_group_name = None
            changes.append(["vg_name", None])
        if op.enabled_hypervisors is not None:
            cluster.enabled_hypervisors = list(dict.fromkeys(op.enabled_hypervisors))
            if cluster.default_hypervisor not in cluster.enabled_hypervisors:
                cluster.default_hypervisor = cluster.enabled_hypervisors[0]
            changes.append(["enabled_hypervisors", ",".join(cluster.enabled_hypervisors)])
        for hv, values in self.hvparams.items():
            cluster.hvparams.setdefault(hv, {}).update(values)
            changes.append(["hvparams/%s" % hv, values])
        if op.beparams is not None:
            cluster.beparams[C.PP_DEFAULT].update(op.beparams)
            changes.append(["beparams", op.beparams])
        promoted: List[str] = []
        if op.candidate_pool_size is not None:
            cluster.candidate_pool_size = op.candidate_pool_size
            changes.append(["candidate_pool_size", op.candidate_pool_size])
            promoted = self.cfg.maintain_candidate_pool()
            current, target = self.cfg.candidate_stats()
            if current > target:
                self.log_info("Note: more nodes are candidates (%d) than desired (%d)"
                              % (current, target))
        cluster.serial_no += 1
        await self.context.save_config()
        await self.sync_candidates(promoted, promoted=True)
        return changes


class LUClusterDestroy(LogicalUnit):
    async def check_prereq(self) -> None:
        others = [n for n in self.cfg.node_names() if n != self.cfg.master_node()]
        if others:
            raise errors.OpPrereqError("There are still %d node(s) in this cluster (%s); "
                                       "remove them first" % (len(others), ", ".join(others)))
        if self.cfg.data.instances:
            raise errors.OpPrereqError("There are still %d instance(s) in this cluster"
                                       % len(self.cfg.data.instances))

    async def exec(self) -> str:
        return self.cfg.master_node()


# verify ----------------------------------------------------------------------------

# data-dir files whose copies must be identical everywhere they exist
def _checked_files() -> List[str]:
    return ["ssconf_%s" % key for key in sorted(C.VALID_SS_KEYS)] + \
        ["config.data", "cluster-ca.pem", "cluster-ca.key"]


CANDIDATE_ONLY_FILES = ("config.data", "cluster-ca.key")


async def _disks_status(rpc: Any, online: List[str],
                        instances: List[objects.Instance]) -> Dict[str, Any]:
    """Ask every online node, in parallel, about the disks of ``instances`` it is primary of.

    Returns ``{node: RpcResult}`` whose data is ``instance_disks_status``'s
    answer ``{instance: [{found, linked, error}, ...]}``.
    """
    asked: Dict[str, Dict[str, List[Any]]] = {node: {} for node in online}
    for inst in instances:
        if inst.primary_node in asked:
            asked[inst.primary_node][inst.name] = [disk.to_dict() for disk in inst.disks]
    results = await defer.gatherResults([
        defer.ensureDeferred(rpc.call_one(node, "instance_disks_status", [wanted]))
        for node, wanted in asked.items()])
    return {result.node: result for result in results}


def _missing_disks(status: Dict[str, Any],
                   instances: List[objects.Instance]) -> Dict[str, List[Any]]:
    """``{instance: [(iv_name, detail)]}`` of disks absent on their (online) primary."""
    missing: Dict[str, List[Any]] = {}
    for inst in instances:
        result = status.get(inst.primary_node)
        if result is None:
            continue
        if result.failed:
            answers = [{"found": False, "error": result.fail_msg}] * len(inst.disks)
        else:
            answers = result.data.get(inst.name, [])
        for disk, answer in zip(inst.disks, answers):
            if not answer["found"]:
                missing.setdefault(inst.name, []).append((disk.iv_name, answer["error"] or ""))
    return missing


class _AllSharedLU(LogicalUnit):
    """Looks at the whole cluster, changing nothing: all nodes and instances, shared."""

    def expand_names(self) -> None:
        self.needed_locks[LEVEL_INSTANCE] = ALL_SET
        self.needed_locks[LEVEL_NODE] = ALL_SET
        self.share_locks = {LEVEL_INSTANCE: True, LEVEL_NODE: True}


class LUClusterVerify(_AllSharedLU):
    """Check every online node against the master's view (spec 5.1)."""

    HPATH = "cluster-verify"

    def build_hooks_env(self) -> Any:
        env = {"CLUSTER_TAGS": " ".join(self.cfg.cluster.tags)}
        env.update(("NODE_TAGS_%s" % n, " ".join(self.cfg.get_node(n).tags))
                   for n in self.cfg.node_names())
        return env, [], self.cfg.online_nodes()

    def hooks_callback(self, post_results: Dict[str, Any], result: Any) -> Any:
        """A failed post hook makes verify fail (spec 12.2)."""
        failed = [(node, script) for node, res in sorted(post_results.items())
                  if not res.failed for script, status, _ in res.data or []
                  if status == C.HKR_FAIL]
        for node, script in failed:
            self.feedback("  - ERROR: node %s: hook script %s failed" % (node, script))
        return result and not failed

    def _error(self, message: str) -> None:
        self.bad = True
        self.feedback("  - ERROR: %s" % message)

    def _local_checksums(self) -> Dict[str, Any]:
        out = {}
        for name in _checked_files():
            path = os.path.join(self.context.paths.data_dir, name)
            try:
                out[name] = hashlib.sha1(utils.read_file(path)).hexdigest()
            except FileNotFoundError:
                out[name] = None
        return out

    async def exec(self) -> bool:
        self.bad = False
        cfg = self.cfg
        self.feedback("* Verifying global settings")
        current, target = cfg.candidate_stats()
        if current < target:
            self._error("not enough master candidates: %d, desired %d" % (current, target))
        nodes = cfg.node_names()
        online = [n for n in nodes if not cfg.get_node(n).offline]
        expected = self._local_checksums()
        checks = {
            "version": None,
            "filelist": _checked_files(),
            "node-net-test": {n: cfg.get_node(n).primary_ip for n in online},
            "cluster_name": None,
        }
        self.feedback("* Gathering data (%d nodes)" % len(online))
        results = await self.rpc.call(online, "node_verify", [checks, cfg.cluster.cluster_name],
                                      timeout=30)
        for name in nodes:
            node = cfg.get_node(name)
            if node.offline:
                self.feedback("* Skipping offline node %s" % name)
                continue
            self.feedback("* Verifying node %s (%s)" % (
                name, {"M": "master", "C": "master candidate", "D": "drained",
                       "R": "regular"}[objects.node_role(node, cfg.master_node())]))
            result = results[name]
            if result.failed:
                self._error("node %s: cannot communicate with the node daemon: %s"
                            % (name, result.fail_msg))
                continue
            self._verify_node(node, result.data, expected)
        await self._verify_instances(online)
        if not self.bad:
            self.feedback("* Cluster verify passed")
        return not self.bad

    async def _verify_instances(self, online: List[str]) -> None:
        """Hypervisors usable; instances running where they should, nowhere else; disks there."""
        cfg = self.cfg
        hypervisors = list(cfg.cluster.enabled_hypervisors)
        checks = await self.rpc.call(online, "hypervisor_verify", [hypervisors])
        running = await self.rpc.call(online, "instance_list", [hypervisors])
        for name in online:
            for hv, problem in sorted((checks[name].data or {}).items()):
                if problem:
                    self._error("node %s: hypervisor %s: %s" % (name, hv, problem))
        where: Dict[str, List[str]] = {}
        for name in online:
            for inst in running[name].data or []:
                where.setdefault(inst, []).append(name)
        self.feedback("* Verifying instances")
        instances = [cfg.get_instance(name) for name in cfg.instance_names()]
        status = await _disks_status(self.rpc, online, instances)
        missing = _missing_disks(status, instances)
        for inst_name in cfg.instance_names():
            inst = cfg.get_instance(inst_name)
            pnode = inst.primary_node
            if cfg.get_node(pnode).offline:
                self.feedback("  - NOTICE: instance %s: primary node %s is offline"
                              % (inst_name, pnode))
                continue
            if running[pnode].failed:
                continue
            nodes = where.pop(inst_name, [])
            if inst.admin_up and pnode not in nodes:
                self._error("instance %s: not running on its primary node %s"
                            % (inst_name, pnode))
            if not inst.admin_up and pnode in nodes:
                self._error("instance %s: running on %s but marked down" % (inst_name, pnode))
            for other in nodes:
                if other != pnode:
                    self._error("instance %s: should not run on node %s" % (inst_name, other))
            for iv_name, problem in missing.get(inst_name, []):
                self._error("instance %s: disk %s missing on node %s%s"
                            % (inst_name, iv_name, pnode, problem and ": " + problem))
        for inst_name, nodes in sorted(where.items()):
            self._error("node %s: orphan instance %s running (not in the configuration)"
                        % (",".join(nodes), inst_name))

    def _verify_node(self, node: Any, data: Dict[str, Any], expected: Dict[str, Any]) -> None:
        name = node.name
        version = data.get("version")
        if not version or version[0] != C.PROTOCOL_VERSION:
            self._error("node %s: protocol version mismatch: master %s, node %s"
                        % (name, C.PROTOCOL_VERSION, version and version[0]))
            return
        if version[1] != C.RELEASE_VERSION:
            self.log_warning("node %s: software version mismatch: master %s, node %s"
                             % (name, C.RELEASE_VERSION, version[1]))
        if data.get("cluster_name") != self.cfg.cluster.cluster_name:
            self._error("node %s: thinks it belongs to cluster %r"
                        % (name, data.get("cluster_name")))
        remote = data.get("filelist") or {}
        for fname, checksum in expected.items():
            got = remote.get(fname)
            if fname in CANDIDATE_ONLY_FILES and not node.master_candidate:
                if got is not None:
                    self._error("node %s: %s should not exist on a non-candidate node"
                                % (name, fname))
            elif got is None:
                self._error("node %s: file %s missing" % (name, fname))
            elif got != checksum:
                self._error("node %s: file %s differs from the master's copy" % (name, fname))
        for peer, message in sorted((data.get("node-net-test") or {}).items()):
            self._error("node %s: cannot reach node %s: %s" % (name, peer, message))


class LUClusterVerifyDisks(_AllSharedLU):
    """Disks of admin-up instances: gone, or present but not activated (spec 5.1).

    Ganeti lists LVM volumes; our disks are files, and "not activated" means
    the disk file is on the primary but the instance's disk link (kept in the
    node's volatile run dir) is not, as after a reboot. Returns
    ``[unreachable_nodes, {node: error}, [instances needing activate-disks],
    {instance: [[node, iv_name], ...] missing}]``.
    """

    async def exec(self) -> List[Any]:
        cfg = self.cfg
        online = cfg.online_nodes()
        instances = [inst for inst in (cfg.get_instance(name) for name in cfg.instance_names())
                     if inst.admin_up and inst.primary_node in online]
        status = await _disks_status(self.rpc, online, instances)
        unreachable = []
        node_errors = {}
        for node in online:
            result = status[node]
            if result.unreachable:
                unreachable.append(node)
            elif result.failed:
                node_errors[node] = result.fail_msg
        answered = [inst for inst in instances if not status[inst.primary_node].failed]
        missing = {name: [[cfg.get_instance(name).primary_node, iv_name]
                          for iv_name, _ in disks]
                   for name, disks in _missing_disks(status, answered).items()}
        inactive = [inst.name for inst in answered
                    if any(answer["found"] and not answer["linked"]
                           for answer in status[inst.primary_node].data.get(inst.name, []))]
        return [unreachable, node_errors, inactive, missing]
