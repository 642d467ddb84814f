"""Instance query and tag logical units, driven phase by phase on a real config."""

import os
import tempfile
from typing import Any, Dict, List, Optional, Set

from twisted.internet import defer
from twisted.trial import unittest

from ganeti_tw import config, constants as C, errors, mcpu, objects, opcodes
from ganeti_tw.cmdlib.instance_query import LUInstanceQuery, LUInstanceQueryData
from ganeti_tw.cmdlib.tags import LUTagsDel, LUTagsGet, LUTagsSearch, LUTagsSet
from ganeti_tw.locking import LEVEL_INSTANCE, LEVEL_NODE, LockManager
from ganeti_tw.rpc.client import OFFLINE_MSG, RpcResult

FILE_DIR = "/srv/ganeti/file-storage"


def _disk(inst: str, index: int, size: int, mode: str = C.DISK_RDWR) -> objects.Disk:
    return objects.Disk(dev_type=C.DT_FILE, iv_name="disk/%d" % index, size=size, mode=mode,
                        logical_id=[C.FD_LOOP, "%s/%s/disk%d" % (FILE_DIR, inst, index)])


def _instance(name: str, pnode: str, admin_up: bool, hv: str = C.HT_FAKE,
              disks: Optional[List[int]] = None, macs: Optional[List[str]] = None,
              **kw: Any) -> objects.Instance:
    disks = [] if disks is None else disks
    return objects.Instance(
        name=name, primary_node=pnode, os="debian", hypervisor=hv, admin_up=admin_up,
        disk_template=C.DT_FILE if disks else C.DT_DISKLESS,
        disks=[_disk(name, i, size) for i, size in enumerate(disks)],
        nics=[objects.NIC(mac=mac, ip=None, bridge="xen-br0") for mac in macs or []],
        **kw)


def sample_config() -> objects.ConfigData:
    """node1 (master, up), node2 (unreachable), node3 (offline); one instance per status."""
    nodes = {
        "node1": objects.Node(name="node1", primary_ip="127.0.9.1", secondary_ip="127.0.9.1",
                              master_candidate=True, tags=["master"]),
        "node2.example.com": objects.Node(name="node2.example.com", primary_ip="127.0.9.2",
                                          secondary_ip="127.0.9.2"),
        "node3": objects.Node(name="node3", primary_ip="127.0.9.3", secondary_ip="127.0.9.3",
                              offline=True),
    }
    cluster = objects.Cluster(
        cluster_name="cluster.example.com", master_node="node1", master_ip="127.0.9.254",
        enabled_hypervisors=[C.HT_FAKE, C.HT_KVM], hvparams={C.HT_KVM: {"acpi": False}},
        beparams={C.PP_DEFAULT: {C.BE_MEMORY: 256, C.BE_VCPUS: 1, C.BE_AUTO_BALANCE: True}},
        tags=["prod"])
    inst1 = _instance("inst1", "node1", True, disks=[1024, 512],
                      macs=["aa:00:00:01:00:00", "aa:00:00:01:00:01"],
                      beparams={C.BE_VCPUS: 2}, tags=["db", "web"], serial_no=3,
                      ctime=10, mtime=20)
    inst1.disks[1].mode = C.DISK_RDONLY
    inst1.nics[0].ip = "192.0.2.10"
    instances = [
        inst1,
        _instance("inst2", "node1", False, hv=C.HT_KVM, hvparams={"kernel_path": ""},
                  network_port=11000),
        # inst3 runs although admin down (ERROR_up); inst4 does not though admin up
        _instance("inst3", "node1", False, disks=[100], macs=["aa:00:00:03:00:00"]),
        _instance("inst4", "node1", True),
        _instance("inst5", "node2.example.com", True, tags=["web"]),
        _instance("inst6", "node3", True),
        _instance("inst10.example.com", "node1", False),
    ]
    return objects.ConfigData(cluster=cluster, nodes=nodes,
                              instances={i.name: i for i in instances})


