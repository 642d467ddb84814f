"""Creating a cluster and preparing nodes: runs locally, without masterd.

``gnt-cluster init`` writes the first config, certificates and ssconf and
starts the daemons; ``node_bundle`` produces the files a new node needs
(cluster CA certificate, its own key and certificate, the current ssconf),
which node setup installs over ssh or an admin installs by hand.
"""

import os
import socket
import time
from typing import Dict, List, Optional, Tuple

from ganeti_tw import (certs, config, constants, daemon_util, errors, master_role, objects,
                       opcodes, ssconf, utils)
from ganeti_tw.paths import Paths


def resolve(name: str) -> str:
    try:
        return socket.getaddrinfo(name, None, socket.AF_INET)[0][4][0]
    except socket.gaierror as err:
        raise errors.ResolverError("Cannot resolve %s: %s" % (name, err.strerror)) from None


def init_cluster(paths: Paths, cluster_name: str, master_ip: Optional[str] = None,
                 primary_ip: Optional[str] = None, secondary_ip: Optional[str] = None,
                 master_netdev: str = constants.DEFAULT_MASTER_NETDEV,
                 mac_prefix: str = constants.DEFAULT_MAC_PREFIX,
                 default_bridge: str = constants.DEFAULT_BRIDGE,
                 file_storage_dir: str = "/srv/ganeti/file-storage",
                 shared_file_storage_dir: str = "/srv/ganeti/shared-file-storage",
                 enabled_hypervisors: Optional[List[str]] = None,
                 default_hypervisor: Optional[str] = None,
                 hvparams: Optional[Dict[str, dict]] = None,
                 beparams: Optional[dict] = None,
                 candidate_pool_size: int = constants.DEFAULT_CANDIDATE_POOL_SIZE,
                 noded_port: int = constants.DEFAULT_NODED_PORT) -> str:
    """Create the cluster on this node (its master); returns the master's name."""
    if os.path.exists(paths.config_file):
        raise errors.OpPrereqError("Cluster is already initialised (%s exists)"
                                   % paths.config_file)
    hostname = ssconf.read_hostname(paths)
    primary_ip = primary_ip or resolve(hostname)
    secondary_ip = secondary_ip or primary_ip
    master_ip = master_ip or resolve(cluster_name)
    if master_ip in (primary_ip, secondary_ip):
        raise errors.OpPrereqError("The master IP %s must differ from the node's own "
                                   "addresses" % master_ip)
    enabled = enabled_hypervisors or [default_hypervisor or constants.DEFAULT_HYPERVISOR]
    default_hv = default_hypervisor or enabled[0]
    if default_hv not in enabled:
        raise errors.OpPrereqError("Default hypervisor %s is not among the enabled ones (%s)"
                                   % (default_hv, ", ".join(enabled)))
    if not (os.path.isabs(file_storage_dir) and os.path.isabs(shared_file_storage_dir)):
        raise errors.OpPrereqError("The file storage directories must be absolute paths")
    if not isinstance(candidate_pool_size, int) or candidate_pool_size < 1:
        raise errors.OpPrereqError("The candidate pool size must be at least 1")
    opcodes.check_beparams(beparams or {})
    be = dict(constants.BEC_DEFAULTS)
    be.update(beparams or {})
    now = time.time()
    cluster = objects.Cluster(
        cluster_name=cluster_name, master_node=hostname, master_ip=master_ip,
        master_netdev=master_netdev, mac_prefix=mac_prefix, default_bridge=default_bridge,
        default_hypervisor=default_hv, enabled_hypervisors=enabled,
        hvparams={hv: dict((hvparams or {}).get(hv, {})) for hv in constants.HYPER_TYPES},
        beparams={constants.PP_DEFAULT: be}, candidate_pool_size=candidate_pool_size,
        file_storage_dir=file_storage_dir, shared_file_storage_dir=shared_file_storage_dir,
        noded_port=noded_port, ctime=now, mtime=now)
    master = objects.Node(name=hostname, primary_ip=primary_ip, secondary_ip=secondary_ip,
                          master_candidate=True, ctime=now, mtime=now)
    data = objects.ConfigData(cluster=cluster, nodes={hostname: master})
    problems = config.verify_config(data)
    if problems:
        raise errors.OpPrereqError("Invalid cluster parameters: %s" % "; ".join(problems))
    # everything checked: only now write anything
    utils.ensure_dirs([(paths.data_dir, 0o755), (paths.conf_dir, 0o755),
                       (paths.run_dir, 0o755), (paths.log_dir, 0o750),
                       (os.path.dirname(paths.rapi_users), 0o750)])
    os.makedirs(paths.under_root(file_storage_dir), mode=0o750, exist_ok=True)
    ca_key, ca_cert = certs.generate_ca(cluster_name)
    node_key, node_cert = certs.issue_node_cert(ca_key, ca_cert, hostname)
    utils.write_file_atomic(paths.ca_key, ca_key, mode=0o400)
    utils.write_file_atomic(paths.ca_cert, ca_cert, mode=0o400)
    certs.write_node_pem(paths.node_pem, node_key, node_cert)
    master.cert_fingerprint = certs.fingerprint(node_cert)
    config.write_config(paths.config_file, data)
    ssconf.write_files(paths, ssconf.compute_values(data))
    ensure_rapi_cert(paths, cluster_name)
    start_node_daemons(paths, master=True)
    return hostname


def ensure_rapi_cert(paths: Paths, cluster_name: str) -> None:
    """Create rapi.pem (key and self-signed certificate, mode 0400) if it is missing."""
    if not os.path.exists(paths.rapi_pem):
        key, cert = certs.generate_self_signed(cluster_name)
        utils.write_file_atomic(paths.rapi_pem, key + cert, mode=0o400)


