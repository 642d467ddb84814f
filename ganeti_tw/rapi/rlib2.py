"""The resources of RAPI version 2 (spec 7, plus what Ganeti 3 clients use, spec 14).

``ROUTES`` is the one table: the server dispatches with it and ``openapi.py``
describes it. Reads are LUXI queries; writes build opcodes, which are
validated here (``Call.submit``) before the job is queued.
"""

from typing import Any, Dict, List

from ganeti_tw import constants as C, errors, luxi, objects
from ganeti_tw.hypervisors.params import HV_PARAMETERS
from ganeti_tw.rapi import openapi, schema as S
from ganeti_tw.rapi.baserlib import (JOB_ID, WAIT_FOR_JOB_TIMEOUT, Call, HttpError, Method,
                                     Route, not_found, write)

FEATURES = ["instance-create-reqv1", "instance-reinstall-reqv1", "node-migrate-reqv1",
            "node-evac-res1"]
_REQ_DATA_VERSION = "__version__"

# Ganeti 3's node roles by their RAPI names, and our role letters (spec 2.1)
ROLE_NAMES = {C.NR_MASTER: "master", C.NR_MCANDIDATE: "master-candidate",
              C.NR_DRAINED: "drained", C.NR_OFFLINE: "offline", C.NR_REGULAR: "regular"}
# a role is exclusive: taking one clears the flags of the others
_ROLE_FLAGS = {"master-candidate": {"master_candidate": True, "offline": False,
                                    "drained": False},
               "regular": {"master_candidate": False, "offline": False, "drained": False},
               "drained": {"drained": True}, "offline": {"offline": True}}

# Ganeti 3's default instance policy: this version has no policies, but
# capacity tools read one from /2/info and /2/groups
_ISPEC_MIN = {"memory-size": 128, "disk-size": 1024, "disk-count": 1, "cpu-count": 1,
              "nic-count": 1, "spindle-use": 1}
_ISPEC_MAX = {"memory-size": 32768, "disk-size": 1048576, "disk-count": C.MAX_DISKS,
              "cpu-count": 8, "nic-count": C.MAX_NICS, "spindle-use": 12}
IPOLICY = {"minmax": [{"min": _ISPEC_MIN, "max": _ISPEC_MAX}], "std": _ISPEC_MIN,
           "spindle-ratio": 32, "vcpu-ratio": 4,
           "disk-templates": sorted([C.DT_DISKLESS, C.DT_FILE, C.DT_SHARED_FILE])}

# schemas ----------------------------------------------------------------------------

_STR = S.string()
_STRS = S.array(_STR)
_INT_OR_NULL = S.nullable(S.integer())
_NAME = S.string(pattern=r"^[\w._-]+$")
_URI_ITEM = S.obj({"id": _STR, "uri": _STR}, ["id", "uri"])
_NAME_ITEM = S.obj({"name": _STR, "uri": _STR}, ["name", "uri"])
_TAGS_ARG = {"tag": S.array(_STR, "a tag (repeat the argument for several)")}
_BULK_ARG = {"bulk": S.boolean("1: full objects instead of ids and URIs")}

NODE_FIELDS: Dict[str, dict] = {
    "name": _STR, "offline": S.boolean(), "master_candidate": S.boolean(),
    "drained": S.boolean(), "dtotal": _INT_OR_NULL, "dfree": _INT_OR_NULL,
    "sptotal": _INT_OR_NULL, "spfree": _INT_OR_NULL, "mtotal": _INT_OR_NULL,
    "mnode": _INT_OR_NULL, "mfree": _INT_OR_NULL, "pinst_cnt": S.integer(0),
    "sinst_cnt": S.integer(0), "ctotal": _INT_OR_NULL, "cnos": _INT_OR_NULL,
    "cnodes": _INT_OR_NULL, "csockets": _INT_OR_NULL, "pip": _STR, "sip": _STR,
    "role": S.string(sorted(ROLE_NAMES)), "pinst_list": _STRS, "sinst_list": _STRS,
    "master_capable": S.boolean(), "vm_capable": S.boolean(), "ndparams": S.DICT,
    "group.uuid": _STR, "ctime": S.nullable({"type": "number"}),
    "mtime": S.nullable({"type": "number"}), "uuid": _STR, "serial_no": S.integer(0),
    "tags": _STRS,
}
NODE = S.obj(NODE_FIELDS, list(NODE_FIELDS))