class FakeRpc:
    """Node RPC stand-in: node1 answers, node2 is unreachable, node3 is offline."""

    def __init__(self) -> None:
        self.running: Dict[str, Dict[str, Any]] = {"node1": {
            "inst1": {"memory": 256, "vcpus": 2, "state": "-b---", "time": 1.5},
            "inst3": {"memory": 128, "vcpus": 1, "state": "-b---", "time": 0.5},
        }}
        self.down: Set[str] = {"node2.example.com"}
        self.offline: Set[str] = {"node3"}
        self.devices: Dict[str, Any] = {}
        self.calls: List[Any] = []

    def _answer(self, node: str, procedure: str, args: List[Any]) -> RpcResult:
        if node in self.offline:
            return RpcResult(node, fail_msg=OFFLINE_MSG, offline=True)
        if node in self.down:
            return RpcResult(node, fail_msg="Error connecting to %s:1811: refused" % node)
        running = self.running.get(node, {})
        if procedure == "all_instances_info":
            return RpcResult(node, data=dict(running))
        if procedure == "instance_info":
            return RpcResult(node, data=running.get(args[0]))
        if procedure == "blockdev_find":
            return RpcResult(node, data=self.devices.get(args[0]["logical_id"][1]))
        raise AssertionError("unexpected procedure %s" % procedure)

    async def call(self, nodes: List[str], procedure: str, args: List[Any]) -> Dict[str, Any]:
        nodes = list(nodes)
        self.calls.append((nodes, procedure, args))
        return {node: self._answer(node, procedure, args) for node in nodes}

    async def call_one(self, node: str, procedure: str, args: List[Any]) -> RpcResult:
        return (await self.call([node], procedure, args))[node]


class FakeContext:
    """What logical units use of masterd's context: config, RPC, locks, config saves."""

    def __init__(self, cfg: config.ConfigWriter):
        self.cfg = cfg
        self.rpc = FakeRpc()
        self.glm = LockManager(cfg.data.nodes, cfg.data.instances)
        self.saves = 0

    async def save_config(self) -> None:
        self.cfg.save()
        self.saves += 1


class LUTestCase(unittest.SynchronousTestCase):
    def setUp(self) -> None:
        self.path = os.path.join(tempfile.mkdtemp(), "config.data")
        config.write_config(self.path, sample_config())
        self.cfg = config.ConfigWriter(self.path)
        self.context = FakeContext(self.cfg)
        self.messages: List[str] = []

    def make_lu(self, lu_class: type, op: opcodes.OpCode) -> Any:
        return lu_class(self.context, op, lambda kind, msg: self.messages.append(msg))

    def _all_phases(self, lu_class: type, op: opcodes.OpCode) -> defer.Deferred:
        return defer.ensureDeferred(self._phases(self.make_lu(lu_class, op)))

    async def _phases(self, lu: Any) -> Any:
        lu.check_arguments()
        lu.expand_names()
        await lu.check_prereq()
        return await lu.exec()

    def run_lu(self, lu_class: type, op: opcodes.OpCode) -> Any:
        """Run every phase without locks (as a query outside the queue does)."""
        return self.successResultOf(self._all_phases(lu_class, op))

    def run_lu_fails(self, lu_class: type, op: opcodes.OpCode, error: type) -> str:
        return str(self.failureResultOf(self._all_phases(lu_class, op), error).value)

    def acquired_locks(self, lu_class: type, op: opcodes.OpCode) -> Dict[int, Any]:
        """The locks the processor takes for the LU: {level: ([names], shared)}."""
        lu = self.make_lu(lu_class, op)
        lu.check_arguments()
        owner = object()
        self.successResultOf(defer.ensureDeferred(
            mcpu.Processor(self.context)._acquire_locks(lu, owner)))
        glm = self.context.glm
        taken = {level: (glm.owned(owner, level), lu.share_locks.get(level, False))
                 for level in (LEVEL_INSTANCE, LEVEL_NODE) if glm.owned(owner, level)}
        glm.release_all(owner)
        return taken


def query(fields: List[str], names: Optional[List[str]] = None,
          use_locking: bool = False) -> opcodes.OpInstanceQuery:
    return opcodes.OpInstanceQuery(output_fields=fields, names=names or [],
                                   use_locking=use_locking)


