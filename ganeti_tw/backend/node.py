"""Node-level procedures: version, resources, verification, membership."""

import hashlib
import os
from typing import Any, Dict, List, Optional

from twisted.internet import defer, endpoints, protocol, task

from ganeti_tw import constants, errors, serializer, ssconf, utils
from ganeti_tw.backend.context import NodeContext
from ganeti_tw.backend.instance import hypervisor_node_info
from ganeti_tw.backend.jobqueue import purge_queue


def version(ctx: NodeContext) -> int:
    return constants.PROTOCOL_VERSION


def _meminfo() -> Dict[str, int]:
    values = {}
    with open("/proc/meminfo") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            values[key] = int(rest.split()[0]) // 1024
    return values


def storage_dir(ctx: NodeContext) -> str:
    """This node's file-storage dir: the cluster's path, below the node's root."""
    try:
        cluster_path = utils.read_file(
            ctx.paths.ssconf_file(constants.SS_FILE_STORAGE_DIR)).decode().strip()
    except FileNotFoundError:
        cluster_path = "/srv/ganeti/file-storage"
    return ctx.paths.under_root(cluster_path)


async def node_info(ctx: NodeContext, hypervisor: Optional[str] = None) -> Dict[str, Any]:
    """Memory (MiB), CPUs, boot id and storage of this node (spec 1.3 node_info).

    With ``hypervisor`` its view of memory and CPUs wins (the fake one, for
    instance, counts its instances' memory as used).
    """
    mem = _meminfo()
    free = mem.get("MemFree", 0) + mem.get("Buffers", 0) + mem.get("Cached", 0)
    path = storage_dir(ctx)
    while not os.path.isdir(path):
        path = os.path.dirname(path)
    st = os.statvfs(path)
    with open("/proc/sys/kernel/random/boot_id") as fh:
        bootid = fh.read().strip()
    cpus = os.cpu_count() or 1
    info = {
        "memory_total": mem.get("MemTotal", 0), "memory_free": free,
        "memory_dom0": mem.get("MemTotal", 0) - free,
        "cpu_total": cpus, "cpu_nodes": 1, "cpu_sockets": 1, "bootid": bootid,
        "vg_size": st.f_blocks * st.f_frsize // (1024 * 1024),
        "vg_free": st.f_bavail * st.f_frsize // (1024 * 1024),
    }
    if hypervisor:
        info.update(await hypervisor_node_info(ctx, hypervisor))
    return info


def _sha1(path: str) -> Any:
    try:
        return hashlib.sha1(utils.read_file(path)).hexdigest()
    except FileNotFoundError:
        return None


async def _tcp_check(reactor: Any, ip: str, port: int) -> Any:
    endpoint = endpoints.TCP4ClientEndpoint(reactor, ip, port, timeout=5)
    try:
        proto = await endpoint.connect(protocol.Factory.forProtocol(protocol.Protocol))
    except Exception as err:
        return "TCP connection to %s:%d failed: %s" % (ip, port, str(err).strip() or
                                                     type(err).__name__)
    proto.transport.abortConnection()
    return None


async def node_verify(ctx: NodeContext, checks: Dict[str, Any], cluster_name: str) -> Dict[str, Any]:
    """Answer the checks the master asks for (spec 1.3 node_verify)."""
    result: Dict[str, Any] = {}
    if "version" in checks:
        result["version"] = [constants.PROTOCOL_VERSION, constants.RELEASE_VERSION]
    if "filelist" in checks:
        result["filelist"] = {name: _sha1(os.path.join(ctx.paths.data_dir, name))
                              for name in checks["filelist"]}
    if "node-net-test" in checks:
        targets = checks["node-net-test"]
        port = ssconf.SimpleStore(ctx.paths).get_noded_port()
        names = sorted(targets)
        answers = await defer.gatherResults(
            [defer.ensureDeferred(_tcp_check(ctx.reactor, targets[n], port)) for n in names])
        result["node-net-test"] = {n: a for n, a in zip(names, answers) if a}
    if "cluster_name" in checks:
        try:
            result["cluster_name"] = ssconf.SimpleStore(ctx.paths).get_cluster_name()
        except errors.ConfigurationError as err:
            result["cluster_name"] = str(err)
    return result


async def test_delay(ctx: NodeContext, duration: float) -> bool:
    if not isinstance(duration, (int, float)) or duration < 0:
        raise errors.OpExecError("Invalid delay %r" % (duration,))
    await task.deferLater(ctx.reactor, duration, lambda: None)
    return True


def _config_serial(paths: Any) -> Optional[int]:
    """serial_no of this node's config.data copy; None without a readable one."""
    try:
        serial = serializer.load(utils.read_file(paths.config_file)).get("serial_no")
    except (OSError, ValueError, UnicodeDecodeError, AttributeError):
        return None
    return serial if isinstance(serial, int) else None


def _next_job_id(paths: Any) -> Optional[int]:
    """The next job id this node's queue copy allows: past its serial and every job file."""
    try:
        text = utils.read_file(paths.queue_serial).decode().strip()
        names = os.listdir(paths.queue_dir)
    except (OSError, UnicodeDecodeError):
        return None
    ids = [int(name[4:]) + 1 for name in names
           if name.startswith("job-") and name[4:].isdigit()]
    return max(ids + [int(text) if text.isdigit() else 0])


def master_info(ctx: NodeContext) -> List[Any]:
    """``[master_netdev, master_ip, master_node, config serial, next job id]``.

    The first three come from ssconf (spec 2.4); the last two let a starting
    master check that no candidate is ahead of it (None where this node
    holds no config or queue copy).
    """
    store = ssconf.SimpleStore(ctx.paths)
    return [store.get_master_netdev(), store.get_master_ip(),
            store.get_master_node(), _config_serial(ctx.paths), _next_job_id(ctx.paths)]


def _remove_cluster_files(ctx: NodeContext, names: List[str]) -> None:
    for name in names:
        utils.remove_file(os.path.join(ctx.paths.data_dir, name))


def leave_cluster(ctx: NodeContext) -> bool:
    """Forget the cluster: remove every data file and the queue, then stop."""
    purge_queue(ctx.paths.queue_dir)
    if os.path.isdir(ctx.paths.data_dir):
        _remove_cluster_files(ctx, [n for n in os.listdir(ctx.paths.data_dir)
                                    if os.path.isfile(os.path.join(ctx.paths.data_dir, n))])
    ctx.reactor.callLater(0.2, ctx.request_stop)
    return True


def demote_from_mc(ctx: NodeContext) -> bool:
    """Drop the config copy, CA key and queue of a former candidate."""
    master, myself = ssconf.get_master_and_myself(ctx.paths)
    if master == myself:
        raise errors.OpExecError("This is the master node, will not demote itself")
    _remove_cluster_files(ctx, ["config.data", "cluster-ca.key"])
    purge_queue(ctx.paths.queue_dir)
    return True
