"""config.data: loading, checking, atomic writing, and the candidate pool.

Pure and synchronous on purpose: ``gnt-cluster init`` uses it without a
daemon, and masterd wraps :meth:`ConfigWriter.save` with the replication to
master candidates (see ``context``).
"""

import random
import time
from typing import Dict, List, Optional, Tuple

from ganeti_tw import constants, errors, serializer, utils
from ganeti_tw.objects import Cluster, ConfigData, Instance, Node


def load_config(path: str) -> ConfigData:
    """Read and check config.data; any problem is one ConfigurationError naming the file."""
    try:
        raw = utils.read_file(path)
    except OSError as err:
        raise errors.ConfigurationError("Cannot read configuration file %s: %s"
                                        % (path, err.strerror)) from None
    try:
        data = serializer.load(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise errors.ConfigurationError("Configuration file %s is not valid JSON (%s)"
                                        % (path, err)) from None
    if not isinstance(data, dict) or not isinstance(data.get("cluster"), dict):
        raise errors.ConfigurationError("Configuration file %s has no cluster section" % path)
    if data.get("version") != constants.CONFIG_VERSION:
        raise errors.ConfigVersionMismatch(
            "Configuration file %s has version %r, expected %d"
            % (path, data.get("version"), constants.CONFIG_VERSION))
    try:
        config = ConfigData.from_dict(data)
    except errors.ConfigurationError as err:
        raise errors.ConfigurationError("Configuration file %s: %s" % (path, err)) from None
    problems = verify_config(config)
    if problems:
        raise errors.ConfigurationError("Configuration file %s is inconsistent: %s"
                                        % (path, "; ".join(problems)))
    return config


def write_config(path: str, config: ConfigData) -> bytes:
    """Write config.data atomically and durably (0600); returns the bytes written."""
    data = serializer.dump(config.to_dict(copy_values=False))
    utils.write_file_atomic(path, data, mode=0o600)
    return data


def verify_config(config: ConfigData) -> List[str]:
    """Structural problems that must never be written (spec 3.1's write checks)."""
    problems = []
    cluster = config.cluster
    if not isinstance(cluster, Cluster):
        return ["missing cluster object"]
    if not isinstance(config.serial_no, int):
        problems.append("serial_no is not an integer")
    if cluster.master_node not in config.nodes:
        problems.append("master node %s is not in the node list" % cluster.master_node)
    elif not config.nodes[cluster.master_node].master_candidate:
        problems.append("master node %s is not a master candidate" % cluster.master_node)
    if not cluster.enabled_hypervisors or \
            set(cluster.enabled_hypervisors) - constants.HYPER_TYPES:
        problems.append("invalid enabled hypervisors list %s" % cluster.enabled_hypervisors)
    if not isinstance(cluster.candidate_pool_size, int) or cluster.candidate_pool_size < 1:
        problems.append("invalid candidate_pool_size %r" % cluster.candidate_pool_size)
    seen_ips: Dict[str, str] = {}
    for name, node in sorted(config.nodes.items()):
        if node.name != name:
            problems.append("node %s is stored under the key %s" % (node.name, name))
        if sum(bool(f) for f in (node.master_candidate, node.offline, node.drained)) > 1:
            problems.append("node %s has more than one of the candidate/offline/drained flags"
                            % name)
        for ip in {node.primary_ip, node.secondary_ip}:
            if ip in seen_ips:
                problems.append("nodes %s and %s share the address %s" % (seen_ips[ip], name, ip))
            seen_ips[ip] = name
    seen_macs: Dict[str, str] = {}
    for name, inst in sorted(config.instances.items()):
        if inst.name != name:
            problems.append("instance %s is stored under the key %s" % (inst.name, name))
        if name in config.nodes:
            problems.append("instance %s has the name of a node" % name)
        if inst.primary_node not in config.nodes:
            problems.append("instance %s has an unknown primary node %s"
                            % (name, inst.primary_node))
        if len(inst.disks) > constants.MAX_DISKS or len(inst.nics) > constants.MAX_NICS:
            problems.append("instance %s has too many disks or NICs" % name)
        for nic in inst.nics:
            if nic.mac in seen_macs:
                problems.append("instances %s and %s share the MAC %s"
                                % (seen_macs[nic.mac], name, nic.mac))
            seen_macs[nic.mac] = name
            if nic.mode not in constants.NIC_VALID_MODES:
                problems.append("instance %s has a NIC of unknown mode %r" % (name, nic.mode))
            elif (nic.mode == constants.NIC_MODE_NONE) != (nic.bridge is None):
                problems.append("instance %s has a NIC of mode %s %s a bridge"
                                % (name, nic.mode, "with" if nic.bridge else "without"))
    return problems


def _expand_name(known: Dict[str, object], name: str, unknown_msg: str) -> str:
    """``name`` itself, or the one known name it is the short form of."""
    if name in known:
        return name
    matches = [n for n in known if n.split(".")[0] == name or n.startswith(name + ".")]
    if len(matches) == 1:
        return matches[0]
    raise errors.OpPrereqError(unknown_msg % name)


class ConfigWriter:
    """The master's in-memory config.data with its write discipline.

    Callers change the objects and call :meth:`save`; it checks, bumps the
    serial numbers, and writes atomically. One thread (the reactor) means no
    internal lock is needed between awaits.
    """

    def __init__(self, path: str, config: Optional[ConfigData] = None):
        self.path = path
        self.data = config if config is not None else load_config(path)
        self.last_bytes: Optional[bytes] = None

    @property
    def cluster(self) -> Cluster:
        return self.data.cluster

    def save(self) -> bytes:
        problems = verify_config(self.data)
        if problems:
            raise errors.ConfigurationError("Refusing to write an inconsistent configuration: %s"
                                            % "; ".join(problems))
        self.data.serial_no += 1
        self.data.cluster.mtime = time.time()
        try:
            self.last_bytes = write_config(self.path, self.data)
        except OSError as err:
            self.data.serial_no -= 1
            raise errors.OpExecError("Cannot write the configuration file %s: %s"
                                     % (self.path, err.strerror or err)) from None
        return self.last_bytes

    def reload(self) -> None:
        """Drop in-memory changes (after a failed save) by re-reading the file."""
        self.data = load_config(self.path)

    # queries -----------------------------------------------------------------

    def master_node(self) -> str:
        return self.data.cluster.master_node

    def node_names(self) -> List[str]:
        return utils.nice_sort(self.data.nodes)

    def get_node(self, name: str) -> Optional[Node]:
        return self.data.nodes.get(name)

    def expand_node_name(self, name: str) -> str:
        """Complete a short node name (``node2`` for ``node2.example.com``), or fail."""
        return _expand_name(self.data.nodes, name, "Node '%s' is unknown")

    def instance_names(self) -> List[str]:
        return utils.nice_sort(self.data.instances)

    def get_instance(self, name: str) -> Optional[Instance]:
        return self.data.instances.get(name)

    def expand_instance_name(self, name: str) -> str:
        """Complete a short instance name, or fail naming it."""
        return _expand_name(self.data.instances, name, "Instance '%s' not known")

    def primary_instances(self, node: str) -> List[Instance]:
        return [i for i in self.data.instances.values() if i.primary_node == node]

    def used_macs(self) -> set:
        return {nic.mac for inst in self.data.instances.values() for nic in inst.nics}

    def generate_mac(self, reserved: set = frozenset()) -> str:
        """A random MAC with the cluster prefix, unused in config and ``reserved``."""
        taken = self.used_macs() | set(reserved)
        prefix = self.data.cluster.mac_prefix
        for _ in range(1000):
            mac = "%s:%02x:%02x:%02x" % (prefix, random.randrange(256), random.randrange(256),
                                         random.randrange(256))
            if mac not in taken:
                return mac
        raise errors.OpExecError("Cannot generate a unique MAC address with prefix %s" % prefix)

    def allocate_port(self) -> int:
        """A TCP port for VNC: from the pool, else one past the highest (spec 3.1)."""
        cluster = self.data.cluster
        if cluster.tcpudp_port_pool:
            return cluster.tcpudp_port_pool.pop(0)
        port = cluster.highest_used_port + 1
        if port > constants.LAST_PORT:
            raise errors.OpExecError("The cluster has no free network port left")
        cluster.highest_used_port = port
        return port

    def candidates(self) -> List[str]:
        return utils.nice_sort(n.name for n in self.data.nodes.values() if n.master_candidate)

    def online_nodes(self) -> List[str]:
        return utils.nice_sort(n.name for n in self.data.nodes.values() if not n.offline)

    def candidate_stats(self, exceptions: Tuple[str, ...] = ()) -> Tuple[int, int]:
        """(current candidates, target) where target = min(pool size, eligible nodes)."""
        current = eligible = 0
        for node in self.data.nodes.values():
            if node.name in exceptions:
                continue
            if not (node.offline or node.drained):
                eligible += 1
            if node.master_candidate:
                current += 1
        return current, min(eligible, self.data.cluster.candidate_pool_size)

    def maintain_candidate_pool(self, exceptions: Tuple[str, ...] = ()) -> List[str]:
        """Promote random eligible nodes until the pool is full (spec 2.3); returns them.

        Nodes in ``exceptions`` (one being demoted) are not promoted.
        """
        current, target = self.candidate_stats()
        eligible = [n for n in self.data.nodes.values()
                    if not (n.master_candidate or n.offline or n.drained
                            or n.name in exceptions)]
        random.shuffle(eligible)
        promoted = []
        for node in eligible[:max(0, target - current)]:
            node.master_candidate = True
            node.serial_no += 1
            promoted.append(node.name)
        return sorted(promoted)