class InstanceQueryFieldTests(LUTestCase):
    def field(self, name: str, instance: str) -> Any:
        return self.run_lu(LUInstanceQuery, query([name], [instance]))[0][0]

    def fields(self, names: List[str], instance: str) -> Dict[str, Any]:
        return dict(zip(names, self.run_lu(LUInstanceQuery, query(names, [instance]))[0]))

    def test_every_static_field_of_an_instance_with_disks_and_nics(self):
        expected = {
            "name": "inst1", "os": "debian", "pnode": "node1", "snodes": [],
            "admin_state": True, "disk_template": C.DT_FILE, "ip": "192.0.2.10",
            "mac": "aa:00:00:01:00:00", "bridge": "xen-br0", "sda_size": 1024, "sdb_size": 512,
            "vcpus": 2, "tags": ["db", "web"], "serial_no": 3, "ctime": 10, "mtime": 20,
            "network_port": None, "hypervisor": C.HT_FAKE, "hvparams": {},
            "beparams": {C.BE_MEMORY: 256, C.BE_VCPUS: 2, C.BE_AUTO_BALANCE: True},
            "disk_usage": 1536, "disk.count": 2, "disk.size/0": 1024, "disk.size/1": 512,
            "disk.sizes": [1024, 512], "disk.modes": ["rw", "ro"], "nic.count": 2,
            "nic.mac/0": "aa:00:00:01:00:00", "nic.mac/1": "aa:00:00:01:00:01",
            "nic.ip/0": "192.0.2.10", "nic.ip/1": None, "nic.bridge/1": "xen-br0",
            "nic.macs": ["aa:00:00:01:00:00", "aa:00:00:01:00:01"],
            "nic.ips": ["192.0.2.10", None], "nic.bridges": ["xen-br0", "xen-br0"],
            "be/memory": 256, "be/vcpus": 2, "be/auto_balance": True,
        }
        self.assertEqual(self.fields(list(expected), "inst1"), expected)
        self.assertEqual(self.context.rpc.calls, [])

    def test_live_fields_of_a_running_instance(self):
        self.assertEqual(self.fields(["oper_state", "oper_ram", "status"], "inst1"),
                         {"oper_state": True, "oper_ram": 256, "status": "running"})

    def test_missing_disks_and_nics_give_none(self):
        self.assertEqual(self.fields(["sda_size", "sdb_size", "ip", "mac", "bridge",
                                      "disk.size/0", "nic.mac/3", "disk_usage", "disk.sizes",
                                      "nic.count"], "inst2"),
                         {"sda_size": None, "sdb_size": None, "ip": None, "mac": None,
                          "bridge": None, "disk.size/0": None, "nic.mac/3": None,
                          "disk_usage": 0, "disk.sizes": [], "nic.count": 0})
        self.assertIsNone(self.field("sdb_size", "inst3"))

    def test_hvparams_are_filled_from_cluster_and_instance(self):
        values = self.fields(["hvparams", "hv/acpi", "hv/kernel_path", "hv/pae",
                              "network_port"], "inst2")
        hvparams = values.pop("hvparams")
        self.assertEqual((hvparams["acpi"], hvparams["kernel_path"], hvparams["boot_order"]),
                         (False, "", "disk"))
        self.assertEqual(values, {"hv/acpi": False, "hv/kernel_path": "", "hv/pae": None,
                                  "network_port": 11000})

    def test_rows_of_one_query_share_no_filled_parameters(self):
        # the cluster layers are computed once per query; each row still gets its own dicts
        rows = {row[0]: row[1:] for row in self.run_lu(
            LUInstanceQuery, query(["name", "beparams", "be/vcpus", "hvparams"]))}
        self.assertEqual((rows["inst1"][1], rows["inst3"][1], rows["inst4"][1]), (2, 1, 1))
        rows["inst3"][0][C.BE_VCPUS] = 99
        rows["inst3"][2]["extra"] = True
        self.assertEqual(rows["inst4"][0][C.BE_VCPUS], 1)
        self.assertNotIn("extra", rows["inst4"][2])
        again = self.run_lu(LUInstanceQuery, query(["beparams", "hvparams"], ["inst3"]))[0]
        self.assertEqual((again[0][C.BE_VCPUS], again[1]), (1, {}))

    def test_hv_param_of_another_hypervisor_is_none(self):
        self.assertIsNone(self.field("hv/acpi", "inst1"))

    def test_each_status(self):
        rows = self.run_lu(LUInstanceQuery, query(["name", "status", "oper_state",
                                                   "oper_ram"]))
        self.assertEqual(rows, [
            ["inst1", "running", True, 256],
            ["inst2", "ADMIN_down", False, None],
            ["inst3", "ERROR_up", True, 128],
            ["inst4", "ERROR_down", False, None],
            ["inst5", "ERROR_nodedown", None, None],
            ["inst6", "ERROR_nodeoffline", None, None],
            ["inst10.example.com", "ADMIN_down", False, None],
        ])

    def test_live_fields_make_one_call_to_the_primaries(self):
        self.run_lu(LUInstanceQuery, query(["status"]))
        self.assertEqual(self.context.rpc.calls,
                         [(["node1", "node2.example.com", "node3"], "all_instances_info",
                           [[C.HT_FAKE, C.HT_KVM]])])

    def test_only_selected_primaries_are_asked(self):
        self.run_lu(LUInstanceQuery, query(["oper_ram"], ["inst5"]))
        self.assertEqual([c[0] for c in self.context.rpc.calls], [["node2.example.com"]])

    def test_instance_running_elsewhere_does_not_count(self):
        """Only the primary's answer counts: a copy on another node is not the instance."""
        self.context.rpc.running["node1"]["inst5"] = {"memory": 1}
        self.assertEqual(self.field("status", "inst5"), "ERROR_nodedown")

    def test_unknown_fields_are_refused_before_any_work(self):
        bad = ["foo", "disk.size/x", "disk.size/", "be/bogus", "hv/bogus", "nic.speed/0",
               "disk.mac/0", "be/", "NAME"]
        lu = self.make_lu(LUInstanceQuery, query(["name"] + bad))
        with self.assertRaises(errors.ParameterError) as ctx:
            lu.check_arguments()
        self.assertEqual(str(ctx.exception),
                         "Unknown output fields selected: %s" % ", ".join(bad))


