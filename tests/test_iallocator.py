"""iallocator: the input document, answer checks, the node runner and free-memory."""

import json
import os
import subprocess
import sys

from twisted.internet import defer, reactor
from twisted.trial import unittest

from ganeti_tw import errors, iallocator
from ganeti_tw.backend import iallocator as backend_iallocator
from ganeti_tw.backend.context import NodeContext
from ganeti_tw.backend.iallocator import PACKAGE_IALLOCATOR_DIR, iallocator_runner
from ganeti_tw.paths import Paths
from ganeti_tw.rpc.client import RpcResult
from tests.reactor_util import in_running_reactor

CLUSTER = {"cluster_name": "cluster.example.com", "tags": ["c1"],
           "enabled_hypervisors": ["fake"]}


def node(name, offline=False, drained=False):
    return {"name": name, "tags": [], "primary_ip": "192.0.2.%d" % (len(name) + 1),
            "secondary_ip": "198.51.100.1", "offline": offline, "drained": drained,
            "master_candidate": True}


def info(free, disk=100000):
    return {"memory_total": 16384, "memory_free": free, "memory_dom0": 1024,
            "vg_size": 200000, "vg_free": disk, "cpu_total": 4}


def instance(name, pnode, memory, admin_up=True):
    return {"name": name, "primary_node": pnode, "os": "debian", "hypervisor": "fake",
            "admin_up": admin_up, "disk_template": "file", "tags": ["t"],
            "nics": [{"mac": "aa:00:00:00:00:01", "ip": None, "bridge": "br0"}],
            "disks": [{"size": 1024, "mode": "rw", "iv_name": "disk/0"},
                      {"size": 512, "mode": "ro", "iv_name": "disk/1"}],
            "beparams": {"memory": memory, "vcpus": 1, "auto_balance": True}}


def alloc_request(memory=1024, disk=1024, required=1):
    return iallocator.allocate_request(
        "new.example.com", "file", ["x"], "debian", 1, memory,
        [{"size": disk, "mode": "rw"}], [{"mac": "auto", "ip": None, "bridge": "br0"}],
        "fake", required)


class BuildInputTests(unittest.SynchronousTestCase):
    def test_document_shape(self):
        data = iallocator.build_input(
            CLUSTER, [node("n1"), node("n2", offline=True), node("n3", drained=True)],
            {"n1": info(8000), "n2": None, "n3": None},
            [instance("i1", "n1", 1024)], alloc_request(), {"n1": {"i1": 1024}})
        self.assertEqual((data["version"], data["cluster_name"], data["cluster_tags"],
                          data["enabled_hypervisors"]),
                         (2, "cluster.example.com", ["c1"], ["fake"]))
        self.assertEqual(data["nodes"]["n1"], {
            "tags": [], "primary_ip": "192.0.2.3", "secondary_ip": "198.51.100.1",
            "offline": False, "drained": False, "master_candidate": True,
            "total_memory": 16384, "reserved_memory": 1024, "free_memory": 8000,
            "total_disk": 200000, "free_disk": 100000, "total_cpus": 4,
            "i_pri_memory": 1024, "i_pri_up_memory": 1024})
        self.assertNotIn("free_memory", data["nodes"]["n2"])
        self.assertNotIn("free_memory", data["nodes"]["n3"])
        self.assertEqual(data["instances"]["i1"], {
            "tags": ["t"], "admin_up": True, "vcpus": 1, "memory": 1024, "os": "debian",
            "nodes": ["n1"], "nics": [{"mac": "aa:00:00:00:00:01", "ip": None,
                                       "bridge": "br0"}],
            "disks": [{"size": 1024, "mode": "rw"}, {"size": 512, "mode": "ro"}],
            "disk_template": "file", "hypervisor": "fake", "disk_space_total": 1536})
        self.assertEqual(data["request"]["type"], "allocate")
        json.dumps(data)

    def test_free_memory_reserves_what_primary_instances_do_not_use_yet(self):
        instances = [instance("running-full", "n1", 1024),
                     instance("running-ballooned", "n1", 2048),
                     instance("stopped", "n1", 512, admin_up=False),
                     instance("elsewhere", "n2", 4096)]
        data = iallocator.build_input(
            CLUSTER, [node("n1")], {"n1": info(10000)}, instances, alloc_request(),
            {"n1": {"running-full": 1024, "running-ballooned": 1536}})
        n1 = data["nodes"]["n1"]
        self.assertEqual(n1["free_memory"], 10000 - 512 - 512)
        self.assertEqual((n1["i_pri_memory"], n1["i_pri_up_memory"]),
                         (1024 + 2048 + 512, 1024 + 2048))

    def test_online_node_without_info_is_an_error(self):
        self.assertRaises(errors.OpExecError, iallocator.build_input, CLUSTER, [node("n1")],
                          {"n1": None}, [], alloc_request())

    def test_node_info_missing_an_attribute_is_an_error(self):
        bad = info(100)
        del bad["vg_free"]
        err = self.assertRaises(errors.OpExecError, iallocator.build_input, CLUSTER,
                                [node("n1")], {"n1": bad}, [], alloc_request())
        self.assertIn("vg_free", str(err))