_NULL_STRS = S.array(S.nullable(_STR))
INSTANCE_FIELDS: Dict[str, dict] = {
    "name": _STR, "admin_state": S.string(["up", "down"]), "os": _STR, "pnode": _STR,
    "snodes": _STRS, "disk_template": S.string(sorted(C.DISK_TEMPLATES)),
    "nic.ips": _NULL_STRS, "nic.macs": _STRS, "nic.modes": _STRS, "nic.uuids": _NULL_STRS,
    "nic.names": _NULL_STRS, "nic.links": _STRS, "nic.networks": _NULL_STRS,
    "nic.networks.names": _NULL_STRS, "nic.bridges": _STRS,
    "network_port": _INT_OR_NULL, "disk.sizes": S.array(S.integer(0)),
    "disk.spindles": S.array(_INT_OR_NULL), "disk_usage": S.integer(0),
    "disk.uuids": _NULL_STRS, "disk.names": _NULL_STRS, "beparams": S.DICT,
    "hvparams": S.DICT, "oper_state": S.nullable(S.boolean()), "oper_ram": _INT_OR_NULL,
    "oper_vcpus": _INT_OR_NULL, "status": _STR, "custom_hvparams": S.DICT,
    "custom_beparams": S.DICT, "custom_nicparams": S.array(S.DICT),
    "ctime": {"type": "number"}, "mtime": {"type": "number"}, "uuid": _STR,
    "serial_no": S.integer(0), "tags": _STRS,
}
INSTANCE = S.obj(INSTANCE_FIELDS, list(INSTANCE_FIELDS))

_GROUP_FIELDS: Dict[str, dict] = {
    "name": _STR, "uuid": _STR, "alloc_policy": _STR, "node_cnt": S.integer(0),
    "node_list": _STRS, "ipolicy": S.DICT, "custom_ipolicy": S.DICT, "diskparams": S.DICT,
    "custom_diskparams": S.DICT, "ndparams": S.DICT, "custom_ndparams": S.DICT,
    "ctime": {"type": "number"}, "mtime": {"type": "number"}, "serial_no": S.integer(0),
    "tags": _STRS,
}
GROUP = S.obj(_GROUP_FIELDS, list(_GROUP_FIELDS))

INFO = S.obj({"name": _STR, "master": _STR, "software_version": _STR,
              "protocol_version": S.integer(), "default_hypervisor": _STR,
              "enabled_hypervisors": _STRS, "tags": _STRS, "ipolicy": S.DICT,
              "hvparams": S.DICT, "beparams": S.DICT},
             ["name", "master", "software_version", "default_hypervisor", "tags", "ipolicy"],
             additional=True)

JOB_FIELD_NAMES = ["id", "status", "ops", "opresult", "opstatus", "oplog", "opstart",
                   "opexec", "opend", "received_ts", "start_ts", "end_ts", "summary"]
_RAPI_JOB_FIELDS = ["id", "ops", "status", "summary", "opstatus", "opresult", "oplog",
                    "received_ts", "start_ts", "end_ts"]
_TIMESTAMP = S.nullable(S.array(S.integer(), minItems=2, maxItems=2))
JOB = S.obj({"id": S.integer(0), "ops": S.array(S.DICT),
             "status": S.string(["queued", "waiting", "canceling", "running", "canceled",
                                 "success", "error"]),
             "summary": _STRS, "opstatus": _STRS, "opresult": S.array(S.ANY),
             "oplog": S.array(S.array(S.ANY)), "received_ts": _TIMESTAMP,
             "start_ts": _TIMESTAMP, "end_ts": _TIMESTAMP}, _RAPI_JOB_FIELDS)

_JOB_ID_ITEM = S.obj({"id": S.integer(0), "uri": _STR}, ["id", "uri"])

# bodies ---------------------------------------------------------------------------

_BE_PARAMS = S.obj({C.BE_MEMORY: S.integer(1), C.BE_VCPUS: S.integer(1),
                    C.BE_AUTO_BALANCE: S.boolean(),
                    # Ganeti 3 sends minmem/maxmem: both mean this version's memory
                    "minmem": S.integer(1), "maxmem": S.integer(1)})
_HV_PARAM_NAMES = sorted({name for table in HV_PARAMETERS.values() for name in table})
_HV_VALUE = {"type": ["string", "integer", "boolean", "number"]}
_HV_PARAMS = S.obj({name: _HV_VALUE for name in _HV_PARAM_NAMES})
_DISK = S.obj({"size": S.integer(1, "MiB"), "mode": S.string(sorted(C.DISK_ACCESS_SET))},
              ["size"])
_NIC = S.obj({"mac": _STR, "ip": S.nullable(_STR), "link": _STR, "bridge": _STR,
              "mode": S.string(list(C.NIC_VALID_MODES))})

