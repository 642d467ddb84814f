"""Debian's ganeti-instance-debootstrap installs an instance through ganeti-tw, offline.

The package's scripts run unchanged. Two things are arranged around them, in an
OS dir ``debootstrap`` below each node's root (ganeti-tw searches
``<root>/srv/ganeti/os`` before the system dirs):

- every file of /usr/share/ganeti/os/debootstrap is a symlink to the package's
  file, except ``common.sh``: a shim that sources the package's common.sh and
  then sets what /etc/default/ganeti-instance-debootstrap would set, plus
  CACHE_DIR, which common.sh hard-codes after reading that file, so neither it
  nor the environment can move it;
- the cache tarball ``create`` unpacks instead of running debootstrap is built by
  the test from the host's own files (tests/debootstrap_cache.py), and the shim
  replaces the ``debootstrap`` command by a function that fails, so no mirror is
  ever contacted even if the tarball were not found.
"""

import os
import shutil
import subprocess
import tempfile
from typing import List

from ganeti_tw.backend import osdefs
from tests.debootstrap_cache import build_cache_tarball
from tests.integration.base import ClusterTestCase

PACKAGE_OS_DIR = "/usr/share/ganeti/os/debootstrap"
NOT_INSTALLED = ("Debian's ganeti-instance-debootstrap is not installed "
                 "(scripts/setup-env.sh installs it when run as root)")
#: a suite no mirror has: the cache file name is ours alone
SUITE = "ganeti-tw-test"
INSTANCE = "deb1"
#: the create script refuses disks under 511 MiB; file disks are sparse
DISK_SIZE = "600m"
ADD_TIMEOUT = 90

SHIM = """\
# Not the package's common.sh: written by tests/integration/test_debootstrap.py.
# The package's common.sh, unchanged, then what the test would otherwise put in
# /etc/default/ganeti-instance-debootstrap; CACHE_DIR comes last in common.sh,
# so no defaults file and no variable can set it.
. {package}/common.sh
CACHE_DIR={cache_dir}
SUITE={suite}
GENERATE_CACHE=no
CLEAN_CACHE=""
PARTITION_STYLE={style}
# offline: never fetch a distribution, even if the cache tarball were missing
debootstrap() {{
  log_error "test shim: offline, refusing to run debootstrap: no $CACHE_FILE"
  return 1
}}
"""


