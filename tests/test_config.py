"""config.data: loading with clear errors, atomic writes, consistency, candidate pool."""

import os
import tempfile

from twisted.trial import unittest

from ganeti_tw import config, errors, objects


def sample(nodes: int = 3, pool: int = 10) -> objects.ConfigData:
    node_objs = {"node%d" % i: objects.Node(name="node%d" % i, primary_ip="127.0.9.%d" % i,
                                            secondary_ip="127.0.9.%d" % i,
                                            master_candidate=(i == 1))
                 for i in range(1, nodes + 1)}
    cluster = objects.Cluster(cluster_name="c", master_node="node1", master_ip="127.0.9.254",
                              candidate_pool_size=pool)
    return objects.ConfigData(cluster=cluster, nodes=node_objs)


class LoadTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.path = os.path.join(tempfile.mkdtemp(), "config.data")

    def write(self, data: bytes) -> None:
        with open(self.path, "wb") as fh:
            fh.write(data)

    def test_round_trip(self):
        data = sample()
        config.write_config(self.path, data)
        self.assertEqual(config.load_config(self.path), data)
        self.assertEqual(os.stat(self.path).st_mode & 0o777, 0o600)

    def test_corrupt_files_give_one_error_naming_the_file(self):
        config.write_config(self.path, sample())
        good = open(self.path, "rb").read()
        for bad in (good[:len(good) // 2], b"", b"[]", b'{"version": 2000000}',
                    b'{"version": 1, "cluster": {}}', b"\xff\xfe",
                    good.replace(b'"master_node":"node1"', b'"master_node":"ghost"'),
                    good.replace(b'"primary_ip":"127.0.9.2"', b'"primary_ip":"127.0.9.1"'),
                    good.replace(b'"offline":false', b'"colour":"red"', 1),
                    good.replace(b'"offline":false', b'"offline":"no"', 1),
                    good.replace(b'"candidate_pool_size":10', b'"candidate_pool_size":"10"'),
                    good.replace(b'"nodes":{', b'"nodes":{"x":[],', 1),
                    good.replace(b'"primary_ip":"127.0.9.2"', b'"primary_ip":2')):
            self.write(bad)
            with self.assertRaises(errors.ConfigurationError) as ctx:
                config.load_config(self.path)
            self.assertIn(self.path, str(ctx.exception))

    def test_missing_file(self):
        self.assertRaises(errors.ConfigurationError, config.load_config, self.path + "x")

    def test_failed_write_leaves_old_file_and_no_temp_file(self):
        writer = config.ConfigWriter(self.path, sample())
        writer.save()
        before = open(self.path, "rb").read()

        def no_space(fd):
            raise OSError(28, "No space left on device")
        self.patch(os, "fsync", no_space)
        writer.data.cluster.candidate_pool_size = 3
        with self.assertRaises(errors.OpExecError) as ctx:
            writer.save()
        self.assertIn("No space left on device", str(ctx.exception))
        self.assertEqual(open(self.path, "rb").read(), before)
        self.assertEqual(os.listdir(os.path.dirname(self.path)), ["config.data"])
        self.assertEqual(writer.data.serial_no, 2)

    def test_save_bumps_serial_and_refuses_inconsistent_config(self):
        writer = config.ConfigWriter(self.path, sample())
        writer.save()
        self.assertEqual(config.load_config(self.path).serial_no, 2)
        writer.data.nodes["node1"].master_candidate = False
        self.assertRaises(errors.ConfigurationError, writer.save)
        self.assertEqual(config.load_config(self.path).serial_no, 2)

    def test_nic_mode_and_bridge_must_agree(self):
        for nic, ok in ((objects.NIC(mac="aa:00:00:00:00:01", bridge="br0"), True),
                        (objects.NIC(mac="aa:00:00:00:00:01", mode="none"), True),
                        (objects.NIC(mac="aa:00:00:00:00:01"), False),
                        (objects.NIC(mac="aa:00:00:00:00:01", bridge="br0", mode="none"), False),
                        (objects.NIC(mac="aa:00:00:00:00:01", bridge="br0", mode="routed"),
                         False)):
            data = sample()
            data.instances["i1"] = objects.Instance(
                name="i1", primary_node="node1", os="tiny", hypervisor="fake",
                disk_template="diskless", nics=[nic])
            writer = config.ConfigWriter(self.path, data)
            if ok:
                writer.save()
                loaded = config.load_config(self.path).instances["i1"].nics[0]
                self.assertEqual((loaded.mode, loaded.bridge), (nic.mode, nic.bridge))
            else:
                with self.assertRaises(errors.ConfigurationError) as ctx:
                    writer.save()
                self.assertIn("NIC of", str(ctx.exception))


class CandidatePoolTests(unittest.SynchronousTestCase):
    def writer(self, **kw) -> config.ConfigWriter:
        return config.ConfigWriter("/nonexistent", sample(**kw))

    def test_maintain_promotes_up_to_pool_size(self):
        writer = self.writer(nodes=5, pool=3)
        promoted = writer.maintain_candidate_pool()
        self.assertEqual(len(promoted), 2)
        self.assertEqual(writer.candidate_stats(), (3, 3))

    def test_offline_and_drained_are_not_eligible(self):
        writer = self.writer(nodes=3, pool=10)
        writer.data.nodes["node2"].offline = True
        writer.data.nodes["node3"].drained = True
        self.assertEqual(writer.maintain_candidate_pool(), [])
        self.assertEqual(writer.candidate_stats(), (1, 1))

    def test_expand_short_names(self):
        writer = self.writer()
        writer.data.nodes["node2.example.com"] = writer.data.nodes.pop("node2")
        writer.data.nodes["node2.example.com"].name = "node2.example.com"
        self.assertEqual(writer.expand_node_name("node2"), "node2.example.com")
        self.assertRaises(errors.OpPrereqError, writer.expand_node_name, "node7")