class RequestTests(unittest.SynchronousTestCase):
    def test_allocate_request(self):
        req = iallocator.allocate_request(
            "new", "drbd", ["a"], "debian", 2, 512,
            [{"size": 1000, "mode": "rw"}, {"size": 24, "mode": "rw"}],
            [{"mac": "auto", "ip": "10.0.0.1", "bridge": "br0"}], "kvm", 2)
        self.assertEqual(req, {
            "type": "allocate", "name": "new", "disk_template": "drbd", "tags": ["a"],
            "os": "debian", "vcpus": 2, "memory": 512,
            "disks": [{"size": 1000, "mode": "rw"}, {"size": 24, "mode": "rw"}],
            "disk_space_total": 1000 + 24 + 2 * 128,
            "nics": [{"mac": "auto", "ip": "10.0.0.1", "bridge": "br0"}],
            "required_nodes": 2, "hypervisor": "kvm"})

    def test_relocate_request(self):
        req = iallocator.relocate_request(instance("i1", "n1", 128), ["n2"])
        self.assertEqual(req, {"type": "relocate", "name": "i1", "disk_space_total": 1536,
                               "required_nodes": 1, "relocate_from": ["n2"]})

    def test_diskless_needs_no_space(self):
        self.assertEqual(iallocator.disk_space_total("diskless", []), 0)


def answer(success=True, info="ok", nodes=("n1",)):
    return json.dumps({"success": success, "info": info, "nodes": list(nodes)})


class ParseResponseTests(unittest.SynchronousTestCase):
    def assertRefused(self, text, required, expected):
        err = self.assertRaises(errors.OpPrereqError, iallocator.parse_response, text,
                                required, "hail")
        self.assertIn(expected, str(err))

    def test_good_answer_gives_nodes(self):
        self.assertEqual(iallocator.parse_response(answer(nodes=["n1", "n2"]), 2),
                         ["n1", "n2"])

    def test_invalid_json(self):
        self.assertRefused("{nope", 1, "Can't parse the answer of hail")

    def test_not_an_object(self):
        self.assertRefused("[]", 1, "not a JSON object")

    def test_missing_key(self):
        self.assertRefused(json.dumps({"success": True, "nodes": []}), 1, "lacks 'info'")

    def test_failure_carries_info(self):
        self.assertRefused(answer(False, "no room anywhere", []), 1, "no room anywhere")

    def test_nodes_not_a_list(self):
        self.assertRefused(json.dumps({"success": True, "info": "", "nodes": "n1"}), 1,
                           "not a list of names")

    def test_wrong_node_count(self):
        self.assertRefused(answer(nodes=["n1"]), 2, "returned 1 node(s) (n1) instead of 2")


def write_script(dirname, name, body):
    os.makedirs(dirname, exist_ok=True)
    path = os.path.join(dirname, name)
    with open(path, "w") as fh:
        fh.write(body)
    os.chmod(path, 0o755)
    return path