_CREATE_V1_FIELDS = {
    _REQ_DATA_VERSION: S.integer(1), "mode": S.string([C.INSTANCE_CREATE]),
    "name": _STR, "instance_name": _STR, "disk_template": S.string(sorted(C.DISK_TEMPLATES)),
    "disks": S.array(_DISK, maxItems=C.MAX_DISKS), "nics": S.array(_NIC, maxItems=C.MAX_NICS),
    "os": _STR, "os_type": _STR, "pnode": _STR, "snode": S.nullable(_STR),
    "iallocator": _STR, "hypervisor": S.string(sorted(C.HYPER_TYPES)),
    "beparams": _BE_PARAMS, "hvparams": _HV_PARAMS, "start": S.boolean(),
    "ip_check": S.boolean(), "name_check": S.boolean(), "no_install": S.boolean(),
    "wait_for_sync": S.boolean(), "file_storage_dir": S.nullable(_STR),
    "file_driver": S.string(sorted(C.FILE_DRIVERS)), "conflicts_check": S.boolean(),
    "osparams": S.obj({}),
}
_CREATE_V0_FIELDS = {
    "name": _STR, "disk_template": S.string(sorted(C.DISK_TEMPLATES)), "os": _STR,
    "disks": S.array(S.integer(1), maxItems=C.MAX_DISKS), "pnode": _STR,
    "snode": S.nullable(_STR), "iallocator": _STR, "mac": _STR, "ip": S.nullable(_STR),
    "bridge": _STR, "start": S.boolean(), "ip_check": S.boolean(),
    "name_check": S.boolean(), "hypervisor": S.string(sorted(C.HYPER_TYPES)), "file_storage_dir": S.nullable(_STR),
    "file_driver": S.string(sorted(C.FILE_DRIVERS)),
    C.BE_MEMORY: S.integer(1), C.BE_VCPUS: S.integer(1), C.BE_AUTO_BALANCE: S.boolean(),
    **{name: _HV_VALUE for name in _HV_PARAM_NAMES},
}
CREATE_V1 = S.obj(_CREATE_V1_FIELDS, [_REQ_DATA_VERSION, "disk_template"],
                  description="version 1 (Ganeti 2.1 and later): __version__ = 1")
CREATE_V0 = S.obj(_CREATE_V0_FIELDS, ["name", "disk_template", "os", "disks"],
                  description="Ganeti 2.0: one NIC, disk sizes, parameters at the top level")

_MOD = S.array(S.ANY, minItems=2, maxItems=3,
               description="[operation, parameters] or Ganeti 3's [operation, index, "
                           "parameters]; operation: add, remove, modify or an index")
MODIFY = S.obj({"beparams": S.obj({**_BE_PARAMS["properties"]},
                                  additional=S.string(["default"])),
                "hvparams": _HV_PARAMS, "nics": S.array(_MOD), "disks": S.array(_MOD),
                "force": S.boolean()})

# helpers ----------------------------------------------------------------------------


def _rows_to_dicts(fields: List[str], rows: List[List[Any]]) -> List[Dict[str, Any]]:
    return [dict(zip(fields, row)) for row in rows]


def _ids(kind: str, names: List[str], key: str = "id") -> List[Dict[str, Any]]:
    return [{key: name, "uri": "/2/%s/%s" % (kind, name)} for name in names]


def _instance_dict(data: Dict[str, Any]) -> Dict[str, Any]:
    """Ganeti 3's spelling: admin state as up/down, memory also as min/maxmem."""
    data["admin_state"] = "up" if data["admin_state"] else "down"
    be = data["beparams"]
    be.setdefault("maxmem", be.get(C.BE_MEMORY))
    be.setdefault("minmem", be.get(C.BE_MEMORY))
    be.setdefault("spindle_use", 1)
    be.setdefault("always_failover", False)
    return data


async def _nodes(call: Call, names: List[str]) -> List[Dict[str, Any]]:
    fields = list(NODE_FIELDS)
    rows = await call.query(luxi.REQ_QUERY_NODES, [names, fields, False])
    return _rows_to_dicts(fields, rows)


async def _instances(call: Call, names: List[str]) -> List[Dict[str, Any]]:
    fields = list(INSTANCE_FIELDS)
    rows = await call.query(luxi.REQ_QUERY_INSTANCES, [names, fields, False])
    return [_instance_dict(d) for d in _rows_to_dicts(fields, rows)]


def _be_from_body(be: Dict[str, Any]) -> Dict[str, Any]:
    """Our beparams from Ganeti 3's: maxmem (else minmem) is the memory."""
    out = {k: v for k, v in be.items() if k not in ("minmem", "maxmem")}
    memory = be.get("maxmem", be.get("minmem"))
    if memory is not None and C.BE_MEMORY not in out:
        out[C.BE_MEMORY] = memory
    return out


# root and cluster -----------------------------------------------------------------

async def get_root(call: Call) -> Any:
    return [{"name": "2", "uri": "/2"}, {"name": "version", "uri": "/version"}]


async def get_version(call: Call) -> Any:
    return C.RAPI_VERSION


async def get_v2(call: Call) -> Any:
    return [{"name": name, "uri": "/2/%s" % name}
            for name in ("features", "groups", "info", "instances", "jobs", "nodes", "os",
                         "tags")]


async def get_features(call: Call) -> Any:
    return list(FEATURES)


