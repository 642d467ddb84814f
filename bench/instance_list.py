#!/usr/bin/env python3
"""Instance list: wall time of gnt-instance list over 1000 running instances on 10 nodes.

Starts a 10-node local cluster and creates 1000 diskless instances on the
fake hypervisor, spread evenly over the nodes and started, by submitting
OP_INSTANCE_CREATE jobs through LUXI with up to ``--in-flight`` of them
queued at a time (the creation rate is printed as an extra figure). Then
runs, as an admin on node1 would (a subprocess of ``bin/gnt-instance`` with
``GANETI_ROOT`` = node1's root), alternately ``--runs`` times each after
``--warmup`` unmeasured rounds:

* ``gnt-instance list``                    default fields; status and oper_ram
                                           ask every node for its running instances;
* ``gnt-instance list -o name,pnode,os``   configuration only, no node contacted.

The difference between the two is the cost of the node fan-out.

Run:  PYTHONPATH=/work/main python3 bench/instance_list.py [--instances 1000]
"""

import argparse
import os
import sys
import time
from typing import Dict, List

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _util import local_cluster, median, ms, percentile, print_json, verdict  # noqa: E402
from cli_latency import run_once  # noqa: E402

from ganeti_tw import daemon_util, luxi  # noqa: E402
from ganeti_tw.local_cluster import BIN_DIR, node_name  # noqa: E402

TARGET_S = 0.300
FINAL = {"success", "error", "canceled"}
LISTS = {"default fields": ["list"], "name,pnode,os": ["list", "-o", "name,pnode,os"]}


def create_op(index: int, nodes: int) -> dict:
    """OP_INSTANCE_CREATE of instance ``index``: diskless, started, on node index % nodes + 1."""
    return {"OP_ID": "OP_INSTANCE_CREATE", "instance_name": "i%04d" % index,
            "disk_template": "diskless", "disks": [], "os_type": "tiny",
            "pnode": node_name(index % nodes + 1), "name_check": False, "ip_check": False,
            "start": True}


def create_instances(socket_path: str, opts: argparse.Namespace) -> float:
    """Create the instances, at most ``opts.in_flight`` jobs unfinished at a time; seconds taken.

    A bounded window, as a batch of admins would, keeps the queue and the lock
    waiters from growing with the instance count.
    """
    client = luxi.Client(socket_path)
    start = time.monotonic()
    deadline = start + opts.timeout
    next_index = 0
    pending: List[str] = []
    try:
        while next_index < opts.instances or pending:
            while next_index < opts.instances and len(pending) < opts.in_flight:
                pending.append(client.submit_job([create_op(next_index, opts.nodes)]))
                next_index += 1
            rows = client.query_jobs(pending, ["id", "status", "opresult"])
            for job_id, status, result in (r for r in rows if r is not None):
                if status in ("error", "canceled"):
                    raise SystemExit("Job %s (OP_INSTANCE_CREATE) ended %s: %s"
                                     % (job_id, status, result))
            done = {r[0] for r in rows if r is not None and r[1] in FINAL}
            pending = [job_id for job_id in pending if job_id not in done]
            if time.monotonic() > deadline:
                raise SystemExit("Timed out: %d of %d instances created after %ds"
                                 % (next_index - len(pending), opts.instances, opts.timeout))
            if pending:
                time.sleep(opts.poll)
    finally:
        client.close()
    return time.monotonic() - start


def time_lists(env: Dict[str, str], opts: argparse.Namespace) -> "tuple[dict, dict]":
    """Seconds per list variant over the measured rounds, and each variant's last output."""
    gnt_instance = [sys.executable, os.path.join(BIN_DIR, "gnt-instance")]
    times: Dict[str, List[float]] = {label: [] for label in LISTS}
    outputs: Dict[str, str] = {}
    for rnd in range(opts.warmup + opts.runs):
        for label, args in LISTS.items():
            elapsed, proc = run_once(gnt_instance + args, env)
            if proc.returncode != 0:
                raise SystemExit("gnt-instance %s failed (exit %d):\n%s"
                                 % (" ".join(args), proc.returncode,
                                    (proc.stderr or proc.stdout).strip()))
            if rnd >= opts.warmup:
                times[label].append(elapsed)
            outputs[label] = proc.stdout
    return times, outputs


