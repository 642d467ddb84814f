#!/usr/bin/env python3
"""Node RPC fan-out: wall time of one RpcClient.call(nodes, "version", []) to 1, 5, 20 nodes.

Starts a local cluster (20 nodes by default), then, in this process and on
the Twisted reactor, builds an ``RpcClient`` the way masterd's context does:
node1's paths (so it presents node1's certificate, a master candidate's) and
a resolver from node1's ``config.data`` (primary IP, cluster noded port).

For each fan-out size k (nodes node1..nodek):

* cold: a fresh RpcClient, so the call loads the TLS context and makes a PB
  connection (TCP + mutual TLS handshake) to each of the k nodes; median over
  ``--cold-runs`` fresh clients;
* warm: ``--calls`` more calls on the same client, connections established;
  median, min, max;
* sequential: the k nodes called one after the other (warm), for comparison.

Run:  PYTHONPATH=/work/main python3 bench/rpc_fanout.py [--nodes 20] [--sizes 1,5,20]
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _util import local_cluster, median, ms, print_json, verdict  # noqa: E402

from ganeti_tw.config import ConfigWriter  # noqa: E402

TARGET_RATIO = 2.0
CPU: list = []  # CPU time of this (the calling) process per timed call, appended in order


def make_client(cluster, reactor):
    """An RpcClient as masterd builds one (GanetiContext), as node1."""
    from ganeti_tw.rpc.client import RpcClient
    paths = cluster.paths(1)
    cfg = ConfigWriter(paths.config_file)

    def resolver(name):
        node = cfg.get_node(name)
        if node is None:
            raise KeyError(name)
        return node.primary_ip, cfg.cluster.noded_port

    def is_offline(name):
        node = cfg.get_node(name)
        return node is not None and node.offline

    return RpcClient(paths, resolver, is_offline, reactor), cfg


async def timed_call(client, nodes, timeout, procedure="version", args=()):
    start = time.perf_counter()
    cpu_start = time.process_time()
    results = await client.call(nodes, procedure, list(args), timeout=timeout)
    elapsed = time.perf_counter() - start
    CPU.append(time.process_time() - cpu_start)
    failed = {n: r.fail_msg for n, r in results.items() if r.failed}
    if failed:
        raise RuntimeError("%s failed on %d nodes: %s" % (procedure, len(failed), failed))
    return elapsed


async def settle(reactor, seconds=0.1):
    from twisted.internet import task
    await task.deferLater(reactor, seconds, lambda: None)


async def measure(reactor, cluster, opts, out):
    cfg = ConfigWriter(cluster.paths(1).config_file)
    names = sorted(cfg.node_names(), key=lambda n: int(n[4:]))
    sizes = [k for k in opts.sizes if k <= len(names)]
    for k in opts.sizes:
        if k > len(names):
            print("skipping fan-out %d: the cluster has %d nodes" % (k, len(names)))
    for k in sizes:
        nodes = names[:k]
        cold = []
        for _ in range(opts.cold_runs):
            fresh, _ = make_client(cluster, reactor)
            cold.append(await timed_call(fresh, nodes, opts.timeout))
            fresh.disconnect_all()
            await settle(reactor)
        # warm: one client, connections up (the first call makes them, not counted)
        warm_client, _ = make_client(cluster, reactor)
        await timed_call(warm_client, nodes, opts.timeout)
        for _ in range(opts.warmup):
            await timed_call(warm_client, nodes, opts.timeout)
        del CPU[:]
        warm = [await timed_call(warm_client, nodes, opts.timeout) for _ in range(opts.calls)]
        warm_cpu = list(CPU)
        delayed = []
        if opts.delay > 0:
            for _ in range(opts.delay_calls):
                delayed.append(await timed_call(warm_client, nodes, opts.timeout + opts.delay,
                                                "test_delay", [opts.delay]))
        sequential = []
        for _ in range(max(3, opts.calls // 4)):
            start = time.perf_counter()
            for node in nodes:
                result = await warm_client.call_one(node, "version", [], timeout=opts.timeout)
                if result.failed:
                    raise RuntimeError("version failed on %s: %s" % (node, result.fail_msg))
            sequential.append(time.perf_counter() - start)
        warm_client.disconnect_all()
        await settle(reactor)
        out[k] = {"cold": cold, "warm": warm, "sequential": sequential, "warm_cpu": warm_cpu,
                  "delayed": delayed}
        print("  fan-out %2d: cold %.1f ms, warm median %.2f ms" %
              (k, median(cold) * 1000, median(warm) * 1000), flush=True)


def run_reactor(cluster, opts) -> dict:
    from twisted.internet import defer, reactor
    out: dict = {}
    failure = []

    def start():
        d = defer.ensureDeferred(measure(reactor, cluster, opts, out))
        d.addErrback(failure.append)
        d.addBoth(lambda _: reactor.stop())

    reactor.callWhenRunning(start)
    reactor.run(installSignalHandlers=False)
    if failure:
        failure[0].raiseException()
    return out


def run(opts: argparse.Namespace) -> dict:
    started = time.monotonic()
    with local_cluster(opts.nodes, opts.base_ip, keep=opts.keep, quiet=False) as cluster:
        startup = time.monotonic() - started
        print("Measuring (%d cold runs, %d warm calls per size) ..."
              % (opts.cold_runs, opts.calls), flush=True)
        out = run_reactor(cluster, opts)

    print()
    print("RPC fan-out of 'version' from node1's RpcClient, %d-node cluster (up in %.0f s)"
          % (opts.nodes, startup))
    print("  %-7s %10s %12s %10s %10s %13s %12s" % (
        "nodes", "cold", "warm median", "warm min", "warm max", "sequential", "caller CPU"))
    figures = {}
    for k, data in sorted(out.items()):
        warm = data["warm"]
        figures[str(k)] = {"cold_median_ms": ms(median(data["cold"])),
                           "cold_all_ms": [ms(x) for x in data["cold"]],
                           "warm_median_ms": ms(median(warm)), "warm_min_ms": ms(min(warm)),
                           "warm_max_ms": ms(max(warm)),
                           "sequential_median_ms": ms(median(data["sequential"])),
                           "warm_caller_cpu_median_ms": ms(median(data["warm_cpu"])),
                           "test_delay_median_ms": ms(median(data["delayed"]))}
        print("  %-7d %7.1f ms %9.2f ms %7.2f ms %7.2f ms %10.2f ms %9.2f ms" % (
            k, median(data["cold"]) * 1000, median(warm) * 1000, min(warm) * 1000,
            max(warm) * 1000, median(data["sequential"]) * 1000,
            median(data["warm_cpu"]) * 1000))
    print("  (caller CPU: median CPU time of this process during one warm call; "
          "sequential: the nodes called one after the other)")
    if opts.delay > 0:
        print("  test_delay(%g s), warm, median of %d: %s" % (opts.delay, opts.delay_calls, ", ".join(
            "%d nodes %.1f ms (+%.1f)" % (k, median(d["delayed"]) * 1000,
                                          (median(d["delayed"]) - opts.delay) * 1000)
            for k, d in sorted(out.items()))))
    result = {"benchmark": "rpc_fanout", "delay_s": opts.delay, "nodes": opts.nodes, "calls": opts.calls,
              "cold_runs": opts.cold_runs, "sizes": figures, "target_ratio": TARGET_RATIO}
    if 1 in out and len(out) > 1:
        largest = max(out)
        one = median(out[1]["warm"])
        ratio = median(out[largest]["warm"]) / one
        cold_ratio = median(out[largest]["cold"]) / median(out[1]["cold"])
        print("  warm %d nodes / 1 node: %.2fx   target <= %.1fx   %s"
              % (largest, ratio, TARGET_RATIO, verdict(ratio <= TARGET_RATIO)))
        print("  cold %d nodes / 1 node: %.2fx" % (largest, cold_ratio))
        result.update({"warm_ratio_largest_to_1": round(ratio, 3),
                       "cold_ratio_largest_to_1": round(cold_ratio, 3),
                       "largest": largest, "meets_target": ratio <= TARGET_RATIO})
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=20, help="cluster size (default 20)")
    parser.add_argument("--sizes", default="1,5,20",
                        help="fan-out sizes, comma-separated (default 1,5,20)")
    parser.add_argument("--calls", type=int, default=20,
                        help="warm calls measured per size (default 20)")
    parser.add_argument("--warmup", type=int, default=3,
                        help="unmeasured warm calls per size (default 3)")
    parser.add_argument("--cold-runs", type=int, default=3,
                        help="fresh clients (cold calls) per size (default 3)")
    parser.add_argument("--delay", type=float, default=0.05,
                        help="also time test_delay(DELAY) per size, to see fan-out when the "
                             "node side takes time; 0 to skip (default 0.05)")
    parser.add_argument("--delay-calls", type=int, default=5,
                        help="test_delay calls per size (default 5)")
    parser.add_argument("--timeout", type=float, default=30, help="RPC timeout in s")
    parser.add_argument("--base-ip", default="127.0.7.",
                        help="node i on BASE_IP<i> (default 127.0.7.)")
    parser.add_argument("--keep", action="store_true", help="keep the node roots afterwards")
    opts = parser.parse_args()
    try:
        opts.sizes = sorted({int(x) for x in opts.sizes.split(",") if x.strip()})
    except ValueError:
        parser.error("--sizes must be comma-separated integers")
    if not opts.sizes or min(opts.sizes) < 1 or opts.calls < 1 or opts.cold_runs < 1:
        parser.error("sizes, --calls and --cold-runs must be positive")
    print_json(run(opts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
