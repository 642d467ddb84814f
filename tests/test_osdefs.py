"""Guest OS definitions: validation, search order, the scripts' environment and runner,
our ``tiny`` OS and Debian's ganeti-os-noop, all with real scripts in temporary roots."""

import os
import re
import shutil
import stat
import subprocess

from twisted.internet import reactor
from twisted.trial import unittest

from ganeti_tw import constants as C, errors
from ganeti_tw.backend import osdefs
from ganeti_tw.backend.context import NodeContext
from ganeti_tw.paths import Paths
from tests.reactor_util import in_running_reactor

NOOP_DIR = "/usr/share/ganeti/os/noop"


def write_os(top: str, name: str, api: str = "10\n", scripts: dict = None,
             mode: int = 0o755) -> str:
    """An OS definition below ``top`` whose scripts are ``scripts`` (default: exit 0)."""
    os_dir = os.path.join(top, name)
    os.makedirs(os_dir)
    if api is not None:
        with open(os.path.join(os_dir, osdefs.API_FILE), "w") as fh:
            fh.write(api)
    for script in osdefs.OS_SCRIPTS:
        with open(os.path.join(os_dir, script), "w") as fh:
            fh.write((scripts or {}).get(script, "#!/bin/sh\nexit 0\n"))
        os.chmod(os.path.join(os_dir, script), mode)
    return os_dir


def instance(os_name: str, disks: int = 1, **extra) -> dict:
    data = {
        "name": "inst1.example.com", "os": os_name, "hypervisor": "kvm",
        "hvparams": {"disk_type": "paravirtual", "nic_type": "e1000",
                     "kernel_path": "/boot/vmlinuz", "acpi": True},
        "beparams": {"memory": 128, "vcpus": 2, "auto_balance": True},
        "nics": [{"mac": "aa:00:00:11:22:33", "ip": "192.0.2.10", "bridge": "br0"},
                 {"mac": "aa:00:00:11:22:34", "ip": None, "bridge": "br1"}],
        "disks": [{"dev_type": "file", "logical_id": ["loop", "/srv/f/disk%d" % i],
                   "size": 4, "mode": "rw", "iv_name": "disk/%d" % i} for i in range(disks)],
    }
    data.update(extra)
    return data


class OSTestCase(unittest.TestCase):
    def setUp(self):
        self.root = os.path.abspath(self.mktemp())
        self.paths = Paths(self.root)
        self.ctx = NodeContext(self.paths, "node1", reactor)
        self.first, self.second = self.paths.os_search_path[0], self.paths.os_search_path[1]

    def disk(self, name: str = "disk0", size_mib: int = 4) -> str:
        path = os.path.join(self.root, name)
        os.makedirs(self.root, exist_ok=True)
        with open(path, "wb") as fh:
            fh.truncate(size_mib * 1024 * 1024)
        return path

    def reason(self, name: str) -> str:
        return self.assertRaises(osdefs.InvalidOS, osdefs.find_os, self.paths, name).reason


class ValidationTests(OSTestCase):
    def test_valid_os_is_found_with_its_versions(self):
        path = write_os(self.first, "good", api="5\n10\n")
        os_obj = osdefs.find_os(self.paths, "good")
        self.assertEqual((os_obj.name, os_obj.path, os_obj.api_versions), ("good", path, [5, 10]))

    def test_missing_api_file(self):
        write_os(self.first, "bad", api=None)
        self.assertIn("'ganeti_api_version' file not found", self.reason("bad"))

    def test_api_file_must_be_regular(self):
        os_dir = write_os(self.first, "bad", api=None)
        os.mkdir(os.path.join(os_dir, osdefs.API_FILE))
        self.assertIn("not a regular file", self.reason("bad"))

    def test_api_versions_without_10(self):
        write_os(self.first, "bad", api="5\n20\n")
        self.assertEqual(self.reason("bad"), "API version mismatch (found [5, 20] want 10)")

    def test_api_version_not_integer(self):
        write_os(self.first, "bad", api="ten\n")
        self.assertIn("API version is not integer", self.reason("bad"))

    def test_script_not_executable(self):
        write_os(self.first, "bad", mode=0o644)
        self.assertEqual(self.reason("bad"), "'create' script not executable")

    def test_script_missing(self):
        os_dir = write_os(self.first, "bad")
        os.unlink(os.path.join(os_dir, "rename"))
        self.assertIn("'rename' script missing", self.reason("bad"))

    def test_script_must_be_regular_file(self):
        os_dir = write_os(self.first, "bad")
        os.unlink(os.path.join(os_dir, "export"))
        os.mkdir(os.path.join(os_dir, "export"))
        self.assertEqual(self.reason("bad"), "'export' is not a regular file")

    def test_unknown_os_names_the_search_path(self):
        reason = self.reason("nosuchos")
        self.assertIn("OS dir not found in search path", reason)
        self.assertIn(self.first, reason)

    def test_os_get_returns_plain_data_or_the_reason(self):
        path = write_os(self.first, "good")
        self.assertEqual(osdefs.os_get(self.ctx, "good"), ["good", path, [10]])
        write_os(self.first, "bad", api="20\n")
        err = self.assertRaises(errors.OpPrereqError, osdefs.os_get, self.ctx, "bad")
        self.assertEqual(str(err), "API version mismatch (found [20] want 10) (path: %s)"
                         % os.path.join(self.first, "bad"))


