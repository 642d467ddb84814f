"""gnt-instance, tag commands and gnt-debug allocator: parsing and formatting, no cluster."""

import io
import os
import subprocess
import sys
import tempfile
from contextlib import redirect_stdout

from twisted.trial import unittest

from ganeti_tw import constants as C, errors
from ganeti_tw.cli import UsageError, cluster, debug, instance, instance_format, node, tags
from ganeti_tw.cli.instance import build_parser


def parse(*argv: str):
    return build_parser().parse_args(list(argv))


def op_dict(build, *argv: str) -> dict:
    return build(parse(*argv)).to_dict()


class TTY(io.StringIO):
    """Standard input that claims to be a terminal."""

    def isatty(self) -> bool:
        return True


class AddTests(unittest.SynchronousTestCase):
    def test_full_options(self):
        op = op_dict(instance.build_create_op, "add", "-t", "file", "-o", "debian",
                     "--disk", "0:size=10g", "--disk", "1:size=512,mode=ro",
                     "--net", "0:mac=auto,ip=192.0.2.5,bridge=br0", "--net", "1",
                     "-n", "node1", "-B", "memory=1g,vcpus=2,auto_balance=false",
                     "-H", "kvm:acpi=false", "--no-wait-for-sync",
                     "--file-storage-dir", "web", "--file-driver", "blktap", "inst1")
        self.assertEqual(op["OP_ID"], "OP_INSTANCE_CREATE")
        self.assertEqual(op["instance_name"], "inst1")
        self.assertEqual(op["disk_template"], "file")
        self.assertEqual(op["disks"], [{"size": 10240}, {"size": 512, "mode": "ro"}])
        self.assertEqual(op["nics"], [{"mac": "auto", "ip": "192.0.2.5", "bridge": "br0"}, {}])
        self.assertEqual((op["pnode"], op["snode"], op["iallocator"]), ("node1", None, None))
        self.assertEqual(op["beparams"], {"memory": 1024, "vcpus": 2, "auto_balance": False})
        self.assertEqual((op["hypervisor"], op["hvparams"]), ("kvm", {"acpi": False}))
        self.assertEqual((op["start"], op["ip_check"], op["name_check"], op["wait_for_sync"]),
                         (True, True, True, False))
        self.assertEqual((op["file_storage_dir"], op["file_driver"]), ("web", "blktap"))

    def test_os_size_gives_one_disk_and_default_nic(self):
        op = op_dict(instance.build_create_op, "add", "-t", "sharedfile", "-o", "d", "-s", "2g",
                     "-n", "node1:node2", "x")
        self.assertEqual(op["disks"], [{"size": 2048}])
        self.assertEqual(op["nics"], [{}])
        self.assertEqual((op["pnode"], op["snode"]), ("node1", "node2"))

    def test_diskless_without_nics_by_iallocator(self):
        op = op_dict(instance.build_create_op, "add", "-t", "diskless", "-o", "d", "--no-nics",
                     "-I", "hail", "x")
        self.assertEqual((op["disks"], op["nics"], op["iallocator"]), ([], [], "hail"))

    def test_no_name_check_implies_no_ip_check(self):
        op = op_dict(instance.build_create_op, "add", "-t", "file", "-o", "d", "-s", "1g",
                     "-n", "n1", "--no-name-check", "--no-start", "--no-install", "x")
        self.assertEqual((op["name_check"], op["ip_check"], op["start"], op["no_install"]),
                         (False, False, False, True))
        op = op_dict(instance.build_create_op, "add", "-t", "file", "-o", "d", "-s", "1g",
                     "-n", "n1", "--no-ip-check", "x")
        self.assertEqual((op["name_check"], op["ip_check"], op["start"]), (True, False, True))


