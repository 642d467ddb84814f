#!/usr/bin/env python3
"""kvm live migration of a 256 MiB guest between two local-cluster nodes.

The busybox test guest (tests/kvm_guest.py, tcg) boots on node1 of a 2-node
local cluster; once its console shows the ready marker it is migrated live
node1 -> node2 -> node1 ... ``--runs`` times with ``gnt-instance migrate``.
Per migration: the command's wall time (CLI start to job end, what an admin
waits), and qemu's own ``total-time`` and ``downtime`` from the final
``query-migrate`` (the job log line "migration completed: ...").

Targets: total <= 2 s, downtime <= 50 ms (plain qemu on this machine:
0.6 s, 7 ms). ``migration_bandwidth`` is raised for the run (Ganeti's
default of 32 MiB/s is meant for shared production links, not loopback).

Run:  python3 bench/kvm_migration.py [--runs 4]
"""

import argparse
import os
import re
import socket
import subprocess
import sys
import time
from typing import Dict, List

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _util import local_cluster, median, ms, print_json, verdict  # noqa: E402
from kvm_start import cluster_options  # noqa: E402

from ganeti_tw import daemon_util  # noqa: E402
from ganeti_tw.local_cluster import BIN_DIR, LocalCluster  # noqa: E402
from tests import kvm_guest  # noqa: E402

TARGET_TOTAL_S = 2.0
TARGET_DOWNTIME_MS = 50
BOOT_TIMEOUT = 120
COMPLETED = re.compile(r"migration completed: (\d+) MiB transferred.*downtime (\d+) ms, "
                       r"total time (\d+) ms")


def gnt_instance(cluster: LocalCluster, *args: str) -> str:
    env = dict(daemon_util.daemon_env(), GANETI_ROOT=cluster.root(1))
    proc = subprocess.run([sys.executable, os.path.join(BIN_DIR, "gnt-instance")] + list(args),
                          env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit("gnt-instance %s failed: %s" % (" ".join(args),
                                                         (proc.stderr or proc.stdout).strip()))
    return proc.stdout


def wait_booted(serial: str) -> None:
    deadline = time.monotonic() + BOOT_TIMEOUT
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(serial)
    seen = b""
    with sock:
        while kvm_guest.READY_MARKER.encode() not in seen:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            data = sock.recv(65536)
            if not data or time.monotonic() > deadline:
                raise SystemExit("the guest did not boot: %r" % seen[-200:])
            seen += data


def measure(cluster: LocalCluster, opts: argparse.Namespace) -> Dict[str, List[float]]:
    name = "mig1"
    gnt_instance(cluster, "add", "--no-name-check", "--no-ip-check", "-o", "tiny", "-t",
                 "sharedfile", "-s", "8m", "--no-nics", "-B", "memory=%d" % opts.memory,
                 "-n", "node1", name)
    wait_booted(os.path.join(cluster.paths(1).kvm_hv_dir, "ctrl", name + ".serial"))
    figures: Dict[str, List[float]] = {"wall": [], "total": [], "downtime": [], "mib": []}
    for rnd in range(opts.runs):
        target = "node2" if rnd % 2 == 0 else "node1"
        started = time.monotonic()
        out = gnt_instance(cluster, "migrate", "-f", "-n", target, name)
        wall = time.monotonic() - started
        match = COMPLETED.search(out)
        if not match:
            raise SystemExit("no completion line in the job output:\n%s" % out)
        figures["wall"].append(wall)
        figures["mib"].append(float(match.group(1)))
        figures["downtime"].append(float(match.group(2)) / 1000)
        figures["total"].append(float(match.group(3)) / 1000)
    return figures


def report(figures: Dict[str, List[float]], opts: argparse.Namespace) -> dict:
    wall, total, down = (median(figures[k]) for k in ("wall", "total", "downtime"))
    print()
    print("Live migration of a %d MiB tcg guest between two local-cluster nodes: %d runs"
          % (opts.memory, opts.runs))
    print("  gnt-instance migrate wall  median %7.1f ms  max %7.1f ms   target <= %d ms  %s"
          % (wall * 1000, max(figures["wall"]) * 1000, TARGET_TOTAL_S * 1000,
             verdict(wall <= TARGET_TOTAL_S)))
    print("  qemu total-time            median %7.1f ms  max %7.1f ms"
          % (total * 1000, max(figures["total"]) * 1000))
    print("  qemu downtime              median %7.1f ms  max %7.1f ms   target <= %d ms  %s"
          % (down * 1000, max(figures["downtime"]) * 1000, TARGET_DOWNTIME_MS,
             verdict(down * 1000 <= TARGET_DOWNTIME_MS)))
    print("  memory sent per migration  median %d MiB (zero pages are not sent)"
          % median(figures["mib"]))
    return {"benchmark": "kvm_migration", "runs": opts.runs, "memory_mib": opts.memory,
            "wall_median_ms": ms(wall), "qemu_total_median_ms": ms(total),
            "downtime_median_ms": ms(down), "downtime_max_ms": ms(max(figures["downtime"])),
            "target_total_ms": TARGET_TOTAL_S * 1000, "target_downtime_ms": TARGET_DOWNTIME_MS,
            "meets_target": wall <= TARGET_TOTAL_S and down * 1000 <= TARGET_DOWNTIME_MS}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=4, help="migrations (default 4)")
    parser.add_argument("--memory", type=int, default=256, help="guest MiB (default 256)")
    parser.add_argument("--bandwidth", type=int, default=4096,
                        help="migration_bandwidth in MiB/s (default 4096)")
    parser.add_argument("--base-ip", default="127.0.17.",
                        help="node i on BASE_IP<i> (default 127.0.17.)")
    opts = parser.parse_args()
    if opts.runs < 1:
        parser.error("need --runs >= 1")
    options = cluster_options(",migration_bandwidth=%d" % opts.bandwidth)
    with local_cluster(2, opts.base_ip, quiet=False, **options) as cluster:
        figures = measure(cluster, opts)
    print_json(report(figures, opts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
