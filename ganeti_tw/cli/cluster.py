"""gnt-cluster: cluster-wide administration."""

import os
import shutil
import sys
import time
from typing import Any, List, Optional, Tuple

from ganeti_tw import constants as C, errors, opcodes, ssconf
from ganeti_tw.cli import (Parser, UsageError, add_command, add_submit_option, get_client,
                           ident_keyval_arg, keyval_arg, make_parser, run, submit_one)
from ganeti_tw.cli.tags import add_tag_commands
from ganeti_tw.watcher import pause


def init(opts: Any) -> int:
    from ganeti_tw import bootstrap  # certificates: not needed by other commands
    if opts.vg_name:
        raise UsageError("gnt-cluster init: error: LVM storage (-g/--vg-name) is not "
                         "supported by this version; file storage is used")
    hvparams = dict(opts.hypervisor_parameters or [])
    enabled = opts.enabled_hypervisors.split(",") if opts.enabled_hypervisors else None
    for hv in (enabled or []) + [opts.default_hypervisor or C.DEFAULT_HYPERVISOR] + list(hvparams):
        if hv not in C.HYPER_TYPES:
            raise UsageError("gnt-cluster init: error: unknown hypervisor '%s' (known: %s)"
                             % (hv, ", ".join(sorted(C.HYPER_TYPES))))
    if opts.mac_prefix and not _valid_mac_prefix(opts.mac_prefix):
        raise UsageError("gnt-cluster init: error: invalid MAC prefix '%s' (expected XX:XX:XX)"
                         % opts.mac_prefix)
    for ip in (opts.master_ip, opts.primary_ip, opts.secondary_ip):
        if ip is not None and not opcodes.is_valid_ipv4(ip):
            raise UsageError("gnt-cluster init: error: invalid IPv4 address '%s'" % ip)
    master = bootstrap.init_cluster(
        opts.paths, opts.cluster_name, master_ip=opts.master_ip, primary_ip=opts.primary_ip,
        secondary_ip=opts.secondary_ip, master_netdev=opts.master_netdev,
        mac_prefix=opts.mac_prefix or C.DEFAULT_MAC_PREFIX, default_bridge=opts.bridge,
        file_storage_dir=opts.file_storage_dir,
        shared_file_storage_dir=opts.shared_file_storage_dir, enabled_hypervisors=enabled,
        default_hypervisor=opts.default_hypervisor, hvparams=hvparams,
        beparams=opts.backend_parameters, candidate_pool_size=opts.candidate_pool_size)
    print("Cluster %s initialised; master node is %s" % (opts.cluster_name, master))
    return 0


def _valid_mac_prefix(text: str) -> bool:
    parts = text.lower().split(":")
    return len(parts) == 3 and all(len(p) == 2 and all(c in "0123456789abcdef" for c in p)
                                   for p in parts)


def destroy(opts: Any) -> int:
    if not opts.yes_do_it:
        raise UsageError("gnt-cluster destroy: error: destroying the cluster removes its "
                         "configuration for good; confirm with --yes-do-it")
    from ganeti_tw import daemon_util
    submit_one(opts, opcodes.OpClusterDestroy())
    paths = opts.paths
    daemon_util.stop_all(paths)
    if os.path.isdir(paths.queue_dir):
        shutil.rmtree(paths.queue_dir)
    for name in os.listdir(paths.data_dir):
        path = os.path.join(paths.data_dir, name)
        if os.path.isfile(path):
            os.unlink(path)
    print("Cluster destroyed")
    return 0


def getmaster(opts: Any) -> int:
    print(ssconf.SimpleStore(opts.paths).get_master_node())
    return 0


def version(opts: Any) -> int:
    print("Software version: %s" % C.RELEASE_VERSION)
    print("Internode protocol: %s" % C.PROTOCOL_VERSION)
    print("Configuration format: %s" % C.CONFIG_VERSION)
    print("OS api version: %s" % C.OS_API_VERSION)
    print("Export interface: %s" % C.EXPORT_VERSION)
    return 0


def _print_params(params: dict, indent: str) -> None:
    for key in sorted(params):
        print("%s%s: %s" % (indent, key, params[key]))


def info(opts: Any) -> int:
    data = get_client(opts.paths).query_cluster_info()
    print("Cluster name: %s" % data["name"])
    print("Master node: %s" % data["master"])
    print("Master IP: %s" % data["master_ip"])
    print("Architecture (this node): %s (%s)" % tuple(data["architecture"]))
    print("Tags: %s" % (", ".join(data["tags"]) or "(none)"))
    print("Default hypervisor: %s" % data["default_hypervisor"])
    print("Enabled hypervisors: %s" % ", ".join(data["enabled_hypervisors"]))
    print("Hypervisor parameters:")
    for hv in data["enabled_hypervisors"]:
        print("  - %s:" % hv)
        _print_params(data["hvparams"].get(hv, {}), "      ")
    print("Cluster parameters:")
    print("  - candidate pool size: %s" % data["candidate_pool_size"])
    print("  - master netdev: %s" % data["master_netdev"])
    print("  - default bridge: %s" % data["default_bridge"])
    print("  - lvm volume group: %s" % (data["volume_group_name"] or "(disabled)"))
    print("  - file storage path: %s" % data["file_storage_dir"])
    print("  - shared file storage path: %s" % data["shared_file_storage_dir"])
    print("  - MAC prefix: %s" % data["mac_prefix"])
    print("Default instance parameters:")
    for group, params in sorted(data["beparams"].items()):
        print("  - %s:" % group)
        _print_params(params, "      ")
    print("Configuration serial: %s (cluster %s)" % (data["config_serial_no"],
                                                    data["serial_no"]))
    return 0


