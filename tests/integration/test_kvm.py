"""kvm instances on a real 2-node local cluster: real qemu (tcg), real guest, real QMP.

The guest (tests/kvm_guest.py) is a Debian kernel with a busybox initramfs
that prints a marker and then a counter on its serial console, and powers
off on ACPI. /dev/kvm on these machines cannot boot stock kernels, so the
cluster runs qemu with accelerator=tcg. Each test shares one guest across
its steps: booting one costs ~8 s of emulation.
"""

import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import List, Optional

from ganeti_tw import constants as C, daemon_util, utils
from ganeti_tw.hypervisors import kvm
from ganeti_tw.local_cluster import BIN_DIR
from tests import kvm_guest
from tests.integration.base import ClusterTestCase

ADD = ("add", "--no-name-check", "--no-ip-check", "-o", "tiny", "-t", "sharedfile",
       "-s", "8m", "-B", "memory=128", "--net", "0:mode=none")
BOOT_TIMEOUT = 90  # tcg boot on a busy 2-core machine
TEST_BRIDGE = "gtwkvmbr0"


def _skip_reason() -> Optional[str]:
    if shutil.which(kvm.QEMU_BINARY) is None:
        return "%s is not installed (scripts/setup-env.sh installs qemu-system-x86)" % (
            kvm.QEMU_BINARY)
    return kvm_guest.why_unavailable()


def _dead(pid: int) -> bool:
    """Gone, or a zombie: the init of a container may be slow to reap."""
    try:
        with open("/proc/%d/stat" % pid) as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


class SerialConsole:
    """A connection to an instance's serial socket, read line by line with deadlines."""

    def __init__(self, path: str, timeout: float = 20):
        deadline = time.monotonic() + timeout
        while True:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.buffer = b""

    def wait_for(self, pattern: str, timeout: float = BOOT_TIMEOUT) -> re.Match:
        """The first match of ``pattern`` in what the console prints from now on."""
        regex = re.compile(pattern.encode())
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.buffer)
            if match:
                self.buffer = self.buffer[match.end():]
                return match
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("console never printed %r; last output %r"
                                     % (pattern, self.buffer[-300:]))
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                raise AssertionError("console closed before printing %r; last output %r"
                                     % (pattern, self.buffer[-300:]))
            self.buffer += data

    def counter(self) -> int:
        return int(self.wait_for(r"counter (\d+)\r?\n").group(1))

    def close(self) -> None:
        self.sock.close()


class KVMClusterTestCase(ClusterTestCase):
    NODES = 2
    BASE_IP = "127.0.16."
    HYPERVISORS = "kvm"

    def setUp(self) -> None:
        reason = _skip_reason()
        if reason:
            self.skipTest(reason)
        super().setUp()

    def cluster_init_args(self) -> List[str]:
        kernel, initrd = kvm_guest.build_guest()
        return ["-H", "kvm:accelerator=tcg,kernel_path=%s,initrd_path=%s,kernel_args=quiet,"
                      "migration_bandwidth=1024" % (kernel, initrd)]

    # helpers ----------------------------------------------------------------------------

    def gi(self, *args: str) -> str:
        return self.assertCommandOk("gnt-instance", *args)

    def row(self, name: str, fields: str) -> List[str]:
        return self.gi("list", "--no-headers", "--separator=|", "-o", fields,
                       name).strip().split("|")

    def qemu_pid(self, node: int, name: str) -> Optional[int]:
        pidfile = os.path.join(self.cluster.paths(node).kvm_hv_dir, "pid", name)
        try:
            with open(pidfile) as fh:
                pid = int(fh.read().strip())
        except (OSError, ValueError):
            return None
        return pid if utils.process_has_argument(pid, pidfile) else None

    def console(self, node: int, name: str) -> SerialConsole:
        path = os.path.join(self.cluster.paths(node).kvm_hv_dir, "ctrl", name + ".serial")
        console = SerialConsole(path)
        self.addCleanup(console.close)
        return console


