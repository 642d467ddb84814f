#!/usr/bin/env python3
"""Job queue throughput: many LUXI clients submitting OP_TEST_DELAY(0) jobs.

A local cluster (3 nodes by default, all master candidates, so every job
file write is replicated to two candidates) gets ``--jobs`` jobs from
``--clients`` threads, each with its own LUXI connection and submitting its
share one job after the other. We wait until every job is finalized, then
read the queue's own timestamps back:

* throughput: jobs / (last job's end_ts - first client's submit call start);
* queued->running latency: per job, ``opexec[0] - received_ts``, from the
  moment the job was received to the moment its (only) opcode started
  running (locks held; the queue records it as the opcode's exec_timestamp);
  ``opstart`` (left ``queued`` for ``waiting``) is reported too;
* submit latency: wall time of ``SubmitJob`` as seen by each client (the
  master answers once the job file is durable here and on the candidates).

Run:  PYTHONPATH=/work/main python3 bench/job_throughput.py [--jobs 1000] [--clients 10]
"""

import argparse
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _util import (daemon_cpu, disk_probe, fmt_ms, local_cluster, ms, percentile, print_json,  # noqa: E402
                   summary, verdict)

from ganeti_tw import luxi  # noqa: E402
from ganeti_tw.config import ConfigWriter  # noqa: E402
from ganeti_tw.jqueue.job import ts_float  # noqa: E402

FINAL = {"success", "error", "canceled"}
TARGET_JOBS_PER_S = 300.0
TARGET_P99_S = 0.100
WRITES_PER_JOB = 3  # job file commits per single-opcode job whose locks are free
#                     (queue.py: submit; waiting+running in one write; end)


def test_delay_op() -> dict:
    return {"OP_ID": "OP_TEST_DELAY", "duration": 0, "on_master": True, "on_nodes": []}


def submitter(socket_path: str, count: int, barrier: threading.Barrier,
              out: dict, index: int) -> None:
    """One client: ``count`` SubmitJob calls in a row on its own connection."""
    client = luxi.Client(socket_path)
    ids, latencies = [], []
    first_start = None
    error = None
    try:
        client._connect()  # connect before the clock starts
        barrier.wait()
        for _ in range(count):
            start_wall = time.time()
            start = time.perf_counter()
            job_id = client.submit_job([test_delay_op()])
            latencies.append(time.perf_counter() - start)
            if first_start is None:
                first_start = start_wall
            ids.append(job_id)
    except Exception as err:  # reported, the benchmark goes on with what it has
        error = "%s: %s" % (type(err).__name__, err)
    finally:
        client.close()
        out[index] = {"ids": ids, "latencies": latencies, "first_start": first_start,
                      "done": time.time(), "error": error}


def wait_all_final(socket_path: str, ids: list, timeout: float, interval: float) -> float:
    """Poll QueryJobs until every job is finalized; returns the wall time seen."""
    client = luxi.Client(socket_path)
    deadline = time.monotonic() + timeout
    try:
        while True:
            rows = client.query_jobs(ids, ["id", "status"])
            pending = [r for r in rows if r is None or r[1] not in FINAL]
            if not pending:
                return time.time()
            if time.monotonic() > deadline:
                raise SystemExit("Timed out: %d of %d jobs not finalized after %ds"
                                 % (len(pending), len(ids), timeout))
            time.sleep(interval)
    finally:
        client.close()


