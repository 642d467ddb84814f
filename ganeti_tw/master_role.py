"""The master role on one node: the master IP and the master's daemons.

Blocking and free of Twisted: failover (gnt-cluster masterfailover), the
old master's node daemon (node_stop_master, in a thread), masterd's
start-up and the watcher share it, so each step is done one way only.
"""

import os
import shutil
import subprocess
from typing import List

from ganeti_tw import constants, daemon_util, errors
from ganeti_tw.paths import Paths


def _manages_ip(paths: Paths, netdev: str) -> bool:
    """Only root on a real (non-loopback) interface of the real root touches addresses.

    A local cluster (per-node roots, master netdev ``lo``) shares one
    loopback device: adding the master IP there would be a no-op at best.
    """
    return (paths.root == "/" and os.geteuid() == 0 and netdev != "lo"
            and not netdev.startswith("lo:"))


def _ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip"] + list(args), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _has_address(ip: str, netdev: str) -> bool:
    proc = _ip("-o", "-4", "address", "show", "dev", netdev)
    return proc.returncode == 0 and (" %s/" % ip) in proc.stdout


def activate_master_ip(paths: Paths, ip: str, netdev: str) -> str:
    """Add the master IP to ``netdev`` (and announce it); returns what was done."""
    if not _manages_ip(paths, netdev):
        return "master IP %s on %s: not managed here (not root on a real interface)" % (
            ip, netdev)
    if not os.path.isdir("/sys/class/net/%s" % netdev):
        raise errors.OpExecError("The master netdev %s does not exist on this node" % netdev)
    if _has_address(ip, netdev):
        return "master IP %s is already on %s" % (ip, netdev)
    label = "%s:0" % netdev
    args = ["address", "add", "%s/32" % ip, "dev", netdev]
    if len(label) <= 15:  # the kernel's limit for interface labels
        args += ["label", label]
    proc = _ip(*args)
    if proc.returncode != 0:
        raise errors.OpExecError("Cannot add the master IP %s to %s: %s"
                                 % (ip, netdev, proc.stderr.strip()))
    if shutil.which("arping"):
        # gratuitous ARP so switches learn the new owner; best effort
        subprocess.run(["arping", "-q", "-U", "-c", "3", "-I", netdev, "-s", ip, ip],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    return "master IP %s added to %s" % (ip, netdev)


def deactivate_master_ip(paths: Paths, ip: str, netdev: str) -> str:
    """Remove the master IP from ``netdev`` (errors ignored: it may be gone already)."""
    if not _manages_ip(paths, netdev):
        return "master IP %s on %s: not managed here (not root on a real interface)" % (
            ip, netdev)
    if not _has_address(ip, netdev):
        return "master IP %s is not on %s" % (ip, netdev)
    _ip("address", "del", "%s/32" % ip, "dev", netdev)
    return "master IP %s removed from %s" % (ip, netdev)


def start_master_daemons(paths: Paths, no_voting: bool = False) -> List[str]:
    """Start every daemon of :data:`constants.MASTER_DAEMONS` not yet running.

    Raises CommandError with the daemon's own reason (e.g. the vote) if one
    does not come up. Returns the daemons started.
    """
    started = []
    for daemon in constants.MASTER_DAEMONS:
        if daemon_util.read_pid(paths, daemon) is not None:
            continue
        if daemon == constants.DAEMON_MASTERD:
            args = ["--no-voting", "--yes-do-it"] if no_voting else []
            # the vote may retry for a minute when most nodes do not answer
            daemon_util.start_daemon(paths, daemon, args, timeout=90)
        else:
            daemon_util.start_on_primary_ip(paths, daemon, constants.RAPI_PORT)
        started.append(daemon)
    return started


def stop_master_daemons(paths: Paths) -> List[str]:
    """Stop the master's daemons, front-ends first; returns those that were running."""
    return [d for d in reversed(constants.MASTER_DAEMONS) if daemon_util.stop_daemon(paths, d)]
