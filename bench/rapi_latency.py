#!/usr/bin/env python3
"""RAPI latency: median and p99 of GET /2/info, /2/nodes?bulk=1, /2/instances?bulk=1.

Starts a 10-node local cluster (ganeti-rapi runs on node1 over HTTPS), creates
1000 diskless instances on the fake hypervisor as bench/instance_list.py does
(OP_INSTANCE_CREATE jobs through LUXI, a bounded number in flight), then sends
``--requests`` sequential GETs of each resource on one keep-alive HTTPS
connection, after ``--warmup`` unmeasured ones. Each time is from sending the
request to having read and decoded the whole JSON answer.

Targets: /2/info <= 5 ms, bulk lists <= 60 ms (median).

Run:  PYTHONPATH=/work/main python3 bench/rapi_latency.py [--instances 1000]
"""

import argparse
import http.client
import json
import os
import ssl
import sys
import time
from typing import Dict, List

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _util import local_cluster, median, ms, percentile, print_json, verdict  # noqa: E402
from instance_list import (add_cluster_options, check_cluster_options,  # noqa: E402
                           create_instances)

from ganeti_tw import constants as C  # noqa: E402

RESOURCES = {"/2/info": 0.005, "/2/nodes?bulk=1": 0.060, "/2/instances?bulk=1": 0.060}


def time_gets(host: str, opts: argparse.Namespace) -> "tuple[Dict[str, List[float]], dict]":
    """Seconds per request of each resource, and the size of each last answer."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection(host, C.RAPI_PORT, timeout=60, context=context)
    times: Dict[str, List[float]] = {path: [] for path in RESOURCES}
    sizes = {}
    try:
        for path in RESOURCES:
            for index in range(opts.warmup + opts.requests):
                start = time.perf_counter()
                conn.request("GET", path, headers={"Accept": "application/json"})
                response = conn.getresponse()
                body = response.read()
                data = json.loads(body)
                elapsed = time.perf_counter() - start
                if response.status != 200:
                    raise SystemExit("GET %s: %d %s" % (path, response.status, data))
                if index >= opts.warmup:
                    times[path].append(elapsed)
                sizes[path] = {"bytes": len(body),
                               "items": len(data) if isinstance(data, list) else None}
    finally:
        conn.close()
    return times, sizes


def run(opts: argparse.Namespace) -> dict:
    with local_cluster(opts.nodes, opts.base_ip, keep=opts.keep, quiet=False) as cluster:
        print("Creating %d instances (at most %d jobs in flight) ..."
              % (opts.instances, opts.in_flight), flush=True)
        create_s = create_instances(cluster.paths(1).master_socket, opts)
        print("Created in %.1f s" % create_s, flush=True)
        times, sizes = time_gets(cluster.ip(1), opts)

    print()
    print("RAPI latency: %d nodes, %d instances (fake hypervisor, diskless, started), "
          "%d sequential GETs each on one keep-alive HTTPS connection (+%d warm-up)"
          % (opts.nodes, opts.instances, opts.requests, opts.warmup))
    print("  %-22s %9s %9s %9s %9s %10s" % ("resource", "median", "p99", "min", "max",
                                           "answer"))
    figures = {}
    for path, target in RESOURCES.items():
        values = times[path]
        med, p99 = median(values), percentile(values, 99)
        print("  %-22s %6.1f ms %6.1f ms %6.1f ms %6.1f ms %8d B   target <= %d ms  %s"
              % (path, med * 1000, p99 * 1000, min(values) * 1000, max(values) * 1000,
                 sizes[path]["bytes"], target * 1000, verdict(med <= target)))
        figures[path] = {"median_ms": ms(med), "p99_ms": ms(p99), "min_ms": ms(min(values)),
                         "max_ms": ms(max(values)), "answer_bytes": sizes[path]["bytes"],
                         "items": sizes[path]["items"], "target_ms": target * 1000,
                         "meets_target": med <= target}
    return {"benchmark": "rapi_latency", "nodes": opts.nodes, "instances": opts.instances,
            "requests": opts.requests, "python": sys.executable, "resources": figures,
            "create_s": round(create_s, 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_cluster_options(parser, "127.0.20.")
    parser.add_argument("--requests", type=int, default=200,
                        help="measured GETs per resource (default 200)")
    parser.add_argument("--warmup", type=int, default=5,
                        help="unmeasured GETs per resource first (default 5)")
    opts = parser.parse_args()
    check_cluster_options(parser, opts)
    if opts.requests < 1 or opts.warmup < 0:
        parser.error("need --requests >= 1 and --warmup >= 0")
    print_json(run(opts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
