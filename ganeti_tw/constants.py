"""Names, versions and defaults shared by every part of ganeti-tw.

The values follow Ganeti 2.0 (see the spec's section 0) unless noted.
"""

from ganeti_tw import __version__

RELEASE_VERSION = __version__
PROTOCOL_VERSION = 20
CONFIG_VERSION = 2000000
OS_API_VERSION = 10
EXPORT_VERSION = 0
JOB_QUEUE_VERSION = 1

DEFAULT_NODED_PORT = 1811
DEFAULT_BRIDGE = "xen-br0"
DEFAULT_MASTER_NETDEV = "xen-br0"
DEFAULT_MAC_PREFIX = "aa:00:00"
DEFAULT_CANDIDATE_POOL_SIZE = 10
FIRST_DRBD_PORT = 11000

HT_XEN_PVM = "xen-pvm"
HT_XEN_HVM = "xen-hvm"
HT_KVM = "kvm"
HT_FAKE = "fake"
HYPER_TYPES = frozenset([HT_XEN_PVM, HT_XEN_HVM, HT_KVM, HT_FAKE])
DEFAULT_HYPERVISOR = HT_XEN_PVM

# Directories searched (below each node's root) for OS definitions and
# iallocator scripts; the package's own data dir is searched last.
OS_SEARCH_PATH = ["/srv/ganeti/os", "/usr/local/lib/ganeti/os", "/usr/lib/ganeti/os",
                  "/usr/share/ganeti/os"]
IALLOCATOR_SEARCH_PATH = ["/usr/local/lib/ganeti/iallocators", "/usr/lib/ganeti/iallocators",
                          "/usr/share/ganeti/iallocators"]

BE_MEMORY = "memory"
BE_VCPUS = "vcpus"
BE_AUTO_BALANCE = "auto_balance"
BEC_DEFAULTS = {BE_MEMORY: 128, BE_VCPUS: 1, BE_AUTO_BALANCE: True}
PP_DEFAULT = "default"

# Instances (spec 5.3-5.6, 9.1)
MAX_DISKS = 16
MAX_NICS = 8
DISK_RDWR = "rw"
DISK_RDONLY = "ro"
DISK_ACCESS_SET = frozenset([DISK_RDWR, DISK_RDONLY])
DT_DISKLESS = "diskless"
DT_FILE = "file"
DT_SHARED_FILE = "sharedfile"
DT_PLAIN = "plain"
DT_DRBD8 = "drbd"
DISK_TEMPLATES = frozenset([DT_DISKLESS, DT_FILE, DT_SHARED_FILE, DT_PLAIN, DT_DRBD8])
FD_LOOP = "loop"
FD_BLKTAP = "blktap"
FILE_DRIVERS = frozenset([FD_LOOP, FD_BLKTAP])
INSTANCE_CREATE = "create"
INSTANCE_IMPORT = "import"
REBOOT_SOFT = "soft"
REBOOT_HARD = "hard"
REBOOT_FULL = "full"
REBOOT_TYPES = frozenset([REBOOT_SOFT, REBOOT_HARD, REBOOT_FULL])
VALUE_AUTO = "auto"
VALUE_GENERATE = "generate"
VALUE_NONE = "none"
VALUE_DEFAULT = "default"
# hypervisors that get a network port (VNC) at creation
HTS_REQ_PORT = frozenset([HT_XEN_HVM, HT_KVM])
LAST_PORT = 14999
# VNC display N listens on port 5900 + N
VNC_BASE_PORT = 5900

# status text of a valid OS in os_diagnose (Ganeti's); otherwise it is the reason
OS_VALID_STATUS = "OK"

# Tags (spec 5.4)
TAG_CLUSTER = "cluster"
TAG_NODE = "node"
TAG_INSTANCE = "instance"
VALID_TAG_TYPES = frozenset([TAG_CLUSTER, TAG_NODE, TAG_INSTANCE])
MAX_TAG_LEN = 128
MAX_TAGS_PER_OBJ = 4096

# iallocator (spec 12.1)
IALLOCATOR_VERSION = 2
IALLOCATOR_MODE_ALLOC = "allocate"
IALLOCATOR_MODE_RELOC = "relocate"
IALLOCATOR_DIR_IN = "in"
IALLOCATOR_DIR_OUT = "out"

# hooks (spec 12.2)
HOOKS_PHASE_PRE = "pre"
HOOKS_PHASE_POST = "post"
HTYPE_CLUSTER = "CLUSTER"
HTYPE_NODE = "NODE"
HTYPE_INSTANCE = "INSTANCE"
# per-script results on the wire (Ganeti's values)
HKR_SKIP = 0
HKR_FAIL = 1
HKR_SUCCESS = 2

# Job queue (spec 4.6)
JOB_QUEUE_SIZE_HARD_LIMIT = 5000
JOB_QUEUE_ARCHIVE_DIRS = 10000

OP_STATUS_QUEUED = "queued"
OP_STATUS_WAITING = "waiting"
OP_STATUS_CANCELING = "canceling"
OP_STATUS_RUNNING = "running"
OP_STATUS_CANCELED = "canceled"
OP_STATUS_SUCCESS = "success"
OP_STATUS_ERROR = "error"
OPS_FINALIZED = frozenset([OP_STATUS_CANCELED, OP_STATUS_SUCCESS, OP_STATUS_ERROR])