class RunnerTests(unittest.TestCase):
    def setUp(self):
        self.ctx = NodeContext(Paths(self.mktemp()), "master", reactor)
        self.local_dir, self.lib_dir = self.ctx.paths.iallocator_search_path[:2]

    def run_allocator(self, name, text="{}"):
        return in_running_reactor(lambda: iallocator_runner(self.ctx, name, text))

    async def _first_directory_in_search_order_wins(self):
        write_script(self.lib_dir, "free-memory", "#!/bin/sh\necho lib\n")
        self.assertEqual(await self.run_allocator("free-memory"), [True, "lib\n"])
        write_script(self.local_dir, "free-memory", "#!/bin/sh\necho local\n")
        self.assertEqual(await self.run_allocator("free-memory"), [True, "local\n"])

    def test_first_directory_in_search_order_wins(self):
        return in_running_reactor(lambda: self._first_directory_in_search_order_wins())

    def test_search_ends_with_system_then_package_dirs(self):
        dirs = backend_iallocator.search_dirs(self.ctx)
        self.assertEqual(dirs[:3], self.ctx.paths.iallocator_search_path)
        self.assertEqual(dirs[3:], ["/usr/local/lib/ganeti/iallocators",
                                    "/usr/lib/ganeti/iallocators",
                                    "/usr/share/ganeti/iallocators",
                                    PACKAGE_IALLOCATOR_DIR])

    # these start no process: their result is there at once
    def test_not_found_lists_searched_dirs(self):
        d = defer.ensureDeferred(iallocator_runner(self.ctx, "no-such-allocator", "{}"))
        f = self.failureResultOf(d, errors.OpExecError)
        self.assertIn("no-such-allocator not found in", str(f.value))
        self.assertIn(self.local_dir, str(f.value))
        self.assertIn(PACKAGE_IALLOCATOR_DIR, str(f.value))

    def test_names_with_slashes_are_refused(self):
        for name in ("../../bin/sh", "/bin/true", "..", ""):
            self.failureResultOf(defer.ensureDeferred(iallocator_runner(self.ctx, name, "{}")),
                                 errors.OpExecError)

    async def _input_file_is_private_and_removed(self):
        write_script(self.local_dir, "probe", "#!/bin/sh\nstat -c %%a \"$1\"\ncat \"$1\"\n"
                     "echo \"$1\" > %s\n" % os.path.join(self.ctx.paths.root, "seen"))
        ok, out = await self.run_allocator("probe", '{"version": 2}')
        self.assertEqual((ok, out.split("\n", 1)), (True, ["600", '{"version": 2}']))
        with open(os.path.join(self.ctx.paths.root, "seen")) as fh:
            self.assertFalse(os.path.exists(fh.read().strip()))

    def test_input_file_is_private_and_removed(self):
        return in_running_reactor(lambda: self._input_file_is_private_and_removed())

    async def _failure_reports_exit_and_output(self):
        write_script(self.local_dir, "broken", "#!/bin/sh\necho 'bad input' >&2\nexit 4\n")
        try:
            await self.run_allocator("broken")
        except errors.OpExecError as err:
            self.assertEqual(str(err), "Instance allocator broken failed: exit 4: bad input")
        else:
            self.fail("failing allocator did not raise")

    def test_failure_reports_exit_and_output(self):
        return in_running_reactor(lambda: self._failure_reports_exit_and_output())

    async def _slow_allocator_is_killed(self):
        self.patch(backend_iallocator, "IALLOCATOR_TIMEOUT", 0.5)
        write_script(self.local_dir, "slow", "#!/bin/sh\nexec sleep 5\n")
        try:
            await self.run_allocator("slow")
        except errors.OpExecError as err:
            self.assertIn("timed out", str(err))
        else:
            self.fail("slow allocator did not raise")

    def test_slow_allocator_is_killed(self):
        return in_running_reactor(lambda: self._slow_allocator_is_killed())


