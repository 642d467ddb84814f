#!/usr/bin/env python3
"""Instance lifecycle: wall time of gnt-instance add, startup, shutdown, remove (fake hypervisor).

Against a 3-node local cluster, for each disk template (``diskless``, and
``file`` with one 64 MiB disk) runs, as an admin on node1 would
(``GANETI_ROOT`` = node1's root, a subprocess of ``bin/gnt-instance``):

* ``add --no-name-check --no-ip-check --no-install --no-start -o tiny -t T [-s 64m] -n node2``
* ``startup``, ``shutdown``, ``remove -f``

one instance at a time, ``--runs`` rounds after ``--warmup`` unmeasured ones,
and prints median, min and max per (template, command) and the sum of the
medians: what one full lifecycle costs an admin. Each figure is the whole
command: interpreter start-up, job submission, the logical unit's RPCs to
node2 and the CLI's polling until the job ends.

Run:  PYTHONPATH=/work/main python3 bench/instance_lifecycle.py [--runs 5]
"""

import argparse
import os
import sys
from typing import Dict, List, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _util import local_cluster, median, ms, print_json, verdict  # noqa: E402
from cli_latency import run_once  # noqa: E402

from ganeti_tw import daemon_util  # noqa: E402
from ganeti_tw.local_cluster import BIN_DIR  # noqa: E402

TARGET_S = 0.150
TEMPLATES = ("diskless", "file")
COMMANDS = ("add", "startup", "shutdown", "remove")
REFERENCE = "Ganeti 3.0.2 on this kind of machine: 800-1200 ms each, about 4 s in total"


def lifecycle(template: str, name: str) -> List[Tuple[str, List[str]]]:
    """(command, gnt-instance arguments) of one instance's life, in order."""
    disk = ["-s", "64m"] if template == "file" else []
    return [
        ("add", ["add", "--no-name-check", "--no-ip-check", "--no-install", "--no-start",
                 "-o", "tiny", "-t", template] + disk + ["-n", "node2", name]),
        ("startup", ["startup", name]),
        ("shutdown", ["shutdown", name]),
        ("remove", ["remove", "-f", name]),
    ]


def measure(env: Dict[str, str], opts: argparse.Namespace) -> Dict[str, Dict[str, List[float]]]:
    """Seconds per template and command over the measured rounds.

    Rounds are the outer loop so drifting machine load hits every command alike.
    """
    gnt_instance = [sys.executable, os.path.join(BIN_DIR, "gnt-instance")]
    times: Dict[str, Dict[str, List[float]]] = {t: {c: [] for c in COMMANDS} for t in TEMPLATES}
    for rnd in range(opts.warmup + opts.runs):
        for template in TEMPLATES:
            for command, args in lifecycle(template, "bench-%s-%d" % (template, rnd)):
                elapsed, proc = run_once(gnt_instance + args, env)
                if proc.returncode != 0:
                    raise SystemExit("gnt-instance %s failed (exit %d):\n%s"
                                     % (" ".join(args), proc.returncode,
                                        (proc.stderr or proc.stdout).strip()))
                if rnd >= opts.warmup:
                    times[template][command].append(elapsed)
    return times


def report(times: Dict[str, Dict[str, List[float]]], opts: argparse.Namespace) -> dict:
    print()
    print("Instance lifecycle on the fake hypervisor: %d runs each (+%d warm-up), %d-node "
          "cluster, instances on node2" % (opts.runs, opts.warmup, opts.nodes))
    print("  %-10s %-9s %9s %9s %9s" % ("template", "command", "median", "min", "max"))
    figures: dict = {}
    all_ok = True
    for template in TEMPLATES:
        per_command: dict = {}
        for command in COMMANDS:
            values = times[template][command]
            med = median(values)
            ok = med <= TARGET_S
            all_ok = all_ok and ok
            print("  %-10s %-9s %6.1f ms %6.1f ms %6.1f ms   target <= %d ms  %s"
                  % (template, command, med * 1000, min(values) * 1000, max(values) * 1000,
                     TARGET_S * 1000, verdict(ok)))
            per_command[command] = {"median_ms": ms(med), "min_ms": ms(min(values)),
                                    "max_ms": ms(max(values))}
        total = sum(median(times[template][c]) for c in COMMANDS)
        print("  %-10s %-9s %6.1f ms   (sum of medians: one full lifecycle)"
              % (template, "total", total * 1000))
        figures[template] = {"commands": per_command, "sum_of_medians_ms": ms(total)}
    print("  For reference, %s." % REFERENCE)
    return {"benchmark": "instance_lifecycle", "nodes": opts.nodes, "runs": opts.runs,
            "warmup": opts.warmup, "python": sys.executable, "templates": figures,
            "target_ms": TARGET_S * 1000, "reference": REFERENCE, "meets_target": all_ok}


def run(opts: argparse.Namespace) -> dict:
    with local_cluster(opts.nodes, opts.base_ip, keep=opts.keep, quiet=False) as cluster:
        env = daemon_util.daemon_env()
        env["GANETI_ROOT"] = cluster.root(1)
        times = measure(env, opts)
    return report(times, opts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured rounds (default 5)")
    parser.add_argument("--warmup", type=int, default=1,
                        help="unmeasured rounds first (default 1)")
    parser.add_argument("--nodes", type=int, default=3,
                        help="cluster size, at least 2: instances go to node2 (default 3)")
    parser.add_argument("--base-ip", default="127.0.12.",
                        help="node i on BASE_IP<i> (default 127.0.12.)")
    parser.add_argument("--keep", action="store_true", help="keep the node roots afterwards")
    opts = parser.parse_args()
    if opts.runs < 1 or opts.warmup < 0:
        parser.error("need --runs >= 1 and --warmup >= 0")
    if opts.nodes < 2:
        parser.error("--nodes must be at least 2")
    print_json(run(opts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