async def get_info(call: Call) -> Any:
    """OP_CLUSTER_QUERY's dict plus the Ganeti 3 keys clients of this version can use."""
    info = await call.query(luxi.REQ_QUERY_CLUSTER_INFO, [])
    info.update(
        uuid=objects.object_uuid("cluster", info["name"], info["name"]),
        ipolicy=IPOLICY, enabled_disk_templates=IPOLICY["disk-templates"],
        ndparams=dict(C.NDC_DEFAULTS),
        nicparams={"default": {"mode": C.NIC_MODE_BRIDGED, "link": info["default_bridge"]}})
    return info


async def get_os(call: Call) -> Any:
    rows = await call.run_job([{"OP_ID": "OP_OS_DIAGNOSE", "output_fields": ["name", "valid"]}])
    return [name for name, valid in rows if valid]


async def put_redistribute_config(call: Call) -> Any:
    return await call.submit([{"OP_ID": "OP_CLUSTER_REDIST_CONF"}])


# tags -------------------------------------------------------------------------------

def _tag_methods(kind: str) -> Dict[str, Method]:
    """GET/PUT/DELETE of the tags of the cluster, a node or an instance."""

    async def name_of(call: Call) -> Any:
        return None if kind == C.TAG_CLUSTER else await call.known(kind)

    async def get(call: Call) -> Any:
        if kind == C.TAG_CLUSTER:
            return (await call.query(luxi.REQ_QUERY_CLUSTER_INFO, []))["tags"]
        method = luxi.REQ_QUERY_NODES if kind == C.TAG_NODE else luxi.REQ_QUERY_INSTANCES
        try:
            rows = await call.query(method, [[call.items[kind]], ["tags"], False])
        except errors.OpPrereqError:
            raise not_found("%s '%s' not known" % (kind.capitalize(), call.items[kind])) \
                from None
        return rows[0][0]

    def change(op_id: str) -> Any:
        async def handler(call: Call) -> Any:
            tags = call.args.get("tag") or []
            if not tags:
                raise HttpError(400, "argument 'tag': at least one tag is required")
            return await call.submit([{"OP_ID": op_id, "kind": kind,
                                       "name": await name_of(call), "tags": tags}])
        return handler

    return {"GET": Method(get, "list the %s's tags" % kind, _STRS),
            "PUT": write(change("OP_TAGS_SET"), "add tags (job)", _TAGS_ARG),
            "DELETE": write(change("OP_TAGS_DEL"), "remove tags (job)", _TAGS_ARG)}


# groups -----------------------------------------------------------------------------

async def _default_group(call: Call) -> Dict[str, Any]:
    info = await call.query(luxi.REQ_QUERY_CLUSTER_INFO, [])
    nodes = [row[0] for row in await call.query(luxi.REQ_QUERY_NODES, [[], ["name"], False])]
    return {
        "name": C.DEFAULT_GROUP,
        "uuid": objects.object_uuid("group", info["name"], C.DEFAULT_GROUP),
        "alloc_policy": C.ALLOC_POLICY_PREFERRED, "node_cnt": len(nodes), "node_list": nodes,
        "ipolicy": IPOLICY, "custom_ipolicy": {},
        "diskparams": {dt: {} for dt in IPOLICY["disk-templates"]}, "custom_diskparams": {},
        "ndparams": dict(C.NDC_DEFAULTS), "custom_ndparams": {},
        "ctime": 0, "mtime": info["mtime"], "serial_no": 1, "tags": [],
    }


async def get_groups(call: Call) -> Any:
    if call.args.get("bulk"):
        return [await _default_group(call)]
    return _ids("groups", [C.DEFAULT_GROUP], key="name")


async def get_group(call: Call) -> Any:
    if call.items["group"] != C.DEFAULT_GROUP:
        raise not_found("Group '%s' not known (this version has one group, %s)"
                        % (call.items["group"], C.DEFAULT_GROUP))
    return await _default_group(call)


# nodes ------------------------------------------------------------------------------

async def get_nodes(call: Call) -> Any:
    if call.args.get("bulk"):
        return await _nodes(call, [])
    rows = await call.query(luxi.REQ_QUERY_NODES, [[], ["name"], False])
    return _ids("nodes", [row[0] for row in rows])


async def get_node(call: Call) -> Any:
    return (await _nodes(call, [await call.known("node")]))[0]


async def get_node_role(call: Call) -> Any:
    node = await call.known("node")
    rows = await call.query(luxi.REQ_QUERY_NODES, [[node], ["role"], False])
    return ROLE_NAMES[rows[0][0]]


async def put_node_role(call: Call) -> Any:
    node = await call.known("node")
    # the schema allows no "master": that role moves only by master failover
    return await call.submit([dict(_ROLE_FLAGS[call.body], OP_ID="OP_NODE_SET_PARAMS", node_name=node,
                                   force=bool(call.args.get("force")))])


async def post_node_modify(call: Call) -> Any:
    node = await call.known("node")
    body = dict(call.body or {})
    body.setdefault("force", bool(call.args.get("force")))
    return await call.submit([dict(body, OP_ID="OP_NODE_SET_PARAMS", node_name=node)])