class UsageErrorTests(unittest.SynchronousTestCase):
    """Bad input is one line naming the problem, raised before anything is submitted."""

    def assertUsage(self, build, argv, fragment):
        with self.assertRaises(UsageError) as cm:
            build(parse(*argv))
        message = str(cm.exception)
        self.assertNotIn("\n", message)
        self.assertIn(fragment, message)

    def add_error(self, fragment, *argv):
        self.assertUsage(instance.build_create_op,
                         ("add", "-t", "file", "-o", "d") + argv + ("x",), fragment)

    def test_add_errors(self):
        self.add_error("either --disk or -s", "-s", "1g", "--disk", "0:size=1g", "-n", "n")
        self.add_error("give the disks", "-n", "n")
        self.add_error("unknown disk parameter(s) sze", "--disk", "0:sze=1", "-n", "n")
        self.add_error("must not be negative", "--disk", "0:size=-5", "-n", "n")
        self.add_error("must start with an index", "--disk", "first:size=1", "-n", "n")
        self.add_error("without gaps", "--disk", "0:size=1", "--disk", "2:size=1", "-n", "n")
        self.add_error("--disk 0 given twice", "--disk", "0:size=1", "--disk", "0:size=2",
                       "-n", "n")
        self.add_error("invalid disk mode 'rx'", "--disk", "0:size=1,mode=rx", "-n", "n")
        self.add_error("not both", "-s", "1g", "-n", "n", "-I", "hail")
        self.add_error("(-n PNODE[:SNODE]) or an iallocator", "-s", "1g")
        self.add_error("invalid MAC address", "-s", "1g", "-n", "n", "--net", "0:mac=xx")
        self.add_error("unknown NIC parameter(s) vlan", "-s", "1g", "-n", "n", "--net",
                       "0:vlan=1")
        self.add_error("--net or --no-nics", "-s", "1g", "-n", "n", "--net", "0",
                       "--no-nics")
        self.add_error("-B memory: invalid size", "-s", "1g", "-n", "n", "-B", "memory=lots")
        self.add_error("Unknown backend parameter(s): colour", "-s", "1g", "-n", "n",
                       "-B", "colour=red")
        self.add_error("duplicate key", "-s", "1g", "-n", "n", "-B", "vcpus=1,vcpus=2")
        self.add_error("unknown hypervisor 'vmware'", "-s", "1g", "-n", "n", "-H", "vmware")
        self.assertUsage(instance.build_create_op, ("add", "-t", "diskless", "-o", "d",
                                                    "-s", "1g", "-n", "n", "x"),
                         "diskless instances take no disks")

    def test_modify_errors(self):
        self.assertUsage(instance.build_modify_op, ("modify", "x"), "give at least one")
        self.assertUsage(instance.build_modify_op, ("modify", "--disk", "add", "x"),
                         "--disk add needs a size")
        self.assertUsage(instance.build_modify_op, ("modify", "--disk", "0:size=5", "x"),
                         "use grow-disk")
        self.assertUsage(instance.build_modify_op,
                         ("modify", "--disk", "add:size=1", "--disk", "remove", "x"),
                         "Only one disk add or remove")

    def test_grow_disk_index(self):
        self.assertUsage(instance.build_grow_disk_op, ("grow-disk", "x", "one", "1g"),
                         "invalid disk index 'one'")

    def test_parser_errors_are_one_line(self):
        for argv in (["frobnicate"], ["add", "-t", "lvm", "-o", "d", "x"],
                     ["modify", "--disk", "remove:size=1", "x"],
                     ["grow-disk", "x", "0", "1q"], ["reboot", "-t", "warm", "x"]):
            with self.assertRaises(UsageError) as cm:
                parse(*argv)
            self.assertNotIn("\n", str(cm.exception))

    def test_replace_disks_refuses_in_one_line(self):
        opts = parse("replace-disks", "-s", "x")
        with self.assertRaises(UsageError) as cm:
            opts.func(opts)
        self.assertIn("replace-disks needs the drbd disk template, which this version does "
                      "not support yet", str(cm.exception))