JOB_STATUS_QUEUED = OP_STATUS_QUEUED
JOB_STATUS_WAITING = OP_STATUS_WAITING
JOB_STATUS_CANCELING = OP_STATUS_CANCELING
JOB_STATUS_RUNNING = OP_STATUS_RUNNING
JOB_STATUS_CANCELED = OP_STATUS_CANCELED
JOB_STATUS_SUCCESS = OP_STATUS_SUCCESS
JOB_STATUS_ERROR = OP_STATUS_ERROR
JOBS_FINALIZED = OPS_FINALIZED

ELOG_MESSAGE = "message"

# Node roles (field "role", spec 2.1)
NR_MASTER = "M"
NR_MCANDIDATE = "C"
NR_DRAINED = "D"
NR_OFFLINE = "O"
NR_REGULAR = "R"

# Exit codes (spec 0)
EXIT_SUCCESS = 0
EXIT_FAILURE = 1
EXIT_CONFIG_ERROR = 2
EXIT_NOTCLUSTER = 5
EXIT_NOTMASTER = 11

# ssconf keys (spec 3.4, plus master_candidates_certs and node_primary_ips
# from later Ganeti: the node daemon authenticates callers with the former
# and learns its own bind address from the latter).
SS_CLUSTER_NAME = "cluster_name"
SS_CLUSTER_TAGS = "cluster_tags"
SS_FILE_STORAGE_DIR = "file_storage_dir"
SS_MASTER_CANDIDATES = "master_candidates"
SS_MASTER_CANDIDATES_CERTS = "master_candidates_certs"
SS_MASTER_IP = "master_ip"
SS_MASTER_NETDEV = "master_netdev"
SS_MASTER_NODE = "master_node"
SS_NODE_LIST = "node_list"
SS_NODE_PRIMARY_IPS = "node_primary_ips"
SS_OFFLINE_NODES = "offline_nodes"
SS_ONLINE_NODES = "online_nodes"
SS_INSTANCE_LIST = "instance_list"
SS_RELEASE_VERSION = "release_version"
SS_NODED_PORT = "noded_port"
VALID_SS_KEYS = frozenset([
    SS_CLUSTER_NAME, SS_CLUSTER_TAGS, SS_FILE_STORAGE_DIR, SS_MASTER_CANDIDATES,
    SS_MASTER_CANDIDATES_CERTS, SS_MASTER_IP, SS_MASTER_NETDEV, SS_MASTER_NODE,
    SS_NODE_LIST, SS_NODE_PRIMARY_IPS, SS_OFFLINE_NODES, SS_ONLINE_NODES,
    SS_INSTANCE_LIST, SS_RELEASE_VERSION, SS_NODED_PORT,
])
SSCONF_MAX_SIZE = 128 * 1024

# Node RPC timeouts (seconds)
RPC_CONNECT_TIMEOUT = 5
RPC_TIMEOUT_DEFAULT = 60
# Copies to other nodes (job files, config.data, ssconf) are small: a job
# waits at most this long for a node's answer, then goes on (see
# GanetiContext.replicate); a node whose copy fails is resynced in full
# once it answers again.
REPLICATION_WAIT = 5
CANDIDATE_RESYNC_INTERVAL = 15
# procedures that wait on a guest: a clean shutdown may take 2 minutes (spec
# 8.1) before it is forced, a hard reboot is a shutdown plus a start, and a
# live migration lasts as long as the guest's memory takes to copy
RPC_PROCEDURE_TIMEOUTS = {"instance_shutdown": 180, "instance_reboot": 240,
                          "migrate_instance": 3600}

# LUXI
LUXI_EOM = b"\x03"
LUXI_DEF_RWTO = 60
LUXI_WFJC_TIMEOUT = 29

DAEMON_MASTERD = "ganeti-masterd"
DAEMON_NODED = "ganeti-noded"
DAEMON_RAPI = "ganeti-rapi"
DAEMON_WATCHER = "ganeti-watcher"
DAEMON_LOGS = {
    DAEMON_MASTERD: "master-daemon.log",
    DAEMON_NODED: "node-daemon.log",
    DAEMON_RAPI: "rapi-daemon.log",
    DAEMON_WATCHER: "watcher.log",
}

# Ganeti 3 names the RAPI reports: this version has one node group holding
# every node, bridged NICs only, and these fixed node parameters
NIC_MODE_BRIDGED = "bridged"
# a NIC the guest sees but that is connected to nothing on the host
NIC_MODE_NONE = "none"
NIC_VALID_MODES = (NIC_MODE_BRIDGED, NIC_MODE_NONE)
DEFAULT_GROUP = "default"
ALLOC_POLICY_PREFERRED = "preferred"
NDC_DEFAULTS = {"oob_program": "", "spindle_count": 1, "exclusive_storage": False,
                "ovs": False, "ovs_name": "switch1", "ovs_link": "", "ssh_port": 22,
                "cpu_speed": 1}
RAPI_PORT = 5080
RAPI_VERSION = 2
# The daemons that run on the master only, in start order: failover starts
# them on the new master, stops them on the old one, the watcher keeps them
# alive.
MASTER_DAEMONS = (DAEMON_MASTERD, DAEMON_RAPI)

# ganeti-watcher (spec 11.1) and ganeti-cleaner (spec 11.2)
WATCHER_INTERVAL = 300
WATCHER_JOB_AGE = 6 * 3600
WATCHER_MAXTRIES = 5
CLEANER_ARCHIVE_AGE = 21 * 86400
# a temporary file of an atomic write this old belongs to no write in progress
CLEANER_TEMP_AGE = 3600