async def _primary_instances(call: Call) -> List[str]:
    node = await call.known("node")
    rows = await call.query(luxi.REQ_QUERY_NODES, [[node], ["pinst_list"], False])
    if not rows[0][0]:
        raise HttpError(400, "Node %s has no primary instances to move" % node)
    return rows[0][0]


async def post_node_migrate(call: Call) -> Any:
    """One job migrating each primary instance of the node (to target_node or by iallocator)."""
    body = call.body or {}
    mode = body.get("mode", call.args.get("mode"))
    live = mode != "non-live" if mode else bool(call.args.get("live", True))
    target = {k: body[k] for k in ("target_node", "iallocator") if body.get(k)}
    return await call.submit([dict(target, OP_ID="OP_INSTANCE_MIGRATE", instance_name=name,
                                   live=live)
                              for name in await _primary_instances(call)])


async def post_node_evacuate(call: Call) -> Any:
    """One job failing over each primary instance (there are no secondaries to move)."""
    body = call.body or {}
    if body.get("mode") == "secondary-only":
        raise HttpError(400, "body.mode: no instance has secondaries in this version")
    target = {"iallocator": body["iallocator"]} if body.get("iallocator") else {}
    if body.get("remote_node"):
        target["target_node"] = body["remote_node"]
    return await call.submit([dict(target, OP_ID="OP_INSTANCE_FAILOVER", instance_name=name)
                              for name in await _primary_instances(call)])


# instances --------------------------------------------------------------------------

async def get_instances(call: Call) -> Any:
    if call.args.get("bulk"):
        return await _instances(call, [])
    rows = await call.query(luxi.REQ_QUERY_INSTANCES, [[], ["name"], False])
    return _ids("instances", [row[0] for row in rows])


def _create_op_v1(body: Dict[str, Any]) -> Dict[str, Any]:
    name = body.get("name", body.get("instance_name"))
    if name is None:
        raise HttpError(400, "body: missing required field 'name'")
    nics = []
    for nic in body.get("nics", [{}]):
        nic = dict(nic)
        if "link" in nic:
            nic.setdefault("bridge", nic.pop("link"))
        nics.append(nic)
    op = {"OP_ID": "OP_INSTANCE_CREATE", "instance_name": name,
          "disk_template": body["disk_template"], "disks": body.get("disks", []),
          "nics": nics, "os_type": body.get("os", body.get("os_type")),
          "beparams": _be_from_body(body.get("beparams", {})),
          "hvparams": body.get("hvparams", {})}
    for key in ("mode", "pnode", "snode", "iallocator", "hypervisor", "start", "ip_check",
                "name_check", "no_install", "wait_for_sync", "file_storage_dir",
                "file_driver"):
        if key in body:
            op[key] = body[key]
    return op


def _create_op_v0(body: Dict[str, Any]) -> Dict[str, Any]:
    """Ganeti 2.0's body (spec 7): one NIC, sizes only, parameters at the top level."""
    nic = {k: body[k] for k in ("mac", "ip", "bridge") if body.get(k) is not None}
    op = {"OP_ID": "OP_INSTANCE_CREATE", "instance_name": body["name"],
          "disk_template": body["disk_template"], "os_type": body["os"],
          "disks": [{"size": size} for size in body["disks"]], "nics": [nic],
          "beparams": {k: body[k] for k in C.BEC_DEFAULTS if k in body},
          "hvparams": {k: body[k] for k in _HV_PARAM_NAMES if k in body}}
    for key in ("pnode", "snode", "iallocator", "start", "ip_check", "name_check",
                "hypervisor", "file_storage_dir", "file_driver"):
        if key in body:
            op[key] = body[key]
    return op


async def post_instances(call: Call) -> Any:
    body = call.body
    if not isinstance(body, dict):
        raise HttpError(400, "body: expected an object")
    if body.get(_REQ_DATA_VERSION) == 1:
        S.check(CREATE_V1, body, "body")
        op = _create_op_v1(body)
    elif _REQ_DATA_VERSION in body:
        raise HttpError(400, "body.__version__: unsupported request version %r (only 1)"
                        % (body[_REQ_DATA_VERSION],))
    else:
        S.check(CREATE_V0, body, "body")
        op = _create_op_v0(body)
    return await call.submit([op])


async def get_instance(call: Call) -> Any:
    return (await _instances(call, [await call.known("instance")]))[0]


def _instance_write(op_id: str, **fixed: Any) -> Any:
    """A handler submitting ``op_id`` for the instance of the path with ``fixed`` values."""
    async def handler(call: Call) -> Any:
        return await call.submit([dict(fixed, OP_ID=op_id,
                                       instance_name=await call.known("instance"))])
    return handler


