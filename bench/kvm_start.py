#!/usr/bin/env python3
"""kvm start overhead: ``gnt-instance startup`` until QMP says running, against plain qemu.

On a 2-node local cluster with the kvm hypervisor (accelerator tcg; the
busybox test guest of tests/kvm_guest.py, 128 MiB, no NICs, diskless), one
round is:

* ganeti: wall time of ``gnt-instance startup bench1`` (as an admin on node1
  runs it: a subprocess of bin/gnt-instance) until a QMP ``query-status`` on
  the instance's socket answers ``running``; then ``shutdown`` (unmeasured).
* fake: ``gnt-instance startup`` of a fake-hypervisor instance on the same
  node, i.e. what the CLI, the job and the RPC cost without any qemu.
* plain: the very command line ganeti-tw used (read back from the saved
  runtime), its pidfile and sockets moved to a scratch directory, started by
  hand with ``subprocess.run`` until QMP answers ``running``; then killed.

* provider: the kvm provider alone (``KVMHypervisor.start_instance`` called
  in-process, in a child process running a reactor, node root in /tmp) until
  QMP answers; no CLI, job or RPC.

* python: ``python3 -c pass`` (and with ``-S``, without the site hook and
  its ``.pth`` files): what any Python command pays before its first line,
  the floor under ``fake`` and ``ganeti``.

The package is byte-compiled first, as an installed one is (pip and dpkg
compile at install time): with PYTHONDONTWRITEBYTECODE set, as in some
environments, every gnt-* call would otherwise compile what it imports.

Prints the medians and the ratios to plain qemu (target: ganeti / plain <= 1.2).

Run:  python3 bench/kvm_start.py [--runs 5]
"""

import argparse
import compileall
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _util import REPO, local_cluster, median, ms, print_json, verdict  # noqa: E402

from ganeti_tw import daemon_util  # noqa: E402
from ganeti_tw.local_cluster import BIN_DIR, LocalCluster  # noqa: E402
from tests import kvm_guest  # noqa: E402

TARGET_RATIO = 1.2
QMP_TIMEOUT = 30.0


def qmp_command(path: str, command: str, timeout: float = QMP_TIMEOUT) -> Any:
    """One QMP command over a plain socket (a benchmark must not lean on our own client)."""
    deadline = time.monotonic() + timeout
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
            break
        except OSError:
            sock.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.002)
    with sock, sock.makefile("rwb") as stream:
        sock.settimeout(timeout)
        stream.readline()  # greeting
        for request in ({"execute": "qmp_capabilities"}, {"execute": command}):
            stream.write(json.dumps(request).encode() + b"\n")
            stream.flush()
            while True:
                reply = json.loads(stream.readline())
                if "event" not in reply:
                    break
        return reply.get("return")


def wait_running(qmp_path: str) -> None:
    deadline = time.monotonic() + QMP_TIMEOUT
    while qmp_command(qmp_path, "query-status")["status"] != "running":
        if time.monotonic() > deadline:
            raise SystemExit("qemu never reported running on %s" % qmp_path)
        time.sleep(0.002)


def cluster_options(extra_hv: str = "") -> Dict[str, Any]:
    reason = kvm_guest.why_unavailable() or (
        None if shutil.which("qemu-system-x86_64") else "qemu-system-x86_64 is missing")
    if reason:
        raise SystemExit("Cannot run: %s" % reason)
    kernel, initrd = kvm_guest.build_guest()
    hv = "kvm:accelerator=tcg,kernel_path=%s,initrd_path=%s,kernel_args=quiet%s" % (
        kernel, initrd, extra_hv)
    # fake too: its startup is the cost of the CLI, the job and the RPC alone
    return {"hypervisors": "kvm,fake", "init_args": ["-H", hv]}


