#!/usr/bin/env python3
"""Master restart with a full job queue: time until the new masterd accepts a job.

A 3-node local cluster gets ``--jobs`` finished OP_TEST_DELAY(0) jobs (real
job files, written and replicated by the queue itself, not archived). Then,
each round: masterd is stopped, started again (normal start-up: vote of the
other nodes, queue scan of every job file), and a client submits a job as
soon as the socket answers; the clock runs from starting the daemon to the
SubmitJob answer. The same is measured with an empty queue for reference.

The queue's hard limit is 5000 jobs: with 5000 unarchived jobs a master
refuses new ones (spec 4.6), so the default is 4999 files, the most that
still lets a job in. Target: <= 2 s.

Run:  python3 bench/master_restart_queue.py [--jobs 4999] [--rounds 3]
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _util import local_cluster, median, print_json, verdict  # noqa: E402

from ganeti_tw import constants as C, daemon_util, errors, luxi  # noqa: E402
from ganeti_tw.cli import poll_job  # noqa: E402

TARGET_S = 2.0
BASE_IP = "127.0.29."
DELAY0 = {"OP_ID": "OP_TEST_DELAY", "duration": 0, "on_master": True, "on_nodes": []}


def fill_queue(cluster, count: int) -> None:
    client = luxi.Client(cluster.paths(1).master_socket)
    have = len(client.query_jobs(None, ["id"]))
    ids = []
    while have + len(ids) < count:
        batch = min(200, count - have - len(ids))
        for ok, job_id in client.submit_many_jobs([[DELAY0]] * batch):
            if not ok:
                raise SystemExit("submission refused: %s" % job_id)
            ids.append(job_id)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        rows = client.query_jobs(None, ["status"])
        if all(row[0] in C.JOBS_FINALIZED for row in rows):
            return
        time.sleep(0.5)
    raise SystemExit("jobs did not finish")


def restart_until_accepting(cluster) -> float:
    """Seconds from starting masterd to its answer to SubmitJob; that job is then archived."""
    paths = cluster.paths(1)
    daemon_util.stop_daemon(paths, C.DAEMON_MASTERD)
    start = time.monotonic()
    daemon_util.start_daemon(paths, C.DAEMON_MASTERD, timeout=120)
    client = luxi.Client(paths.master_socket)
    while True:
        try:
            job_id = client.submit_job([DELAY0])
            elapsed = time.monotonic() - start
            break
        except errors.NoMasterError:
            time.sleep(0.01)
    poll_job(client, job_id, feedback=lambda entry: None)
    client.archive_job(job_id)  # keep the queue at the size measured
    client.close()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=C.JOB_QUEUE_SIZE_HARD_LIMIT - 1)
    parser.add_argument("--rounds", type=int, default=3)
    opts = parser.parse_args()
    with local_cluster(3, BASE_IP, quiet=False) as cluster:
        luxi.Client(cluster.paths(1).master_socket).autoarchive_jobs(-1, 60)  # node adds
        empty = [restart_until_accepting(cluster) for _ in range(opts.rounds)]
        started = time.monotonic()
        fill_queue(cluster, opts.jobs)
        print("Queue filled with %d finished jobs in %.1f s" % (opts.jobs,
                                                               time.monotonic() - started))
        full = [restart_until_accepting(cluster) for _ in range(opts.rounds)]
        files = len([n for n in os.listdir(cluster.paths(1).queue_dir) if n.startswith("job-")])
    med = median(full)
    print()
    print("Master restart until a job is accepted (3 nodes, vote included):")
    print("  empty queue:          median %.2f s  (%s)" % (median(empty), ", ".join(
        "%.2f" % t for t in empty)))
    print("  %d job files:       median %.2f s  (%s)   target <= %.0f s   %s"
          % (files, med, ", ".join("%.2f" % t for t in full), TARGET_S,
             verdict(med <= TARGET_S)))
    print_json({"bench": "master_restart_queue", "job_files": files,
                "empty_median_s": round(median(empty), 3), "full_median_s": round(med, 3),
                "full_s": [round(t, 3) for t in full], "target_s": TARGET_S})
    return 0


if __name__ == "__main__":
    sys.exit(main())