async def put_instance_activate_disks(call: Call) -> Any:
    return await call.submit([{"OP_ID": "OP_INSTANCE_ACTIVATE_DISKS",
                               "instance_name": await call.known("instance"),
                               "ignore_size": bool(call.args.get("ignore_size"))}])


async def delete_instance(call: Call) -> Any:
    body = call.body or {}
    return await call.submit([{"OP_ID": "OP_INSTANCE_REMOVE",
                               "instance_name": await call.known("instance"),
                               "ignore_failures": body.get("ignore_failures", False)}])


async def get_instance_info(call: Call) -> Any:
    return await call.submit([{"OP_ID": "OP_INSTANCE_QUERY_DATA",
                               "instances": [await call.known("instance")],
                               "static": bool(call.args.get("static"))}])


async def post_instance_reboot(call: Call) -> Any:
    return await call.submit([{"OP_ID": "OP_INSTANCE_REBOOT",
                               "instance_name": await call.known("instance"),
                               "reboot_type": call.args.get("type", C.REBOOT_HARD),
                               "ignore_secondaries":
                                   bool(call.args.get("ignore_secondaries"))}])


async def put_instance_startup(call: Call) -> Any:
    return await call.submit([{"OP_ID": "OP_INSTANCE_STARTUP",
                               "instance_name": await call.known("instance"),
                               "force": bool(call.args.get("force"))}])


async def post_instance_reinstall(call: Call) -> Any:
    """Shutdown, reinstall, startup as one job (startup left out when not starting)."""
    name = await call.known("instance")
    body = call.body or {}
    os_name = body.get("os", call.args.get("os"))
    start = body.get("start", not call.args.get("nostartup", False))
    ops = [{"OP_ID": "OP_INSTANCE_SHUTDOWN", "instance_name": name},
           {"OP_ID": "OP_INSTANCE_REINSTALL", "instance_name": name, "os_type": os_name}]
    if start:
        ops.append({"OP_ID": "OP_INSTANCE_STARTUP", "instance_name": name})
    return await call.submit(ops)


async def put_instance_migrate(call: Call) -> Any:
    body = call.body or {}
    op = {"OP_ID": "OP_INSTANCE_MIGRATE", "instance_name": await call.known("instance"),
          "live": body.get("mode", "live") != "non-live",
          "cleanup": body.get("cleanup", False)}
    op.update({k: body[k] for k in ("target_node", "iallocator") if body.get(k)})
    return await call.submit([op])


async def put_instance_failover(call: Call) -> Any:
    body = call.body or {}
    op = {"OP_ID": "OP_INSTANCE_FAILOVER", "instance_name": await call.known("instance"),
          "ignore_consistency": body.get("ignore_consistency", False)}
    op.update({k: body[k] for k in ("target_node", "iallocator") if body.get(k)})
    return await call.submit([op])


def _modifications(mods: List[Any], where: str) -> List[Any]:
    """Ganeti 3's ``[op, index, params]`` as our ``[op or index, params]`` (spec 5.6)."""
    out = []
    for number, mod in enumerate(mods):
        if len(mod) == 2:
            out.append(list(mod))
            continue
        op, index, params = mod
        if op in ("add", "remove"):
            out.append([op, params if op == "add" else {}])
        elif op == "modify" and isinstance(index, int) and not isinstance(index, bool):
            out.append([index, params])
        else:
            raise HttpError(400, "%s[%d]: expected add, remove or modify with an index"
                            % (where, number))
    return out


async def put_instance_modify(call: Call) -> Any:
    body = dict(call.body or {})
    op = {"OP_ID": "OP_INSTANCE_SET_PARAMS", "instance_name": await call.known("instance"),
          "beparams": _be_from_body(body.get("beparams", {})),
          "hvparams": body.get("hvparams", {}), "force": body.get("force", False),
          "nics": _modifications(body.get("nics", []), "body.nics"),
          "disks": _modifications(body.get("disks", []), "body.disks")}
    return await call.submit([op])


async def put_instance_rename(call: Call) -> Any:
    body = call.body
    return await call.submit([{"OP_ID": "OP_INSTANCE_RENAME",
                               "instance_name": await call.known("instance"),
                               "new_name": body["new_name"],
                               "ignore_ip": not body.get("ip_check", True),
                               "name_check": body.get("name_check", True)}])


async def post_instance_grow_disk(call: Call) -> Any:
    body = call.body
    return await call.submit([{"OP_ID": "OP_INSTANCE_GROW_DISK",
                               "instance_name": await call.known("instance"),
                               "disk": int(call.items["disk_index"]),
                               "amount": body["amount"],
                               "wait_for_sync": body.get("wait_for_sync", True)}])


async def get_instance_console(call: Call) -> Any:
    name = await call.known("instance")
    command = await call.run_job([{"OP_ID": "OP_INSTANCE_CONSOLE", "instance_name": name}])
    return {"instance": name, "kind": "ssh" if command[0] == "ssh" else "command",
            "command": command}


