"""File-backed disks (dev types ``file`` and ``sharedfile``) and their directories.

A disk is a sparse raw file: creating or growing one costs no space until the
guest writes. ``file`` disks are node-local, so their config path is mapped
below the node's root; ``sharedfile`` disks live on a directory every node
mounts, so their path is used as is, and every node sees the same file. That
is the whole difference between the two types.

All filesystem work runs in a thread: a slow or hung network filesystem must
not stop the node daemon from answering.
"""

import errno
import os
import stat
from typing import Any, Callable, Dict, List, Optional, Sequence

from twisted.internet import threads
from zope.interface import implementer

from ganeti_tw import constants, errors
from ganeti_tw.paths import Paths
from ganeti_tw.storage.interfaces import IBlockDevice

MIB = 1024 * 1024
# directories hold guest data: no access for others
DIR_MODE = 0o750
DISK_FILE_MODE = 0o600


def _check_cluster_path(path: Any) -> str:
    """Refuse a path that is relative or not normalized.

    A path with ``..`` could leave the node's root once mapped below it.
    """
    if (not isinstance(path, str) or not os.path.isabs(path)
            or os.path.normpath(path) != path or path.startswith("//")):
        raise errors.BlockDeviceError(
            "Invalid file disk path %r: it must be absolute and normalized" % (path,))
    return path


def _check_logical_id(logical_id: Any) -> List[str]:
    if (not isinstance(logical_id, (list, tuple)) or len(logical_id) != 2
            or logical_id[0] not in constants.FILE_DRIVERS):
        raise errors.BlockDeviceError(
            "Invalid logical_id %r for a file disk: expected [driver, path] with driver"
            " one of %s" % (logical_id, ", ".join(sorted(constants.FILE_DRIVERS))))
    return [logical_id[0], _check_cluster_path(logical_id[1])]


def _free_space_mib(path: str) -> int:
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize // MIB


async def free_space_mib(path: str) -> int:
    """Free MiB for unprivileged writers on the filesystem that holds (or would hold) ``path``.

    The nearest existing parent is measured, so a directory that is yet to
    be created can be checked before placing an instance.
    """
    return await threads.deferToThread(_free_space_mib, path)


@implementer(IBlockDevice)
class FileDevice:
    """A node-local sparse file disk (dev type ``file``)."""

    DEV_TYPE = constants.DT_FILE
    SHARED = False

    def __init__(self, disk: Dict[str, Any], paths: Paths):
        size = disk.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise errors.BlockDeviceError("Invalid size %r for a file disk" % (size,))
        self.logical_id = _check_logical_id(disk.get("logical_id"))
        self.size = size
        self.paths = paths
        self.dev_path = self.node_path(self.logical_id[1], paths)

    @classmethod
    def node_path(cls, path: str, paths: Paths) -> str:
        """The node-local path of a cluster path of this device type."""
        _check_cluster_path(path)
        return path if cls.SHARED else paths.under_root(path)

    async def create(self) -> None:
        await threads.deferToThread(self._create)

    def _create(self) -> None:
        try:
            fd = os.open(self.dev_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                         DISK_FILE_MODE)
        except FileExistsError:
            raise errors.BlockDeviceError("File disk %s already exists" % self.dev_path) from None
        except OSError as err:
            raise errors.BlockDeviceError(
                "Cannot create file disk %s: %s" % (self.dev_path, err.strerror)) from None
        try:
            os.ftruncate(fd, self.size * MIB)
        except OSError as err:
            os.unlink(self.dev_path)
            raise errors.BlockDeviceError(
                "Cannot size file disk %s to %d MiB: %s"
                % (self.dev_path, self.size, err.strerror)) from None
        finally:
            os.close(fd)

    async def remove(self) -> None:
        await threads.deferToThread(self._remove)

    def _remove(self) -> None:
        try:
            os.unlink(self.dev_path)
        except FileNotFoundError:
            pass
        except OSError as err:
            raise errors.BlockDeviceError(
                "Cannot remove file disk %s: %s" % (self.dev_path, err.strerror)) from None

    async def assemble(self) -> None:
        await threads.deferToThread(self._stat)

    async def shutdown(self) -> None:
        """Nothing holds a file open between uses, so there is nothing to release."""

    def _stat(self) -> os.stat_result:
        st = self._stat_or_none()
        if st is None:
            raise errors.BlockDeviceError("File disk %s not found" % self.dev_path)
        return st

    def _stat_or_none(self) -> Optional[os.stat_result]:
        try:
            st = os.stat(self.dev_path)
        except FileNotFoundError:
            return None
        except OSError as err:
            raise errors.BlockDeviceError(
                "Cannot access file disk %s: %s" % (self.dev_path, err.strerror)) from None
        if not stat.S_ISREG(st.st_mode):
            raise errors.BlockDeviceError("File disk %s is not a regular file" % self.dev_path)
        return st

    async def grow(self, amount_mib: int) -> None:
        if not isinstance(amount_mib, int) or isinstance(amount_mib, bool) or amount_mib < 0:
            raise errors.BlockDeviceError(
                "Cannot grow %s by %r MiB: the amount must be a non-negative integer"
                % (self.dev_path, amount_mib))
        self.size = await threads.deferToThread(self._grow, amount_mib)

    def _grow(self, amount_mib: int) -> int:
        new_size = self._stat().st_size + amount_mib * MIB
        # The file is sparse, so it may use less than its size; demanding the
        # full amount keeps the promise that the guest can fill its disk.
        free = _free_space_mib(os.path.dirname(self.dev_path))
        if amount_mib > free:
            raise errors.BlockDeviceError(
                "Not enough free space to grow %s by %d MiB: %d MiB free, %d MiB missing"
                % (self.dev_path, amount_mib, free, amount_mib - free))
        try:
            with open(self.dev_path, "r+b") as fh:
                fh.truncate(new_size)
        except OSError as err:
            raise errors.BlockDeviceError(
                "Cannot grow file disk %s: %s" % (self.dev_path, err.strerror)) from None
        return new_size // MIB

    async def find(self) -> Optional[Dict[str, Any]]:
        st = await threads.deferToThread(self._stat_or_none)
        if st is None:
            return None
        return {"dev_path": self.dev_path, "size": st.st_size // MIB, "present": True,
                "degraded": False, "ldisk": False}

    async def rename(self, new_logical_id: Sequence[str]) -> None:
        logical_id = _check_logical_id(new_logical_id)
        new_path = self.node_path(logical_id[1], self.paths)
        await threads.deferToThread(self._rename, new_path)
        self.logical_id, self.dev_path = logical_id, new_path

    def _rename(self, new_path: str) -> None:
        # os.rename silently replaces an existing file; the caller holds the
        # instance lock, so checking first is enough to never lose a disk
        if os.path.lexists(new_path):
            raise errors.BlockDeviceError(
                "Cannot rename file disk %s to %s: the destination exists"
                % (self.dev_path, new_path))
        try:
            os.rename(self.dev_path, new_path)
        except OSError as err:
            raise errors.BlockDeviceError(
                "Cannot rename file disk %s to %s: %s"
                % (self.dev_path, new_path, err.strerror)) from None


