"""Logical units, one module per area; this table maps opcodes to them."""

from ganeti_tw.cmdlib.cluster import (
    LUClusterConfigQuery, LUClusterDestroy, LUClusterQuery, LUClusterRedistConf,
    LUClusterSetParams, LUClusterVerify, LUClusterVerifyDisks)
from ganeti_tw.cmdlib.node import LUNodeAdd, LUNodeQuery, LUNodeRemove, LUNodeSetParams
from ganeti_tw.cmdlib.allocator import LUTestAllocator
from ganeti_tw.cmdlib.instance import (
    LUInstanceConsole, LUInstanceCreate, LUInstanceReboot, LUInstanceReinstall, LUInstanceRemove,
    LUInstanceRename, LUInstanceShutdown, LUInstanceStartup)
from ganeti_tw.cmdlib.guest_os import LUOsDiagnose
from ganeti_tw.cmdlib.instance_migration import LUInstanceFailover, LUInstanceMigrate
from ganeti_tw.cmdlib.instance_query import LUInstanceQuery, LUInstanceQueryData
from ganeti_tw.cmdlib.instance_set_params import LUInstanceSetParams
from ganeti_tw.cmdlib.instance_storage import (
    LUInstanceActivateDisks, LUInstanceDeactivateDisks, LUInstanceGrowDisk)
from ganeti_tw.cmdlib.tags import LUTagsDel, LUTagsGet, LUTagsSearch, LUTagsSet
from ganeti_tw.cmdlib.test import LUTestDelay

LU_FOR_OPCODE = {
    "OP_CLUSTER_DESTROY": LUClusterDestroy,
    "OP_CLUSTER_QUERY": LUClusterQuery,
    "OP_CLUSTER_VERIFY": LUClusterVerify,
    "OP_CLUSTER_VERIFY_DISKS": LUClusterVerifyDisks,
    "OP_CLUSTER_CONFIG_QUERY": LUClusterConfigQuery,
    "OP_CLUSTER_SET_PARAMS": LUClusterSetParams,
    "OP_CLUSTER_REDIST_CONF": LUClusterRedistConf,
    "OP_NODE_ADD": LUNodeAdd,
    "OP_NODE_REMOVE": LUNodeRemove,
    "OP_NODE_QUERY": LUNodeQuery,
    "OP_NODE_SET_PARAMS": LUNodeSetParams,
    "OP_TEST_DELAY": LUTestDelay,
    "OP_TEST_ALLOCATOR": LUTestAllocator,
    "OP_INSTANCE_CREATE": LUInstanceCreate,
    "OP_INSTANCE_REMOVE": LUInstanceRemove,
    "OP_INSTANCE_STARTUP": LUInstanceStartup,
    "OP_INSTANCE_SHUTDOWN": LUInstanceShutdown,
    "OP_INSTANCE_REBOOT": LUInstanceReboot,
    "OP_INSTANCE_REINSTALL": LUInstanceReinstall,
    "OP_INSTANCE_RENAME": LUInstanceRename,
    "OP_INSTANCE_CONSOLE": LUInstanceConsole,
    "OP_INSTANCE_FAILOVER": LUInstanceFailover,
    "OP_INSTANCE_MIGRATE": LUInstanceMigrate,
    "OP_INSTANCE_SET_PARAMS": LUInstanceSetParams,
    "OP_INSTANCE_ACTIVATE_DISKS": LUInstanceActivateDisks,
    "OP_INSTANCE_DEACTIVATE_DISKS": LUInstanceDeactivateDisks,
    "OP_INSTANCE_GROW_DISK": LUInstanceGrowDisk,
    "OP_INSTANCE_QUERY": LUInstanceQuery,
    "OP_INSTANCE_QUERY_DATA": LUInstanceQueryData,
    "OP_OS_DIAGNOSE": LUOsDiagnose,
    "OP_TAGS_GET": LUTagsGet,
    "OP_TAGS_SET": LUTagsSet,
    "OP_TAGS_DEL": LUTagsDel,
    "OP_TAGS_SEARCH": LUTagsSearch,
}