# jobs -------------------------------------------------------------------------------

def _job_dict(row: List[Any]) -> Dict[str, Any]:
    job = dict(zip(_RAPI_JOB_FIELDS, row))
    job["id"] = int(job["id"])
    return job


async def get_jobs(call: Call) -> Any:
    if call.args.get("bulk"):
        rows = await call.query(luxi.REQ_QUERY_JOBS, [None, _RAPI_JOB_FIELDS])
        return [_job_dict(row) for row in rows]
    rows = await call.query(luxi.REQ_QUERY_JOBS, [None, ["id"]])
    return [{"id": int(row[0]), "uri": "/2/jobs/%s" % row[0]} for row in rows]


async def get_job(call: Call) -> Any:
    row = (await call.query(luxi.REQ_QUERY_JOBS, [[call.items["job_id"]], _RAPI_JOB_FIELDS]))[0]
    if row is None:
        raise not_found("Job %s not found" % call.items["job_id"])
    return _job_dict(row)


async def delete_job(call: Call) -> Any:
    await get_job(call)
    if call.dry_run:
        return None
    return await call.query(luxi.REQ_CANCEL_JOB, call.items["job_id"])


async def get_job_wait(call: Call) -> Any:
    """Ganeti's WaitForJobChange over HTTP: null when nothing changed within the timeout."""
    body = call.body
    answer = await call.query(luxi.REQ_WAIT_FOR_JOB_CHANGE,
                              [call.items["job_id"], body["fields"],
                               body.get("previous_job_info"),
                               body.get("previous_log_serial"), WAIT_FOR_JOB_TIMEOUT],
                              timeout=2 * WAIT_FOR_JOB_TIMEOUT)
    if answer is None:
        raise not_found("Job %s not found" % call.items["job_id"])
    if answer == "nochange":
        return None
    return {"job_info": answer[0], "log_entries": answer[1]}


async def get_openapi(call: Call) -> Any:
    return openapi.document(ROUTES)


# the table --------------------------------------------------------------------------

_G = Method
_FORCE = {"force": S.boolean("1: force the operation")}
_TARGET = {"target_node": _STR, "iallocator": _STR}
_INST = "/2/instances/{instance}"
_NODE = "/2/nodes/{node}"