class SharedFileDevice(FileDevice):
    """A sparse file disk on the storage every node mounts (dev type ``sharedfile``)."""

    DEV_TYPE = constants.DT_SHARED_FILE
    SHARED = True


def _check_below(path: str, base_dir: str) -> str:
    """Refuse a directory that is not strictly below ``base_dir``.

    Symlinks are resolved first, so a link cannot lead outside the base.
    """
    if not isinstance(path, str) or not os.path.isabs(path):
        raise errors.BlockDeviceError("Invalid file storage directory %r" % (path,))
    real, real_base = os.path.realpath(path), os.path.realpath(base_dir)
    if real == real_base or os.path.commonpath([real, real_base]) != real_base:
        raise errors.BlockDeviceError(
            "File storage directory '%s' is not below the allowed base '%s'"
            % (path, base_dir))
    return os.path.normpath(path)


def _makedirs(path: str) -> None:
    """Create ``path`` and its missing parents, each with DIR_MODE despite the umask."""
    if os.path.isdir(path):
        return
    parent = os.path.dirname(path)
    if parent != path:
        _makedirs(parent)
    try:
        os.mkdir(path, DIR_MODE)
    except FileExistsError:
        if not os.path.isdir(path):
            raise errors.BlockDeviceError(
                "Cannot create directory '%s': a file of that name exists" % path) from None
        return
    os.chmod(path, DIR_MODE)


def _dir_call(what: str, path: str, func: Callable[..., None], *args: Any) -> None:
    try:
        func(*args)
    except OSError as err:
        raise errors.BlockDeviceError(
            "Cannot %s file storage directory '%s': %s" % (what, path, err.strerror)) from None


def _create_dir(path: str) -> None:
    if os.path.lexists(path) and not os.path.isdir(path):
        raise errors.BlockDeviceError(
            "Cannot create file storage directory '%s': it exists and is not a directory"
            % path)
    _dir_call("create", path, _makedirs, path)


async def create_file_storage_dir(path: str, base_dir: str) -> None:
    """Create an instance's file storage directory (and missing parents); existing is fine.

    Both paths are node-local; ``base_dir`` is the file storage directory of
    the disk type, and ``path`` must lie below it.
    """
    await threads.deferToThread(_create_dir, _check_below(path, base_dir))


def _remove_dir(path: str) -> None:
    if not os.path.lexists(path):
        return
    if not os.path.isdir(path) or os.path.islink(path):
        raise errors.BlockDeviceError(
            "Cannot remove file storage directory '%s': it is not a directory" % path)
    try:
        os.rmdir(path)
    except OSError as err:
        if err.errno in (errno.ENOTEMPTY, errno.EEXIST):
            raise errors.BlockDeviceError(
                "Cannot remove file storage directory '%s': it is not empty" % path) from None
        raise errors.BlockDeviceError(
            "Cannot remove file storage directory '%s': %s" % (path, err.strerror)) from None


async def remove_file_storage_dir(path: str, base_dir: str) -> None:
    """Remove an instance's empty file storage directory; an absent one is fine.

    A directory still holding files is refused: they are disks nobody
    removed, and deleting them here would hide that.
    """
    await threads.deferToThread(_remove_dir, _check_below(path, base_dir))


def _rename_dir(old: str, new: str) -> None:
    if os.path.lexists(new):
        if os.path.lexists(old):
            raise errors.BlockDeviceError(
                "Cannot rename file storage directory '%s' to '%s': both exist" % (old, new))
        return  # an earlier rename already happened
    if not os.path.isdir(old):
        raise errors.BlockDeviceError(
            "Cannot rename file storage directory '%s': it is not a directory" % old)
    _dir_call("create", os.path.dirname(new), _makedirs, os.path.dirname(new))
    _dir_call("rename", old, os.rename, old, new)


async def rename_file_storage_dir(old: str, new: str, base_dir: str) -> None:
    """Rename an instance's file storage directory, as when the instance is renamed.

    Repeating a rename that already happened succeeds, so a retried job does
    not fail on its own earlier work.
    """
    old, new = _check_below(old, base_dir), _check_below(new, base_dir)
    await threads.deferToThread(_rename_dir, old, new)