class InstanceQuerySelectionTests(LUTestCase):
    def test_rows_sorted_nicely_with_short_names_expanded(self):
        rows = self.run_lu(LUInstanceQuery, query(["name"], ["inst10", "inst2", "inst2"]))
        self.assertEqual(rows, [["inst2"], ["inst10.example.com"]])

    def test_all_instances_when_no_names(self):
        rows = self.run_lu(LUInstanceQuery, query(["name"]))
        self.assertEqual([r[0] for r in rows], ["inst1", "inst2", "inst3", "inst4", "inst5",
                                                "inst6", "inst10.example.com"])

    def test_unknown_instance_name(self):
        message = self.run_lu_fails(LUInstanceQuery, query(["name"], ["nosuch"]),
                                    errors.OpPrereqError)
        self.assertIn("nosuch", message)

    def test_no_instances_no_rpc(self):
        self.cfg.data.instances.clear()
        self.assertEqual(self.run_lu(LUInstanceQuery, query(["status"])), [])
        self.assertEqual(self.context.rpc.calls, [])

    def test_no_locks_without_use_locking(self):
        self.assertEqual(self.acquired_locks(LUInstanceQuery, query(["name"], ["inst1"])), {})

    def test_use_locking_shares_instances_and_their_primaries(self):
        self.assertEqual(
            self.acquired_locks(LUInstanceQuery, query(["name"], ["inst5", "inst1"],
                                                       use_locking=True)),
            {LEVEL_INSTANCE: (["inst1", "inst5"], True),
             LEVEL_NODE: (["node1", "node2.example.com"], True)})

    def test_use_locking_without_names_locks_all(self):
        taken = self.acquired_locks(LUInstanceQuery, query(["name"], use_locking=True))
        self.assertEqual(taken[LEVEL_INSTANCE], (sorted(self.cfg.data.instances), True))
        self.assertEqual(taken[LEVEL_NODE], (["node1", "node2.example.com", "node3"], True))


