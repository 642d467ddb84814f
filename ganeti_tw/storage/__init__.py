"""Block device providers (IBlockDevice) and the one table that names them.

A node never if-chains on ``dev_type``: it looks the type up here.
"""

from typing import Any, Dict, Type

from ganeti_tw import errors
from ganeti_tw.paths import Paths
from ganeti_tw.storage.filestorage import FileDevice, SharedFileDevice
from ganeti_tw.storage.interfaces import IBlockDevice

__all__ = ["DEVICE_TYPES", "FileDevice", "IBlockDevice", "SharedFileDevice", "device_for",
           "node_path"]

DEVICE_TYPES: Dict[str, Type[FileDevice]] = {
    FileDevice.DEV_TYPE: FileDevice,
    SharedFileDevice.DEV_TYPE: SharedFileDevice,
}


def _device_class(dev_type: Any) -> Type[FileDevice]:
    try:
        return DEVICE_TYPES[dev_type]
    except (KeyError, TypeError):
        raise errors.BlockDeviceError(
            "Unknown disk device type %r (known: %s)"
            % (dev_type, ", ".join(sorted(DEVICE_TYPES)))) from None


def device_for(disk: Dict[str, Any], paths: Paths) -> IBlockDevice:
    """The device a disk dict (``Disk.to_dict()``) describes, on the node of ``paths``."""
    if not isinstance(disk, dict):
        raise errors.BlockDeviceError("A disk must be a dictionary, not %r" % (disk,))
    return _device_class(disk.get("dev_type"))(disk, paths)


def node_path(dev_type: str, path: str, paths: Paths) -> str:
    """Map a cluster path of a disk type (a disk or its storage directory) to this node."""
    return _device_class(dev_type).node_path(path, paths)