ROUTES: List[Route] = [
    Route("/", {"GET": _G(get_root, "the API versions", S.array(_NAME_ITEM))}),
    Route("/version", {"GET": _G(get_version, "the RAPI version (2)", S.integer())}),
    Route("/2", {"GET": _G(get_v2, "the resources of version 2", S.array(_NAME_ITEM))}),
    Route("/2/openapi.json", {"GET": _G(get_openapi, "this description (OpenAPI 3.1)",
                                        S.DICT)}),
    Route("/2/features", {"GET": _G(get_features, "optional features", _STRS)}),
    Route("/2/info", {"GET": _G(get_info, "cluster information", INFO)}),
    Route("/2/os", {"GET": _G(get_os, "OS definitions valid on every node", _STRS)}),
    Route("/2/redistribute-config",
          {"PUT": write(put_redistribute_config, "copy the configuration to all nodes (job)")}),
    Route("/2/tags", _tag_methods(C.TAG_CLUSTER)),
    Route("/2/groups", {"GET": _G(get_groups, "node groups", {"anyOf": [
        S.array(_NAME_ITEM), S.array(GROUP)]}, _BULK_ARG)}, "groups"),
    Route("/2/groups/{group}", {"GET": _G(get_group, "one node group", GROUP)}, "groups"),
    Route("/2/nodes", {"GET": _G(get_nodes, "nodes", {"anyOf": [
        S.array(_URI_ITEM), S.array(NODE)]}, _BULK_ARG)}, "nodes"),
    Route(_NODE, {"GET": _G(get_node, "one node", NODE)}, "nodes"),
    Route(_NODE + "/tags", _tag_methods(C.TAG_NODE), "nodes"),
    Route(_NODE + "/role", {
        "GET": _G(get_node_role, "the node's role", S.string(sorted(_ROLE_FLAGS) + ["master"])),
        "PUT": write(put_node_role, "change the node's role (job)", _FORCE,
                     S.string(sorted(_ROLE_FLAGS)), body_required=True)}, "nodes"),
    Route(_NODE + "/modify", {"POST": write(
        post_node_modify, "change the node's flags (job)", _FORCE,
        S.obj({"master_candidate": S.boolean(), "offline": S.boolean(),
               "drained": S.boolean(), "force": S.boolean()}))}, "nodes"),
    Route(_NODE + "/migrate", {"POST": write(
        post_node_migrate, "migrate every primary instance away (one job)",
        {"live": S.boolean(), "mode": S.string(["live", "non-live"])},
        S.obj(dict(_TARGET, mode=S.string(["live", "non-live"]))))}, "nodes"),
    Route(_NODE + "/evacuate", {"POST": write(
        post_node_evacuate, "fail over every primary instance elsewhere (one job)", {},
        S.obj({"mode": S.string(["primary-only", "secondary-only", "all"]),
               "iallocator": _STR, "remote_node": _STR, "early_release": S.boolean()}))},
          "nodes"),
    Route("/2/instances", {
        "GET": _G(get_instances, "instances", {"anyOf": [
            S.array(_URI_ITEM), S.array(INSTANCE)]}, _BULK_ARG),
        "POST": write(post_instances, "create an instance (job)",
                      body={"oneOf": [CREATE_V1, CREATE_V0]}, body_required=True)},
          "instances"),
    Route(_INST, {
        "GET": _G(get_instance, "one instance", INSTANCE),
        "DELETE": write(delete_instance, "remove the instance (job)",
                        body=S.obj({"ignore_failures": S.boolean()}))}, "instances"),
    Route(_INST + "/info", {"GET": _G(get_instance_info, "detailed information (job whose "
                                      "result is the information)", JOB_ID,
                                      {"static": S.boolean("1: configuration only")})},
          "instances"),
    Route(_INST + "/tags", _tag_methods(C.TAG_INSTANCE), "instances"),
    Route(_INST + "/reboot", {"POST": write(
        post_instance_reboot, "reboot (job)",
        {"type": S.string(sorted(C.REBOOT_TYPES)), "ignore_secondaries": S.boolean()},
        S.obj({}))}, "instances"),
    Route(_INST + "/startup", {"PUT": write(put_instance_startup, "start (job)", _FORCE,
                                            S.obj({}))}, "instances"),
    Route(_INST + "/shutdown", {"PUT": write(_instance_write("OP_INSTANCE_SHUTDOWN"),
                                             "stop (job)", {}, S.obj({}))}, "instances"),
    Route(_INST + "/reinstall", {"POST": write(
        post_instance_reinstall, "reinstall the OS (job: shutdown, reinstall, startup)",
        {"os": _STR, "nostartup": S.boolean()},
        S.obj({"os": _STR, "start": S.boolean(), "osparams": S.obj({})}))}, "instances"),
    Route(_INST + "/migrate", {"PUT": write(
        put_instance_migrate, "live-migrate (job)", {},
        S.obj(dict(_TARGET, mode=S.string(["live", "non-live"]), cleanup=S.boolean())))},
          "instances"),
    Route(_INST + "/failover", {"PUT": write(
        put_instance_failover, "fail over (job)", {},
        S.obj(dict(_TARGET, ignore_consistency=S.boolean())))}, "instances"),
    Route(_INST + "/modify", {"PUT": write(put_instance_modify, "change parameters (job)", {},
                                           MODIFY)}, "instances"),
    Route(_INST + "/rename", {"PUT": write(
        put_instance_rename, "rename (job)", {},
        S.obj({"new_name": _STR, "ip_check": S.boolean(), "name_check": S.boolean()},
              ["new_name"]), body_required=True)}, "instances"),
    Route(_INST + "/activate-disks", {"PUT": write(
        put_instance_activate_disks, "activate the disks (job)",
        {"ignore_size": S.boolean()})}, "instances"),
    Route(_INST + "/deactivate-disks", {"PUT": write(
        _instance_write("OP_INSTANCE_DEACTIVATE_DISKS"), "deactivate the disks (job)")},
          "instances"),
    Route(_INST + "/disk/{disk_index}/grow", {"POST": write(
        post_instance_grow_disk, "grow a disk (job)", {},
        S.obj({"amount": S.integer(1, "MiB to add"), "wait_for_sync": S.boolean()},
              ["amount"]), body_required=True)}, "instances"),
    Route(_INST + "/console", {"GET": _G(get_instance_console, "how to reach the console",
                                         S.obj({"instance": _STR, "kind": _STR,
                                                "command": _STRS}, additional=True))},
          "instances"),
    Route("/2/jobs", {"GET": _G(get_jobs, "jobs", {"anyOf": [
        S.array(_JOB_ID_ITEM), S.array(JOB)]}, _BULK_ARG)}, "jobs"),
    Route("/2/jobs/{job_id}", {
        "GET": _G(get_job, "one job", JOB),
        "DELETE": write(delete_job, "cancel the job", response=S.nullable(S.array(S.ANY)))},
          "jobs"),
    Route("/2/jobs/{job_id}/wait", {"GET": _G(
        get_job_wait, "wait (up to %d s) for a change of the job" % WAIT_FOR_JOB_TIMEOUT,
        S.nullable(S.obj({"job_info": S.array(S.ANY), "log_entries": S.array(S.ANY)})),
        body=S.obj({"fields": S.array(S.string(JOB_FIELD_NAMES)),
                    "previous_job_info": S.nullable(S.array(S.ANY)),
                    "previous_log_serial": S.nullable(S.integer(0))}, ["fields"]),
        body_required=True)}, "jobs"),
]
