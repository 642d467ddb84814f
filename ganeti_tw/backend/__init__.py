"""What a node does when the master asks: one function per RPC procedure.

Each procedure takes a :class:`NodeContext` and the call's plain-data
arguments and returns plain data (or raises a GenericError); PB and TLS
are the server adapter's business (``rpc.server``).
"""

from typing import Any, Callable, Dict

from ganeti_tw.backend import files, jobqueue, node
from ganeti_tw.backend.context import NodeContext

PROCEDURES: Dict[str, Callable[..., Any]] = {
    "version": node.version,
    "node_info": node.node_info,
    "node_verify": node.node_verify,
    "test_delay": node.test_delay,
    "master_info": node.master_info,
    "node_leave_cluster": node.leave_cluster,
    "node_demote_from_mc": node.demote_from_mc,
    "upload_file": files.upload_file,
    "write_ssconf_files": files.write_ssconf_files,
    "jobqueue_update": jobqueue.update,
    "jobqueue_rename": jobqueue.rename,
    "jobqueue_purge": jobqueue.purge,
    "jobqueue_set_drain": jobqueue.set_drain,
}

__all__ = ["NodeContext", "PROCEDURES"]