class OtherOpcodeTests(unittest.SynchronousTestCase):
    def test_modify(self):
        op = op_dict(instance.build_modify_op, "modify", "-B", "memory=2g,vcpus=default",
                     "-H", "kernel_path=DEFAULT,acpi=false", "--disk", "add:size=1g,mode=ro",
                     "--net", "0:ip=none", "-f", "x")
        self.assertEqual(op["beparams"], {"memory": 2048, "vcpus": "default"})
        self.assertEqual(op["hvparams"], {"kernel_path": "default", "acpi": False})
        self.assertEqual(op["disks"], [["add", {"size": 1024, "mode": "ro"}]])
        self.assertEqual(op["nics"], [[0, {"ip": "none"}]])
        self.assertTrue(op["force"])

    def test_modify_remove(self):
        op = op_dict(instance.build_modify_op, "modify", "--disk", "remove", "--net", "add",
                     "x")
        self.assertEqual((op["disks"], op["nics"]), ([["remove", {}]], [["add", {}]]))

    def test_startup_one_off_params(self):
        opts = parse("start", "-f", "-H", "acpi=false", "-B", "memory=256m", "x")
        op = instance.build_startup_op(opts, "x").to_dict()
        self.assertEqual((op["OP_ID"], op["force"], op["hvparams"], op["beparams"]),
                         ("OP_INSTANCE_STARTUP", True, {"acpi": False}, {"memory": 256}))

    def test_reboot(self):
        opts = parse("reboot", "-t", "full", "--ignore-secondaries", "x")
        op = instance.build_reboot_op(opts, "x").to_dict()
        self.assertEqual((op["reboot_type"], op["ignore_secondaries"]), ("full", True))
        self.assertEqual(parse("reboot", "x").reboot_type, "hard")

    def test_shutdown_alias_and_selection_flags(self):
        opts = parse("stop", "--node", "--primary", "n1")
        self.assertEqual((opts.cmd, opts.multi_mode, opts.names), ("shutdown", "primary", ["n1"]))
        self.assertEqual(parse("shutdown", "x").multi_mode, "instance")

    def test_grow_disk(self):
        op = op_dict(instance.build_grow_disk_op, "grow-disk", "--no-wait-for-sync", "x", "1",
                     "2g")
        self.assertEqual((op["disk"], op["amount"], op["wait_for_sync"]), (1, 2048, False))

    def test_activate_alias(self):
        self.assertEqual(parse("activate_block_devs", "x").cmd, "activate-disks")

    def test_console_command(self):
        self.assertEqual(instance.console_command(["ssh", "-t", "root@n1", "xm console x"]),
                         ["ssh", "-t", "root@n1", "xm console x"])
        self.assertEqual(instance.console_command("echo hi"), ["sh", "-c", "echo hi"])


class SingleInstanceCommandTests(unittest.SynchronousTestCase):
    """Commands that send one opcode: what they send and what they print."""

    def run_command(self, result, *argv):
        sent = []

        def submit(opts, op):
            sent.append(op.to_dict())
            return result
        self.patch(instance, "submit_one", submit)
        opts = parse(*argv)
        out = io.StringIO()
        with redirect_stdout(out):
            code = opts.func(opts)
        return code, sent, out.getvalue()

    def test_failover_and_migrate_to_a_target(self):
        _, sent, _ = self.run_command(None, "failover", "-f", "--ignore-consistency", "-n",
                                      "node2", "x")
        self.assertEqual(sent, [{"OP_ID": "OP_INSTANCE_FAILOVER", "instance_name": "x",
                                 "ignore_consistency": True, "target_node": "node2",
                                 "iallocator": None}])
        _, sent, _ = self.run_command(None, "migrate", "-f", "--non-live", "-I", "hail", "x")
        self.assertEqual((sent[0]["live"], sent[0]["cleanup"], sent[0]["iallocator"]),
                         (False, False, "hail"))

    def test_rename_without_name_check_ignores_ip(self):
        _, sent, _ = self.run_command(None, "rename", "--no-name-check", "x", "y")
        self.assertEqual((sent[0]["new_name"], sent[0]["name_check"], sent[0]["ignore_ip"]),
                         ("y", False, True))

    def test_activate_disks_prints_node_disk_path(self):
        _, sent, out = self.run_command([["node1", "disk/0", "/srv/x/disk0"]], "activate-disks",
                                        "--ignore-size", "x")
        self.assertTrue(sent[0]["ignore_size"])
        self.assertEqual(out, "node1:disk/0:/srv/x/disk0\n")

    def test_modify_prints_changes(self):
        _, _, out = self.run_command([["be/memory", 512]], "modify", "-B", "memory=512", "x")
        self.assertEqual(out.splitlines(), [
            "Modified instance x", " - be/memory -> 512",
            "Please don't forget that these parameters take effect only at the next start of "
            "the instance."])

    def test_console_show_cmd_quotes(self):
        _, _, out = self.run_command(["ssh", "-t", "root@192.0.2.2", "xm console x"],
                                     "console", "--show-cmd", "x")
        self.assertEqual(out, "ssh -t root@192.0.2.2 'xm console x'\n")

    def test_remove_declined_without_terminal(self):
        self.patch(instance, "query_instances", lambda opts, names, fields: [["x"]])
        self.patch(sys, "stdin", io.StringIO())
        code, sent, _ = self.run_command(None, "remove", "x")
        self.assertEqual((code, sent), (1, []))
        code, sent, _ = self.run_command(None, "remove", "-f", "--ignore-failures", "x")
        self.assertEqual((code, sent[0]["ignore_failures"]), (0, True))