def gnt(cluster: LocalCluster, *args: str) -> float:
    """Seconds one gnt-instance command took; exits with its error if it failed."""
    env = dict(daemon_util.daemon_env(), GANETI_ROOT=cluster.root(1))
    started = time.monotonic()
    proc = subprocess.run([sys.executable, os.path.join(BIN_DIR, "gnt-instance")] + list(args),
                          env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit("gnt-instance %s failed: %s" % (" ".join(args),
                                                         (proc.stderr or proc.stdout).strip()))
    return elapsed


def instance_files(cluster: LocalCluster, node: int, name: str) -> Tuple[str, str]:
    """(QMP socket, runtime file) of ``name`` on ``node``."""
    kvm_dir = cluster.paths(node).kvm_hv_dir
    return (os.path.join(kvm_dir, "ctrl", name + ".qmp"),
            os.path.join(kvm_dir, "conf", name + ".runtime"))


def plain_command(cmdline: List[str], kvm_dir: str, scratch: str) -> List[str]:
    """ganeti-tw's command line with its node files moved below ``scratch``."""
    return [arg.replace(kvm_dir, scratch) for arg in cmdline]


def measure(cluster: LocalCluster, opts: argparse.Namespace) -> Dict[str, List[float]]:
    name = "bench1"
    gnt(cluster, "add", "--no-name-check", "--no-ip-check", "-o", "tiny", "-t", "diskless",
        "--no-nics", "-B", "memory=128", "-H", "kvm:acpi=false", "--no-start", "-n", "node1",
        name)
    qmp_path, runtime_file = instance_files(cluster, 1, name)
    kvm_dir = cluster.paths(1).kvm_hv_dir
    gnt(cluster, "add", "--no-name-check", "--no-ip-check", "-o", "tiny", "-t", "diskless",
        "--no-nics", "-B", "memory=128", "-H", "fake", "--no-start", "-n", "node1", "fake1")
    times: Dict[str, List[float]] = {"ganeti": [], "plain": [], "fake": []}
    scratch = tempfile.mkdtemp(prefix="kvm-bench-", dir="/tmp")
    try:
        for rnd in range(opts.warmup + opts.runs):
            started = time.monotonic()
            gnt(cluster, "startup", name)
            wait_running(qmp_path)
            ganeti = time.monotonic() - started
            with open(runtime_file) as fh:
                cmdline = json.load(fh)["cmdline"]
            gnt(cluster, "shutdown", name)

            for sub in ("pid", "ctrl"):
                os.makedirs(os.path.join(scratch, sub), exist_ok=True)
            argv = plain_command(cmdline, kvm_dir, scratch)
            plain_qmp = qmp_path.replace(kvm_dir, scratch)
            started = time.monotonic()
            subprocess.run(argv, check=True, capture_output=True)
            wait_running(plain_qmp)
            plain = time.monotonic() - started
            with open(os.path.join(scratch, "pid", name)) as fh:
                os.kill(int(fh.read()), signal.SIGKILL)
            fake = gnt(cluster, "startup", "fake1")
            gnt(cluster, "shutdown", "fake1")
            if rnd >= opts.warmup:
                times["fake"].append(fake)
                times["ganeti"].append(ganeti)
                times["plain"].append(plain)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return times


async def _provider_rounds(rounds: int) -> List[float]:
    from ganeti_tw import objects
    from ganeti_tw.hypervisors import params
    from ganeti_tw.hypervisors.kvm import KVMHypervisor
    from ganeti_tw.paths import Paths
    kernel, initrd = kvm_guest.build_guest()
    root = tempfile.mkdtemp(prefix="kvm-bench-", dir="/tmp")
    hv = KVMHypervisor(Paths(root))
    hvparams = params.fill_hvparams("kvm", {}, {"accelerator": "tcg", "kernel_path": kernel,
                                                "initrd_path": initrd, "acpi": False,
                                                "kernel_args": "quiet"})
    instance = objects.Instance(name="bench1", hypervisor="kvm", hvparams=hvparams,
                                beparams={"memory": 128, "vcpus": 1}, nics=[], disks=[],
                                network_port=11000)
    await hv.capabilities()  # once per node daemon, as in ganeti-noded
    times = []
    try:
        for _ in range(rounds):
            started = time.monotonic()
            await hv.start_instance(instance, [])
            while (await hv._qmp("bench1", "query-status"))["status"] != "running":
                pass
            times.append(time.monotonic() - started)
            await hv.stop_instance(instance, True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return times


def provider_main(rounds: int) -> None:
    """Child process: print the provider's start times as a JSON list."""
    from twisted.internet import defer, reactor
    result: List[float] = []

    async def run() -> None:
        try:
            result.extend(await _provider_rounds(rounds))
        finally:
            reactor.stop()
    reactor.callWhenRunning(lambda: defer.ensureDeferred(run()))
    reactor.run()
    print(json.dumps(result))


def provider_times(opts: argparse.Namespace) -> List[float]:
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--provider-only",
                          str(opts.warmup + opts.runs)], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out.splitlines()[-1])[opts.warmup:]


