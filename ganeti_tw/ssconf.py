"""The ``ssconf_*`` files: the small, read-only slice of config on every node.

Nodes that hold no config.data (and the CLI, without asking masterd) learn
from these who the master is, which nodes exist and which certificates may
call their node daemon.
"""

import os
from typing import Dict, List, Optional

from ganeti_tw import constants, errors, utils
from ganeti_tw.objects import ConfigData
from ganeti_tw.paths import Paths


def compute_values(config: ConfigData) -> Dict[str, str]:
    """All ssconf values (spec 3.4) of a configuration, as file contents."""
    cluster = config.cluster
    nodes = utils.nice_sort(config.nodes)

    def lines(items: List[str]) -> str:
        return "".join("%s\n" % i for i in items)

    candidates = [n for n in nodes if config.nodes[n].master_candidate]
    offline = [n for n in nodes if config.nodes[n].offline]
    return {
        constants.SS_CLUSTER_NAME: lines([cluster.cluster_name]),
        constants.SS_CLUSTER_TAGS: lines(sorted(cluster.tags)),
        constants.SS_FILE_STORAGE_DIR: lines([cluster.file_storage_dir]),
        constants.SS_MASTER_CANDIDATES: lines(candidates),
        constants.SS_MASTER_CANDIDATES_CERTS: lines(
            ["%s %s" % (n, config.nodes[n].cert_fingerprint) for n in candidates]),
        constants.SS_MASTER_IP: lines([cluster.master_ip]),
        constants.SS_MASTER_NETDEV: lines([cluster.master_netdev]),
        constants.SS_MASTER_NODE: lines([cluster.master_node]),
        constants.SS_NODE_LIST: lines(nodes),
        constants.SS_NODE_PRIMARY_IPS: lines(
            ["%s %s" % (n, config.nodes[n].primary_ip) for n in nodes]),
        constants.SS_OFFLINE_NODES: lines(offline),
        constants.SS_ONLINE_NODES: lines([n for n in nodes if n not in offline]),
        constants.SS_INSTANCE_LIST: lines(utils.nice_sort(config.instances)),
        constants.SS_RELEASE_VERSION: lines([constants.RELEASE_VERSION]),
        constants.SS_NODED_PORT: lines([str(cluster.noded_port)]),
    }


def write_files(paths: Paths, values: Dict[str, str]) -> None:
    """Write ssconf files (0444) atomically; unknown keys are refused."""
    unknown = set(values) - constants.VALID_SS_KEYS
    if unknown:
        raise errors.ParameterError("Unknown ssconf key(s): %s" % ", ".join(sorted(unknown)))
    os.makedirs(paths.data_dir, mode=0o755, exist_ok=True)
    # one batch: all temp files written before the first fsync (see utils)
    utils.write_files_atomic(paths.data_dir,
                             [(os.path.basename(paths.ssconf_file(key)), value.encode("utf-8"))
                              for key, value in sorted(values.items())], mode=0o444)


class SimpleStore:
    """Reads ssconf files (the CLI's and node daemon's view of the cluster)."""

    def __init__(self, paths: Paths):
        self.paths = paths

    def _read(self, key: str) -> str:
        if key not in constants.VALID_SS_KEYS:
            raise errors.ProgrammerError("Invalid ssconf key %s" % key)
        try:
            return utils.read_file(self.paths.ssconf_file(key),
                                   constants.SSCONF_MAX_SIZE).decode("utf-8")
        except FileNotFoundError:
            raise errors.NotClusterError(
                "This node is not part of a cluster (%s is missing)"
                % self.paths.ssconf_file(key)) from None
        except (OSError, UnicodeDecodeError) as err:
            raise errors.ConfigurationError(
                "Can't read ssconf file %s: %s" % (self.paths.ssconf_file(key), err)) from None

    def _read_one(self, key: str) -> str:
        return self._read(key).strip()

    def _read_list(self, key: str) -> List[str]:
        return [line for line in self._read(key).splitlines() if line.strip()]

    def get_cluster_name(self) -> str:
        return self._read_one(constants.SS_CLUSTER_NAME)

    def get_master_node(self) -> str:
        return self._read_one(constants.SS_MASTER_NODE)

    def get_master_netdev(self) -> str:
        return self._read_one(constants.SS_MASTER_NETDEV)

    def get_master_ip(self) -> str:
        return self._read_one(constants.SS_MASTER_IP)

    def get_master_candidates(self) -> List[str]:
        return self._read_list(constants.SS_MASTER_CANDIDATES)

    def get_online_nodes(self) -> List[str]:
        return self._read_list(constants.SS_ONLINE_NODES)

    def get_node_primary_ips(self) -> Dict[str, str]:
        return dict(line.split(None, 1) for line in self._read_list(constants.SS_NODE_PRIMARY_IPS))

    def get_noded_port(self) -> int:
        return int(self._read_one(constants.SS_NODED_PORT))


def read_hostname(paths: Paths) -> str:
    """This node's name: ``<root>/etc/ganeti/hostname`` if present, else the FQDN.

    The file lets several nodes share one machine (each root names itself).
    """
    try:
        name = utils.read_file(paths.hostname_file).decode("utf-8").strip()
    except FileNotFoundError:
        name = ""
    if name:
        return name
    import socket
    return socket.getfqdn()


def get_master_and_myself(paths: Paths) -> "tuple[Optional[str], str]":
    """(master node name or None if not in a cluster, this node's name)."""
    myself = read_hostname(paths)
    try:
        master = SimpleStore(paths).get_master_node()
    except errors.NotClusterError:
        master = None
    return master, myself
