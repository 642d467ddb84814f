"""Random instance opcodes against a real cluster: every failure is a clean Ganeti error."""

import collections
import os
import random

from ganeti_tw import config, opcodes
from tests.integration.base import ClusterTestCase

OP_IDS = ["OP_INSTANCE_CREATE", "OP_INSTANCE_REMOVE", "OP_INSTANCE_STARTUP",
          "OP_INSTANCE_SHUTDOWN", "OP_INSTANCE_REBOOT", "OP_INSTANCE_REINSTALL",
          "OP_INSTANCE_RENAME", "OP_INSTANCE_FAILOVER", "OP_INSTANCE_MIGRATE",
          "OP_INSTANCE_CONSOLE", "OP_INSTANCE_ACTIVATE_DISKS", "OP_INSTANCE_DEACTIVATE_DISKS",
          "OP_INSTANCE_GROW_DISK", "OP_INSTANCE_SET_PARAMS", "OP_INSTANCE_QUERY",
          "OP_INSTANCE_QUERY_DATA", "OP_TAGS_SET", "OP_TAGS_DEL", "OP_TAGS_GET",
          "OP_TEST_ALLOCATOR", "OP_OS_DIAGNOSE"]


class InstanceFuzzTests(ClusterTestCase):
    NODES = 2
    BASE_IP = "127.0.15."

    def _value(self, rng: random.Random, name: str):
        instances = ["f1", "f2", "f3", "nosuch"]
        pools = {
            "instance_name": instances, "new_name": instances + ["f9"],
            "pnode": ["node1", "node2", "node7"], "target_node": ["node1", "node2", None],
            "os_type": ["tiny", "nosuchos", None], "disk_template":
                ["diskless", "file", "sharedfile", "plain"],
            "disks": [[], [{"size": 8}], [{"size": 4, "mode": "ro"}, {"size": 4}]],
            "nics": [[{}], [], [{"mac": "generate", "ip": "192.0.2.9"}]],
            "kind": ["cluster", "node", "instance"], "name": ["f1", "node1", None, "x"],
            "tags": [["a:b"], ["c"]], "disk": [0, 1, 5], "amount": [1, 4],
            "reboot_type": ["soft", "hard", "full"], "beparams": [{}, {"memory": 64},
                                                                  {"memory": "default"}],
            "output_fields": [["name", "status"], ["name", "disk.size/0"]],
            "direction": ["in", "out"], "mode": ["allocate", "relocate"],
            "allocator": ["free-memory", None],
        }
        if name == "disks" and self._op_id == "OP_INSTANCE_SET_PARAMS":
            return rng.choice([[], [["add", {"size": 4}]], [["remove", {}]],
                               [[0, {"mode": "ro"}]], [[3, {"mode": "rw"}]]])
        if name == "nics" and self._op_id == "OP_INSTANCE_SET_PARAMS":
            return rng.choice([[], [["add", {}]], [["remove", {}]],
                               [[0, {"ip": "192.0.2.3"}]], [[2, {"mac": "generate"}]]])
        if name in pools:
            return rng.choice(pools[name])
        return rng.choice([True, False, None])

    def test_random_instance_opcodes_end_in_clean_states(self):
        rng = random.Random(112611)
        for name in ("f1", "f2"):
            self.submit({"OP_ID": "OP_INSTANCE_CREATE", "instance_name": name,
                         "disk_template": "sharedfile", "disks": [{"size": 8}],
                         "os_type": "tiny", "pnode": "node1", "name_check": False,
                         "ip_check": False})
        jobs = []
        for _ in range(120):
            self._op_id = rng.choice(OP_IDS)
            cls = opcodes._REGISTRY[self._op_id]
            data = {"OP_ID": self._op_id}
            for name, default, _ in cls.PARAMS:
                if default is opcodes.REQUIRED or rng.random() < 0.5:
                    data[name] = self._value(rng, name)
            if self._op_id in ("OP_INSTANCE_CREATE", "OP_INSTANCE_RENAME"):
                data.update(name_check=False)
                data.pop("ip_check", None)
            try:
                opcodes.OpCode.from_dict(data)
            except Exception:
                continue  # refused at the door: test_opcodes covers that
            jobs.append(self.submit(data))
        outcomes = collections.Counter()
        for job_id in jobs:
            status, _, result = self.wait_job(job_id, timeout=60)
            self.assertIn(status, ("success", "error"))
            outcomes[status if status == "success" else result[-1] and result[-1][0]] += 1
        self.assertGreater(outcomes["success"], 5, outcomes)
        self.assertGreater(outcomes["OpPrereqError"], 5, outcomes)
        log = os.path.join(self.cluster.paths(1).log_dir, "master-daemon.log")
        with open(log) as fh:
            text = fh.read()
        self.assertNotIn("Unexpected error", text)
        self.assertNotIn("Traceback", text)
        cfg = config.ConfigWriter(self.cluster.paths(1).config_file)
        self.assertEqual(config.verify_config(cfg.data), [])
        self.assertGreater(len(jobs), 60)
        self.assertCommandOk("gnt-cluster", "verify")