class SearchPathTests(OSTestCase):
    def test_local_node_searches_its_root_then_system_dirs_then_package(self):
        dirs = osdefs.search_path(self.paths)
        self.assertEqual(dirs, self.paths.os_search_path + C.OS_SEARCH_PATH
                         + [osdefs.PACKAGE_OS_DIR])

    def test_real_node_searches_system_dirs_once(self):
        self.assertEqual(osdefs.search_path(Paths("/")),
                         C.OS_SEARCH_PATH + [osdefs.PACKAGE_OS_DIR])

    def test_first_match_wins_and_later_ones_are_listed_after_it(self):
        write_os(self.first, "dup")
        write_os(self.second, "dup", api="5\n")
        self.assertEqual(osdefs.find_os(self.paths, "dup").path, os.path.join(self.first, "dup"))
        rows = [r for r in osdefs.os_diagnose(self.ctx) if r[0] == "dup"]
        self.assertEqual(rows, [
            ["dup", os.path.join(self.first, "dup"), C.OS_VALID_STATUS, True],
            ["dup", os.path.join(self.second, "dup"),
             "API version mismatch (found [5] want 10)", False]])

    def test_invalid_first_match_is_not_rescued_by_a_later_valid_one(self):
        write_os(self.first, "dup", api="5\n")
        write_os(self.second, "dup")
        self.assertIn("API version mismatch", self.reason("dup"))

    def test_diagnose_lists_shipped_tiny_and_skips_plain_files(self):
        os.makedirs(self.first)
        with open(os.path.join(self.first, "README"), "w") as fh:
            fh.write("not an OS\n")
        rows = osdefs.os_diagnose(self.ctx)
        self.assertIn(["tiny", os.path.join(osdefs.PACKAGE_OS_DIR, "tiny"),
                       C.OS_VALID_STATUS, True], rows)
        self.assertNotIn("README", [r[0] for r in rows])


class EnvironmentTests(unittest.SynchronousTestCase):
    def test_every_variable_of_spec_10(self):
        inst = instance("tiny", disks=2)
        inst["disks"][1] = {"dev_type": "lvm", "logical_id": ["xenvg", "d1"], "size": 4,
                            "mode": "ro", "iv_name": "disk/1"}
        env = osdefs.os_environment(inst, "tiny", ["/dev/loop0", "/dev/xenvg/d1"], debug=1)
        self.assertEqual(env, {
            "PATH": "/sbin:/bin:/usr/sbin:/usr/bin",
            "OS_API_VERSION": "10", "INSTANCE_NAME": "inst1.example.com",
            "INSTANCE_OS": "tiny", "HYPERVISOR": "kvm", "DEBUG_LEVEL": "1",
            "DISK_COUNT": "2",
            "DISK_0_PATH": "/dev/loop0", "DISK_0_ACCESS": "rw",
            "DISK_0_FRONTEND_TYPE": "paravirtual", "DISK_0_BACKEND_TYPE": "file:loop",
            "DISK_1_PATH": "/dev/xenvg/d1", "DISK_1_ACCESS": "ro",
            "DISK_1_FRONTEND_TYPE": "paravirtual", "DISK_1_BACKEND_TYPE": "block",
            "NIC_COUNT": "2",
            "NIC_0_MAC": "aa:00:00:11:22:33", "NIC_0_BRIDGE": "br0", "NIC_0_IP": "192.0.2.10",
            "NIC_0_FRONTEND_TYPE": "e1000",
            "NIC_1_MAC": "aa:00:00:11:22:34", "NIC_1_BRIDGE": "br1",
            "NIC_1_FRONTEND_TYPE": "e1000",
            "INSTANCE_BE_memory": "128", "INSTANCE_BE_vcpus": "2",
            "INSTANCE_BE_auto_balance": "True",
            "INSTANCE_HV_disk_type": "paravirtual", "INSTANCE_HV_nic_type": "e1000",
            "INSTANCE_HV_kernel_path": "/boot/vmlinuz", "INSTANCE_HV_acpi": "True",
        })

    def test_frontend_types_only_if_the_hypervisor_has_them(self):
        inst = instance("tiny", hvparams={}, beparams={})
        inst["disks"][0].update(dev_type="sharedfile", logical_id=["blktap", "/x"])
        env = osdefs.os_environment(inst, "tiny", ["/x"])
        self.assertNotIn("DISK_0_FRONTEND_TYPE", env)
        self.assertNotIn("NIC_0_FRONTEND_TYPE", env)
        self.assertEqual(env["DISK_0_BACKEND_TYPE"], "file:blktap")
        self.assertEqual(env["DEBUG_LEVEL"], "0")

    def test_disk_paths_must_match_the_disks(self):
        self.assertRaises(errors.ProgrammerError, osdefs.os_environment,
                          instance("tiny", disks=2), "tiny", ["/one"])


