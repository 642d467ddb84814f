"""Start and stop the daemons of one node root (Ganeti's daemon-util).

Used by ``gnt-cluster init/destroy``, node setup and the local cluster; it
imports no Twisted: daemons run as ``twistd`` child processes.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from typing import List, Optional

from ganeti_tw import constants, errors, ssconf
from ganeti_tw.paths import Paths

_SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def daemon_env() -> dict:
    """The environment for daemons: our source tree importable (plugins included)."""
    env = dict(os.environ)
    parts = [_SOURCE_ROOT] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(parts))
    return env


def read_pid(paths: Paths, daemon: str) -> Optional[int]:
    """The pid of a running daemon, or None (stale pid files are ignored)."""
    try:
        pid = int(open(paths.pid_file(daemon)).read().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def _log_tail(paths: Paths, daemon: str) -> str:
    """The daemon's last error line (else its last line): why it did not come up."""
    try:
        with open(paths.daemon_log(daemon), errors="replace") as fh:
            lines = [line.strip() for line in fh.readlines()[-40:]]
    except OSError:
        return "(no log)"
    errors_only = [line for line in lines if "Error" in line or "error" in line]
    return (errors_only or lines or ["(empty log)"])[-1]


def _ready(paths: Paths, daemon: str, address: Optional[tuple]) -> bool:
    if daemon == constants.DAEMON_MASTERD:
        target, family = paths.master_socket, socket.AF_UNIX
    elif address is not None:
        target, family = address, socket.AF_INET
    else:
        return True
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(1)
    try:
        sock.connect(target)
        return True
    except OSError:
        return False
    finally:
        sock.close()


def start_daemon(paths: Paths, daemon: str, args: Optional[List[str]] = None,
                 address: Optional[tuple] = None, timeout: float = 30) -> int:
    """Start ``daemon`` for this root (daemonized) and wait until it serves.

    ``address`` (ip, port) is where a noded will listen. Returns the pid;
    raises CommandError with the daemon's own message if it did not come up.
    """
    pid = read_pid(paths, daemon)
    if pid is not None:
        return pid
    if address is not None and _ready(paths, daemon, address):
        raise errors.CommandError("%s cannot start: %s:%d is already in use (another node "
                                  "daemon?)" % (daemon, address[0], address[1]))
    os.makedirs(paths.run_dir, mode=0o755, exist_ok=True)
    os.makedirs(paths.log_dir, mode=0o750, exist_ok=True)
    cmd = [sys.executable, "-c", "from twisted.scripts.twistd import run; run()",
           "--pidfile", paths.pid_file(daemon), "--logfile", os.devnull, "--umask", "0077",
           daemon, "--root", paths.root] + list(args or [])
    proc = subprocess.run(cmd, env=daemon_env(), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        message = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
        raise errors.CommandError("%s did not start: %s (log: %s)"
                                  % (daemon, message[-1] if message else "exit code %d"
                                     % proc.returncode, _log_tail(paths, daemon)))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = read_pid(paths, daemon)
        if pid is not None and _ready(paths, daemon, address):
            return pid
        if pid is None and os.path.exists(paths.pid_file(daemon)):
            break  # it wrote its pid file and died
        time.sleep(0.05)
    raise errors.CommandError("%s did not come up within %ds: %s"
                              % (daemon, timeout, _log_tail(paths, daemon)))


def start_on_primary_ip(paths: Paths, daemon: str, port: Optional[int] = None,
                        timeout: float = 30) -> int:
    """Start a listening daemon on this node's primary IP (from ssconf) and wait for it.

    Each node of a local cluster has its own loopback address, so noded and
    the RAPI bind there rather than to every address. ``port`` defaults to
    the cluster's noded port.
    """
    store = ssconf.SimpleStore(paths)
    ip = store.get_node_primary_ips().get(ssconf.read_hostname(paths), "127.0.0.1")
    address = (ip, store.get_noded_port() if port is None else port)
    return start_daemon(paths, daemon, ["--bind", ip], address=address, timeout=timeout)


def start_noded(paths: Paths) -> int:
    """Start this node's daemon on its primary IP and the cluster's port."""
    return start_on_primary_ip(paths, constants.DAEMON_NODED)


# start order (spec 0, the init script): noded, then the master's daemons;
# the watcher runs from cron or as a daemon. They stop in the reverse order.
DAEMONS = (constants.DAEMON_NODED,) + constants.MASTER_DAEMONS + (constants.DAEMON_WATCHER,)


def stop_all(paths: Paths) -> List[str]:
    """Stop this root's daemons, watcher and RAPI first, noded last; returns those that ran."""
    return [daemon for daemon in reversed(DAEMONS) if stop_daemon(paths, daemon)]


def stop_daemon(paths: Paths, daemon: str, timeout: float = 15) -> bool:
    """SIGTERM the daemon, SIGKILL after ``timeout``; True if one was running."""
    pid = read_pid(paths, daemon)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if read_pid(paths, daemon) is None:
            return True
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return True
