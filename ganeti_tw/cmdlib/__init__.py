"""Logical units, one module per area; this table maps opcodes to them."""

from ganeti_tw.cmdlib.cluster import (
    LUClusterConfigQuery, LUClusterDestroy, LUClusterQuery, LUClusterRedistConf,
    LUClusterSetParams, LUClusterVerify)
from ganeti_tw.cmdlib.node import LUNodeAdd, LUNodeQuery, LUNodeRemove, LUNodeSetParams
from ganeti_tw.cmdlib.test import LUTestDelay

LU_FOR_OPCODE = {
    "OP_CLUSTER_DESTROY": LUClusterDestroy,
    "OP_CLUSTER_QUERY": LUClusterQuery,
    "OP_CLUSTER_VERIFY": LUClusterVerify,
    "OP_CLUSTER_CONFIG_QUERY": LUClusterConfigQuery,
    "OP_CLUSTER_SET_PARAMS": LUClusterSetParams,
    "OP_CLUSTER_REDIST_CONF": LUClusterRedistConf,
    "OP_NODE_ADD": LUNodeAdd,
    "OP_NODE_REMOVE": LUNodeRemove,
    "OP_NODE_QUERY": LUNodeQuery,
    "OP_NODE_SET_PARAMS": LUNodeSetParams,
    "OP_TEST_DELAY": LUTestDelay,
}