class InstanceQueryDataTests(LUTestCase):
    def query_data(self, instances: List[str], static: bool = False) -> Dict[str, Any]:
        return self.run_lu(LUInstanceQueryData,
                           opcodes.OpInstanceQueryData(instances=instances, static=static))

    def test_static_shape(self):
        data = self.query_data(["inst1"], static=True)
        disk0_path = "%s/inst1/disk0" % FILE_DIR
        self.assertEqual(data, {"inst1": {
            "name": "inst1", "config_state": "up", "run_state": None, "pnode": "node1",
            "snodes": [], "os": "debian",
            "nics": [["aa:00:00:01:00:00", "192.0.2.10", "xen-br0"],
                     ["aa:00:00:01:00:01", None, "xen-br0"]],
            "disks": [
                {"iv_name": "disk/0", "dev_type": C.DT_FILE,
                 "logical_id": [C.FD_LOOP, disk0_path], "physical_id": [], "pstatus": None,
                 "sstatus": None, "children": [], "mode": "rw", "size": 1024},
                {"iv_name": "disk/1", "dev_type": C.DT_FILE,
                 "logical_id": [C.FD_LOOP, "%s/inst1/disk1" % FILE_DIR], "physical_id": [],
                 "pstatus": None, "sstatus": None, "children": [], "mode": "ro", "size": 512},
            ],
            "hypervisor": C.HT_FAKE, "network_port": None,
            "hv_instance": {}, "hv_actual": {},
            "be_instance": {C.BE_VCPUS: 2},
            "be_actual": {C.BE_MEMORY: 256, C.BE_VCPUS: 2, C.BE_AUTO_BALANCE: True},
        }})
        self.assertEqual(self.context.rpc.calls, [])

    def test_live_run_state_and_disk_status(self):
        found = {"dev_path": "/x/disk0", "size": 1024, "present": True, "degraded": False,
                 "ldisk": False}
        self.context.rpc.devices["%s/inst1/disk0" % FILE_DIR] = found
        data = self.query_data(["inst1", "inst4"])
        self.assertEqual([d["pstatus"] for d in data["inst1"]["disks"]],
                         [["/x/disk0", None, None, None, None, False, False], None])
        self.assertEqual((data["inst1"]["run_state"], data["inst4"]["run_state"]),
                         ("up", "down"))
        self.assertEqual(data["inst4"]["config_state"], "up")
        self.assertIn((["node1"], "instance_info", ["inst1", C.HT_FAKE]),
                      self.context.rpc.calls)

    def test_hvparams_overrides_and_filled(self):
        data = self.query_data(["inst2"], static=True)["inst2"]
        self.assertEqual(data["hv_instance"], {"kernel_path": ""})
        self.assertEqual((data["hv_actual"]["kernel_path"], data["hv_actual"]["acpi"]),
                         ("", False))
        self.assertEqual((data["config_state"], data["be_instance"], data["network_port"]),
                         ("down", {}, 11000))

    def test_unreachable_primary_gives_none_and_a_warning(self):
        data = self.query_data(["inst5", "inst6"])
        self.assertEqual((data["inst5"]["run_state"], data["inst6"]["run_state"]),
                         (None, None))
        self.assertEqual(len(self.messages), 2)
        self.assertIn("node2.example.com", self.messages[0])
        self.assertIn(OFFLINE_MSG, self.messages[1])

    def test_all_instances_when_none_given(self):
        self.assertEqual(sorted(self.query_data([], static=True)),
                         sorted(self.cfg.data.instances))

    def test_locks_instances_and_their_nodes_shared(self):
        op = opcodes.OpInstanceQueryData(instances=["inst5"])
        self.assertEqual(self.acquired_locks(LUInstanceQueryData, op),
                         {LEVEL_INSTANCE: (["inst5"], True),
                          LEVEL_NODE: (["node2.example.com"], True)})


def tags_op(op_class: type, kind: str, name: Optional[str] = None,
            tags: Optional[List[str]] = None) -> opcodes.OpCode:
    params: Dict[str, Any] = {"kind": kind, "name": name}
    if tags is not None:
        params["tags"] = tags
    return op_class(**params)