def verify(opts: Any) -> int:
    skip = ["nplusone_mem"] if opts.no_nplus1_mem else []
    result = submit_one(opts, opcodes.OpClusterVerify(skip_checks=skip))
    return 0 if result in (None, True) else C.EXIT_FAILURE


def verify_disks_plan(result: List[Any]) -> Tuple[List[str], List[str], List[str]]:
    """OP_CLUSTER_VERIFY_DISKS' answer as (node problems, instances to activate, missing disks).

    An instance with a missing disk is not activated: activation cannot bring
    a lost file back, only its link.
    """
    unreachable, node_errors, inactive, missing = result
    nodes = ["Node %s is unreachable: its disks were not checked" % node
             for node in unreachable]
    nodes += ["Node %s: cannot check its disks: %s" % (node, message)
              for node, message in sorted(node_errors.items())]
    lost = ["Instance %s: %s missing on node %s: the disk file is gone; reinstall the "
            "instance or restore the disk from a backup"
            % (name, ", ".join(iv_name for _, iv_name in disks),
               ",".join(sorted({node for node, _ in disks})))
            for name, disks in sorted(missing.items())]
    return nodes, [name for name in inactive if name not in missing], lost


def verify_disks(opts: Any) -> int:
    nodes, to_activate, lost = verify_disks_plan(
        submit_one(opts, opcodes.OpClusterVerifyDisks()))
    code = C.EXIT_SUCCESS if not nodes else C.EXIT_FAILURE
    for line in nodes:
        print(line)
    for name in to_activate:
        print("Activating disks for instance %s" % name, flush=True)
        try:
            submit_one(opts, opcodes.OpInstanceActivateDisks(instance_name=name))
        except errors.GenericError as err:
            print("  failed: %s" % errors.format_error(err))
            code = C.EXIT_FAILURE
        else:
            print("  activated")
    for line in lost:
        print(line)
    if lost:
        code = C.EXIT_FAILURE
    if not (nodes or to_activate or lost):
        print("All disks of running instances on online nodes are present and activated")
    return code


def modify(opts: Any) -> int:
    hvparams = dict(opts.hypervisor_parameters or []) or None
    enabled = opts.enabled_hypervisors.split(",") if opts.enabled_hypervisors else None
    op = opcodes.OpClusterSetParams(
        candidate_pool_size=opts.candidate_pool_size, enabled_hypervisors=enabled,
        hvparams=hvparams, beparams=opts.backend_parameters)
    result = submit_one(opts, op)
    for name, value in result or []:
        print(" - %s -> %s" % (name, value))
    return 0


def redist_conf(opts: Any) -> int:
    submit_one(opts, opcodes.OpClusterRedistConf())
    return 0


def queue(opts: Any) -> int:
    client = get_client(opts.paths)
    if opts.action == "drain":
        client.set_drain_flag(True)
    elif opts.action == "undrain":
        client.set_drain_flag(False)
    else:
        data = client.query_queue_info()
        print("The drain flag is %s" % ("set" if data["drained"] else "unset"))
        print("Jobs in the queue: %d (hard limit %d)" % (data["jobs"], data["hard_limit"]))
        for status, count in sorted(data["by_status"].items()):
            print("  %s: %d" % (status, count))
        print("Archived jobs: %d" % data["archived"])
        print("Next job id: %d" % data["next_job_id"])
    return 0


def masterfailover(opts: Any) -> int:
    from ganeti_tw import bootstrap  # runs node RPC, hence Twisted: only here
    if opts.no_voting and not opts.yes_do_it:
        sys.stdout.write("This will fail over the master without asking the other nodes "
                         "whether the old master is really down.\nType uppercase YES to "
                         "continue: ")
        sys.stdout.flush()
        if sys.stdin.readline().strip() != "YES":
            raise UsageError("gnt-cluster masterfailover: aborted (use --yes-do-it to skip "
                             "the question)")
    for line in bootstrap.master_failover(opts.paths, opts.no_voting):
        print(line)
    print("Master failover done: %s is the master" % ssconf.read_hostname(opts.paths))
    return 0


