"""The storage layer: file disks, their storage directories and the template table."""

import os
import stat

from twisted.internet import defer
from twisted.trial import unittest
from zope.interface.verify import verifyObject

from ganeti_tw import errors, objects
from ganeti_tw.paths import Paths
from ganeti_tw.storage import (DEVICE_TYPES, FileDevice, IBlockDevice, SharedFileDevice,
                               device_for, filestorage, node_path, templates)

MIB = 1024 * 1024
INSTANCE = "inst1.example.com"
CLUSTER_DIR = "/srv/ganeti/file-storage"


def file_disk(path: str, size: int = 64, dev_type: str = "file") -> dict:
    return {"dev_type": dev_type, "logical_id": ["loop", path], "physical_id": [],
            "children": [], "iv_name": "disk/0", "size": size, "mode": "rw"}


class StorageTestCase(unittest.TestCase):

    def setUp(self) -> None:
        self.tmp = os.path.abspath(self.mktemp())
        self.paths = Paths(os.path.join(self.tmp, "node1"))
        self.shared_dir = os.path.join(self.tmp, "shared")
        self.inst_dir = "%s/%s" % (CLUSTER_DIR, INSTANCE)
        self.disk_path = self.inst_dir + "/disk0"

    async def make_file_dir(self) -> None:
        await filestorage.create_file_storage_dir(self.paths.under_root(self.inst_dir),
                                                  self.paths.file_storage_dir)

    async def created_file_device(self, size: int = 64) -> FileDevice:
        await self.make_file_dir()
        dev = device_for(file_disk(self.disk_path, size), self.paths)
        await dev.create()
        return dev


