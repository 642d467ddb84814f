"""Master side of hooks: build the environment, run a phase, judge the results (spec 12.2)."""

from typing import Any, Callable, Dict, Iterable, List, Optional

from twisted.logger import Logger

from ganeti_tw import constants, errors
from ganeti_tw.constants import HKR_FAIL

log = Logger()

HOOKS_VERSION = 2
HPATH_CONFIG_UPDATE = "config-update"
ENV_PREFIX = "GANETI_"
# A node runs its scripts one after the other, each allowed a minute; the
# call must outlive a few of them rather than give up at the RPC default.
HOOKS_RPC_TIMEOUT = 15 * 60
# Lines of a failed script's output quoted in the abort message.
_ABORT_OUTPUT_LINES = 3


def _stringify(value: Any) -> str:
    return "" if value is None else str(value)


class HooksMaster:
    """Runs one opcode's hooks on the nodes its logical unit named.

    ``env`` is the LU's environment without the ``GANETI_`` prefix;
    ``warn`` receives one line per problem that does not abort the opcode.
    """

    def __init__(self, rpc: Any, cluster_name: str, master_name: str, data_dir: str,
                 op_id: str, hpath: str, htype: str, env: Dict[str, Any],
                 pre_nodes: Iterable[str], post_nodes: Iterable[str],
                 warn: Optional[Callable[[str], None]] = None):
        if htype not in (constants.HTYPE_CLUSTER, constants.HTYPE_NODE,
                         constants.HTYPE_INSTANCE):
            raise errors.ProgrammerError("Unknown hooks object type %r" % (htype,))
        self.rpc = rpc
        self.cluster_name = cluster_name
        self.master_name = master_name
        self.data_dir = data_dir
        self.op_id = op_id
        self.hpath = hpath
        self.htype = htype
        self.env = dict(env)
        self.pre_nodes = list(dict.fromkeys(pre_nodes))
        self.post_nodes = list(dict.fromkeys(post_nodes))
        self.warn = warn or (lambda msg: log.warn("{msg}", msg=msg))

    def build_env(self, hpath: str, phase: str) -> Dict[str, str]:
        """The full hook environment: the LU's variables, then the common ones."""
        env = {ENV_PREFIX + key: _stringify(value) for key, value in self.env.items()}
        common = {
            "HOOKS_VERSION": HOOKS_VERSION, "HOOKS_PHASE": phase, "HOOKS_PATH": hpath,
            "OP_CODE": self.op_id, "OBJECT_TYPE": self.htype, "DATA_DIR": self.data_dir,
            "CLUSTER": self.cluster_name, "MASTER": self.master_name,
        }
        env.update((ENV_PREFIX + key, _stringify(value)) for key, value in common.items())
        return env

    async def _run(self, nodes: List[str], hpath: str, phase: str) -> Dict[str, Any]:
        if not nodes:
            return {}
        env = self.build_env(hpath, phase)
        return await self.rpc.call(nodes, "hooks_runner", [hpath, phase, env],
                                   timeout=HOOKS_RPC_TIMEOUT)

    def _warn_unreachable(self, results: Dict[str, Any], hpath: str, phase: str) -> None:
        for node, res in sorted(results.items()):
            # offline nodes are never contacted: nothing to warn about
            if res.failed and not res.offline:
                self.warn("Could not run %s hooks (%s) on node %s: %s"
                          % (hpath, phase, node, res.fail_msg))

    async def run_pre(self) -> Dict[str, Any]:
        """Run the pre phase; a failed script on a reachable node aborts the opcode."""
        phase = constants.HOOKS_PHASE_PRE
        results = await self._run(self.pre_nodes, self.hpath, phase)
        self._warn_unreachable(results, self.hpath, phase)
        failures = _script_failures(results)
        if failures:
            raise errors.HooksAbort("Hook script(s) failed in pre phase: %s"
                                    % "; ".join(failures))
        return results

    async def run_post(self) -> Dict[str, Any]:
        """Run the post phase; the opcode already happened, so failures only warn.

        The results are returned for callers that judge them (cluster verify).
        """
        return await self._run_post(self.post_nodes, self.hpath)

    async def run_config_update(self) -> Dict[str, Any]:
        """Run the ``config-update`` post hooks on the master after a config change."""
        return await self._run_post([self.master_name], HPATH_CONFIG_UPDATE)

    async def _run_post(self, nodes: List[str], hpath: str) -> Dict[str, Any]:
        phase = constants.HOOKS_PHASE_POST
        results = await self._run(nodes, hpath, phase)
        self._warn_unreachable(results, hpath, phase)
        for failure in _script_failures(results):
            self.warn("Post hook failed: %s" % failure)
        return results