class MasterRpc:
    """Stands in for the RPC client: the master's noded runs the real runner."""

    def __init__(self, ctx):
        self.ctx = ctx

    async def call_one(self, node, procedure, args, timeout=60):
        assert (node, procedure) == ("master", "iallocator_runner")
        try:
            return RpcResult(node, data=await iallocator_runner(self.ctx, *args))
        except errors.GenericError as err:
            return RpcResult(node, fail_msg=str(err))


class FreeMemoryAllocatorTests(unittest.TestCase):
    """The shipped free-memory allocator, run as a real process through the runner."""

    def setUp(self):
        self.ctx = NodeContext(Paths(self.mktemp()), "master", reactor)
        self.nodes = [node("small"), node("big-offline", offline=True),
                      node("big-drained", drained=True), node("big-no-disk"), node("medium"),
                      node("busy")]
        self.node_info = {"small": info(2048), "big-no-disk": info(60000, disk=100),
                          "medium": info(4096), "busy": info(9000)}
        # busy's stopped instance reserves its memory: 9000 - 8000 left.
        self.instances = [instance("sleeper", "busy", 8000, admin_up=False)]

    async def allocate(self, required, memory=1024):
        req = alloc_request(memory=memory, disk=1000, required=required)
        data = iallocator.build_input(CLUSTER, self.nodes, self.node_info, self.instances, req)
        text = await iallocator.run(MasterRpc(self.ctx), "master", "free-memory", data)
        return iallocator.parse_response(text, required, "free-memory")

    def test_shipped_script_is_executable(self):
        self.assertTrue(os.access(os.path.join(PACKAGE_IALLOCATOR_DIR, "free-memory"),
                                  os.X_OK))

    async def _picks_most_free_memory_skipping_offline_drained_and_full(self):
        self.assertEqual(await self.allocate(1), ["medium"])
        self.assertEqual(await self.allocate(2), ["medium", "small"])

    def test_picks_most_free_memory_skipping_offline_drained_and_full(self):
        return in_running_reactor(lambda: 
            self._picks_most_free_memory_skipping_offline_drained_and_full())

    async def _too_few_nodes_is_a_clear_refusal(self):
        try:
            await self.allocate(1, memory=5000)
        except errors.OpPrereqError as err:
            self.assertIn("only 0 node(s) with enough free memory and disk, 1 needed",
                          str(err))
        else:
            self.fail("allocation without room did not fail")

    def test_too_few_nodes_is_a_clear_refusal(self):
        return in_running_reactor(lambda: self._too_few_nodes_is_a_clear_refusal())

    async def _relocate_picks_a_node_outside_the_instance(self):
        mirror = instance("mirror", "medium", 512)
        mirror["disk_template"] = "drbd"
        data = iallocator.build_input(CLUSTER, self.nodes, self.node_info,
                                      self.instances + [mirror],
                                      iallocator.relocate_request(mirror, ["small"]))
        text = await iallocator.run(MasterRpc(self.ctx), "master", "free-memory", data)
        # medium is the primary and small the node to leave; busy has 9000-8000-512 left.
        self.assertEqual(iallocator.parse_response(text, 1), ["busy"])

    def test_relocate_picks_a_node_outside_the_instance(self):
        return in_running_reactor(lambda: self._relocate_picks_a_node_outside_the_instance())

    async def _runner_failure_is_a_prerequisite_error(self):
        try:
            await iallocator.run(MasterRpc(self.ctx), "master", "missing", {})
        except errors.OpPrereqError as err:
            self.assertIn("Can't run instance allocator missing: Instance allocator missing "
                          "not found in", str(err))
        else:
            self.fail("missing allocator did not raise")

    def test_runner_failure_is_a_prerequisite_error(self):
        return in_running_reactor(lambda: self._runner_failure_is_a_prerequisite_error())

    def test_script_rejects_unreadable_input(self):
        proc = subprocess.run([sys.executable, os.path.join(PACKAGE_IALLOCATOR_DIR,
                                                            "free-memory"), "/nonexistent"],
                              capture_output=True, text=True)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("invalid input", proc.stderr)