def run(opts: argparse.Namespace) -> dict:
    with local_cluster(opts.nodes, opts.base_ip, keep=opts.keep, quiet=False) as cluster:
        print("Creating %d instances (at most %d jobs in flight) ..."
              % (opts.instances, opts.in_flight), flush=True)
        create_s = create_instances(cluster.paths(1).master_socket, opts)
        print("Created in %.1f s" % create_s, flush=True)
        env = daemon_util.daemon_env()
        env["GANETI_ROOT"] = cluster.root(1)
        times, outputs = time_lists(env, opts)

    default_rows = outputs["default fields"].splitlines()[1:]
    running = sum(1 for line in default_rows if " running " in " %s " % line)
    print()
    print("Instance list: %d instances on %d nodes (fake hypervisor, diskless, started), "
          "%d runs each (+%d warm-up); the last default list showed %d rows, %d running"
          % (opts.instances, opts.nodes, opts.runs, opts.warmup, len(default_rows), running))
    print("  creation: %.1f s for %d OP_INSTANCE_CREATE jobs = %.1f jobs/s"
          % (create_s, opts.instances, opts.instances / create_s))
    print("  %-32s %9s %9s %9s %9s" % ("gnt-instance list", "median", "p90", "min", "max"))
    figures = {}
    for label in LISTS:
        values = times[label]
        med = median(values)
        line = "  %-32s %6.1f ms %6.1f ms %6.1f ms %6.1f ms" % (
            label, med * 1000, percentile(values, 90) * 1000, min(values) * 1000,
            max(values) * 1000)
        if label == "default fields":
            line += "   target <= %d ms  %s" % (TARGET_S * 1000, verdict(med <= TARGET_S))
        print(line)
        figures[label] = {"median_ms": ms(med), "p90_ms": ms(percentile(values, 90)),
                          "min_ms": ms(min(values)), "max_ms": ms(max(values))}
    fan_out = median(times["default fields"]) - median(times["name,pnode,os"])
    print("  node fan-out (default minus config-only medians): %+.1f ms" % (fan_out * 1000))
    return {"benchmark": "instance_list", "nodes": opts.nodes, "instances": opts.instances,
            "runs": opts.runs, "python": sys.executable, "lists": figures,
            "rows_shown": len(default_rows), "running_shown": running,
            "create_s": round(create_s, 3),
            "create_jobs_per_s": round(opts.instances / create_s, 2),
            "target_ms": TARGET_S * 1000,
            "meets_target": figures["default fields"]["median_ms"] <= TARGET_S * 1000}


def add_cluster_options(parser: argparse.ArgumentParser, base_ip: str) -> None:
    """The options of a benchmark on a cluster of many instances (also bench/rapi_latency.py)."""
    parser.add_argument("--instances", type=int, default=1000,
                        help="instances to create (default 1000)")
    parser.add_argument("--nodes", type=int, default=10, help="cluster size (default 10)")
    parser.add_argument("--in-flight", type=int, default=100,
                        help="most creation jobs unfinished at a time (default 100)")
    parser.add_argument("--base-ip", default=base_ip,
                        help="node i on BASE_IP<i> (default %s)" % base_ip)
    parser.add_argument("--poll", type=float, default=0.1,
                        help="QueryJobs poll interval in s while creating (default 0.1)")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="give up creating after this many s (default 1800)")
    parser.add_argument("--keep", action="store_true", help="keep the node roots afterwards")


def check_cluster_options(parser: argparse.ArgumentParser, opts: argparse.Namespace) -> None:
    if opts.instances < 1 or opts.in_flight < 1:
        parser.error("need --instances and --in-flight >= 1")
    if opts.instances > 4500:
        parser.error("--instances must be at most 4500 (the queue's hard limit is 5000 "
                     "unarchived jobs)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_cluster_options(parser, "127.0.13.")
    parser.add_argument("--runs", type=int, default=20, help="measured runs each (default 20)")
    parser.add_argument("--warmup", type=int, default=2,
                        help="unmeasured rounds first (default 2)")
    opts = parser.parse_args()
    check_cluster_options(parser, opts)
    if opts.runs < 1 or opts.warmup < 0:
        parser.error("need --runs >= 1 and --warmup >= 0")
    print_json(run(opts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