def _script_failures(results: Dict[str, Any]) -> List[str]:
    """One ``node: script: output`` line per failed script on a reachable node."""
    return [_describe_failure(node, script, output)
            for node, res in sorted(results.items()) if not res.failed
            for script, status, output in res.data if status == HKR_FAIL]


def _describe_failure(node: str, script: str, output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    if not lines:
        return "%s: %s: (no output)" % (node, script)
    text = " / ".join(lines[:_ABORT_OUTPUT_LINES])
    if len(lines) > _ABORT_OUTPUT_LINES:
        text += " ..."
    return "%s: %s: %s" % (node, script, text)


def _nic_vars(nics: List[Dict[str, Any]]) -> Dict[str, Any]:
    env: Dict[str, Any] = {"INSTANCE_NIC_COUNT": len(nics)}
    for idx, nic in enumerate(nics):
        env["INSTANCE_NIC%d_IP" % idx] = nic.get("ip") or ""
        env["INSTANCE_NIC%d_BRIDGE" % idx] = nic.get("bridge")
        env["INSTANCE_NIC%d_MODE" % idx] = nic.get("mode", constants.NIC_MODE_BRIDGED)
        env["INSTANCE_NIC%d_MAC" % idx] = nic.get("mac")
    return env


def _disk_vars(disks: List[Dict[str, Any]]) -> Dict[str, Any]:
    env: Dict[str, Any] = {"INSTANCE_DISK_COUNT": len(disks)}
    for idx, disk in enumerate(disks):
        env["INSTANCE_DISK%d_SIZE" % idx] = disk.get("size")
        env["INSTANCE_DISK%d_MODE" % idx] = disk.get("mode")
    return env


_OVERRIDABLE = frozenset(["name", "primary_node", "secondary_nodes", "os", "status",
                          "memory", "vcpus", "nics", "disks", "disk_template",
                          "hypervisor", "beparams", "hvparams"])


def instance_hook_env(instance: Dict[str, Any], filled_beparams: Dict[str, Any],
                      filled_hvparams: Dict[str, Any],
                      override: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The instance variables of spec 12.2, without the ``GANETI_`` prefix.

    ``override`` replaces values the hooks should see instead of the
    configured ones: the new memory/vcpus/nics of instance-modify, or
    ``status`` (bool, the start flag) of instance-add.
    """
    args: Dict[str, Any] = {
        "name": instance["name"], "primary_node": instance["primary_node"],
        "secondary_nodes": instance.get("secondary_nodes", []), "os": instance["os"],
        "status": instance.get("admin_up", False),
        "memory": filled_beparams.get(constants.BE_MEMORY),
        "vcpus": filled_beparams.get(constants.BE_VCPUS),
        "nics": instance.get("nics", []), "disks": instance.get("disks", []),
        "disk_template": instance["disk_template"], "hypervisor": instance["hypervisor"],
        "beparams": filled_beparams, "hvparams": filled_hvparams,
    }
    if override:
        unknown = set(override) - _OVERRIDABLE
        if unknown:
            raise errors.ProgrammerError("Unknown instance hook overrides: %s"
                                         % ", ".join(sorted(unknown)))
        args.update(override)
    env: Dict[str, Any] = {
        "OP_TARGET": args["name"],
        "INSTANCE_NAME": args["name"],
        "INSTANCE_PRIMARY": args["primary_node"],
        "INSTANCE_SECONDARIES": " ".join(args["secondary_nodes"]),
        "INSTANCE_OS_TYPE": args["os"],
        "INSTANCE_STATUS": "up" if args["status"] else "down",
        "INSTANCE_MEMORY": args["memory"],
        "INSTANCE_VCPUS": args["vcpus"],
        "INSTANCE_DISK_TEMPLATE": args["disk_template"],
        "INSTANCE_HYPERVISOR": args["hypervisor"],
    }
    env.update(_nic_vars(args["nics"]))
    env.update(_disk_vars(args["disks"]))
    for prefix, params in (("BE", args["beparams"]), ("HV", args["hvparams"])):
        for key, value in params.items():
            env["INSTANCE_%s_%s" % (prefix, key)] = value
    return env
