"""The node's view of an instance's disks: found on disk, linked for the instance."""

import os

from twisted.internet import defer, reactor

from ganeti_tw.backend import NodeContext, instance
from tests.test_storage import INSTANCE, StorageTestCase, file_disk


class DisksStatusTests(StorageTestCase):

    def setUp(self) -> None:
        super().setUp()
        self.ctx = NodeContext(self.paths, "node1", reactor)
        self.disk = file_disk(self.disk_path)
        self.link = self.paths.instance_disk_link(INSTANCE, 0)

    async def status(self) -> dict:
        return (await instance.instance_disks_status(self.ctx, {INSTANCE: [self.disk]}))[
            INSTANCE][0]

    def test_activation_relinks_a_present_disk_whose_link_is_gone(self) -> None:
        async def go():
            dev = await self.created_file_device()
            self.assertEqual(await self.status(), {"found": True, "linked": False,
                                                   "error": None})
            data = {"name": INSTANCE, "disks": [self.disk]}
            self.assertEqual(await instance.instance_activate_disks(self.ctx, data),
                             [dev.dev_path])
            self.assertEqual(os.readlink(self.link), dev.dev_path)
            self.assertEqual(await self.status(), {"found": True, "linked": True,
                                                   "error": None})
        return defer.ensureDeferred(go())

    def test_link_to_another_file_does_not_count(self) -> None:
        async def go():
            await self.created_file_device()
            os.makedirs(os.path.dirname(self.link))
            os.symlink("/elsewhere", self.link)
            self.assertFalse((await self.status())["linked"])
        return defer.ensureDeferred(go())

    def test_missing_file_is_not_found_and_a_directory_in_its_place_is_an_error(self) -> None:
        async def go():
            await self.make_file_dir()
            self.assertEqual(await self.status(), {"found": False, "linked": False,
                                                   "error": None})
            os.mkdir(self.paths.under_root(self.disk_path))
            answer = await self.status()
            self.assertFalse(answer["found"])
            self.assertIn("not a regular file", answer["error"])
        return defer.ensureDeferred(go())