def watcher(opts: Any) -> int:
    if opts.action == "info":
        until = pause.read_pause(opts.paths)
        print("The watcher is %s" % ("paused until %s" % time.ctime(until) if until
                                     else "not paused"))
        return 0
    if opts.action == "pause":
        if opts.duration is None:
            raise UsageError("gnt-cluster watcher pause: error: give a DURATION "
                             "(e.g. 30m, 2h)")
        try:
            until: Optional[float] = time.time() + pause.parse_timespec(opts.duration)
        except ValueError as err:
            raise UsageError("gnt-cluster watcher pause: error: %s" % err) from None
    else:
        until = None
    unreachable = get_client(opts.paths).set_watcher_pause(until)
    if unreachable:
        sys.stderr.write("Warning: could not reach %s; the watcher there is unchanged\n"
                         % ", ".join(unreachable))
    print("The watcher is %s" % ("paused until %s" % time.ctime(until) if until
                                 else "no longer paused"))
    return 0


def build_parser() -> Parser:
    parser, sub = make_parser("gnt-cluster", "Ganeti cluster administration")

    p = add_command(sub, "init", init, "initialise a new cluster on this node")
    p.add_argument("cluster_name")
    p.add_argument("--master-ip", help="the cluster's floating master IP "
                                        "(default: the cluster name's address)")
    p.add_argument("--primary-ip", help="this node's primary IP (default: its name's address)")
    p.add_argument("-s", "--secondary-ip", help="this node's secondary IP")
    p.add_argument("-m", "--mac-prefix", help="MAC prefix of instances (default aa:00:00)")
    p.add_argument("-g", "--vg-name", help="(not supported: file storage is used)")
    p.add_argument("-b", "--bridge", default=C.DEFAULT_BRIDGE, help="default bridge")
    p.add_argument("--master-netdev", default=C.DEFAULT_MASTER_NETDEV,
                   help="interface carrying the master IP")
    p.add_argument("--file-storage-dir", default="/srv/ganeti/file-storage",
                   help="where file-based disks live")
    p.add_argument("--shared-file-storage-dir", default="/srv/ganeti/shared-file-storage",
                   help="where sharedfile disks live: a directory every node mounts")
    p.add_argument("--enabled-hypervisors", help="comma-separated list of hypervisors")
    p.add_argument("-t", "--default-hypervisor", help="default hypervisor (must be enabled)")
    p.add_argument("-H", "--hypervisor-parameters", action="append", type=ident_keyval_arg,
                   metavar="HV:key=val,...", help="default hypervisor parameters")
    p.add_argument("-B", "--backend-parameters", type=keyval_arg, metavar="key=val,...",
                   help="default backend parameters (memory, vcpus, auto_balance)")
    p.add_argument("-C", "--candidate-pool-size", type=int, default=C.DEFAULT_CANDIDATE_POOL_SIZE,
                   help="number of master candidates to keep (default 10)")

    p = add_command(sub, "destroy", destroy,
                    "destroy the cluster (master must be the only node)")
    p.add_argument("--yes-do-it", action="store_true", help="confirm the destruction")

    add_command(sub, "getmaster", getmaster, "print the master node's name")
    add_command(sub, "version", version, "print version information")
    add_command(sub, "info", info, "show the cluster configuration")

    p = add_command(sub, "verify", verify, "check the cluster's consistency")
    p.add_argument("--no-nplus1-mem", action="store_true", help="skip the N+1 memory check")

    add_command(sub, "verify-disks", verify_disks,
                "find missing disks and activate those of running instances that need it")

    p = add_command(sub, "modify", modify, "change cluster parameters")
    p.add_argument("-C", "--candidate-pool-size", type=int)
    p.add_argument("--enabled-hypervisors")
    p.add_argument("-H", "--hypervisor-parameters", action="append", type=ident_keyval_arg,
                   metavar="HV:key=val,...")
    p.add_argument("-B", "--backend-parameters", type=keyval_arg, metavar="key=val,...")
    add_submit_option(p)

    p = add_command(sub, "redist-conf", redist_conf,
                    "push config and ssconf files to all nodes")
    add_submit_option(p)

    p = add_command(sub, "queue", queue, "drain, undrain or inspect the job queue")
    p.add_argument("action", choices=["drain", "undrain", "info"])

    p = add_command(sub, "masterfailover", masterfailover,
                    "make this master candidate the master (run on the new master)")
    p.add_argument("--no-voting", action="store_true",
                   help="do not ask the other nodes (needed when most nodes are down, "
                        "e.g. a 2-node cluster whose master died)")
    p.add_argument("--yes-do-it", action="store_true", help="do not ask to confirm --no-voting")

    p = add_command(sub, "watcher", watcher, "pause, resume or show the watcher on all nodes")
    p.add_argument("action", choices=["pause", "continue", "info"])
    p.add_argument("duration", nargs="?", help="how long to pause (e.g. 30m, 2h, 1d)")

    add_tag_commands(sub, C.TAG_CLUSTER)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    return run(build_parser(), argv)