class BatchCreateTests(unittest.SynchronousTestCase):
    def build(self, data):
        return instance.build_batch_ops(parse("batch-create", "f.json"), data)

    def assertBad(self, data, fragment):
        with self.assertRaises(UsageError) as cm:
            self.build(data)
        self.assertNotIn("\n", str(cm.exception))
        self.assertIn(fragment, str(cm.exception))

    def test_defaults_and_sorting(self):
        jobs = self.build({"web10": {"template": "file", "os": "d", "primary_node": "n1"},
                           "web2": {"template": "sharedfile", "os": "d", "iallocator": "hail",
                                    "disk_size": ["1g", 512], "backend": {"memory": "1g"},
                                    "file_storage_dir": "web", "start": False}})
        self.assertEqual([name for name, _ in jobs], ["web2", "web10"])
        web2, web10 = (op.to_dict() for _, op in jobs)
        self.assertEqual(web10["disks"], [{"size": 20480}])
        self.assertEqual(web10["nics"], [{"ip": "none", "mac": "auto", "bridge": None}])
        self.assertEqual((web10["start"], web10["ip_check"], web10["wait_for_sync"]),
                         (True, True, True))
        self.assertEqual(web2["disks"], [{"size": 1024}, {"size": 512}])
        self.assertEqual((web2["disk_template"], web2["iallocator"], web2["beparams"],
                          web2["file_storage_dir"]), ("sharedfile", "hail", {"memory": 1024},
                                                      "web"))

    def test_no_name_check_implies_no_ip_check(self):
        (_, op), = self.build({"x": {"template": "diskless", "os": "d", "primary_node": "n",
                                     "name_check": False}})
        self.assertEqual((op.name_check, op.ip_check), (False, False))

    def test_nodes_take_precedence_over_iallocator(self):
        (_, op), = self.build({"x": {"template": "file", "os": "d", "primary_node": "n1",
                                     "iallocator": "hail"}})
        self.assertEqual((op.pnode, op.iallocator), ("n1", None))

    def test_diskless_has_no_disks(self):
        (_, op), = self.build({"x": {"template": "diskless", "os": "d", "primary_node": "n"}})
        self.assertEqual(op.disks, [])
        self.assertBad({"x": {"template": "diskless", "os": "d", "primary_node": "n",
                              "disk_size": [1]}}, "instance x: 'disk_size' given")

    def test_errors_name_instance_and_key(self):
        base = {"template": "file", "os": "d", "primary_node": "n"}
        self.assertBad([], "JSON object")
        self.assertBad({"x": []}, "instance x: the specification must be a JSON object")
        self.assertBad({"x": dict(base, disk_templace="file")},
                       "instance x: unknown key(s) 'disk_templace'")
        self.assertBad({"x": {"os": "d", "primary_node": "n"}},
                       "instance x: missing required key 'template'")
        self.assertBad({"x": dict(base, template=["file"])}, "instance x: 'template' must be")
        self.assertBad({"x": dict(base, disk_size=["big"])}, "instance x: 'disk_size': invalid")
        self.assertBad({"x": dict(base, disk_size=512)}, "instance x: 'disk_size' must be")
        self.assertBad({"x": dict(base, backend={"memory": "x"})}, "instance x: 'backend':")
        self.assertBad({"x": dict(base, start="yes")}, "instance x: 'start' must be true or")
        self.assertBad({"x": dict(base, hypervisor="vmware")}, "instance x: 'hypervisor'")
        self.assertBad({"x": {"template": "file", "os": "d"}},
                       "instance x: give 'primary_node' or 'iallocator'")
        self.assertBad({"x": dict(base, template="drbd")}, "'secondary_node' is required")
        self.assertBad({"x": dict(base, mac="zz")}, "instance x: NIC 0: invalid MAC")

    def test_unreadable_file_is_one_line(self):
        path = os.path.join(tempfile.mkdtemp(), "bad.json")
        with open(path, "w") as fh:
            fh.write("{not json")
        opts = parse("batch-create", path)
        with self.assertRaises(UsageError) as cm:
            opts.func(opts)
        self.assertIn("cannot read the instance definition file", str(cm.exception))