class RunnerTests(OSTestCase):
    def test_script_gets_exactly_the_environment(self):
        """``create`` is /usr/bin/env itself, so no shell adds variables of its own."""
        os_dir = write_os(self.first, "envdump")
        os.unlink(os.path.join(os_dir, "create"))
        os.symlink(shutil.which("env"), os.path.join(os_dir, "create"))
        disk = self.disk()

        async def run():
            log = await osdefs.instance_os_add(self.ctx, instance("envdump"), [disk], False)
            with open(log) as fh:
                got = dict(line.rstrip("\n").split("=", 1) for line in fh)
            self.assertEqual(got, osdefs.os_environment(instance("envdump"), "envdump", [disk]))
            log = await osdefs.instance_os_add(self.ctx, instance("envdump"), [disk], True)
            with open(log) as fh:
                self.assertIn("INSTANCE_REINSTALL=1\n", fh.read())
        return in_running_reactor(lambda: run())

    def test_script_runs_in_the_os_dir_without_arguments_and_umask_022(self):
        write_os(self.first, "cwd", scripts={"create": '#!/bin/sh\necho "$# $(pwd) $(umask)"\n'})
        disk = self.disk()

        async def run():
            old = os.umask(0o077)  # as the node daemon runs
            try:
                log = await osdefs.instance_os_add(self.ctx, instance("cwd"), [disk], False)
            finally:
                os.umask(old)
            with open(log) as fh:
                self.assertEqual(fh.read(), "0 %s 0022\n" % os.path.join(self.first, "cwd"))
        return in_running_reactor(lambda: run())

    def test_failure_is_one_line_with_last_lines_and_log_path(self):
        write_os(self.first, "fails", scripts={"create": (
            "#!/bin/sh\nfor i in $(seq 1 25); do echo line$i; done\n"
            "echo 'no space left' >&2\nexit 3\n")})
        disk = self.disk()

        async def run():
            try:
                await osdefs.instance_os_add(self.ctx, instance("fails"), [disk], False)
            except errors.OpExecError as err:
                message = str(err)
            else:
                self.fail("create did not fail")
            self.assertNotIn("\n", message)
            match = re.match(r"^OS create script failed \(exit 3\) on node node1, last lines: "
                             r"(.*); full log: (.*)$", message)
            self.assertTrue(match, message)
            lines = ["line%d" % i for i in range(7, 26)] + ["no space left"]
            self.assertEqual(match.group(1), " | ".join(lines))
            log = match.group(2)
            self.assertRegex(os.path.basename(log), r"^add-fails-inst1\.example\.com-\d+\.log$")
            self.assertEqual(os.path.dirname(log), self.paths.os_log_dir)
            self.assertEqual(stat.S_IMODE(os.stat(self.paths.os_log_dir).st_mode), 0o750)
            with open(log) as fh:
                self.assertEqual(len(fh.read().splitlines()), 26)
        return in_running_reactor(lambda: run())

    def test_timeout_kills_the_script_and_what_it_started(self):
        pidfile = os.path.abspath(self.mktemp())
        write_os(self.first, "hangs", scripts={"create": (
            "#!/bin/sh\nsleep 60 &\necho $! > %s\necho started\nwait\n" % pidfile)})
        os_obj = osdefs.find_os(self.paths, "hangs")
        disk = self.disk()

        async def run():
            try:
                await osdefs.run_os_script(self.ctx, os_obj, "create", instance("hangs"),
                                           [disk], "add", timeout=1)
            except errors.OpExecError as err:
                self.assertIn("(timed out after 1s)", str(err))
                self.assertIn("last lines: started;", str(err))
            else:
                self.fail("create did not time out")
            with open(pidfile) as fh:
                pid = int(fh.read())
            for _ in range(100):
                if not os.path.exists("/proc/%d" % pid) or \
                        open("/proc/%d/stat" % pid).read().split()[2] == "Z":
                    break
                await _sleep(0.02)
            else:
                self.fail("the script's child %d survived the timeout" % pid)
        return in_running_reactor(lambda: run())

    def test_rename_gets_the_old_name_and_its_log_name(self):
        write_os(self.first, "ren", scripts={
            "rename": '#!/bin/sh\necho "$OLD_INSTANCE_NAME -> $INSTANCE_NAME"\n'})
        disk = self.disk()

        async def run():
            log = await osdefs.instance_run_rename(self.ctx, instance("ren"), [disk],
                                                   "old.example.com")
            self.assertRegex(os.path.basename(log),
                             r"^rename-ren-old\.example\.com-inst1\.example\.com-\d+\.log$")
            with open(log) as fh:
                self.assertEqual(fh.read(), "old.example.com -> inst1.example.com\n")
        return in_running_reactor(lambda: run())

    def test_unreadable_import_source_is_one_clear_line(self):
        write_os(self.first, "imp")
        disk = self.disk()
        missing = os.path.join(self.root, "missing.dump")

        async def run():
            try:
                await osdefs.os_import(self.ctx, instance("imp"), [disk], 0, disk, missing)
            except errors.OpExecError as err:
                self.assertIn("cannot open %s: No such file or directory" % missing, str(err))
            else:
                self.fail("import did not fail")
        return in_running_reactor(lambda: run())

    def test_export_rejects_a_disk_index_the_instance_lacks(self):
        async def run():
            try:
                await osdefs.os_export(self.ctx, instance("tiny"), ["/x"], 1, "/x", "/y")
            except errors.OpExecError as err:
                self.assertIn("has no disk 1", str(err))
            else:
                self.fail("export did not fail")
        return in_running_reactor(lambda: run())