class KVMLifecycleTests(KVMClusterTestCase):
    def console_cli_counter(self, name: str) -> int:
        """A counter value read through ``gnt-instance console`` (relay, no tty)."""
        env = dict(daemon_util.daemon_env(), GANETI_ROOT=self.cluster.root(1))
        proc = subprocess.Popen([sys.executable, os.path.join(BIN_DIR, "gnt-instance"),
                                 "console", name], env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
        seen = b""
        try:
            deadline = time.monotonic() + 30
            while not re.search(rb"counter (\d+)\r?\n", seen):
                ready, _, _ = select.select([proc.stdout], [], [],
                                            max(0, deadline - time.monotonic()))
                self.assertTrue(ready, "no counter through the console: %r" % seen)
                data = os.read(proc.stdout.fileno(), 4096)
                self.assertTrue(data, "console ended: %r" % seen)
                seen += data
            proc.stdin.close()  # end of input ends the relay
            self.assertEqual(proc.wait(timeout=30), 0)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        return int(re.search(rb"counter (\d+)\r?\n", seen).group(1))

    def test_boot_migrate_fail_migration_reboot_and_acpi_shutdown(self):
        self.gi(*ADD, "-n", "node1", "k1")
        console = self.console(1, "k1")
        console.wait_for(kvm_guest.READY_MARKER)
        self.assertEqual(self.row("k1", "pnode,status,oper_ram"), ["node1", "running", "128"])
        source_pid = self.qemu_pid(1, "k1")
        self.assertIsNotNone(source_pid)
        before = console.counter()

        out = self.gi("migrate", "-f", "-n", "node2", "k1")
        self.assertRegex(out, r"migration completed: \d+ MiB transferred, 0 MiB remaining, "
                              r"downtime \d+ ms")
        console.close()
        self.assertEqual(self.row("k1", "pnode,status,oper_ram"), ["node2", "running", "128"])
        self.assertIsNone(self.qemu_pid(1, "k1"))
        self.assertTrue(_dead(source_pid), "source qemu still runs")
        console = self.console(2, "k1")
        after = console.counter()
        # the guest kept counting where it was: it was moved, not rebooted
        self.assertGreater(after, before)
        self.assertNotIn(kvm_guest.READY_MARKER.encode(), console.buffer)

        # a migration whose target port is taken fails and leaves the guest where it was
        blocker = socket.socket()
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind((self.cluster.ip(1), 8102))
        blocker.listen(1)
        self.addCleanup(blocker.close)
        error = self.assertCommandFails("gnt-instance", "migrate", "-f", "-n", "node1", "k1")
        self.assertIn("Cannot accept instance k1 on tcp:%s:8102" % self.cluster.ip(1), error)
        blocker.close()
        self.assertEqual(self.row("k1", "pnode,status"), ["node2", "running"])
        self.assertIsNone(self.qemu_pid(1, "k1"))
        after = console.counter()

        # gnt-node migrate, non-live: paused on node2, resumed on node1
        self.assertCommandOk("gnt-node", "migrate", "-f", "--non-live", "-n", "node1", "node2")
        console.close()
        self.assertEqual(self.row("k1", "pnode,status"), ["node1", "running"])
        self.assertIsNone(self.qemu_pid(2, "k1"))
        console = self.console(1, "k1")
        after = console.counter()
        self.assertGreater(after, before)
        # the serial socket takes one client: gnt-instance console's relay gets it now
        console.close()
        self.assertGreater(self.console_cli_counter("k1"), after)

        console = self.console(1, "k1")
        self.gi("reboot", "-t", "soft", "k1")
        console.wait_for(kvm_guest.READY_MARKER)
        self.assertEqual(console.counter(), 1)

        # hard: an ACPI power-off, then a new qemu
        pid = self.qemu_pid(1, "k1")
        self.gi("reboot", "-t", "hard", "k1")
        console.wait_for(kvm_guest.POWEROFF_MARKER, timeout=10)
        self.assertNotEqual(self.qemu_pid(1, "k1"), pid)
        console = self.console(1, "k1")
        console.wait_for(kvm_guest.READY_MARKER)

        self.gi("shutdown", "k1")
        console.wait_for(kvm_guest.POWEROFF_MARKER, timeout=10)
        self.assertEqual(self.row("k1", "status"), ["ADMIN_down"])
        self.assertIsNone(self.qemu_pid(1, "k1"))


class KVMMigrationCleanupTests(KVMClusterTestCase):
    def test_cleanup_finishes_a_migration_whose_master_died(self):
        # a slow copy (32 MiB/s: seconds) so that the master can die while it runs
        self.gi(*ADD, "-H", "kvm:migration_bandwidth=32", "-n", "node1", "k6")
        job = self.submit({"OP_ID": "OP_INSTANCE_MIGRATE", "instance_name": "k6",
                           "target_node": "node2", "live": True})
        self.wait_until(lambda: "* migrating instance" in str(
            self.client().query_jobs([job], ["oplog"])[0]), "the copy started", timeout=30)
        target_pid = self.qemu_pid(2, "k6")
        self.kill_daemon(1, C.DAEMON_MASTERD)
        # the nodes finish the copy without the master: the source qemu ends
        self.wait_until(lambda: self.qemu_pid(1, "k6") is None, "the copy ended", timeout=60)
        daemon_util.start_daemon(self.cluster.paths(1), C.DAEMON_MASTERD)
        self.assertEqual(self.wait_job(job)[0], C.JOB_STATUS_ERROR)
        # the target's copy is not running yet: it awaits the finalization
        self.assertEqual(self.row("k6", "pnode,status"), ["node1", "ERROR_down"])
        out = self.gi("migrate", "-f", "--cleanup", "-n", "node2", "k6")
        self.assertIn("completed the interrupted migration on node2", out)
        self.assertEqual(self.row("k6", "pnode,status,oper_ram"), ["node2", "running", "128"])
        self.assertEqual(self.qemu_pid(2, "k6"), target_pid)


class KVMFailureTests(KVMClusterTestCase):
    def test_qemu_killed_behind_our_back_is_error_down(self):
        self.gi(*ADD, "--no-start", "-n", "node2", "k2")
        self.gi("startup", "k2")
        pid = self.qemu_pid(2, "k2")
        self.assertEqual(self.row("k2", "status"), ["running"])
        os.kill(pid, signal.SIGKILL)
        self.wait_until(lambda: self.qemu_pid(2, "k2") is None, "qemu died")
        self.assertEqual(self.row("k2", "status,oper_ram"), ["ERROR_down", "-"])

    def test_failover_stops_on_source_and_starts_on_target(self):
        # without ACPI the stop is immediate: the guest need not have booted
        self.gi(*ADD, "-H", "kvm:acpi=false", "-n", "node1", "k5")
        source_pid = self.qemu_pid(1, "k5")
        self.gi("failover", "-f", "-n", "node2", "k5")
        self.assertEqual(self.row("k5", "pnode,status,oper_ram"), ["node2", "running", "128"])
        self.assertTrue(_dead(source_pid))
        self.assertIsNotNone(self.qemu_pid(2, "k5"))

    def test_bad_hypervisor_parameters_are_refused_with_one_line(self):
        cases = [
            ("kernel_path=boot/vmlinuz", "'kernel_path' = 'boot/vmlinuz': not an absolute path"),
            ("nic_type=virtio9", "'nic_type' = 'virtio9': must be one of"),
            ("cdrom_image_path=/nonexistent/x.iso,boot_order=cdrom",
             "'cdrom_image_path' = '/nonexistent/x.iso': not an existing file"),
        ]
        for hvparams, message in cases:
            error = self.assertCommandFails("gnt-instance", *ADD, "--no-start", "-n", "node1",
                                            "-H", "kvm:" + hvparams, "bad1")
            self.assertIn(message, error)
        self.gi(*ADD, "--no-start", "-n", "node1", "k3")
        for hvparams, message in cases:
            error = self.assertCommandFails("gnt-instance", "modify", "-H", hvparams, "k3")
            self.assertIn(message, error)


class KVMBridgeTests(KVMClusterTestCase):
    def setUp(self) -> None:
        if os.geteuid() != 0:
            self.skipTest("creating a bridge and taps needs root")
        if not os.path.exists("/dev/net/tun"):
            self.skipTest("/dev/net/tun is missing: no tap devices")
        super().setUp()
        subprocess.run(["ip", "link", "add", TEST_BRIDGE, "type", "bridge"], check=True)
        self.addCleanup(subprocess.run, ["ip", "link", "del", TEST_BRIDGE])

    def test_bridged_nic_tap_joins_bridge_through_admin_hook(self):
        """The admin's kvm-vif-bridge hook replaces the built-in script and gets the NIC."""
        record = os.path.join(self.tmpdir, "hook-env")
        hook = os.path.join(self.cluster.paths(1).conf_dir, kvm.VIF_HOOK)
        with open(hook, "w") as fh:
            fh.write("#!/bin/sh\nenv > %s\nip link set \"$INTERFACE\" up\n"
                     "ip link set \"$INTERFACE\" master \"$BRIDGE\"\n" % record)
        os.chmod(hook, 0o755)
        self.gi("add", "--no-name-check", "--no-ip-check", "-o", "tiny", "-t", "diskless",
                "-B", "memory=128", "--net", "0:bridge=%s,mac=aa:00:00:12:34:56" % TEST_BRIDGE,
                # without ACPI a shutdown kills qemu at once: the guest need not boot
                "-H", "kvm:acpi=false", "-n", "node1", "k4")
        ports = os.listdir("/sys/class/net/%s/brif" % TEST_BRIDGE)
        self.assertEqual(len(ports), 1, ports)
        with open(record) as fh:
            env = dict(line.rstrip("\n").split("=", 1) for line in fh if "=" in line)
        self.assertEqual((env["INSTANCE"], env["MAC"], env["BRIDGE"], env["INTERFACE"]),
                         ("k4", "aa:00:00:12:34:56", TEST_BRIDGE, ports[0]))
        self.gi("remove", "-f", "k4")
        self.assertEqual(os.listdir("/sys/class/net/%s/brif" % TEST_BRIDGE), [])