def _run(*argv: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def _describe(proc: subprocess.CompletedProcess) -> str:
    text = (proc.stderr or proc.stdout or "").strip().replace("\n", " | ")
    return "exit %d: %s" % (proc.returncode, text or "(no output)")


def loop_devices_of(path: str) -> List[str]:
    """The loop devices backed by ``path``."""
    proc = _run("losetup", "--list", "--noheadings", "--output", "NAME", "--associated",
                path)
    return proc.stdout.split() if proc.returncode == 0 else []


def release_disk(path: str) -> None:
    """Unmount, unmap and detach whatever still uses the disk file ``path``."""
    loops = loop_devices_of(path)
    if not loops:
        return
    # the loop device itself, or a partition kpartx -p- mapped from it
    partitions = tuple("/dev/mapper/%s-" % os.path.basename(loop) for loop in loops)
    with open("/proc/self/mounts") as fh:
        targets = [fields[1] for fields in map(str.split, fh)
                   if fields[0] in loops or fields[0].startswith(partitions)]
    for target in reversed(targets):
        target = target.replace("\\040", " ")
        if _run("umount", target).returncode != 0:
            _run("umount", "-l", target)
    kpartx = shutil.which("kpartx", path="/usr/sbin:/sbin")
    for loop in loops:
        if kpartx:
            _run(kpartx, "-d", "-p-", loop)
        _run("losetup", "-d", loop)


class DebootstrapTestCase(ClusterTestCase):
    """Installs ``deb1`` with the debootstrap OS on node2; subclasses pick the partitioning."""

    NODES = 2
    BASE_IP = "127.0.14."
    PARTITION_STYLE = "none"

    def setUp(self) -> None:
        if not os.path.isdir(PACKAGE_OS_DIR):
            self.skipTest(NOT_INSTALLED)
        self.probe_block_devices()
        super().setUp()
        cache_dir = os.path.join(self.tmpdir, "debootstrap-cache")
        os.mkdir(cache_dir)
        arch = _run("dpkg", "--print-architecture").stdout.strip()
        self.assertTrue(arch, "dpkg --print-architecture printed nothing")
        build_cache_tarball(os.path.join(cache_dir, "cache-%s-%s.tar" % (SUITE, arch)))
        for node in range(1, self.NODES + 1):
            self.install_os_dir(node, cache_dir)
        self.disk = os.path.join(self.cluster.paths(2).file_storage_dir, INSTANCE, "disk0")
        # even if create failed half way, or still runs after a timeout
        self.addCleanup(release_disk, self.disk)

    # setup --------------------------------------------------------------------

    def probe_block_devices(self) -> None:
        """Skip unless this machine lets us do what ``create`` does with a file disk."""
        scratch = tempfile.mkdtemp(prefix="gtw-deb-probe-", dir="/tmp")
        self.addCleanup(os.rmdir, scratch)
        image = os.path.join(scratch, "probe.img")
        with open(image, "wb") as fh:
            fh.truncate(16 * 1024 * 1024)
        self.addCleanup(os.unlink, image)
        proc = _run("losetup", "--show", "-f", image)
        if proc.returncode != 0:
            self.skipTest("create attaches file disks with 'losetup --show -f', which "
                          "fails here (%s)" % _describe(proc))
        loop = proc.stdout.strip()
        self.addCleanup(release_disk, image)
        if self.PARTITION_STYLE == "msdos":
            self.probe_kpartx(loop)
            return
        proc = _run("mke2fs", "-Fqt", "ext4", loop)
        if proc.returncode != 0:
            self.skipTest("create formats the disk with mke2fs, which fails on a loop "
                          "device here (%s)" % _describe(proc))
        mnt = os.path.join(scratch, "mnt")
        os.mkdir(mnt)
        self.addCleanup(os.rmdir, mnt)
        proc = _run("mount", loop, mnt)
        if proc.returncode != 0:
            self.skipTest("create mounts the disk, but mounting a loop device is not "
                          "permitted here (%s)" % _describe(proc))
        _run("umount", mnt)

    def probe_kpartx(self, loop: str) -> None:
        """PARTITION_STYLE=msdos maps the partition with kpartx: device-mapper."""
        with open("/proc/misc") as fh:
            has_dm = any(line.split()[1:] == ["device-mapper"] for line in fh)
        if not has_dm:
            self.skipTest("PARTITION_STYLE=msdos needs kpartx, i.e. device-mapper, which "
                          "this kernel lacks (no 'device-mapper' in /proc/misc)")
        proc = subprocess.run(["sfdisk", "--quiet", loop], input="2048,,L,*\n",
                              capture_output=True, text=True, timeout=30)
        if proc.returncode != 0:
            self.skipTest("sfdisk cannot partition a loop device here (%s)"
                          % _describe(proc))
        proc = _run("kpartx", "-a", "-s", "-p-", loop)
        mapped = "/dev/mapper/%s-1" % os.path.basename(loop)
        if proc.returncode != 0 or not os.path.exists(mapped):
            self.skipTest("kpartx cannot map a loop device's partition to %s here (%s)"
                          % (mapped, _describe(proc)))
        _run("kpartx", "-d", "-p-", loop)

    def install_os_dir(self, node: int, cache_dir: str) -> None:
        os_dir = os.path.join(self.cluster.root(node), "srv/ganeti/os/debootstrap")
        os.makedirs(os_dir)
        for name in os.listdir(PACKAGE_OS_DIR):
            if name != "common.sh":
                os.symlink(os.path.join(PACKAGE_OS_DIR, name), os.path.join(os_dir, name))
        with open(os.path.join(os_dir, "common.sh"), "w") as fh:
            fh.write(SHIM.format(package=PACKAGE_OS_DIR, cache_dir=cache_dir, suite=SUITE,
                                 style=self.PARTITION_STYLE))

    # checks -------------------------------------------------------------------

    def add_instance(self) -> None:
        # the system's copy would run the real debootstrap: never let the add reach it
        self.assertEqual(osdefs.find_os(self.cluster.paths(2), "debootstrap").path,
                         os.path.join(self.cluster.root(2), "srv/ganeti/os/debootstrap"))
        out = self.assertCommandOk("gnt-instance", "add", "--submit", "--no-name-check",
                                   "--no-ip-check", "-o", "debootstrap", "-t", "file", "-s",
                                   DISK_SIZE, "-n", "node2", INSTANCE)
        job_id = out.split()[-1]
        status, _, opresult = self.wait_job(job_id, timeout=ADD_TIMEOUT)
        self.assertEqual(status, "success", "gnt-instance add failed: %s" % (opresult,))

    def filesystem_offset(self) -> int:
        """Where the root filesystem starts in the disk image, in bytes."""
        if self.PARTITION_STYLE == "none":
            return 0
        with open(self.disk, "rb") as fh:
            mbr = fh.read(512)
        self.assertEqual(mbr[510:512], b"\x55\xaa", "no partition table on the disk")
        first = mbr[446:462]
        self.assertEqual(first[0], 0x80, "the partition is not bootable")
        self.assertEqual(first[4], 0x83, "the partition is not of type Linux")
        return int.from_bytes(first[8:12], "little") * 512

    def debugfs(self, request: str) -> str:
        """``request``'s output, read straight from the image: no loop device, no mount."""
        device = "%s?offset=%d" % (self.disk, self.filesystem_offset())
        proc = _run("debugfs", "-R", request, device)
        self.assertEqual(proc.returncode, 0, "debugfs -R %r: %s" % (request, _describe(proc)))
        return proc.stdout

    def assert_installed(self) -> None:
        self.assertEqual(self.debugfs("cat /etc/hostname"), INSTANCE + "\n")
        self.assertEqual(self.debugfs("cat /etc/mailname"), INSTANCE + "\n")
        uuid = [line.split(":", 1)[1].strip() for line in self.debugfs("stats").splitlines()
                if line.startswith("Filesystem UUID:")]
        self.assertEqual(len(uuid), 1, "no UUID in debugfs stats")
        fstab = self.debugfs("cat /etc/fstab").split("\n")
        self.assertIn(["UUID=" + uuid[0], "/", "ext4", "defaults", "0", "1"],
                      [line.split() for line in fstab])
        self.assertIn("iface lo inet loopback", self.debugfs("cat /etc/network/interfaces"))
        # 'chroot $TARGET passwd -d root' ran inside the unpacked tree
        shadow = self.debugfs("cat /etc/shadow").splitlines()
        self.assertEqual([line.split(":")[:2] for line in shadow], [["root", ""]])
        self.assertTrue(self.debugfs("stat /usr/bin/passwd").strip())

    def check_debootstrap_installs_an_instance(self) -> None:
        self.add_instance()
        self.assertEqual(self.assertCommandOk(
            "gnt-instance", "list", "--no-headers", "--separator=|", "-o", "os,pnode,status",
            INSTANCE).strip(), "debootstrap|node2|running")
        logs = os.listdir(self.cluster.paths(2).os_log_dir)
        self.assertTrue(any(name.startswith("add-debootstrap-%s-" % INSTANCE)
                            for name in logs), logs)
        # create's own cleanup detached and unmounted everything it set up
        self.assertEqual(loop_devices_of(self.disk), [])
        self.assert_installed()


class UnpartitionedDiskTests(DebootstrapTestCase):
    """PARTITION_STYLE=none: the filesystem on the whole disk; needs loop and mount only."""

    PARTITION_STYLE = "none"

    def test_debootstrap_installs_an_instance_on_an_unpartitioned_file_disk(self):
        self.check_debootstrap_installs_an_instance()


class PartitionedDiskTests(DebootstrapTestCase):
    """PARTITION_STYLE=msdos, the package's default for OS API 10: kpartx maps the partition."""

    PARTITION_STYLE = "msdos"

    def test_debootstrap_installs_an_instance_on_a_partitioned_file_disk(self):
        self.check_debootstrap_installs_an_instance()