class TagsTests(LUTestCase):
    def get(self, kind: str, name: Optional[str] = None) -> List[str]:
        return self.run_lu(LUTagsGet, tags_op(opcodes.OpTagsGet, kind, name))

    def test_get_each_kind_with_short_names(self):
        self.assertEqual(self.get(C.TAG_CLUSTER), ["prod"])
        self.assertEqual(self.get(C.TAG_NODE, "node1"), ["master"])
        self.assertEqual(self.get(C.TAG_NODE, "node2"), [])
        self.assertEqual(self.get(C.TAG_INSTANCE, "inst1"), ["db", "web"])

    def test_get_unknown_object(self):
        self.run_lu_fails(LUTagsGet, tags_op(opcodes.OpTagsGet, C.TAG_INSTANCE, "nosuch"),
                          errors.OpPrereqError)

    def test_set_adds_sorted_without_duplicates_and_bumps_the_object_serial(self):
        cluster_serial = self.cfg.cluster.serial_no
        self.run_lu(LUTagsSet, tags_op(opcodes.OpTagsSet, C.TAG_NODE, "node2",
                                       ["zz", "aa", "zz"]))
        self.run_lu(LUTagsSet, tags_op(opcodes.OpTagsSet, C.TAG_NODE, "node2", ["mm", "aa"]))
        saved = config.load_config(self.path)
        node = saved.nodes["node2.example.com"]
        self.assertEqual((node.tags, node.serial_no), (["aa", "mm", "zz"], 3))
        self.assertEqual(saved.cluster.serial_no, cluster_serial)
        self.assertEqual(self.context.saves, 2)

    def test_set_cluster_tags_bumps_the_cluster_serial(self):
        serial = self.cfg.cluster.serial_no
        self.run_lu(LUTagsSet, tags_op(opcodes.OpTagsSet, C.TAG_CLUSTER, None, ["a:b"]))
        saved = config.load_config(self.path).cluster
        self.assertEqual((saved.tags, saved.serial_no), (["a:b", "prod"], serial + 1))

    def test_set_instance_tags(self):
        self.run_lu(LUTagsSet, tags_op(opcodes.OpTagsSet, C.TAG_INSTANCE, "inst10", ["x"]))
        inst = config.load_config(self.path).instances["inst10.example.com"]
        self.assertEqual((inst.tags, inst.serial_no), (["x"], 2))

    def test_set_refuses_more_than_the_maximum(self):
        node = self.cfg.get_node("node1")
        node.tags = ["t%d" % i for i in range(C.MAX_TAGS_PER_OBJ - 1)]
        op = tags_op(opcodes.OpTagsSet, C.TAG_NODE, "node1", ["t0", "new1", "new2"])
        message = self.run_lu_fails(LUTagsSet, op, errors.TagError)
        self.assertIn("Too many tags", message)
        self.assertEqual(len(node.tags), C.MAX_TAGS_PER_OBJ - 1)
        self.assertEqual(self.context.saves, 0)
        op = tags_op(opcodes.OpTagsSet, C.TAG_NODE, "node1", ["t0", "new1"])
        self.run_lu(LUTagsSet, op)
        self.assertEqual(len(node.tags), C.MAX_TAGS_PER_OBJ)

    def test_del_removes_and_bumps_serial(self):
        self.run_lu(LUTagsDel, tags_op(opcodes.OpTagsDel, C.TAG_INSTANCE, "inst1", ["web"]))
        inst = config.load_config(self.path).instances["inst1"]
        self.assertEqual((inst.tags, inst.serial_no), (["db"], 4))

    def test_del_of_missing_tags_lists_them_and_changes_nothing(self):
        op = tags_op(opcodes.OpTagsDel, C.TAG_INSTANCE, "inst1", ["web", "zz", "aa"])
        self.assertEqual(self.run_lu_fails(LUTagsDel, op, errors.TagError),
                         "Tag(s) 'aa', 'zz' not found")
        self.assertEqual(self.cfg.get_instance("inst1").tags, ["db", "web"])
        self.assertEqual(self.context.saves, 0)

    def test_search_is_unanchored_over_every_object(self):
        search = opcodes.OpTagsSearch(pattern="as|eb")
        self.assertEqual(self.run_lu(LUTagsSearch, search),
                         [["/instances/inst1", "web"], ["/instances/inst5", "web"],
                          ["/nodes/node1", "master"]])
        self.assertEqual(self.run_lu(LUTagsSearch, opcodes.OpTagsSearch(pattern="^pro")),
                         [["/cluster", "prod"]])
        self.assertEqual(self.run_lu(LUTagsSearch, opcodes.OpTagsSearch(pattern="nomatch")),
                         [])

    def test_locks_per_kind(self):
        cases = [
            (LUTagsGet, tags_op(opcodes.OpTagsGet, C.TAG_NODE, "node2"),
             {LEVEL_NODE: (["node2.example.com"], True)}),
            (LUTagsSet, tags_op(opcodes.OpTagsSet, C.TAG_NODE, "node2", ["a"]),
             {LEVEL_NODE: (["node2.example.com"], False)}),
            (LUTagsDel, tags_op(opcodes.OpTagsDel, C.TAG_INSTANCE, "inst1", ["a"]),
             {LEVEL_INSTANCE: (["inst1"], False)}),
            (LUTagsGet, tags_op(opcodes.OpTagsGet, C.TAG_INSTANCE, "inst1"),
             {LEVEL_INSTANCE: (["inst1"], True)}),
            (LUTagsSet, tags_op(opcodes.OpTagsSet, C.TAG_CLUSTER, None, ["a"]), {}),
            (LUTagsSearch, opcodes.OpTagsSearch(pattern="a"), {}),
        ]
        for lu_class, op, expected in cases:
            self.assertEqual(self.acquired_locks(lu_class, op), expected, op.summary())