def measure_round(cluster, sock: str, opts: argparse.Namespace) -> dict:
    """One round: ``opts.jobs`` jobs from ``opts.clients`` clients; raw figures."""
    shares = [opts.jobs // opts.clients + (1 if i < opts.jobs % opts.clients else 0)
              for i in range(opts.clients)]
    barrier = threading.Barrier(opts.clients)
    out: dict = {}
    threads = [threading.Thread(target=submitter, args=(sock, shares[i], barrier, out, i),
                                daemon=True) for i in range(opts.clients)]
    print("Submitting %d jobs from %d clients ..." % (opts.jobs, opts.clients), flush=True)
    cpu_before = daemon_cpu(cluster)
    wall_before = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    errors_seen = [r["error"] for r in out.values() if r["error"]]
    for err in errors_seen:
        print("client error: %s" % err)
    ids = [job_id for r in out.values() for job_id in r["ids"]]
    if not ids:
        raise SystemExit("No job was submitted")
    submit_lat = [x for r in out.values() for x in r["latencies"]]
    first_submit = min(r["first_start"] for r in out.values() if r["first_start"])
    submit_done = max(r["done"] for r in out.values())
    seen_final = wait_all_final(sock, ids, opts.timeout, opts.poll)
    cpu_wall = time.monotonic() - wall_before
    cpu_after = daemon_cpu(cluster)

    client = luxi.Client(sock)
    rows = client.query_jobs(ids, ["id", "status", "received_ts", "start_ts", "end_ts",
                                   "opstart", "opend", "oplog", "opexec"])
    client.close()

    rows = [r for r in rows if r is not None]
    statuses: dict = {}
    for r in rows:
        statuses[r[1]] = statuses.get(r[1], 0) + 1
    queue_lat = [ts_float(r[8][0]) - ts_float(r[2]) for r in rows if r[8] and r[8][0]]
    wait_lat = [ts_float(r[5][0]) - ts_float(r[2]) for r in rows if r[5] and r[5][0]]
    run_lat = [ts_float(r[4]) - ts_float(r[5][0]) for r in rows
               if r[4] and r[5] and r[5][0]]
    total_lat = [ts_float(r[4]) - ts_float(r[2]) for r in rows if r[4]]
    last_end = max(ts_float(r[4]) for r in rows if r[4])
    elapsed = last_end - first_submit
    cpu = {name: round(cpu_after[name] - cpu_before[name], 2) for name in cpu_after
           if cpu_after.get(name) is not None and cpu_before.get(name) is not None}
    return {"rows": rows, "statuses": statuses, "errors": errors_seen,
            "queue_lat": queue_lat, "wait_lat": wait_lat, "run_lat": run_lat, "total_lat": total_lat,
            "submit_lat": submit_lat, "elapsed": elapsed,
            "jobs_per_s": len(rows) / elapsed if elapsed > 0 else None,
            "submit_rate": len(submit_lat) / (submit_done - first_submit),
            "submit_phase": submit_done - first_submit,
            "first_received_delay": min(ts_float(r[2]) for r in rows) - first_submit,
            "log_entries": sum(len(log) for r in rows for log in (r[7] or [])),
            "cpu": cpu, "cpu_wall": cpu_wall, "poll_lag": seen_final - last_end}


def report_round(res: dict, opts: argparse.Namespace, candidates: int, disk: float) -> dict:
    queue_lat, submit_lat = res["queue_lat"], res["submit_lat"]
    jobs_per_s = res["jobs_per_s"]
    q50, q99 = percentile(queue_lat, 50), percentile(queue_lat, 99)
    print()
    print("Job throughput: %d nodes (%d candidates), %d clients, %d jobs (OP_TEST_DELAY 0)"
          % (opts.nodes, candidates, opts.clients, len(res["rows"])))
    print("  statuses:            %s" % ", ".join("%s=%d" % kv
                                                   for kv in sorted(res["statuses"].items())))
    print("  elapsed:             %.2f s  (first submit -> last end_ts)" % res["elapsed"])
    print("  throughput:          %.1f jobs/s   target >= %d   %s"
          % (jobs_per_s, TARGET_JOBS_PER_S, verdict(jobs_per_s >= TARGET_JOBS_PER_S)))
    print("  submit rate:         %.1f jobs/s  (submit phase only, %.2f s)"
          % (res["submit_rate"], res["submit_phase"]))
    print("  queued->running p50: %s  p99: %s   target p99 <= %d ms   %s"
          % (fmt_ms(q50), fmt_ms(q99), TARGET_P99_S * 1000, verdict(q99 <= TARGET_P99_S)))
    print("    (opexec[0] - received_ts; queued->waiting, opstart[0] - received_ts: "
          "p50 %s  p99 %s)" % (fmt_ms(percentile(res["wait_lat"], 50)),
                              fmt_ms(percentile(res["wait_lat"], 99))))
    print("  opstart->end_ts p50: %s  p99: %s  (locks, running, final commit)"
          % (fmt_ms(percentile(res["run_lat"], 50)), fmt_ms(percentile(res["run_lat"], 99))))
    print("  received->end   p50: %s  p99: %s"
          % (fmt_ms(percentile(res["total_lat"], 50)), fmt_ms(percentile(res["total_lat"], 99))))
    print("  submit latency  p50: %s  p99: %s  max: %s  (SubmitJob round trip at the client)"
          % (fmt_ms(percentile(submit_lat, 50)), fmt_ms(percentile(submit_lat, 99)),
             fmt_ms(max(submit_lat) if submit_lat else None)))
    print("  daemon CPU (%.2f s wall): %s" % (res["cpu_wall"], ", ".join(
        "%s %.2f s (%.0f%%)" % (name, sec, 100 * sec / res["cpu_wall"])
        for name, sec in sorted(res["cpu"].items()))))
    print("  disk probe %.2f ms per durable file write (idle disk); each job's file is written "
          "%d times on the master, serially in one thread: idle-disk bound ~%.0f jobs/s"
          % (disk * 1000, WRITES_PER_JOB, 1 / (WRITES_PER_JOB * disk)))
    print("  all final seen by the poller %.2f s after the last end_ts" % res["poll_lag"])
    return {"jobs": len(res["rows"]), "statuses": res["statuses"],
            "client_errors": res["errors"], "elapsed_s": round(res["elapsed"], 4),
            "jobs_per_s": round(jobs_per_s, 2) if jobs_per_s else None,
            "submit_phase_jobs_per_s": round(res["submit_rate"], 2),
            "first_submit_to_first_received_ms": ms(res["first_received_delay"]),
            "queued_to_running": summary(queue_lat),
            "queued_to_waiting": summary(res["wait_lat"]),
            "opstart_to_end": summary(res["run_lat"]),
            "received_to_end": summary(res["total_lat"]),
            "submit_latency": summary(submit_lat),
            "daemon_cpu_s": res["cpu"], "cpu_wall_s": round(res["cpu_wall"], 3),
            "meets_throughput": bool(jobs_per_s and jobs_per_s >= TARGET_JOBS_PER_S),
            "meets_p99": bool(q99 is not None and q99 <= TARGET_P99_S)}


