"""Hypervisor providers and their registry (spec 8).

A hypervisor is one module providing ``IHypervisor`` plus one entry in
``HYPERVISORS``; callers get providers only through ``get_hypervisor``.
"""

from typing import Callable, Dict

from ganeti_tw import constants, errors
from ganeti_tw.hypervisors.fake import FakeHypervisor
from ganeti_tw.hypervisors.interfaces import IHypervisor
from ganeti_tw.hypervisors.kvm import KVMHypervisor
from ganeti_tw.hypervisors.xen import XenHvmHypervisor, XenPvmHypervisor
from ganeti_tw.paths import Paths

HYPERVISORS: Dict[str, Callable[[Paths], IHypervisor]] = {
    constants.HT_FAKE: FakeHypervisor,
    constants.HT_XEN_PVM: XenPvmHypervisor,
    constants.HT_XEN_HVM: XenHvmHypervisor,
    constants.HT_KVM: KVMHypervisor,
}


def get_hypervisor(name: str, paths: Paths) -> IHypervisor:
    """The provider of hypervisor ``name`` for the node whose files are below ``paths``."""
    factory = HYPERVISORS.get(name)
    if factory is not None:
        return factory(paths)
    if name in constants.HYPER_TYPES:
        raise errors.HypervisorError(
            "Hypervisor %s is not available on this node (this version of ganeti-tw"
            " provides only: %s)" % (name, ", ".join(sorted(HYPERVISORS))))
    raise errors.HypervisorError("Unknown hypervisor '%s' (known: %s)"
                                 % (name, ", ".join(sorted(constants.HYPER_TYPES))))