async def _sleep(seconds: float) -> None:
    from twisted.internet import task
    await task.deferLater(reactor, seconds, lambda: None)


def debugfs_cat(image: str, path: str) -> str:
    proc = subprocess.run(["debugfs", "-R", "cat %s" % path, image], capture_output=True,
                          text=True)
    return proc.stdout


class TinyOSTests(OSTestCase):
    def setUp(self):
        super().setUp()
        for tool in ("mke2fs", "debugfs"):
            if not shutil.which(tool, path="/sbin:/bin:/usr/sbin:/usr/bin"):
                raise unittest.SkipTest("%s missing (Debian package e2fsprogs)" % tool)

    def test_shipped_tiny_is_valid(self):
        os_obj = osdefs.find_os(self.paths, "tiny")
        self.assertEqual(os_obj.path, os.path.join(osdefs.PACKAGE_OS_DIR, "tiny"))
        self.assertEqual(os_obj.api_versions, [10])

    def test_create_makes_an_ext2_image_with_the_hostname(self):
        disks = [self.disk("disk0"), self.disk("disk1", 1)]
        with open(disks[1], "r+b") as fh:
            fh.write(b"keep me")

        async def run():
            log = await osdefs.instance_os_add(self.ctx, instance("tiny", disks=2), disks, False)
            self.assertRegex(os.path.basename(log), r"^add-tiny-inst1\.example\.com-\d+\.log$")
            self.assertEqual(debugfs_cat(disks[0], "/etc/hostname"), "inst1.example.com\n")
            self.assertIn("OS=tiny\n", debugfs_cat(disks[0], "/etc/ganeti-tiny"))
            magic = subprocess.run(["dumpe2fs", "-h", disks[0]], capture_output=True,
                                   text=True).stdout
            self.assertIn("Block count:", magic)
            self.assertEqual(os.path.getsize(disks[0]), 4 * 1024 * 1024)
            with open(disks[1], "rb") as fh:
                self.assertEqual(fh.read(7), b"keep me")
        return in_running_reactor(lambda: run())

    def test_rename_rewrites_the_hostname(self):
        disk = self.disk()

        async def run():
            await osdefs.instance_os_add(self.ctx, instance("tiny"), [disk], False)
            renamed = instance("tiny", name="inst2.example.com")
            await osdefs.instance_run_rename(self.ctx, renamed, [disk], "inst1.example.com")
            self.assertEqual(debugfs_cat(disk, "/etc/hostname"), "inst2.example.com\n")
        return in_running_reactor(lambda: run())

    def test_rename_of_a_foreign_disk_does_nothing_and_says_so(self):
        disk = self.disk()

        async def run():
            log = await osdefs.instance_run_rename(self.ctx, instance("tiny"), [disk], "old")
            with open(log) as fh:
                self.assertIn("nothing to rename", fh.read())
            with open(disk, "rb") as fh:
                self.assertEqual(fh.read(), b"\0" * 4 * 1024 * 1024)
        return in_running_reactor(lambda: run())

    def test_export_import_round_trip(self):
        source, target = self.disk("disk0"), self.disk("target")
        dump = os.path.join(self.root, "disk0.dump")

        async def run():
            await osdefs.instance_os_add(self.ctx, instance("tiny"), [source], False)
            log = await osdefs.os_export(self.ctx, instance("tiny"), [source], 0, source, dump)
            self.assertRegex(os.path.basename(log), r"^exp-tiny-inst1\.example\.com-\d+\.log$")
            log = await osdefs.os_import(self.ctx, instance("tiny"), [target], 0, target, dump)
            self.assertRegex(os.path.basename(log),
                             r"^import-tiny-inst1\.example\.com-\d+\.log$")
            with open(source, "rb") as a, open(target, "rb") as b:
                self.assertTrue(a.read() == b.read(), "the imported disk differs")
            self.assertEqual(debugfs_cat(target, "/etc/hostname"), "inst1.example.com\n")
        return in_running_reactor(lambda: run())

    def test_create_without_disks_fails_clearly(self):
        async def run():
            try:
                await osdefs.instance_os_add(self.ctx, instance("tiny", disks=0), [], False)
            except errors.OpExecError as err:
                self.assertIn("create: error: the instance has no disks", str(err))
            else:
                self.fail("create without disks succeeded")
        return in_running_reactor(lambda: run())

    def test_scripts_print_usage(self):
        for script in osdefs.OS_SCRIPTS:
            path = os.path.join(osdefs.PACKAGE_OS_DIR, "tiny", script)
            proc = subprocess.run([path, "--help"], capture_output=True, text=True)
            self.assertEqual((proc.returncode, proc.stdout.split()[:2]),
                             (0, ["Usage:", script]), script)
            proc = subprocess.run([path, "bogus"], capture_output=True, text=True)
            self.assertEqual(proc.returncode, 1, script)
            self.assertIn("Usage: %s" % script, proc.stderr)
            proc = subprocess.run([path], capture_output=True, text=True, env={"PATH": "/bin"})
            self.assertEqual(proc.returncode, 1, script)
            self.assertRegex(proc.stderr, r"^%s: error: \w+ is not set" % script)


