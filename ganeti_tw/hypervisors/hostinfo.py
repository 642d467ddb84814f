"""The host's memory and CPUs as a hypervisor reports them (spec 8.1 node info).

Shared by the providers whose instances are processes or files of this host
(fake, kvm): the host's memory minus what this node's own instances use, as
the other nodes of a local cluster share the host but account for theirs.
"""

import os
from typing import Dict

from ganeti_tw import errors

# a module attribute so tests can point it at a fixed file
MEMINFO_FILE = "/proc/meminfo"


def read_meminfo() -> Dict[str, int]:
    """``/proc/meminfo`` as ``{field: MiB}``."""
    result = {}
    with open(MEMINFO_FILE) as fh:
        for line in fh:
            key, sep, value = line.partition(":")
            fields = value.split()
            if sep and fields:
                result[key.strip()] = int(fields[0]) // 1024
    return result


def host_node_info(used_mib: int) -> Dict[str, int]:
    """The ``get_node_info`` dict of this host when its instances use ``used_mib``."""
    try:
        meminfo = read_meminfo()
    except (OSError, ValueError) as err:
        raise errors.HypervisorError("Failed to get node info: %s" % err) from None
    free = meminfo.get("MemFree", 0) + meminfo.get("Buffers", 0) + meminfo.get("Cached", 0)
    return {
        "memory_total": meminfo.get("MemTotal", 0),
        "memory_free": free - min(free, used_mib),
        "memory_dom0": meminfo.get("Active", 0),
        "cpu_total": os.cpu_count() or 1,
        "cpu_nodes": 1,
        "cpu_sockets": 1,
    }
