"""What a node does when the master asks: one function per RPC procedure.

Each procedure takes a :class:`NodeContext` and the call's plain-data
arguments and returns plain data (or raises a GenericError); PB and TLS
are the server adapter's business (``rpc.server``).
"""

from typing import Any, Callable, Dict

from ganeti_tw.backend import (files, hooks, iallocator, instance, jobqueue, master, node,
                               osdefs)
from ganeti_tw.backend.context import NodeContext

PROCEDURES: Dict[str, Callable[..., Any]] = {
    "version": node.version,
    "node_info": node.node_info,
    "node_verify": node.node_verify,
    "test_delay": node.test_delay,
    "master_info": node.master_info,
    "node_leave_cluster": node.leave_cluster,
    "node_demote_from_mc": node.demote_from_mc,
    "node_stop_master": master.stop_master,
    "set_watcher_pause": master.set_watcher_pause,
    "upload_file": files.upload_file,
    "write_ssconf_files": files.write_ssconf_files,
    "jobqueue_update": jobqueue.update,
    "jobqueue_rename": jobqueue.rename,
    "jobqueue_resync": jobqueue.resync,
    "jobqueue_set_drain": jobqueue.set_drain,
    "hooks_runner": hooks.hooks_runner,
    "iallocator_runner": iallocator.iallocator_runner,
    "os_diagnose": osdefs.os_diagnose,
    "os_get": osdefs.os_get,
    "instance_os_add": osdefs.instance_os_add,
    "instance_run_rename": osdefs.instance_run_rename,
    "os_export": osdefs.os_export,
    "os_import": osdefs.os_import,
}
PROCEDURES.update((name, getattr(instance, name)) for name in (
    "blockdev_create", "blockdev_remove", "blockdev_assemble", "blockdev_shutdown",
    "blockdev_grow", "blockdev_find", "blockdev_rename", "instance_activate_disks",
    "instance_disks_status", "file_storage_dir_create",
    "file_storage_dir_remove", "file_storage_dir_rename", "storage_free", "instance_start",
    "instance_shutdown", "instance_reboot", "instance_list", "instance_info",
    "all_instances_info", "hypervisor_node_info", "hypervisor_validate_params",
    "hypervisor_verify", "instance_console", "migration_info", "accept_instance",
    "migrate_instance", "migration_status", "finalize_migration"))

__all__ = ["NodeContext", "PROCEDURES"]