class DebianNoopTests(OSTestCase):
    """Debian's ganeti-os-noop (/usr/share/ganeti/os/noop) through our runner."""

    def setUp(self):
        super().setUp()
        if os.path.isdir(NOOP_DIR):
            return
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            raise unittest.SkipTest("ganeti-os-noop is not installed and cannot be "
                                    "(needs root and apt-get)")
        proc = subprocess.run(["apt-get", "install", "-y", "-q", "ganeti-os-noop"],
                              capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        if proc.returncode != 0 or not os.path.isdir(NOOP_DIR):
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            raise unittest.SkipTest("apt-get install ganeti-os-noop failed: %s"
                                    % (lines[-1] if lines else proc.returncode))

    def test_noop_is_found_in_the_system_dir_and_valid(self):
        os_obj = osdefs.find_os(self.paths, "noop")
        self.assertEqual(os_obj.path, NOOP_DIR)
        self.assertIn(10, os_obj.api_versions)

    def test_noop_scripts_run_through_our_runner(self):
        source, target = self.disk("disk0"), self.disk("target")
        with open(source, "r+b") as fh:
            fh.write(b"noop data")
        dump = os.path.join(self.root, "disk0.dump")

        async def run():
            await osdefs.instance_os_add(self.ctx, instance("noop"), [source], False)
            await osdefs.instance_run_rename(self.ctx, instance("noop"), [source], "old")
            await osdefs.os_export(self.ctx, instance("noop"), [source], 0, source, dump)
            await osdefs.os_import(self.ctx, instance("noop"), [target], 0, target, dump)
            with open(target, "rb") as fh:
                self.assertEqual(fh.read(9), b"noop data")
        return in_running_reactor(lambda: run())
