"""A whole cluster on one machine: node i gets root DIR/node<i> and address 127.0.1.<i>.

The demo, the integration tests and the benchmarks all use it; it drives the
real commands (gnt-cluster init, gnt-node prepare/add) and real daemons.
"""

import argparse
import os
import signal
import subprocess
import sys
from typing import Dict, List, Optional, Sequence

from ganeti_tw import constants as C, daemon_util, errors, utils
from ganeti_tw.paths import Paths

BIN_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bin")
CLUSTER_NAME = "local-cluster"


def node_name(index: int) -> str:
    return "node%d" % index


class LocalCluster:
    """N node roots below ``directory``; node 1 is the master."""

    def __init__(self, directory: str, nodes: int = 3, base_ip: str = "127.0.1.",
                 verbose: bool = True, hypervisors: str = C.HT_FAKE,
                 init_args: Sequence[str] = ()):
        """``hypervisors``: the enabled ones, the first is the default; ``init_args``
        go to ``gnt-cluster init`` as they are (e.g. ``-H kvm:accelerator=tcg``)."""
        self.directory = os.path.abspath(directory)
        self.hypervisors = hypervisors
        self.init_args = list(init_args)
        self.verbose = verbose
        self.count = nodes
        self.base_ip = base_ip

    def root(self, index: int) -> str:
        return os.path.join(self.directory, node_name(index))

    def paths(self, index: int) -> Paths:
        return Paths(self.root(index))

    def ip(self, index: int) -> str:
        return "%s%d" % (self.base_ip, index)

    def existing_nodes(self) -> List[int]:
        if not os.path.isdir(self.directory):
            return []
        return sorted(int(d[4:]) for d in os.listdir(self.directory)
                      if d.startswith("node") and d[4:].isdigit())

    def gnt(self, command: str, *args: str, node: int = 1, check: bool = True,
            capture: Optional[bool] = None,
            env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
        """Run a gnt-* command as an admin on ``node`` would (``env``: extra variables)."""
        env = dict(daemon_util.daemon_env(), **(env or {}))
        env["GANETI_ROOT"] = self.root(node)
        if capture is None:
            capture = not self.verbose
        proc = subprocess.run(self.wrap(node) + [sys.executable, os.path.join(BIN_DIR, command)]
                              + list(args),
                              env=env, stdin=subprocess.DEVNULL, text=True,
                              stdout=subprocess.PIPE if capture else None,
                              stderr=subprocess.PIPE if capture else None)
        if check and proc.returncode != 0:
            detail = (proc.stderr or "").strip() if capture else ""
            raise errors.CommandError("%s %s failed (exit %d)%s" % (
                command, " ".join(args), proc.returncode, ": " + detail if detail else ""))
        return proc

    def _prepare_root(self, index: int) -> None:
        paths = self.paths(index)
        os.makedirs(paths.conf_dir, mode=0o755, exist_ok=True)
        with open(paths.hostname_file, "w") as fh:
            fh.write(node_name(index) + "\n")

    def wrap(self, index: int) -> List[str]:
        """The prefix that runs a program where node ``index`` lives (here: nothing).

        The fault-injection tests put each node in its own network namespace.
        """
        return []

    def start_noded(self, index: int) -> int:
        if not self.wrap(index):
            return daemon_util.start_daemon(self.paths(index), C.DAEMON_NODED,
                                            ["--bind", self.ip(index)],
                                            address=(self.ip(index), C.DEFAULT_NODED_PORT))
        proc = subprocess.run(self.wrap(index) + [
            sys.executable, os.path.join(BIN_DIR, "ganeti-daemon-util"), "--root",
            self.root(index), "start", C.DAEMON_NODED],
            env=daemon_util.daemon_env(), stdin=subprocess.DEVNULL, capture_output=True,
            text=True)
        if proc.returncode != 0:
            raise errors.CommandError("Cannot start the node daemon of %s: %s"
                                      % (node_name(index), proc.stderr.strip()))
        return int(proc.stdout.strip())

    def up(self) -> None:
        if os.path.exists(self.paths(1).config_file):
            raise errors.OpPrereqError("A cluster already exists in %s; use 'down' and remove "
                                       "the directory first" % self.directory)
        for index in range(1, self.count + 1):
            self._prepare_root(index)
        self.gnt("gnt-cluster", "init", "--primary-ip", self.ip(1),
                 "--master-ip", "%s%d" % (self.base_ip, 254), "--master-netdev", "lo",
                 "--enabled-hypervisors", self.hypervisors, *self.init_args,
                 # one directory every node "mounts": what makes failover possible
                 "--shared-file-storage-dir", os.path.join(self.directory, "shared-file-storage"),
                 CLUSTER_NAME)
        for index in range(2, self.count + 1):
            self.add_node(index)

    def add_node(self, index: int) -> None:
        self._prepare_root(index)
        self.gnt("gnt-node", "prepare", "--primary-ip", self.ip(index), node_name(index),
                 self.root(index), capture=True)
        self.start_noded(index)
        self.gnt("gnt-node", "add", "--no-node-setup", "--primary-ip", self.ip(index),
                 node_name(index))

    def kill_kvm_guests(self, index: int) -> List[str]:
        """SIGKILL node ``index``'s qemus: they are the machine's, and the machine goes off."""
        pid_dir = os.path.join(self.paths(index).kvm_hv_dir, "pid")
        killed = []
        for name in os.listdir(pid_dir) if os.path.isdir(pid_dir) else []:
            pidfile = os.path.join(pid_dir, name)
            try:
                pid = int(utils.read_file(pidfile).strip())
            except (OSError, ValueError):
                continue
            if utils.process_has_argument(pid, pidfile):
                os.kill(pid, signal.SIGKILL)
                killed.append("kvm instance %s on %s" % (name, node_name(index)))
        return killed

    def down(self) -> List[str]:
        """Stop every node's daemons and kvm guests."""
        stopped = []
        for index in self.existing_nodes():
            stopped.extend(self.kill_kvm_guests(index))
            stopped += ["%s on %s" % (daemon, node_name(index))
                        for daemon in daemon_util.stop_all(self.paths(index))]
        return stopped

    def status(self) -> Dict[str, Dict[str, Optional[int]]]:
        return {node_name(i): {d: daemon_util.read_pid(self.paths(i), d)
                               for d in daemon_util.DAEMONS}
                for i in self.existing_nodes()}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="ganeti-local-cluster",
                                     description="Run a multi-node cluster on this machine")
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--nodes", type=int, default=3, help="number of nodes (default 3)")
    parser.add_argument("--dir", required=True, help="directory holding the node roots")
    parser.add_argument("--base-ip", default="127.0.1.",
                        help="node i listens on BASE_IP<i> (default 127.0.1.)")
    opts = parser.parse_args(argv)
    if not 1 <= opts.nodes <= 200:
        parser.error("--nodes must be between 1 and 200")
    cluster = LocalCluster(opts.dir, opts.nodes, opts.base_ip)
    try:
        if opts.action == "up":
            cluster.up()
            print("Cluster %s is up with %d nodes; the master is %s (%s)."
                  % (CLUSTER_NAME, opts.nodes, node_name(1), cluster.ip(1)))
            print("Run commands as an admin on the master would:")
            print("  export GANETI_ROOT=%s" % cluster.root(1))
            print("  gnt-node list; gnt-job list; gnt-cluster verify")
        elif opts.action == "down":
            for line in cluster.down():
                print("stopped %s" % line)
        else:
            for node, daemons in cluster.status().items():
                print("%s: %s" % (node, ", ".join("%s %s" % (d, "pid %d" % p if p else "stopped")
                                                  for d, p in daemons.items())))
    except errors.GenericError as err:
        sys.stderr.write("ganeti-local-cluster: %s\n" % err)
        return 1
    return 0
