"""Opcode validation at the door."""

import random

from twisted.trial import unittest

from ganeti_tw import errors, opcodes


class OpcodeTests(unittest.SynchronousTestCase):
    def test_defaults_filled_and_round_trip(self):
        op = opcodes.OpCode.from_dict({"OP_ID": "OP_TEST_DELAY", "duration": 1})
        self.assertEqual(op.to_dict(), {"OP_ID": "OP_TEST_DELAY", "duration": 1.0,
                                        "on_master": True, "on_nodes": []})
        self.assertEqual(opcodes.OpCode.from_dict(op.to_dict()).to_dict(), op.to_dict())

    def test_errors(self):
        cases = [
            ({"OP_ID": "OP_NOPE"}, errors.OpCodeUnknown),
            ({"duration": 1}, errors.ParameterError),
            ("OP_TEST_DELAY", errors.ParameterError),
            ({"OP_ID": "OP_TEST_DELAY"}, errors.ParameterError),
            ({"OP_ID": "OP_TEST_DELAY", "duration": True}, errors.TypeEnforcementError),
            ({"OP_ID": "OP_TEST_DELAY", "duration": 1, "on_nodes": "node1"},
             errors.TypeEnforcementError),
            ({"OP_ID": "OP_NODE_ADD", "node_name": "bad name"}, errors.TypeEnforcementError),
            ({"OP_ID": "OP_NODE_ADD", "node_name": "n", "primary_ip": "300.1.1.1"},
             errors.TypeEnforcementError),
            ({"OP_ID": "OP_CLUSTER_SET_PARAMS", "candidate_pool_size": 0},
             errors.TypeEnforcementError),
            ({"OP_ID": "OP_CLUSTER_VERIFY", "skip_checks": ["nope"]},
             errors.TypeEnforcementError),
        ]
        create = {"OP_ID": "OP_INSTANCE_CREATE", "instance_name": "i1", "mode": "create",
                  "disk_template": "diskless", "disks": [], "os_type": "tiny", "pnode": "n1"}
        for nic, needle in (({"mode": "routed"}, "invalid mode 'routed'"),
                            ({"mode": "none", "bridge": "br0"}, "mode none connects to no"),
                            ({"mode": ["none"]}, "invalid mode")):
            with self.assertRaises(errors.OpPrereqError) as ctx:
                opcodes.OpCode.from_dict(dict(create, nics=[nic]))
            self.assertIn(needle, str(ctx.exception))
        opcodes.OpCode.from_dict(dict(create, nics=[{"mode": "none"}, {"mode": "bridged"}]))
        for data, exc in cases:
            self.assertRaises(exc, opcodes.OpCode.from_dict, data)

    def test_summary(self):
        op = opcodes.OpNodeAdd(node_name="node2")
        self.assertEqual(op.summary(), "NODE_ADD(node2)")
        self.assertEqual(opcodes.OpClusterVerify().summary(), "CLUSTER_VERIFY")

    def test_random_fields_of_every_opcode_fail_only_with_ganeti_errors(self):
        """Whatever a client sends, validation answers with one of our errors."""
        rng = random.Random(1126)
        values = [None, True, 0, -3, 7, 1.5, "", "x", "node1", "auto", "rw", "ro", "add",
                  "remove", "none", "default", "192.0.2.1", "aa:00:00:01:02:03", [], {},
                  [{"size": 10}], [{"size": -1, "mode": "x"}], [["add", {"size": 5}]],
                  [[0, {"mode": "ro"}]], [["remove", {"x": 1}]], [{"mac": "zz"}],
                  {"memory": 64}, {"memory": "a"}, {"kvm": {"acpi": 1}}, ["a", 1]]
        for op_id, cls in sorted(opcodes._REGISTRY.items()):
            names = [name for name, _, _ in cls.PARAMS] + ["bogus"]
            for _ in range(150):
                data = {"OP_ID": op_id}
                for name in rng.sample(names, rng.randint(0, len(names))):
                    data[name] = rng.choice(values)
                try:
                    op = opcodes.OpCode.from_dict(data)
                except errors.GenericError:
                    continue
                self.assertEqual(opcodes.OpCode.from_dict(op.to_dict()).to_dict(),
                                 op.to_dict(), data)
