"""The disk templates and what each allows (spec 9.1), as one table.

Logical units ask the template (``get_template(name).can_migrate``) instead of
comparing template names, so adding a template is one new row.
"""

import dataclasses
import os
from typing import Any, Dict, List, Optional, Sequence

from ganeti_tw import constants, errors


@dataclasses.dataclass(frozen=True)
class DiskTemplate:
    """What one disk template is made of and which operations it allows."""

    name: str
    dev_type: Optional[str]  # of each disk; None: the template has no disks
    nodes: int  # primary plus secondaries
    shared: bool  # every node reaches the disks, so the instance can move without mirroring
    can_failover: bool
    can_migrate: bool
    check_free_space: bool  # on the primary (for sharedfile: on the shared directory)
    can_grow: bool
    # the Cluster attribute naming the directory the disks' files go below
    storage_dir_param: Optional[str] = None
    # why this version cannot create instances of the template; None: it can
    unavailable: Optional[str] = None


TEMPLATES: Dict[str, DiskTemplate] = {t.name: t for t in [
    DiskTemplate(constants.DT_DISKLESS, dev_type=None, nodes=1, shared=False,
                 can_failover=False, can_migrate=False, check_free_space=False,
                 can_grow=False),
    DiskTemplate(constants.DT_FILE, dev_type=constants.DT_FILE, nodes=1, shared=False,
                 can_failover=False, can_migrate=False, check_free_space=True,
                 can_grow=True, storage_dir_param="file_storage_dir"),
    DiskTemplate(constants.DT_SHARED_FILE, dev_type=constants.DT_SHARED_FILE, nodes=1,
                 shared=True, can_failover=True, can_migrate=True, check_free_space=True,
                 can_grow=True, storage_dir_param="shared_file_storage_dir"),
    DiskTemplate(constants.DT_PLAIN, dev_type="lvm", nodes=1, shared=False,
                 can_failover=False, can_migrate=False, check_free_space=True,
                 can_grow=True,
                 unavailable="disk template plain needs LVM, which this version does not"
                             " support yet"),
    DiskTemplate(constants.DT_DRBD8, dev_type="drbd8", nodes=2, shared=False,
                 can_failover=True, can_migrate=True, check_free_space=True,
                 can_grow=True,
                 unavailable="disk template drbd needs DRBD and LVM, which this version"
                             " does not support yet"),
]}


def get_template(name: str) -> DiskTemplate:
    """The template called ``name``, refusing unknown and unavailable ones in one line."""
    template = TEMPLATES.get(name) if isinstance(name, str) else None
    if template is None:
        raise errors.OpPrereqError(
            "Unknown disk template '%s' (available: %s)"
            % (name, ", ".join(available_templates())))
    if template.unavailable:
        raise errors.OpPrereqError(template.unavailable)
    return template


def available_templates() -> List[str]:
    """The names of the templates this version can create, sorted."""
    return sorted(t.name for t in TEMPLATES.values() if not t.unavailable)


def instance_storage_dir(base_dir: str, instance_name: str) -> str:
    """The directory holding an instance's disk files (created and removed by RPC)."""
    if not instance_name or "/" in instance_name or instance_name in (".", ".."):
        raise errors.OpPrereqError("Invalid instance name %r for a file storage directory"
                                   % (instance_name,))
    return os.path.join(os.path.normpath(base_dir), instance_name)


def generate_disks(template: str, instance_name: str, disk_specs: Sequence[Dict[str, Any]],
                   base_dir: Optional[str], driver: str = constants.FD_LOOP
                   ) -> List[Dict[str, Any]]:
    """The disk dicts (``Disk.to_dict()`` form) of a new instance.

    Args:
      disk_specs: one ``{"size": MiB, "mode": "rw"|"ro"}`` per disk.
      base_dir: the cluster path of the template's storage directory (plus
        any relative directory the user chose); unused for diskless.
    """
    tmpl = get_template(template)
    if tmpl.dev_type is None:
        if disk_specs:
            raise errors.OpPrereqError("Disk template %s takes no disks" % tmpl.name)
        return []
    if driver not in constants.FILE_DRIVERS:
        raise errors.OpPrereqError(
            "Invalid file driver '%s' (one of %s)"
            % (driver, ", ".join(sorted(constants.FILE_DRIVERS))))
    if not base_dir or not os.path.isabs(base_dir):
        raise errors.OpPrereqError(
            "Disk template %s needs an absolute storage directory, not %r"
            % (tmpl.name, base_dir))
    file_dir = instance_storage_dir(base_dir, instance_name)
    disks = []
    for index, spec in enumerate(disk_specs):
        size, mode = spec.get("size"), spec.get("mode", constants.DISK_RDWR)
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise errors.OpPrereqError("Invalid size %r for disk/%d" % (size, index))
        if mode not in constants.DISK_ACCESS_SET:
            raise errors.OpPrereqError("Invalid mode %r for disk/%d" % (mode, index))
        disks.append({
            "dev_type": tmpl.dev_type,
            "logical_id": [driver, os.path.join(file_dir, "disk%d" % index)],
            "physical_id": [], "children": [],
            "iv_name": "disk/%d" % index, "size": size, "mode": mode,
        })
    return disks