def python_start_times(opts: argparse.Namespace) -> Dict[str, List[float]]:
    """Wall times of an empty Python run, with and without the site hook."""
    out: Dict[str, List[float]] = {"python": [], "python -S": []}
    for _ in range(opts.warmup + opts.runs):
        for kind, argv in (("python", [sys.executable, "-c", "pass"]),
                           ("python -S", [sys.executable, "-S", "-c", "pass"])):
            started = time.monotonic()
            subprocess.run(argv, check=True)
            out[kind].append(time.monotonic() - started)
    return {kind: values[opts.warmup:] for kind, values in out.items()}


def report(times: Dict[str, List[float]], opts: argparse.Namespace) -> dict:
    ganeti, plain = median(times["ganeti"]), median(times["plain"])
    ratio = ganeti / plain
    print()
    print("kvm start until QMP 'running' (tcg, 128 MiB busybox guest): %d runs (+%d warm-up)"
          % (opts.runs, opts.warmup))
    for kind in ("ganeti", "plain", "fake", "provider", "python", "python -S"):
        values = times[kind]
        print("  %-9s median %7.1f ms  min %7.1f ms  max %7.1f ms" % (
            kind, median(values) * 1000, min(values) * 1000, max(values) * 1000))
    print("  (fake: gnt-instance startup of a fake-hypervisor instance, the CLI + job + RPC "
          "part of 'ganeti')")
    print("  (provider: the kvm provider's start_instance in-process, no CLI/job/RPC)")
    print("  (python: an empty python3 run, the floor under every gnt-* command; -S: without "
          "site and its .pth files)")
    provider_ratio = median(times["provider"]) / plain
    print("  ratio ganeti/plain %.2f   target <= %.1f  %s"
          % (ratio, TARGET_RATIO, verdict(ratio <= TARGET_RATIO)))
    print("  ratio provider/plain %.2f" % provider_ratio)
    return {"benchmark": "kvm_start", "runs": opts.runs, "warmup": opts.warmup,
            "ganeti_median_ms": ms(ganeti), "plain_median_ms": ms(plain),
            "fake_startup_median_ms": ms(median(times["fake"])),
            "provider_median_ms": ms(median(times["provider"])),
            "provider_ratio": round(provider_ratio, 3),
            "python_start_median_ms": ms(median(times["python"])),
            "python_nosite_start_median_ms": ms(median(times["python -S"])),
            "ratio": round(ratio, 3), "target_ratio": TARGET_RATIO,
            "meets_target": ratio <= TARGET_RATIO}


def main() -> int:
    if sys.argv[1:2] == ["--provider-only"]:
        provider_main(int(sys.argv[2]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured rounds (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured rounds first")
    parser.add_argument("--base-ip", default="127.0.17.",
                        help="node i on BASE_IP<i> (default 127.0.17.)")
    opts = parser.parse_args()
    if opts.runs < 1 or opts.warmup < 0:
        parser.error("need --runs >= 1 and --warmup >= 0")
    # as installed: no compiling of the modules a command imports on each call
    compileall.compile_dir(os.path.join(REPO, "ganeti_tw"), quiet=1)
    with local_cluster(2, opts.base_ip, quiet=False, **cluster_options()) as cluster:
        times = measure(cluster, opts)
    times["provider"] = provider_times(opts)
    times.update(python_start_times(opts))
    print_json(report(times, opts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