class ListFormatTests(unittest.SynchronousTestCase):
    def test_default_fields(self):
        lines = instance_format.format_instance_table(
            instance_format.DEFAULT_FIELDS,
            [["inst1", "kvm", "debian", "node1", "running", 512],
             ["inst10", "fake", "debian", "node2", "ADMIN_down", None]])
        self.assertEqual(lines, ["Instance Hypervisor OS     Primary_node Status     Memory",
                                 "inst1    kvm        debian node1        running      512M",
                                 "inst10   fake       debian node2        ADMIN_down      -"])

    def test_raw_values_are_formatted(self):
        fields = ["snodes", "admin_state", "oper_state", "sda_size", "sdb_size", "ip",
                  "tags", "be/auto_balance", "disk.size/0", "be/memory"]
        lines = instance_format.format_instance_table(
            fields, [[[], True, None, 2048, None, None, ["a", "b"], True, 1024, 3072],
                     [["n2", "n3"], False, False, None, None, "192.0.2.1", [], False, 4, 128]],
            separator="|", no_headers=True)
        self.assertEqual(lines, ["-|yes|(node down)|2048|N/A|-|a,b|Y|1024|3072",
                                 "n2,n3|no|stopped|N/A|N/A|192.0.2.1||N|4|128"])

    def test_units_and_headers_of_dynamic_fields(self):
        lines = instance_format.format_instance_table(["disk.size/0", "nic.mac/0", "oper_state"],
                                               [[2048, "aa:00:00:00:00:01", True]],
                                               units="g")
        self.assertEqual(lines, ["disk.size/0 nic.mac/0         Running",
                                 "        2.0 aa:00:00:00:00:01 running"])


INFO = {
    "name": "inst1", "config_state": "up", "run_state": "down", "pnode": "node1",
    "snodes": [], "os": "debian", "hypervisor": "kvm", "network_port": 11001,
    "nics": [["aa:00:00:00:00:01", None, "br0"]],
    "hv_instance": {"acpi": False},
    "hv_actual": {"acpi": False, "vnc_bind_address": "0.0.0.0"},
    "be_instance": {}, "be_actual": {"memory": 512, "vcpus": 2, "auto_balance": True},
    "disks": [{"iv_name": "disk/0", "dev_type": "file", "size": 10240, "mode": "rw",
               "logical_id": ["loop", "/srv/ganeti/file-storage/inst1/disk0"],
               "physical_id": [], "children": [], "sstatus": None,
               "pstatus": ["/srv/ganeti/file-storage/inst1/disk0", None, None, None, None,
                           False, False]}],
}


class InfoFormatTests(unittest.SynchronousTestCase):
    def test_live(self):
        self.assertEqual(instance_format.format_instance_info(INFO, static=False), [
            "Instance name: inst1",
            "State: configured to be up, actual state is down",
            "  Nodes:",
            "    - primary: node1",
            "    - secondaries: ",
            "  Operating system: debian",
            "  Allocated network port: 11001",
            "  Hypervisor: kvm",
            "    - console connection: vnc to node1:11001 (display 5101)",
            "    - acpi: False",
            "    - vnc_bind_address: default (0.0.0.0)",
            "  Hardware:",
            "    - VCPUs: 2",
            "    - memory: 512MiB",
            "    - auto_balance: True",
            "    - NICs:",
            "      - nic/0: MAC: aa:00:00:00:00:01, IP: -, bridge: br0",
            "  Disks:",
            "    - disk/0: file, size 10.0G",
            "      access mode: rw",
            "      logical_id: /srv/ganeti/file-storage/inst1/disk0 (driver loop)",
            "      on primary: /srv/ganeti/file-storage/inst1/disk0 (N/A:N/A) status ok",
        ])

    def test_static_has_no_run_state_nor_device_status(self):
        lines = instance_format.format_instance_info(dict(INFO, run_state=None), static=True)
        self.assertIn("State: configured to be up", lines)
        self.assertFalse([line for line in lines if "on primary" in line])

    def test_inactive_degraded_and_syncing_devices(self):
        self.assertEqual(instance_format._format_status(None), "not active")
        self.assertEqual(instance_format._format_status(["/dev/x", 147, 0, 50.0, 30, True, True]),
                         "/dev/x (147:0) *RECOVERING* 50.00%, ETA 30s, status *DEGRADED*, "
                         "local disk *FAILED*")