class DeviceTests(StorageTestCase):

    def test_every_provider_provides_iblockdevice(self) -> None:
        for dev_type in DEVICE_TYPES:
            verifyObject(IBlockDevice, device_for(file_disk(self.disk_path, dev_type=dev_type),
                                                  self.paths))

    def test_registry_maps_dev_types_to_providers(self) -> None:
        self.assertEqual(DEVICE_TYPES, {"file": FileDevice, "sharedfile": SharedFileDevice})

    def test_create_makes_sparse_file_of_exact_size(self) -> None:
        async def go():
            dev = await self.created_file_device(size=256)
            st = os.stat(dev.dev_path)
            self.assertEqual(st.st_size, 256 * MIB)
            self.assertLess(st.st_blocks * 512, MIB)
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        return defer.ensureDeferred(go())

    def test_create_refuses_existing_device(self) -> None:
        async def go():
            dev = await self.created_file_device()
            with open(dev.dev_path, "wb") as fh:
                fh.write(b"guest data")
            with self.assertRaises(errors.BlockDeviceError) as ctx:
                await dev.create()
            self.assertIn("already exists", str(ctx.exception))
            with open(dev.dev_path, "rb") as fh:
                self.assertEqual(fh.read(), b"guest data")
        return defer.ensureDeferred(go())

    def test_create_without_storage_dir_names_the_path(self) -> None:
        async def go():
            dev = device_for(file_disk(self.disk_path), self.paths)
            with self.assertRaises(errors.BlockDeviceError) as ctx:
                await dev.create()
            self.assertIn(dev.dev_path, str(ctx.exception))
        return defer.ensureDeferred(go())

    def test_grow_enlarges_file_and_size(self) -> None:
        async def go():
            dev = await self.created_file_device(size=64)
            await dev.grow(36)
            self.assertEqual(os.stat(dev.dev_path).st_size, 100 * MIB)
            self.assertEqual(dev.size, 100)
            self.assertEqual((await dev.find())["size"], 100)
        return defer.ensureDeferred(go())

    def test_grow_refuses_more_than_the_filesystem_has(self) -> None:
        async def go():
            dev = await self.created_file_device(size=64)
            too_much = await filestorage.free_space_mib(dev.dev_path) + 1024 * 1024
            with self.assertRaises(errors.BlockDeviceError) as ctx:
                await dev.grow(too_much)
            self.assertIn(dev.dev_path, str(ctx.exception))
            self.assertIn("MiB missing", str(ctx.exception))
            self.assertEqual(os.stat(dev.dev_path).st_size, 64 * MIB)
            self.assertEqual(dev.size, 64)
        return defer.ensureDeferred(go())

    def test_grow_error_says_how_many_mib_are_missing(self) -> None:
        self.patch(filestorage, "_free_space_mib", lambda path: 10)

        async def go():
            dev = await self.created_file_device(size=64)
            with self.assertRaises(errors.BlockDeviceError) as ctx:
                await dev.grow(100)
            self.assertIn("10 MiB free, 90 MiB missing", str(ctx.exception))
        return defer.ensureDeferred(go())

    def test_grow_never_shrinks(self) -> None:
        async def go():
            dev = await self.created_file_device(size=64)
            with self.assertRaises(errors.BlockDeviceError):
                await dev.grow(-1)
            self.assertEqual(os.stat(dev.dev_path).st_size, 64 * MIB)
        return defer.ensureDeferred(go())

    def test_grow_missing_device_fails(self) -> None:
        async def go():
            await self.make_file_dir()
            dev = device_for(file_disk(self.disk_path), self.paths)
            with self.assertRaises(errors.BlockDeviceError) as ctx:
                await dev.grow(1)
            self.assertIn("not found", str(ctx.exception))
        return defer.ensureDeferred(go())

    def test_remove_deletes_the_file(self) -> None:
        async def go():
            dev = await self.created_file_device()
            await dev.remove()
            self.assertFalse(os.path.exists(dev.dev_path))
        return defer.ensureDeferred(go())

    def test_remove_of_absent_device_succeeds(self) -> None:
        """Removal is repeated after partial failures, so it must be idempotent."""
        async def go():
            dev = device_for(file_disk(self.disk_path), self.paths)
            await dev.remove()
        return defer.ensureDeferred(go())

    def test_find_absent_device_is_none(self) -> None:
        async def go():
            dev = device_for(file_disk(self.disk_path), self.paths)
            self.assertIsNone(await dev.find())
        return defer.ensureDeferred(go())

    def test_find_reports_actual_size(self) -> None:
        async def go():
            dev = await self.created_file_device(size=64)
            with open(dev.dev_path, "r+b") as fh:
                fh.truncate(80 * MIB)
            self.assertEqual(await dev.find(), {
                "dev_path": dev.dev_path, "size": 80, "present": True,
                "degraded": False, "ldisk": False})
        return defer.ensureDeferred(go())

    def test_assemble_checks_the_file_is_there(self) -> None:
        async def go():
            dev = await self.created_file_device()
            await dev.assemble()
            await dev.shutdown()
            await dev.remove()
            with self.assertRaises(errors.BlockDeviceError):
                await dev.assemble()
        return defer.ensureDeferred(go())

    def test_assemble_refuses_a_directory(self) -> None:
        async def go():
            await self.make_file_dir()
            dev = device_for(file_disk(self.disk_path), self.paths)
            os.mkdir(dev.dev_path)
            with self.assertRaises(errors.BlockDeviceError) as ctx:
                await dev.assemble()
            self.assertIn("not a regular file", str(ctx.exception))
        return defer.ensureDeferred(go())

    def test_rename_moves_the_file(self) -> None:
        async def go():
            dev = await self.created_file_device()
            old = dev.dev_path
            await dev.rename(["loop", self.inst_dir + "/disk1"])
            self.assertEqual(dev.logical_id, ["loop", self.inst_dir + "/disk1"])
            self.assertEqual(dev.dev_path, self.paths.under_root(self.inst_dir + "/disk1"))
            self.assertTrue(os.path.isfile(dev.dev_path))
            self.assertFalse(os.path.exists(old))
        return defer.ensureDeferred(go())

    def test_rename_refuses_to_overwrite(self) -> None:
        async def go():
            dev = await self.created_file_device()
            other = device_for(file_disk(self.inst_dir + "/disk1"), self.paths)
            await other.create()
            with self.assertRaises(errors.BlockDeviceError) as ctx:
                await dev.rename(["loop", self.inst_dir + "/disk1"])
            self.assertIn("destination exists", str(ctx.exception))
            self.assertTrue(os.path.isfile(dev.dev_path))
            self.assertEqual(dev.logical_id, ["loop", self.disk_path])
        return defer.ensureDeferred(go())

    def test_file_disk_is_mapped_below_the_node_root(self) -> None:
        dev = device_for(file_disk(self.disk_path), self.paths)
        self.assertEqual(dev.dev_path, os.path.join(self.paths.root, self.disk_path[1:]))

    def test_sharedfile_disk_is_the_same_file_on_every_node(self) -> None:
        async def go():
            path = os.path.join(self.shared_dir, INSTANCE, "disk0")
            await filestorage.create_file_storage_dir(os.path.dirname(path), self.shared_dir)
            disk = file_disk(path, dev_type="sharedfile")
            node1 = device_for(disk, self.paths)
            node2 = device_for(disk, Paths(os.path.join(self.tmp, "node2")))
            self.assertEqual(node1.dev_path, path)
            self.assertEqual(node2.dev_path, path)
            await node1.create()
            self.assertEqual((await node2.find())["size"], 64)
        return defer.ensureDeferred(go())

    def test_node_path_follows_the_dev_type(self) -> None:
        self.assertEqual(node_path("file", CLUSTER_DIR, self.paths), self.paths.file_storage_dir)
        self.assertEqual(node_path("sharedfile", self.shared_dir, self.paths), self.shared_dir)

    def test_unknown_dev_type_is_refused(self) -> None:
        err = self.assertRaises(errors.BlockDeviceError, device_for,
                                file_disk(self.disk_path, dev_type="lvm"), self.paths)
        self.assertIn("'lvm'", str(err))

    def test_path_escaping_the_node_root_is_refused(self) -> None:
        for path in ["relative/disk0", "/srv/../../etc/passwd", "/srv//disk0"]:
            self.assertRaises(errors.BlockDeviceError, device_for, file_disk(path), self.paths)

    def test_malformed_disks_are_refused(self) -> None:
        for disk in [file_disk(self.disk_path, size=-1), file_disk(self.disk_path, size="1"),
                     dict(file_disk(self.disk_path), logical_id=["nbd", self.disk_path]),
                     dict(file_disk(self.disk_path), logical_id=[self.disk_path])]:
            self.assertRaises(errors.BlockDeviceError, device_for, disk, self.paths)