def start_node_daemons(paths: Paths, master: bool) -> None:
    """Start noded (on this node's primary IP) and, on the master, its daemons."""
    daemon_util.start_noded(paths)
    if master:
        # a new cluster has no other node to vote
        master_role.start_master_daemons(paths, no_voting=True)


def node_bundle(paths: Paths, node_name: str,
                primary_ip: Optional[str] = None) -> Dict[str, Tuple[bytes, int]]:
    """Files (relative to the data dir) a new node needs to join: {name: (data, mode)}.

    Must run on the master, which holds the CA key. With ``primary_ip`` the
    node finds its own address in ssconf_node_primary_ips, so its daemon
    listens there and not on every address.
    """
    try:
        ca_key = utils.read_file(paths.ca_key)
        ca_cert = utils.read_file(paths.ca_cert)
    except OSError as err:
        raise errors.OpPrereqError("Cannot read the cluster CA (%s): is this the master?"
                                   % err.strerror) from None
    key, cert = certs.issue_node_cert(ca_key, ca_cert, node_name)
    files = {"cluster-ca.pem": (ca_cert, 0o400), "server.pem": (key + cert, 0o400)}
    for key_name in sorted(constants.VALID_SS_KEYS):
        path = paths.ssconf_file(key_name)
        if os.path.exists(path):
            files[os.path.basename(path)] = (utils.read_file(path), 0o444)
    if primary_ip:
        name = os.path.basename(paths.ssconf_file(constants.SS_NODE_PRIMARY_IPS))
        lines = [line for line in files.get(name, (b"", 0))[0].decode().splitlines()
                 if line.split(" ")[0] != node_name]
        files[name] = ("".join("%s\n" % l for l in lines + ["%s %s" % (node_name, primary_ip)])
                       .encode(), 0o444)
    return files


def install_bundle(paths: Paths, files: Dict[str, Tuple[bytes, int]]) -> None:
    """Write a node bundle below a node's root (the by-hand node preparation)."""
    utils.ensure_dirs([(paths.data_dir, 0o755)])
    for name, (data, mode) in files.items():
        utils.write_file_atomic(os.path.join(paths.data_dir, name), data, mode=mode,
                                sync_dir=False)
    utils.fsync_dir(paths.data_dir)


def master_failover(paths: Paths, no_voting: bool = False) -> List[str]:
    """Make this master candidate the master (spec 2.5); returns what was done.

    Runs without masterd (the old master may be dead), from the command
    line: a private reactor carries the node RPC calls.
    """
    from twisted.internet import defer, reactor
    from twisted.python.failure import Failure
    outcome: list = []

    def done(result: object) -> None:
        outcome.append(result)
        reactor.stop()

    def start() -> None:
        defer.ensureDeferred(_master_failover(paths, no_voting, reactor)).addBoth(done)

    reactor.callWhenRunning(start)
    reactor.run(installSignalHandlers=False)
    if isinstance(outcome[0], Failure):
        outcome[0].raiseException()
    return outcome[0]


async def _master_failover(paths: Paths, no_voting: bool, reactor: object) -> List[str]:
    from twisted.internet import threads
    from ganeti_tw import voting
    from ganeti_tw.context import GanetiContext
    store = ssconf.SimpleStore(paths)
    myself = ssconf.read_hostname(paths)
    old_master = store.get_master_node()
    if old_master == myself:
        raise errors.OpPrereqError("This node (%s) is already the master" % myself)
    candidates = store.get_master_candidates()
    if myself not in candidates:
        raise errors.OpPrereqError("This node (%s) is not a master candidate; only these "
                                   "nodes can become master: %s"
                                   % (myself, ", ".join(candidates)))
    cfg = config.ConfigWriter(paths.config_file)
    context = GanetiContext(paths, cfg, myself, reactor)
    report = []
    others = [n for n in cfg.node_names() if n != myself]
    if not no_voting and others:
        answers = await voting.gather_answers(context.rpc, others)
        ranking = voting.count_votes(voting.votes_of(answers))
        summary = ", ".join("%s: %d" % (name or "no answer", count) for name, count in ranking)
        if ranking[0][0] is None:
            raise errors.OpPrereqError(
                "Cannot fail over: most nodes did not respond (%s); if the master is down "
                "for good use --no-voting" % summary)
        if ranking[0][0] != old_master:
            raise errors.OpPrereqError(
                "Cannot fail over: the nodes name %s as the master but this node's ssconf "
                "says %s; my configuration is wrong, resync it (gnt-cluster redist-conf on "
                "the master)" % (ranking[0][0], old_master))
        newer = voting.newer_config(answers, cfg.data.serial_no)
        if newer is not None:
            raise errors.OpPrereqError("Cannot fail over: %s" % newer)
    stopped = await context.rpc.call_node(old_master, "node_stop_master", [True], timeout=30)
    if stopped.failed:
        report.append("could not stop the master role on %s (%s); continuing"
                      % (old_master, stopped.fail_msg))
    else:
        report += ["%s: %s" % (old_master, line) for line in stopped.data]
    cfg.cluster.master_node = myself
    cfg.cluster.serial_no += 1
    # written here, then config.data to every candidate and ssconf to every node
    await context.save_config(force_distribution=True)
    context.rpc.disconnect_all()
    report.append("configuration (serial %d) names %s as master"
                  % (cfg.data.serial_no, myself))
    started = await threads.deferToThread(master_role.start_master_daemons, paths, no_voting)
    report += ["started %s" % d for d in started]
    return report