class AskUserTests(unittest.SynchronousTestCase):
    def test_no_terminal_answers_no(self):
        out = io.StringIO()
        self.assertFalse(instance.ask_user("Continue?", stdin=io.StringIO("y\n"), stdout=out))
        self.assertIn("not a terminal", out.getvalue())

    def test_yes_help_and_eof(self):
        out = io.StringIO()
        self.assertTrue(instance.ask_user("Continue?", stdin=TTY("?\ny\n"), stdout=out))
        self.assertIn("y/[n]/?: ", out.getvalue())
        self.assertIn(" n - Do not perform the operation", out.getvalue())
        self.assertFalse(instance.ask_user("Continue?", stdin=TTY(""), stdout=io.StringIO()))
        self.assertFalse(instance.ask_user("Continue?", stdin=TTY("\n"), stdout=io.StringIO()))

    def test_many_instances_offer_the_list(self):
        names = ["inst%d" % i for i in range(21)]
        self.patch(sys, "stdin", TTY("v\ny\n"))
        out = io.StringIO()
        with redirect_stdout(out):
            self.assertTrue(instance.confirm_operation(names, "shutdown"))
        first, second = out.getvalue().split("y/v/[n]/?: ")
        self.assertNotIn("inst20", first)
        self.assertIn("  inst20", second)


class FakeClient:
    """Answers the LUXI calls the multi-instance commands make."""

    def __init__(self, instances):
        self.instances = instances  # [[name, pnode, snodes]]
        self.submitted = []

    def query_instances(self, names, fields, use_locking):
        rows = [r for r in self.instances if not names or r[0] in names]
        index = {"name": 0, "pnode": 1, "snodes": 2}
        return [[r[index[f]] for f in fields] for r in rows]

    def query_nodes(self, names, fields):
        return [[n] for n in names]

    def submit_many_jobs(self, jobs):
        self.submitted.extend(jobs)
        return [[True, str(10 + i)] for i in range(len(jobs))]


class MultiInstanceTests(unittest.SynchronousTestCase):
    ROWS = [["a", "n1", []], ["b", "n2", ["n1"]], ["c", "n2", []]]

    def run_command(self, *argv, failing=()):
        client = FakeClient(self.ROWS)
        self.patch(instance, "get_client", lambda paths: client)

        def poll(cl, job_id):
            if job_id in failing:
                raise errors.OpExecError("boom")
            return [None]
        self.patch(instance, "poll_job", poll)
        opts = parse(*argv)
        opts.paths = None
        out, err = io.StringIO(), io.StringIO()
        self.patch(sys, "stderr", err)
        self.patch(sys, "stdin", io.StringIO())  # no terminal: confirmations answer no
        with redirect_stdout(out):
            code = opts.func(opts)
        return code, out.getvalue(), err.getvalue(), client

    def test_filter_by_nodes(self):
        self.assertEqual(instance.filter_by_nodes(self.ROWS, ["n1"], "node"), ["a", "b"])
        self.assertEqual(instance.filter_by_nodes(self.ROWS, ["n1"], "primary"), ["a"])
        self.assertEqual(instance.filter_by_nodes(self.ROWS, ["n1"], "secondary"), ["b"])

    def test_single_instance_waits_quietly(self):
        code, out, _, client = self.run_command("shutdown", "a")
        self.assertEqual((code, out), (0, ""))
        self.assertEqual(client.submitted, [[{"OP_ID": "OP_INSTANCE_SHUTDOWN",
                                              "instance_name": "a"}]])

    def test_several_need_force_multiple_then_report_each_job(self):
        code, out, _, client = self.run_command("startup", "a", "b")
        self.assertEqual(code, 1)  # not confirmed: stdin is no terminal
        self.assertEqual(client.submitted, [])
        code, out, err, client = self.run_command("startup", "--force-multiple", "--node", "n1",
                                                  failing=("11",))
        self.assertEqual(code, 1)
        self.assertEqual(out.splitlines(), ["Submitted jobs 10, 11", "Waiting for job 10 for a...",
                                            "Waiting for job 11 for b..."])
        self.assertIn("Job 11 for b has failed: Failure: command execution error: boom", err)

    def test_submit_prints_job_and_name(self):
        code, out, _, _ = self.run_command("reboot", "--all", "--force-multiple", "--submit")
        self.assertEqual(out.splitlines(), ["10: a", "11: b", "12: c"])

    def test_single_failure_is_raised(self):
        self.assertRaises(errors.OpExecError, self.run_command, "shutdown", "a",
                          failing=("10",))