def run(opts: argparse.Namespace) -> dict:
    disk = disk_probe()
    print("Disk probe: one atomic small-file write (create, write, fsync, rename) in /tmp: "
          "median %.2f ms" % (disk * 1000))
    rounds = []
    with local_cluster(opts.nodes, opts.base_ip, keep=opts.keep, quiet=False) as cluster:
        paths = cluster.paths(1)
        candidates = ConfigWriter(paths.config_file).candidates()
        print("Master candidates: %d (%s)" % (len(candidates), ", ".join(candidates)))
        sock = paths.master_socket
        if opts.warmup:
            warm = luxi.Client(sock)
            warm_ids = [warm.submit_job([test_delay_op()]) for _ in range(opts.warmup)]
            warm.close()
            wait_all_final(sock, warm_ids, opts.timeout, 0.05)
            print("Warm-up: %d jobs done" % len(warm_ids))
        for number in range(opts.rounds):
            if opts.rounds > 1:
                print("\n--- round %d of %d" % (number + 1, opts.rounds))
            rounds.append(report_round(measure_round(cluster, sock, opts), opts,
                                       len(candidates), disk))
    figures = {"benchmark": "job_throughput", "nodes": opts.nodes,
               "candidates": len(candidates), "clients": opts.clients,
               "disk_write_ms": ms(disk),
               "latency_definition": "opexec[0]-received_ts",
               "target_jobs_per_s": TARGET_JOBS_PER_S, "target_p99_ms": TARGET_P99_S * 1000}
    if opts.rounds > 1:
        rates = [r["jobs_per_s"] for r in rounds]
        print("\nRounds: %s jobs/s; the JSON line's top-level figures are the median round's"
              % ", ".join("%.1f" % x for x in rates))
        figures["rounds"] = rounds
        figures["jobs_per_s_all_rounds"] = rates
    ordered = sorted(rounds, key=lambda r: r["jobs_per_s"] or 0)
    figures.update(ordered[(len(ordered) - 1) // 2])
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=1000, help="jobs in total (default 1000)")
    parser.add_argument("--clients", type=int, default=10,
                        help="concurrent LUXI clients (default 10)")
    parser.add_argument("--nodes", type=int, default=3, help="cluster size (default 3)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure this many rounds on the same cluster; the JSON's "
                             "top-level figures are the median round's (default 1)")
    parser.add_argument("--warmup", type=int, default=10,
                        help="jobs run before measuring, not counted (default 10)")
    parser.add_argument("--base-ip", default="127.0.7.",
                        help="node i on BASE_IP<i> (default 127.0.7.)")
    parser.add_argument("--poll", type=float, default=0.2,
                        help="QueryJobs poll interval in s while waiting (default 0.2)")
    parser.add_argument("--timeout", type=float, default=600,
                        help="give up waiting for jobs after this many s (default 600)")
    parser.add_argument("--keep", action="store_true", help="keep the node roots afterwards")
    opts = parser.parse_args()
    if opts.jobs < 1 or opts.clients < 1 or opts.clients > opts.jobs:
        parser.error("need 1 <= --clients <= --jobs")
    if opts.rounds < 1 or opts.rounds * opts.jobs + opts.warmup > 4500:
        parser.error("need --rounds >= 1 and rounds * jobs + warmup <= 4500 "
                     "(the queue's hard limit is 5000 unarchived jobs)")
    print_json(run(opts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