class StorageDirTests(StorageTestCase):

    def setUp(self) -> None:
        super().setUp()
        self.base = self.paths.file_storage_dir
        self.inst = os.path.join(self.base, INSTANCE)

    def test_create_makes_directory_and_parents_0750(self) -> None:
        """The mode holds whatever the daemon's umask."""
        self.addCleanup(os.umask, os.umask(0o077))

        async def go():
            await filestorage.create_file_storage_dir(self.inst, self.base)
            for path in [self.inst, self.base, os.path.dirname(self.base)]:
                self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o750, path)
        return defer.ensureDeferred(go())

    def test_create_of_existing_directory_succeeds(self) -> None:
        async def go():
            await filestorage.create_file_storage_dir(self.inst, self.base)
            await filestorage.create_file_storage_dir(self.inst, self.base)
            self.assertTrue(os.path.isdir(self.inst))
        return defer.ensureDeferred(go())

    def test_create_over_a_file_fails(self) -> None:
        async def go():
            os.makedirs(self.base)
            open(self.inst, "w").close()
            with self.assertRaises(errors.BlockDeviceError) as ctx:
                await filestorage.create_file_storage_dir(self.inst, self.base)
            self.assertIn("not a directory", str(ctx.exception))
        return defer.ensureDeferred(go())

    def test_paths_outside_the_base_are_refused(self) -> None:
        async def go():
            os.makedirs(self.base)
            os.symlink(self.tmp, os.path.join(self.base, "escape"))
            outside = [self.base, os.path.dirname(self.base), self.base + "-other/x",
                       os.path.join(self.base, "..", "x"), os.path.join(self.base, "escape", "x"),
                       "relative/x"]
            for path in outside:
                for call in [filestorage.create_file_storage_dir(path, self.base),
                             filestorage.remove_file_storage_dir(path, self.base),
                             filestorage.rename_file_storage_dir(self.inst, path, self.base),
                             filestorage.rename_file_storage_dir(path, self.inst, self.base)]:
                    with self.assertRaises(errors.BlockDeviceError):
                        await call
            self.assertFalse(os.path.exists(self.base + "-other"))
        return defer.ensureDeferred(go())

    def test_remove_deletes_an_empty_directory(self) -> None:
        async def go():
            await filestorage.create_file_storage_dir(self.inst, self.base)
            await filestorage.remove_file_storage_dir(self.inst, self.base)
            self.assertFalse(os.path.exists(self.inst))
            await filestorage.remove_file_storage_dir(self.inst, self.base)
        return defer.ensureDeferred(go())

    def test_remove_refuses_a_directory_with_files(self) -> None:
        async def go():
            await filestorage.create_file_storage_dir(self.inst, self.base)
            open(os.path.join(self.inst, "disk0"), "w").close()
            with self.assertRaises(errors.BlockDeviceError) as ctx:
                await filestorage.remove_file_storage_dir(self.inst, self.base)
            self.assertIn("not empty", str(ctx.exception))
            self.assertIn(self.inst, str(ctx.exception))
        return defer.ensureDeferred(go())

    def test_rename_moves_the_directory_with_its_disks(self) -> None:
        async def go():
            new = os.path.join(self.base, "sub", "inst2.example.com")
            await filestorage.create_file_storage_dir(self.inst, self.base)
            open(os.path.join(self.inst, "disk0"), "w").close()
            await filestorage.rename_file_storage_dir(self.inst, new, self.base)
            self.assertTrue(os.path.isfile(os.path.join(new, "disk0")))
            self.assertFalse(os.path.exists(self.inst))
            # a retried job renames again: nothing left to do
            await filestorage.rename_file_storage_dir(self.inst, new, self.base)
        return defer.ensureDeferred(go())

    def test_rename_refuses_when_both_exist(self) -> None:
        async def go():
            new = os.path.join(self.base, "inst2.example.com")
            await filestorage.create_file_storage_dir(self.inst, self.base)
            await filestorage.create_file_storage_dir(new, self.base)
            with self.assertRaises(errors.BlockDeviceError) as ctx:
                await filestorage.rename_file_storage_dir(self.inst, new, self.base)
            self.assertIn("both exist", str(ctx.exception))
        return defer.ensureDeferred(go())

    def test_rename_of_missing_directory_fails(self) -> None:
        async def go():
            new = os.path.join(self.base, "inst2.example.com")
            with self.assertRaises(errors.BlockDeviceError):
                await filestorage.rename_file_storage_dir(self.inst, new, self.base)
        return defer.ensureDeferred(go())

    def test_free_space_of_a_directory_yet_to_be_created(self) -> None:
        async def go():
            st = os.statvfs(os.path.dirname(self.tmp))
            free = await filestorage.free_space_mib(self.inst)
            self.assertAlmostEqual(free, st.f_bavail * st.f_frsize // MIB, delta=1024)
        return defer.ensureDeferred(go())


class TemplateTests(unittest.SynchronousTestCase):

    def test_file_template_stays_on_its_node(self) -> None:
        tmpl = templates.get_template("file")
        self.assertEqual((tmpl.dev_type, tmpl.nodes, tmpl.shared, tmpl.can_failover,
                          tmpl.can_migrate, tmpl.check_free_space, tmpl.can_grow,
                          tmpl.storage_dir_param),
                         ("file", 1, False, False, False, True, True, "file_storage_dir"))

    def test_sharedfile_template_can_move_between_nodes(self) -> None:
        tmpl = templates.get_template("sharedfile")
        self.assertEqual((tmpl.dev_type, tmpl.nodes, tmpl.shared, tmpl.can_failover,
                          tmpl.can_migrate, tmpl.check_free_space, tmpl.can_grow,
                          tmpl.storage_dir_param),
                         ("sharedfile", 1, True, True, True, True, True,
                          "shared_file_storage_dir"))

    def test_diskless_template_has_nothing_to_check_or_grow(self) -> None:
        tmpl = templates.get_template("diskless")
        self.assertEqual((tmpl.dev_type, tmpl.nodes, tmpl.shared, tmpl.check_free_space,
                          tmpl.can_grow), (None, 1, False, False, False))

    def test_storage_dir_params_are_cluster_attributes(self) -> None:
        cluster = objects.Cluster()
        for tmpl in templates.TEMPLATES.values():
            if tmpl.storage_dir_param:
                self.assertTrue(getattr(cluster, tmpl.storage_dir_param).startswith("/"))

    def test_every_file_template_dev_type_has_a_provider(self) -> None:
        for name in templates.available_templates():
            dev_type = templates.get_template(name).dev_type
            self.assertTrue(dev_type is None or dev_type in DEVICE_TYPES, name)

    def test_available_templates(self) -> None:
        self.assertEqual(templates.available_templates(), ["diskless", "file", "sharedfile"])

    def test_plain_is_known_but_unavailable(self) -> None:
        err = self.assertRaises(errors.OpPrereqError, templates.get_template, "plain")
        self.assertEqual(str(err), "disk template plain needs LVM, which this version does"
                                   " not support yet")

    def test_drbd_is_known_but_unavailable(self) -> None:
        err = self.assertRaises(errors.OpPrereqError, templates.get_template, "drbd")
        self.assertEqual(str(err), "disk template drbd needs DRBD and LVM, which this version"
                                   " does not support yet")

    def test_unknown_template_names_the_available_ones(self) -> None:
        err = self.assertRaises(errors.OpPrereqError, templates.get_template, "zfs")
        self.assertEqual(str(err), "Unknown disk template 'zfs' (available: diskless, file,"
                                   " sharedfile)")

    def test_generate_file_disks(self) -> None:
        disks = templates.generate_disks("file", INSTANCE,
                                         [{"size": 1024, "mode": "rw"},
                                          {"size": 512, "mode": "ro"}], CLUSTER_DIR)
        self.assertEqual(disks, [
            {"dev_type": "file", "logical_id": ["loop", CLUSTER_DIR + "/inst1.example.com/disk0"],
             "physical_id": [], "children": [], "iv_name": "disk/0", "size": 1024,
             "mode": "rw"},
            {"dev_type": "file", "logical_id": ["loop", CLUSTER_DIR + "/inst1.example.com/disk1"],
             "physical_id": [], "children": [], "iv_name": "disk/1", "size": 512,
             "mode": "ro"},
        ])

    def test_generated_disks_are_config_disks(self) -> None:
        for disk in templates.generate_disks("sharedfile", INSTANCE, [{"size": 1, "mode": "rw"}],
                                             "/srv/shared/", driver="blktap"):
            self.assertEqual(objects.Disk.from_dict(disk).to_dict(), disk)
            self.assertEqual(disk["logical_id"],
                             ["blktap", "/srv/shared/inst1.example.com/disk0"])

    def test_generated_disks_make_devices(self) -> None:
        paths = Paths("/nonexistent/node1")
        disk, = templates.generate_disks("file", INSTANCE, [{"size": 1, "mode": "rw"}],
                                         CLUSTER_DIR)
        self.assertEqual(device_for(disk, paths).dev_path,
                         "/nonexistent/node1/srv/ganeti/file-storage/inst1.example.com/disk0")

    def test_instance_storage_dir_matches_disk_paths(self) -> None:
        disk, = templates.generate_disks("file", INSTANCE, [{"size": 1, "mode": "rw"}],
                                         CLUSTER_DIR)
        self.assertEqual(os.path.dirname(disk["logical_id"][1]),
                         templates.instance_storage_dir(CLUSTER_DIR, INSTANCE))

    def test_diskless_generates_no_disks(self) -> None:
        self.assertEqual(templates.generate_disks("diskless", INSTANCE, [], None), [])
        self.assertRaises(errors.OpPrereqError, templates.generate_disks, "diskless", INSTANCE,
                          [{"size": 1, "mode": "rw"}], None)

    def test_generate_refuses_bad_input(self) -> None:
        good = [{"size": 1, "mode": "rw"}]
        for args, kwargs in [
                (("plain", INSTANCE, good, CLUSTER_DIR), {}),
                (("file", INSTANCE, good, CLUSTER_DIR), {"driver": "nbd"}),
                (("file", INSTANCE, good, "relative"), {}),
                (("file", "../etc", good, CLUSTER_DIR), {}),
                (("file", INSTANCE, [{"size": 0, "mode": "rw"}], CLUSTER_DIR), {}),
                (("file", INSTANCE, [{"size": 1, "mode": "wo"}], CLUSTER_DIR), {})]:
            self.assertRaises(errors.OpPrereqError, templates.generate_disks, *args, **kwargs)
