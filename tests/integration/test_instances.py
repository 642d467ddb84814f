"""Instances end to end on a real 3-node local cluster with the fake hypervisor."""

import json
import os
import stat
import textwrap

from ganeti_tw import config
from tests.integration.base import ClusterTestCase

ADD = ("add", "--no-name-check", "--no-ip-check", "-o", "tiny")


def _write_script(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write(textwrap.dedent(text).lstrip())
    os.chmod(path, 0o755)


class InstanceTestCase(ClusterTestCase):
    NODES = 3
    BASE_IP = "127.0.11."

    def gi(self, *args: str) -> str:
        return self.assertCommandOk("gnt-instance", *args)

    def list_row(self, name: str, fields: str) -> list:
        out = self.gi("list", "--no-headers", "--separator=|", "-o", fields, name)
        return out.strip().split("|")

    def config(self) -> config.ConfigWriter:
        return config.ConfigWriter(self.cluster.paths(1).config_file)

    def fake_state(self, node: int, name: str) -> str:
        return os.path.join(self.cluster.paths(node).fake_hv_dir, name)

    def disk_file(self, node: int, name: str, index: int = 0) -> str:
        return os.path.join(self.cluster.paths(node).file_storage_dir, name, "disk%d" % index)


class FileInstanceLifecycleTests(InstanceTestCase):
    def test_file_instance_lifecycle(self):
        self.gi(*ADD, "-t", "file", "--disk", "0:size=64m", "-B", "memory=96", "-n", "node2",
                "inst1.example.com")
        disk = self.disk_file(2, "inst1.example.com")
        self.assertEqual(os.path.getsize(disk), 64 * 1024 * 1024)
        self.assertTrue(os.path.exists(self.fake_state(2, "inst1.example.com")))
        self.assertEqual(self.list_row("inst1", "name,pnode,os,status,oper_ram,disk_template,"
                                                "be/memory,disk.count,nic.count"),
                         ["inst1.example.com", "node2", "tiny", "running", "96", "file", "96",
                          "1", "1"])
        mac = self.list_row("inst1", "mac")[0]
        self.assertTrue(mac.startswith("aa:00:00:"), mac)
        self.assertEqual(self.list_row("inst1", "nic.modes,nic.bridges"),
                         ["bridged", "xen-br0"])
        # NIC mode none: no bridge; a bridge (or mode bridged) connects it again
        self.gi("modify", "--net", "0:mode=none", "inst1")
        self.assertEqual(self.list_row("inst1", "nic.mode/0,nic.bridge/0"), ["none", "-"])
        self.assertIn("bridge: none (mode none: not connected)", self.gi("info", "inst1"))
        self.gi("modify", "--net", "0:mode=bridged", "inst1")
        self.assertEqual(self.list_row("inst1", "nic.modes,nic.bridges"),
                         ["bridged", "xen-br0"])
        info = self.gi("info", "inst1")
        self.assertIn("inst1.example.com", info)
        self.assertIn("disk/0", info)
        # the node's memory view counts the instance (fake hypervisor)
        self.assertEqual(self.assertCommandOk("gnt-node", "list", "--no-headers", "-o",
                                              "pinst_cnt", "node2").strip(), "1")

        self.gi("shutdown", "inst1")
        self.assertEqual(self.list_row("inst1", "status"), ["ADMIN_down"])
        self.assertFalse(os.path.exists(self.fake_state(2, "inst1.example.com")))
        self.gi("startup", "inst1")
        self.assertEqual(self.list_row("inst1", "status"), ["running"])
        for kind in ("soft", "hard", "full"):
            self.gi("reboot", "-t", kind, "inst1")
        self.assertEqual(self.list_row("inst1", "status,admin_state"), ["running", "yes"])

        self.gi("grow-disk", "inst1", "0", "32m")
        self.assertEqual(os.path.getsize(disk), 96 * 1024 * 1024)
        self.assertEqual(self.list_row("inst1", "disk.size/0"), ["96"])

        out = self.gi("modify", "-B", "memory=128", "--disk", "add:size=16m", "inst1")
        self.assertIn("next start", out)
        self.assertEqual(os.path.getsize(self.disk_file(2, "inst1.example.com", 1)),
                         16 * 1024 * 1024)
        self.assertEqual(self.list_row("inst1", "be/memory,oper_ram,disk.count"),
                         ["128", "96", "2"])

        self.gi("shutdown", "inst1")
        self.gi("reinstall", "-f", "inst1")
        self.gi("rename", "--no-name-check", "inst1.example.com", "inst9.example.com")
        self.assertFalse(os.path.exists(disk))
        renamed = self.disk_file(2, "inst9.example.com")
        self.assertTrue(os.path.exists(renamed))
        out = self.gi("activate-disks", "inst9")
        self.assertIn("node2:disk/0:", out)
        self.gi("deactivate-disks", "inst9")
        self.gi("startup", "inst9")
        self.assertEqual(self.list_row("inst9", "status,oper_ram"), ["running", "128"])

        self.assertCommandOk("gnt-cluster", "verify")
        self.gi("remove", "-f", "inst9")
        self.assertFalse(os.path.exists(os.path.dirname(renamed)))
        self.assertFalse(os.path.exists(self.fake_state(2, "inst9.example.com")))
        self.assertEqual(self.config().instance_names(), [])
        self.assertEqual(self.gi("list", "--no-headers").strip(), "")

    def test_verify_reports_a_stopped_instance_and_a_missing_disk(self):
        self.gi(*ADD, "-t", "diskless", "-n", "node3", "inst1")
        self.assertCommandOk("gnt-cluster", "verify")
        os.unlink(self.fake_state(3, "inst1"))
        self.assertEqual(self.list_row("inst1", "status"), ["ERROR_down"])
        proc = self.gnt("gnt-cluster", "verify")
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn("instance inst1: not running on its primary node node3", proc.stdout)
        self.gi(*ADD, "-t", "file", "-s", "8m", "--no-start", "-n", "node2", "inst2")
        os.unlink(self.disk_file(2, "inst2"))
        proc = self.gnt("gnt-cluster", "verify")
        self.assertIn("instance inst2: disk disk/0 missing on node node2", proc.stdout)


class SharedFileTests(InstanceTestCase):
    def test_migrate_and_failover_move_a_sharedfile_instance(self):
        self.gi(*ADD, "-t", "sharedfile", "-s", "32m", "-n", "node1", "web1")
        shared = os.path.join(self.tmpdir, "shared-file-storage", "web1", "disk0")
        self.assertTrue(os.path.exists(shared))
        self.gi("migrate", "-f", "-n", "node2", "web1")
        self.assertEqual(self.list_row("web1", "pnode,status"), ["node2", "running"])
        self.assertFalse(os.path.exists(self.fake_state(1, "web1")))
        self.assertTrue(os.path.exists(self.fake_state(2, "web1")))
        self.gi("failover", "-f", "-n", "node3", "web1")
        self.assertEqual(self.list_row("web1", "pnode,status"), ["node3", "running"])
        self.assertTrue(os.path.exists(self.fake_state(3, "web1")))
        self.assertFalse(os.path.exists(self.fake_state(2, "web1")))
        self.assertCommandOk("gnt-cluster", "verify")

    def test_iallocator_places_the_instance(self):
        self.gi(*ADD, "-t", "sharedfile", "-s", "32m", "-I", "free-memory", "app1")
        pnode = self.list_row("app1", "pnode")[0]
        self.assertIn(pnode, ("node1", "node2", "node3"))
        out = self.assertCommandOk("gnt-debug", "allocator", "--dir", "in", "-m", "allocate",
                                   "--mem", "128", "--disks", "64", "-t", "file", "new1")
        document = json.loads(out)
        self.assertEqual(document["version"], 2)
        self.assertEqual(sorted(document["nodes"]), ["node1", "node2", "node3"])
        self.assertIn("app1", document["instances"])


class OSInterfaceTests(InstanceTestCase):
    NODES = 2

    def test_os_scripts_get_the_documented_environment(self):
        for node in (1, 2):
            osdir = os.path.join(self.cluster.root(node), "srv/ganeti/os/envdump")
            with open(os.path.join(os.makedirs(osdir, exist_ok=True) or osdir,
                                   "ganeti_api_version"), "w") as fh:
                fh.write("10\n")
            dump = os.path.join(self.tmpdir, "env.json")
            _write_script(os.path.join(osdir, "create"), """
                #!/usr/bin/env python3
                import json, os
                json.dump(dict(os.environ), open(%r, "w"))
                """ % dump)
            for script in ("import", "export", "rename"):
                _write_script(os.path.join(osdir, script), "#!/bin/sh\nexit 0\n")
        self.gi("add", "--no-name-check", "--no-ip-check", "-o", "envdump", "-t", "file",
                "--disk", "0:size=8m", "--disk", "1:size=4m,mode=ro", "--net", "0:ip=192.0.2.7",
                "--net", "1:mac=aa:00:00:11:22:33,bridge=br9", "-n", "node2", "--no-start",
                "envos1")
        with open(dump) as fh:
            env = json.load(fh)
        expected = {
            "OS_API_VERSION": "10", "INSTANCE_NAME": "envos1", "INSTANCE_OS": "envdump",
            "HYPERVISOR": "fake", "DISK_COUNT": "2", "DISK_0_ACCESS": "rw",
            "DISK_1_ACCESS": "ro", "DISK_0_BACKEND_TYPE": "file:loop",
            "DISK_0_PATH": self.disk_file(2, "envos1", 0),
            "DISK_1_PATH": self.disk_file(2, "envos1", 1),
            "NIC_COUNT": "2", "NIC_0_IP": "192.0.2.7", "NIC_0_BRIDGE": "xen-br0",
            "NIC_1_MAC": "aa:00:00:11:22:33", "NIC_1_BRIDGE": "br9", "DEBUG_LEVEL": "0",
            "INSTANCE_BE_memory": "128", "INSTANCE_BE_vcpus": "1",
        }
        for key, value in expected.items():
            self.assertEqual(env.get(key), value, key)
        self.assertNotIn("NIC_1_IP", env)
        self.assertTrue(env["NIC_0_MAC"].startswith("aa:00:00:"))

    def test_debian_ganeti_os_noop_installs_instances(self):
        if not os.path.isdir("/usr/share/ganeti/os/noop"):
            self.skipTest("Debian's ganeti-os-noop is not installed (scripts/setup-env.sh "
                          "installs it when run as root with apt-get)")
        self.gi("add", "--no-name-check", "--no-ip-check", "-o", "noop", "-t", "file", "-s",
                "8m", "-n", "node2", "noop1")
        self.assertEqual(self.list_row("noop1", "os,status"), ["noop", "running"])
        logs = os.listdir(self.cluster.paths(2).os_log_dir)
        self.assertTrue(any(name.startswith("add-noop-noop1-") for name in logs), logs)

    def test_failing_os_create_leaves_no_instance(self):
        osdir = os.path.join(self.cluster.root(2), "srv/ganeti/os/broken")
        os.makedirs(osdir)
        with open(os.path.join(osdir, "ganeti_api_version"), "w") as fh:
            fh.write("10\n")
        _write_script(os.path.join(osdir, "create"), """
            #!/bin/sh
            echo "formatting $DISK_0_PATH"
            echo "mkfs: no space left on device" >&2
            exit 3
            """)
        for script in ("import", "export", "rename"):
            _write_script(os.path.join(osdir, script), "#!/bin/sh\nexit 0\n")
        line = self.assertCommandFails("gnt-instance", "add", "--no-name-check",
                                       "--no-ip-check", "-o", "broken", "-t", "file", "-s",
                                       "8m", "-n", "node2", "bad1")
        self.assertIn("exit 3", line)
        self.assertIn("mkfs: no space left on device", line)
        log = line.rsplit("full log: ", 1)[1].strip()
        self.assertTrue(os.path.exists(log), log)
        self.assertEqual(self.config().instance_names(), [])
        self.assertFalse(os.path.exists(os.path.join(self.cluster.paths(2).file_storage_dir,
                                                     "bad1")))
        # the name is free again: the lock of the failed creation is gone
        self.gi(*ADD, "-t", "diskless", "-n", "node2", "bad1")


class BadInputTests(InstanceTestCase):
    NODES = 3

    def add_fails(self, *args: str) -> str:
        return self.assertCommandFails("gnt-instance", "add", "--no-name-check",
                                       "--no-ip-check", *args)

    def test_bad_requests_get_one_clear_line(self):
        self.gi(*ADD, "-t", "diskless", "-n", "node2", "dup1")
        cases = [
            (("-o", "nosuchos", "-t", "file", "-s", "8m", "-n", "node2", "x1"), "nosuchos"),
            (("-o", "tiny", "-t", "file", "-s", "8m", "-n", "node9", "x1"), "node9"),
            (("-o", "tiny", "-t", "diskless", "-n", "node2", "dup1"), "dup1"),
            (("-o", "tiny", "-t", "file", "--disk", "0:size=-5", "-n", "node2", "x1"), "size"),
            (("-o", "tiny", "-t", "file", "--disk", "0:size=8m", "--disk", "3:size=8m",
              "-n", "node2", "x1"), "disk"),
            (("-o", "tiny", "-t", "file", "--net", "0:mac=zz:zz", "-s", "8m", "-n", "node2",
              "x1"), "MAC"),
            (("-o", "tiny", "-t", "file", "--net", "0:ip=300.1.1.1", "-s", "8m", "-n",
              "node2", "x1"), "IP"),
            (("-o", "tiny", "-t", "plain", "-s", "8m", "-n", "node2", "x1"), "LVM"),
            (("-o", "tiny", "-t", "drbd", "-s", "8m", "-n", "node2:node3", "x1"), "DRBD"),
            (("-o", "tiny", "-t", "diskless", "-B", "memory=9000000", "-n", "node2", "x1"),
             "Not enough memory on node node2"),
        ]
        many = []
        for index in range(17):
            many += ["--disk", "%d:size=1m" % index]
        cases.append((("-o", "tiny", "-t", "file", *many, "-n", "node2", "x1"), "16"))
        nics = []
        for index in range(9):
            nics += ["--net", "%d:ip=none" % index]
        cases.append((("-o", "tiny", "-t", "diskless", *nics, "-n", "node2", "x1"), "8"))
        for args, needle in cases:
            line = self.add_fails(*args)
            self.assertIn(needle, line, args)
        names = self.config().instance_names()
        self.assertEqual(names, ["dup1"])
        # a start checks the node's free memory too, counting a -B override
        self.gi("shutdown", "dup1")
        line = self.assertCommandFails("gnt-instance", "startup", "-B", "memory=9000000", "dup1")
        self.assertIn("Not enough memory on node node2 for starting instance dup1", line)
        line = self.assertCommandFails("gnt-instance", "grow-disk", "dup1", "4", "1g")
        self.assertIn("disk", line)

    def test_drained_and_offline_nodes_get_no_instances(self):
        self.assertCommandOk("gnt-node", "modify", "-D", "yes", "-f", "node2")
        line = self.add_fails("-o", "tiny", "-t", "diskless", "-n", "node2", "x1")
        self.assertIn("node2 is drained", line)
        self.assertCommandOk("gnt-node", "modify", "-D", "no", "node2")
        self.gi(*ADD, "-t", "diskless", "-n", "node3", "on3")
        self.assertCommandOk("gnt-node", "modify", "-O", "yes", "-f", "node3")
        line = self.add_fails("-o", "tiny", "-t", "diskless", "-n", "node3", "x2")
        self.assertIn("node3 is offline", line)
        self.assertEqual(self.list_row("on3", "status"), ["ERROR_nodeoffline"])

    def test_not_enough_disk_space_names_the_node_and_the_shortfall(self):
        line = self.add_fails("-o", "tiny", "-t", "file", "-s", "900t", "-n", "node3", "big1")
        self.assertIn("Not enough free disk space on node node3", line)
        self.assertIn("MiB missing", line)

    def test_failing_pre_hook_aborts_with_its_name_and_output(self):
        hook = os.path.join(self.cluster.paths(1).hooks_dir, "instance-add-pre.d", "10-deny")
        _write_script(hook, "#!/bin/sh\necho \"no instances named $GANETI_INSTANCE_NAME\"\n"
                            "exit 1\n")
        line = self.add_fails("-o", "tiny", "-t", "diskless", "-n", "node2", "hooked1")
        self.assertIn("10-deny", line)
        self.assertIn("no instances named hooked1", line)
        self.assertEqual(self.config().instance_names(), [])
        os.chmod(hook, stat.S_IRUSR)
        post = os.path.join(self.cluster.paths(2).hooks_dir, "instance-add-post.d", "10-env")
        envfile = os.path.join(self.tmpdir, "post-env")
        _write_script(post, "#!/bin/sh\nenv > %s\n" % envfile)
        self.gi(*ADD, "-t", "diskless", "-n", "node2", "hooked1")
        with open(envfile) as fh:
            env = dict(line.split("=", 1) for line in fh.read().splitlines() if "=" in line)
        self.assertEqual(env["GANETI_HOOKS_PHASE"], "post")
        self.assertEqual(env["GANETI_HOOKS_PATH"], "instance-add")
        self.assertEqual(env["GANETI_OP_CODE"], "OP_INSTANCE_CREATE")
        self.assertEqual(env["GANETI_INSTANCE_PRIMARY"], "node2")
        self.assertEqual(env["GANETI_OBJECT_TYPE"], "INSTANCE")


class TagTests(InstanceTestCase):
    NODES = 2

    def test_tags_on_cluster_nodes_and_instances(self):
        self.gi(*ADD, "-t", "diskless", "-n", "node2", "t1")
        self.assertCommandOk("gnt-cluster", "add-tags", "env:prod", "site:a")
        self.assertCommandOk("gnt-node", "add-tags", "node2", "rack:7")
        self.gi("add-tags", "t1", "role:web", "env:prod")
        self.assertEqual(self.gi("list-tags", "t1").split(), ["env:prod", "role:web"])
        out = self.assertCommandOk("gnt-cluster", "search-tags", "^env:")
        self.assertIn("/cluster env:prod", out)
        self.assertIn("/instances/t1 env:prod", out)
        line = self.assertCommandFails("gnt-instance", "remove-tags", "t1", "nope")
        self.assertIn("nope", line)
        self.gi("remove-tags", "t1", "env:prod")
        self.assertEqual(self.gi("list-tags", "t1").split(), ["role:web"])
        self.assertEqual(self.assertCommandOk("gnt-node", "list-tags", "node2").split(),
                         ["rack:7"])
        line = self.assertCommandFails("gnt-cluster", "add-tags", "bad tag")
        self.assertIn("tag", line.lower())


class MultiInstanceCommandTests(InstanceTestCase):
    NODES = 2

    def test_batch_create_then_selection_flags_and_console(self):
        spec = {"template": "diskless", "os": "tiny", "primary_node": "node2",
                "name_check": False, "start": False}
        batch = os.path.join(self.tmpdir, "batch.json")
        with open(batch, "w") as fh:
            json.dump({"b1": spec, "b2": spec, "b3": dict(spec, primary_node="node1")}, fh)
        self.gi("batch-create", batch)
        self.assertEqual(self.gi("list", "--no-headers", "-o", "name,status").split(),
                         ["b1", "ADMIN_down", "b2", "ADMIN_down", "b3", "ADMIN_down"])
        self.gi("startup", "--node", "--force-multiple", "node2")
        self.assertEqual(self.gi("list", "--no-headers", "-o", "name,status").split(),
                         ["b1", "running", "b2", "running", "b3", "ADMIN_down"])
        self.gi("shutdown", "--all", "--force-multiple")
        self.assertEqual(self.gi("list", "--no-headers", "-o", "status").split(),
                         ["ADMIN_down"] * 3)
        self.gi("startup", "b3")
        shown = self.gi("console", "--show-cmd", "b3")
        self.assertIn("Console not available for fake hypervisor", shown)
        out = self.gi("console", "b3")
        self.assertIn("Console not available for fake hypervisor", out)
        line = self.assertCommandFails("gnt-instance", "console", "b1")
        self.assertIn("not running", line)

    def test_cluster_parameters_reach_instances(self):
        self.gi(*ADD, "-t", "diskless", "-n", "node2", "--no-start", "p1")
        self.assertCommandOk("gnt-cluster", "modify", "-B", "memory=200,vcpus=2")
        self.assertEqual(self.list_row("p1", "be/memory,vcpus"), ["200", "2"])
        self.gi("modify", "-B", "memory=64", "p1")
        self.assertEqual(self.list_row("p1", "be/memory"), ["64"])
        self.gi("modify", "-B", "memory=default", "p1")
        self.assertEqual(self.list_row("p1", "be/memory"), ["200"])
        info = self.assertCommandOk("gnt-cluster", "info")
        self.assertIn("memory: 200", info)
        line = self.assertCommandFails("gnt-cluster", "modify", "--enabled-hypervisors",
                                       "fake,kvm")
        self.assertIn("kvm", line)
        line = self.assertCommandFails("gnt-cluster", "modify", "-H", "kvm:acpi=maybe")
        self.assertIn("acpi", line)


class ConcurrencyAndNodeStateTests(InstanceTestCase):
    NODES = 3

    def create_op(self, name: str, node: str, template: str = "file") -> dict:
        return {"OP_ID": "OP_INSTANCE_CREATE", "instance_name": name, "disk_template": template,
                "disks": [{"size": 8}] if template != "diskless" else [], "os_type": "tiny",
                "pnode": node, "name_check": False, "ip_check": False}

    def test_two_creations_of_one_name_make_one_instance(self):
        first = self.submit(self.create_op("twin", "node2"))
        second = self.submit(self.create_op("twin", "node3"))
        statuses = sorted([self.wait_job(first)[0], self.wait_job(second)[0]])
        self.assertEqual(statuses, ["error", "success"])
        self.assertEqual(self.config().instance_names(), ["twin"])
        pnode = self.config().get_instance("twin").primary_node
        other = 3 if pnode == "node2" else 2
        self.assertTrue(os.path.exists(self.disk_file(int(pnode[-1]), "twin")))
        self.assertFalse(os.path.exists(os.path.join(
            self.cluster.paths(other).file_storage_dir, "twin")))

    def test_parallel_operations_on_different_instances(self):
        jobs = [self.submit(self.create_op("par%d" % i, "node%d" % (i % 3 + 1), "diskless"))
                for i in range(6)]
        for job in jobs:
            self.assertEqual(self.wait_job(job)[0], "success")
        jobs = [self.submit({"OP_ID": "OP_INSTANCE_SHUTDOWN", "instance_name": "par%d" % i})
                for i in range(6)]
        for job in jobs:
            self.assertEqual(self.wait_job(job)[0], "success")
        self.assertEqual(self.gi("list", "--no-headers", "-o", "status").split(),
                         ["ADMIN_down"] * 6)

    def test_offline_primary_and_node_removal(self):
        self.gi(*ADD, "-t", "diskless", "-n", "node3", "lost1")
        line = self.assertCommandFails("gnt-node", "remove", "node3")
        self.assertIn("lost1", line)
        self.assertCommandOk("gnt-node", "modify", "-O", "yes", "-f", "node3")
        line = self.assertCommandFails("gnt-instance", "startup", "lost1")
        self.assertIn("node3 is offline", line)
        line = self.assertCommandFails("gnt-instance", "remove", "-f", "lost1")
        self.assertIn("node3", line)
        self.gi("remove", "-f", "--ignore-failures", "lost1")
        self.assertEqual(self.config().instance_names(), [])
        self.assertCommandOk("gnt-node", "remove", "node3")

    def test_unreachable_primary_shows_error_nodedown(self):
        self.gi(*ADD, "-t", "diskless", "-n", "node3", "far1")
        self.kill_daemon(3, "ganeti-noded")
        self.assertEqual(self.list_row("far1", "status,oper_state"),
                         ["ERROR_nodedown", "(node down)"])
        # spec 5.3: marked down, and a failed stop only warns
        out = self.gi("shutdown", "far1")
        self.assertIn("WARNING: Could not shutdown instance far1", out)
        self.cluster.start_noded(3)
        self.assertEqual(self.list_row("far1", "status"), ["ERROR_up"])
        self.assertNotEqual(self.gnt("gnt-cluster", "verify").returncode, 0)
