#!/usr/bin/env python3
"""CLI latency: wall time of gnt-* commands run as subprocesses, against interpreter start-up.

Against a local cluster (3 nodes by default), runs each command ``--runs``
times as an admin on node1 would (``GANETI_ROOT`` = node1's root, the
interpreter running this script) and prints median, min and max:

* ``python3 -c pass``          the floor: interpreter start-up alone;
* ``python3 -c 'import ...'``  start-up plus importing the CLI modules (no I/O);
* ``gnt-cluster getmaster``    reads ssconf, no daemon involved;
* ``gnt-job list``             one LUXI QueryJobs round trip to masterd.

Our overhead is the difference to the first line. The commands run one after
the other in rounds (so drifting machine load hits all of them alike), after
``--warmup`` unmeasured rounds.

Run:  PYTHONPATH=/work/main python3 bench/cli_latency.py [--runs 20]
"""

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _util import local_cluster, median, ms, print_json, verdict  # noqa: E402

from ganeti_tw import daemon_util, luxi  # noqa: E402
from ganeti_tw.local_cluster import BIN_DIR  # noqa: E402

TARGET_S = 0.080
CLI_MODULES = "ganeti_tw.cli.cluster, ganeti_tw.cli.job"


def commands() -> list:
    """(label, argv, is_gnt) in the order they are run each round."""
    py = sys.executable
    return [
        ("python3 -c pass", [py, "-c", "pass"], False),
        ("python3 -c 'import cli modules'", [py, "-c", "import %s" % CLI_MODULES], False),
        ("gnt-cluster getmaster", [py, os.path.join(BIN_DIR, "gnt-cluster"), "getmaster"], True),
        ("gnt-job list", [py, os.path.join(BIN_DIR, "gnt-job"), "list"], True),
    ]


def run_once(argv: list, env: dict) -> "tuple[float, subprocess.CompletedProcess]":
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    return time.perf_counter() - start, proc


def twisted_imported(env: dict) -> bool:
    """Does importing the CLI modules drag Twisted in? (DESIGN: it must not)."""
    proc = subprocess.run([sys.executable, "-c", "import sys, %s; print(any(m == 'twisted' or "
                           "m.startswith('twisted.') for m in sys.modules))" % CLI_MODULES],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc.stdout.strip() == "True"


def run(opts: argparse.Namespace) -> dict:
    with local_cluster(opts.nodes, opts.base_ip, keep=opts.keep, quiet=False) as cluster:
        env = daemon_util.daemon_env()
        env["GANETI_ROOT"] = cluster.root(1)
        if opts.jobs:
            client = luxi.Client(cluster.paths(1).master_socket)
            for _ in range(opts.jobs):
                client.submit_job([{"OP_ID": "OP_TEST_DELAY", "duration": 0,
                                    "on_master": True, "on_nodes": []}])
            client.close()
            time.sleep(0.5)
        cmds = commands()
        times = {label: [] for label, _, _ in cmds}
        outputs = {}
        for rnd in range(opts.warmup + opts.runs):
            for label, argv, _ in cmds:
                elapsed, proc = run_once(argv, env)
                if proc.returncode != 0:
                    raise SystemExit("%s failed (exit %d): %s"
                                     % (label, proc.returncode, proc.stderr.strip()))
                if rnd >= opts.warmup:
                    times[label].append(elapsed)
                outputs[label] = proc.stdout
        job_lines = max(0, len(outputs["gnt-job list"].splitlines()) - 1)
        master = outputs["gnt-cluster getmaster"].strip()
        pulls_twisted = twisted_imported(env)

    base = median(times["python3 -c pass"])
    print()
    print("CLI latency: %d runs each (+%d warm-up), %d-node cluster; getmaster said %r, "
          "gnt-job list showed %d jobs" % (opts.runs, opts.warmup, opts.nodes, master, job_lines))
    print("  %-34s %9s %9s %9s %11s" % ("command", "median", "min", "max", "over base"))
    figures = {}
    for label, _, is_gnt in cmds:
        values = times[label]
        med = median(values)
        line = "  %-34s %7.1f ms %6.1f ms %6.1f ms %+8.1f ms" % (
            label, med * 1000, min(values) * 1000, max(values) * 1000, (med - base) * 1000)
        if is_gnt:
            line += "   target <= %d ms  %s" % (TARGET_S * 1000, verdict(med <= TARGET_S))
        print(line)
        figures[label] = {"median_ms": ms(med), "min_ms": ms(min(values)),
                          "max_ms": ms(max(values)), "over_baseline_ms": ms(med - base)}
    print("  CLI modules import Twisted: %s" % ("YES (DESIGN says they must not)"
                                                 if pulls_twisted else "no"))
    return {"benchmark": "cli_latency", "nodes": opts.nodes, "runs": opts.runs,
            "python": sys.executable, "commands": figures, "target_ms": TARGET_S * 1000,
            "cli_imports_twisted": pulls_twisted,
            "meets_target": all(figures[label]["median_ms"] <= TARGET_S * 1000
                                for label, _, is_gnt in cmds if is_gnt)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="measured runs each (default 20)")
    parser.add_argument("--warmup", type=int, default=2,
                        help="unmeasured rounds first (default 2)")
    parser.add_argument("--nodes", type=int, default=3, help="cluster size (default 3)")
    parser.add_argument("--jobs", type=int, default=0,
                        help="OP_TEST_DELAY jobs to queue first, so gnt-job list has rows "
                             "(default 0)")
    parser.add_argument("--base-ip", default="127.0.7.",
                        help="node i on BASE_IP<i> (default 127.0.7.)")
    parser.add_argument("--keep", action="store_true", help="keep the node roots afterwards")
    opts = parser.parse_args()
    if opts.runs < 1:
        parser.error("--runs must be at least 1")
    print_json(run(opts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
