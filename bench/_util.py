"""Shared helpers of the benchmarks: a throw-away local cluster and percentiles.

Benchmarks print figures; they never assert. Each run uses a fresh directory
under /tmp and always takes its cluster down, even on failure or Ctrl-C.
"""

import contextlib
import json
import math
import os
import shutil
import sys
import tempfile
import time
from typing import Any, Dict, Iterator, List, Optional, Sequence

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO not in sys.path:  # so `python3 bench/x.py` works without PYTHONPATH too
    sys.path.insert(0, _REPO)

from ganeti_tw.local_cluster import LocalCluster  # noqa: E402

REPO = _REPO


def percentile(values: Sequence[float], pct: float) -> Optional[float]:
    """Nearest-rank percentile (pct in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def median(values: Sequence[float]) -> Optional[float]:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2.0


def ms(value: Optional[float]) -> Optional[float]:
    """Seconds to milliseconds, rounded for the report (None stays None)."""
    return None if value is None else round(value * 1000.0, 3)


def fmt_ms(value: Optional[float]) -> str:
    return "n/a" if value is None else "%.1f ms" % (value * 1000.0)


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


@contextlib.contextmanager
def local_cluster(nodes: int, base_ip: str, keep: bool = False, quiet: bool = True,
                  **cluster_options: Any) -> Iterator[LocalCluster]:
    """A fresh cluster of ``nodes`` nodes in a new /tmp directory; always taken down.

    ``cluster_options`` go to LocalCluster (``hypervisors``, ``init_args``).
    """
    directory = tempfile.mkdtemp(prefix="ganeti-bench-", dir="/tmp")
    cluster = LocalCluster(directory, nodes, base_ip, **cluster_options)
    started = time.monotonic()
    try:
        if not quiet:
            print("Starting a %d-node cluster in %s (node i on %s<i>) ..."
                  % (nodes, directory, base_ip), flush=True)
        cluster.up()
        if not quiet:
            print("Cluster up in %.1f s" % (time.monotonic() - started), flush=True)
        yield cluster
    finally:
        try:
            cluster.down()
        finally:
            if keep:
                print("Kept the node roots in %s" % directory)
            else:
                shutil.rmtree(directory, ignore_errors=True)


def cpu_seconds(pid: Optional[int]) -> Optional[float]:
    """User+system CPU time of a process (and its reaped children) from /proc."""
    if pid is None:
        return None
    try:
        with open("/proc/%d/stat" % pid) as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    # fields[0] is the state (field 3); utime, stime, cutime, cstime are fields 14-17
    return sum(int(f) for f in fields[11:15]) / float(ticks)


def daemon_cpu(cluster: LocalCluster) -> Dict[str, Optional[float]]:
    """CPU seconds used so far by every daemon of the cluster, keyed "node1/masterd"."""
    from ganeti_tw import daemon_util
    out = {}
    for node, daemons in cluster.status().items():
        for daemon in daemons:
            pid = daemon_util.read_pid(cluster.paths(int(node[4:])), daemon)
            if pid is not None:
                out["%s/%s" % (node, daemon)] = cpu_seconds(pid)
    return out


def disk_probe(directory: str = "/tmp", count: int = 200, size: int = 1500) -> float:
    """Median wall time of one durable small-file replacement as the job queue does it.

    Temp file created (O_EXCL), written, fsynced, renamed: the cost the job
    queue pays per job file per commit (utils.write_file_atomic), so readers
    can tell a slow disk from slow code. Returns seconds.
    """
    probe_dir = tempfile.mkdtemp(prefix="ganeti-bench-disk-", dir=directory)
    times = []
    try:
        payload = b"x" * size
        for i in range(count):
            path = os.path.join(probe_dir, "f%d" % (i % 50))
            tmp = path + ".tmp"
            start = time.perf_counter()
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, payload)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp, path)
            times.append(time.perf_counter() - start)
    finally:
        shutil.rmtree(probe_dir, ignore_errors=True)
    return median(times)


def print_json(figures: Dict) -> None:
    """The final machine-readable line of every benchmark."""
    print(json.dumps(figures, sort_keys=True))


def summary(values: List[float]) -> Dict[str, Optional[float]]:
    """min/p50/p90/p99/max/mean in milliseconds."""
    return {"min_ms": ms(min(values)) if values else None,
            "p50_ms": ms(percentile(values, 50)),
            "p90_ms": ms(percentile(values, 90)),
            "p99_ms": ms(percentile(values, 99)),
            "max_ms": ms(max(values)) if values else None,
            "mean_ms": ms(sum(values) / len(values)) if values else None,
            "count": len(values)}