class TagTests(unittest.SynchronousTestCase):
    def test_tag_commands_registered(self):
        for module, kind, argv in ((cluster, C.TAG_CLUSTER, ["add-tags", "t1"]),
                                   (node, C.TAG_NODE, ["add-tags", "node1", "t1"]),
                                   (instance, C.TAG_INSTANCE, ["add-tags", "inst1", "t1"])):
            opts = module.build_parser().parse_args(argv)
            self.assertEqual((opts.func, opts.tag_kind, opts.tags), (tags.add_tags, kind, ["t1"]))
        opts = cluster.build_parser().parse_args(["search-tags", "^web"])
        self.assertEqual((opts.func, opts.pattern), (tags.search_tags, "^web"))
        self.assertRaises(UsageError, node.build_parser().parse_args, ["search-tags", "x"])
        self.assertIsNone(cluster.build_parser().parse_args(["list-tags"]).tag_name)

    def test_tags_from_file_and_stdin(self):
        path = os.path.join(tempfile.mkdtemp(), "tags")
        with open(path, "w") as fh:
            fh.write("a\n\n  b \n")
        opts = instance.build_parser().parse_args(["add-tags", "--from", path, "x", "c"])
        self.assertEqual(tags.read_tags(opts), ["c", "a", "b"])
        self.patch(sys, "stdin", io.StringIO("d\n"))
        opts = node.build_parser().parse_args(["remove-tags", "--from", "-", "n"])
        self.assertEqual(tags.read_tags(opts), ["d"])

    def test_no_tags_or_unreadable_file_is_one_line(self):
        opts = instance.build_parser().parse_args(["add-tags", "x"])
        self.assertRaises(UsageError, tags.read_tags, opts)
        opts = instance.build_parser().parse_args(["add-tags", "--from", "/nonexistent", "x"])
        with self.assertRaises(UsageError) as cm:
            tags.read_tags(opts)
        self.assertIn("gnt-instance add-tags: error: cannot read tags from /nonexistent",
                      str(cm.exception))


class AllocatorTests(unittest.SynchronousTestCase):
    def build(self, *argv):
        return debug.build_allocator_op(debug.build_parser().parse_args(["allocator"] +
                                                                         list(argv))).to_dict()

    def test_defaults(self):
        op = self.build("inst1")
        self.assertEqual((op["direction"], op["mode"], op["mem_size"], op["disk_template"],
                          op["vcpus"], op["tags"]), ("in", "relocate", 128, "file", 1, []))
        self.assertEqual(op["disks"], [{"size": 4096, "mode": "w"}] * 2)
        self.assertEqual(op["nics"], [{"mac": "00:11:22:33:44:55", "ip": None, "bridge": None}])

    def test_options(self):
        op = self.build("--dir", "out", "--algorithm", "hail", "-m", "allocate", "--mem", "1g",
                        "--disks", "1g", "-t", "sharedfile", "--nics", "/192.0.2.1/br0,",
                        "-o", "debian", "-p", "2", "--tags", "a,b", "new1")
        self.assertEqual((op["allocator"], op["mem_size"], op["disks"], op["os"], op["vcpus"],
                          op["tags"]), ("hail", 1024, [{"size": 1024, "mode": "w"}], "debian",
                                        2, ["a", "b"]))
        self.assertEqual(op["nics"], [{"mac": None, "ip": "192.0.2.1", "bridge": "br0"},
                                      {"mac": None, "ip": None, "bridge": None}])

    def test_bad_disks(self):
        self.assertRaises(UsageError, self.build, "--disks", "1g,lots", "x")


class ImportTests(unittest.SynchronousTestCase):
    def test_cli_imports_no_twisted(self):
        top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        code = ("import sys, ganeti_tw.cli.instance, ganeti_tw.cli.tags, ganeti_tw.cli.debug; "
                "bad = [m for m in sys.modules if m.startswith(('twisted', 'cryptography'))]; "
                "print(bad); sys.exit(1 if bad else 0)")
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env=dict(os.environ, PYTHONPATH=top))
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
