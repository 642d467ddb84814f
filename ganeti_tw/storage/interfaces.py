"""The contract every block device type fulfils on a node.

A node daemon rebuilds a device from the disk dict the master sends
(``Disk.to_dict()``) and drives it only through this interface, so a new
storage type is one new provider registered in ``storage.DEVICE_TYPES``.
Every method is ``async``: device work can be slow (network filesystems,
LVM, DRBD) and runs off the reactor.
"""

from zope.interface import Attribute, Interface


class IBlockDevice(Interface):
    """One disk of an instance, as seen from the node that holds it."""

    logical_id = Attribute("The device's identity as stored in config (list).")
    dev_path = Attribute(
        "The node-local path a hypervisor or OS script uses to reach the data.")
    size = Attribute("The size in MiB the config gives the device.")

    def create():
        """Make a new device of ``size`` MiB; fail if it already exists."""

    def remove():
        """Destroy the device and its data; a device already gone is fine."""

    def assemble():
        """Make the device usable on this node (for files: check it is there)."""

    def shutdown():
        """Release the device on this node; its data stays."""

    def grow(amount_mib):
        """Enlarge the device by ``amount_mib`` MiB; never shrinks.

        Fails, before changing anything, when the backing storage lacks the
        space.
        """

    def find():
        """The device's status, or None if it does not exist on this node.

        The status is ``{"dev_path": str, "size": int (actual, MiB),
        "present": bool, "degraded": bool, "ldisk": bool}``.
        """

    def rename(new_logical_id):
        """Give the device a new identity (``logical_id``), keeping its data."""
