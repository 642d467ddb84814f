"""Opcodes: the units of work inside a job, and their validation.

An opcode travels as a dict ``{"OP_ID": ..., <params>}`` (spec 4.1). It is
validated here, at the door, before a job is queued: unknown fields, missing
required fields and wrong types are refused with one clear message.
"""

import os
import re
from typing import Any, Callable, Dict, List, Optional, Tuple, Type

from ganeti_tw import constants, errors

REQUIRED = object()


class Check:
    """A named type check (the error message says what was expected)."""

    def __init__(self, desc: str, func: Callable[[Any], bool]):
        self.desc = desc
        self.func = func

    def __call__(self, value: Any) -> bool:
        return self.func(value)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


t_bool = Check("a boolean", lambda v: isinstance(v, bool))
t_str = Check("a string", lambda v: isinstance(v, str))
t_nonempty_str = Check("a non-empty string", lambda v: isinstance(v, str) and bool(v.strip()))
t_int = Check("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool))
t_positive_int = Check("a positive integer", lambda v: t_int(v) and v > 0)
t_number = Check("a number", _is_number)
t_dict = Check("a dictionary", lambda v: isinstance(v, dict))


def t_maybe(check: Check) -> Check:
    return Check("%s or null" % check.desc, lambda v: v is None or check(v))


def t_list_of(check: Check) -> Check:
    return Check("a list of %s" % check.desc.replace("a ", "", 1).replace("an ", "", 1) + "s",
                 lambda v: isinstance(v, list) and all(check(i) for i in v))


def t_elem_of(values) -> Check:
    def check(value: Any) -> bool:
        try:
            return value in values
        except TypeError:  # unhashable: a list or dict is never one of them
            return False
    return Check("one of %s" % ", ".join(sorted(map(str, values))), check)


def t_dict_of(check: Check) -> Check:
    return Check("a dictionary of %s" % check.desc,
                 lambda v: isinstance(v, dict) and all(isinstance(k, str) and check(x)
                                                        for k, x in v.items()))


_IPV4_RE = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$")


def is_valid_ipv4(text: Any) -> bool:
    match = isinstance(text, str) and _IPV4_RE.match(text)
    return bool(match) and all(int(g) <= 255 for g in match.groups())


t_ipv4 = Check("an IPv4 address", is_valid_ipv4)
t_node_name = Check("a host name", lambda v: isinstance(v, str)
                    and re.match(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$", v) is not None)

_REGISTRY: Dict[str, Type["OpCode"]] = {}


class OpCode:
    """Base opcode; subclasses list their parameters as (name, default, check)."""

    OP_ID: str = ""
    PARAMS: List[Tuple[str, Any, Check]] = []
    SUMMARY_FIELD: Optional[str] = None
    # opcodes whose logical unit takes the BGL exclusively (spec 4.7)
    REQ_BGL = False

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        if cls.OP_ID:
            _REGISTRY[cls.OP_ID] = cls

    def __init__(self, **kwargs: Any):
        known = {name for name, _, _ in self.PARAMS}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise errors.ParameterError("%s: unknown parameter(s) %s"
                                        % (self.OP_ID, ", ".join(unknown)))
        for name, default, check in self.PARAMS:
            if name in kwargs and kwargs[name] is not None:
                value = kwargs[name]
                if check is t_number and _is_number(value):
                    value = float(value)
                if not check(value):
                    raise errors.TypeEnforcementError(
                        "%s: parameter '%s' must be %s, got %r"
                        % (self.OP_ID, name, check.desc, value))
            elif default is REQUIRED:
                raise errors.ParameterError("%s: missing required parameter '%s'"
                                            % (self.OP_ID, name))
            else:
                value = default() if callable(default) else default
            setattr(self, name, value)
        self.validate()

    def validate(self) -> None:
        """Checks across parameters that need no cluster state (raise OpPrereqError)."""

    def to_dict(self) -> Dict[str, Any]:
        data = {name: getattr(self, name) for name, _, _ in self.PARAMS}
        data["OP_ID"] = self.OP_ID
        return data

    @staticmethod
    def from_dict(data: Any) -> "OpCode":
        if not isinstance(data, dict):
            raise errors.ParameterError("an opcode must be a JSON object, got %s"
                                        % type(data).__name__)
        op_id = data.get("OP_ID")
        if not isinstance(op_id, str):
            raise errors.ParameterError("opcode without a valid OP_ID field")
        cls = _REGISTRY.get(op_id)
        if cls is None:
            raise errors.OpCodeUnknown("Unknown opcode %s" % op_id)
        params = dict(data)
        del params["OP_ID"]
        return cls(**params)

    def summary(self) -> str:
        """``OP_ID`` without ``OP_`` plus the descriptive field (spec 4.1)."""
        text = self.OP_ID[3:]
        if self.SUMMARY_FIELD:
            value = getattr(self, self.SUMMARY_FIELD)
            if value is not None:
                text += "(%s)" % value
        return text


# Cluster ---------------------------------------------------------------------

class OpClusterDestroy(OpCode):
    OP_ID = "OP_CLUSTER_DESTROY"
    REQ_BGL = True


class OpClusterQuery(OpCode):
    OP_ID = "OP_CLUSTER_QUERY"


class OpClusterVerify(OpCode):
    OP_ID = "OP_CLUSTER_VERIFY"
    PARAMS = [("skip_checks", list, t_list_of(t_elem_of({"nplusone_mem"})))]


class OpClusterVerifyDisks(OpCode):
    OP_ID = "OP_CLUSTER_VERIFY_DISKS"


class OpClusterConfigQuery(OpCode):
    OP_ID = "OP_CLUSTER_CONFIG_QUERY"
    PARAMS = [("output_fields", REQUIRED,
               t_list_of(t_elem_of({"cluster_name", "master_node", "drain_flag"})))]


class OpClusterSetParams(OpCode):
    OP_ID = "OP_CLUSTER_SET_PARAMS"
    PARAMS = [
        ("vg_name", None, t_maybe(t_str)),
        ("enabled_hypervisors", None,
         t_maybe(t_list_of(t_elem_of(constants.HYPER_TYPES)))),
        ("hvparams", None, t_maybe(t_dict_of(t_dict))),
        ("beparams", None, t_maybe(t_dict)),
        ("candidate_pool_size", None, t_maybe(t_positive_int)),
    ]

    def validate(self) -> None:
        if all(getattr(self, name) is None for name, _, _ in self.PARAMS):
            raise errors.OpPrereqError("Please give at least one of the parameters")
        if self.vg_name:
            raise errors.OpPrereqError("LVM storage is not available in this version; "
                                       "only file-based storage is supported")
        if self.enabled_hypervisors is not None and not self.enabled_hypervisors:
            raise errors.OpPrereqError("The list of enabled hypervisors cannot be empty")
        unknown = sorted(set(self.hvparams or {}) - constants.HYPER_TYPES)
        if unknown:
            raise errors.OpPrereqError("Unknown hypervisor(s): %s" % ", ".join(unknown))
        check_beparams(self.beparams or {})


def check_beparams(beparams: Dict[str, Any]) -> None:
    """Backend parameters: known names, right types (memory and vcpus positive)."""
    unknown = sorted(set(beparams) - set(constants.BEC_DEFAULTS))
    if unknown:
        raise errors.ParameterError("Unknown backend parameter(s): %s" % ", ".join(unknown))
    for name in (constants.BE_MEMORY, constants.BE_VCPUS):
        if name in beparams and not t_positive_int(beparams[name]):
            raise errors.TypeEnforcementError("Backend parameter %s must be a positive "
                                              "integer, got %r" % (name, beparams[name]))
    if constants.BE_AUTO_BALANCE in beparams and not t_bool(beparams[constants.BE_AUTO_BALANCE]):
        raise errors.TypeEnforcementError("Backend parameter auto_balance must be a boolean")


class OpClusterRedistConf(OpCode):
    OP_ID = "OP_CLUSTER_REDIST_CONF"


# Nodes -----------------------------------------------------------------------

class OpNodeAdd(OpCode):
    OP_ID = "OP_NODE_ADD"
    SUMMARY_FIELD = "node_name"
    REQ_BGL = True
    PARAMS = [
        ("node_name", REQUIRED, t_node_name),
        ("primary_ip", None, t_maybe(t_ipv4)),
        ("secondary_ip", None, t_maybe(t_ipv4)),
        ("readd", False, t_bool),
    ]


class OpNodeRemove(OpCode):
    OP_ID = "OP_NODE_REMOVE"
    SUMMARY_FIELD = "node_name"
    REQ_BGL = True
    PARAMS = [("node_name", REQUIRED, t_nonempty_str)]


class OpNodeQuery(OpCode):
    OP_ID = "OP_NODE_QUERY"
    PARAMS = [
        ("output_fields", REQUIRED, t_list_of(t_nonempty_str)),
        ("names", list, t_list_of(t_nonempty_str)),
        ("use_locking", False, t_bool),
    ]


class OpNodeSetParams(OpCode):
    OP_ID = "OP_NODE_SET_PARAMS"
    SUMMARY_FIELD = "node_name"
    FLAGS = ("master_candidate", "offline", "drained")
    PARAMS = [
        ("node_name", REQUIRED, t_nonempty_str),
        ("force", False, t_bool),
        ("master_candidate", None, t_maybe(t_bool)),
        ("offline", None, t_maybe(t_bool)),
        ("drained", None, t_maybe(t_bool)),
    ]

    def validate(self) -> None:
        values = [getattr(self, f) for f in self.FLAGS]
        if all(v is None for v in values):
            raise errors.OpPrereqError("Please pass at least one of master_candidate, "
                                       "offline or drained")
        if sum(v is True for v in values) > 1:
            raise errors.OpPrereqError("Only one of master_candidate, offline and drained "
                                       "can be set to true at a time")


# Test ------------------------------------------------------------------------

class OpTestDelay(OpCode):
    OP_ID = "OP_TEST_DELAY"
    SUMMARY_FIELD = "duration"
    PARAMS = [
        ("duration", REQUIRED, t_number),
        ("on_master", True, t_bool),
        ("on_nodes", list, t_list_of(t_nonempty_str)),
    ]

    def validate(self) -> None:
        if self.duration < 0:
            raise errors.OpPrereqError("Invalid delay %s: must not be negative" % self.duration)


# Instances -------------------------------------------------------------------

_MAC_RE = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")


def is_valid_mac(text: Any) -> bool:
    return isinstance(text, str) and _MAC_RE.match(text.lower()) is not None


t_instance_name = Check("an instance name (a host name)", t_node_name.func)
t_disk_index = Check("a disk index (0 or more)", lambda v: t_int(v) and v >= 0)


def check_disk_spec(index: Any, disk: Any, size_required: bool = True) -> None:
    """One disk of a create or modify request: ``{size, mode}`` (spec 5.5 step 3)."""
    if not isinstance(disk, dict):
        raise errors.OpPrereqError("Disk %s: expected a dictionary, got %r" % (index, disk))
    unknown = sorted(set(disk) - {"size", "mode"})
    if unknown:
        raise errors.OpPrereqError("Disk %s: unknown parameter(s) %s"
                                   % (index, ", ".join(unknown)))
    if "size" in disk or size_required:
        if not t_positive_int(disk.get("size")):
            raise errors.OpPrereqError("Disk %s: size must be a positive number of MiB, got %r"
                                       % (index, disk.get("size")))
    if disk.get("mode", constants.DISK_RDWR) not in constants.DISK_ACCESS_SET:
        raise errors.OpPrereqError("Disk %s: invalid access mode %r (must be rw or ro)"
                                   % (index, disk.get("mode")))


def check_nic_spec(index: Any, nic: Any, allow_auto_mac: bool = True) -> None:
    """One NIC of a create or modify request: ``{mac, ip, bridge, mode}`` (spec 5.5 step 2)."""
    if not isinstance(nic, dict):
        raise errors.OpPrereqError("NIC %s: expected a dictionary, got %r" % (index, nic))
    unknown = sorted(set(nic) - {"mac", "ip", "bridge", "mode"})
    if unknown:
        raise errors.OpPrereqError("NIC %s: unknown parameter(s) %s"
                                   % (index, ", ".join(unknown)))
    mac = nic.get("mac")
    keywords = (constants.VALUE_AUTO, constants.VALUE_GENERATE) if allow_auto_mac \
        else (constants.VALUE_GENERATE,)
    if mac is not None and mac not in keywords and not is_valid_mac(mac):
        raise errors.OpPrereqError("NIC %s: invalid MAC address %r" % (index, mac))
    ip = nic.get("ip")
    if ip is not None and ip not in (constants.VALUE_NONE, constants.VALUE_AUTO) \
            and not is_valid_ipv4(ip):
        raise errors.OpPrereqError("NIC %s: invalid IP address %r" % (index, ip))
    bridge = nic.get("bridge")
    if bridge is not None and not t_nonempty_str(bridge):
        raise errors.OpPrereqError("NIC %s: invalid bridge %r" % (index, bridge))
    mode = nic.get("mode")
    if mode is not None and (not isinstance(mode, str) or mode not in constants.NIC_VALID_MODES):
        raise errors.OpPrereqError("NIC %s: invalid mode %r (must be %s)"
                                   % (index, mode, " or ".join(constants.NIC_VALID_MODES)))
    if mode == constants.NIC_MODE_NONE and bridge is not None:
        raise errors.OpPrereqError("NIC %s: mode none connects to no bridge, yet bridge %s "
                                   "was given" % (index, bridge))


def _check_param_dicts(hvparams: Dict[str, Any], beparams: Dict[str, Any]) -> None:
    check_beparams(beparams)
    bad = [k for k in hvparams if not isinstance(k, str)]
    if bad:
        raise errors.ParameterError("Invalid hypervisor parameter names: %r" % bad)


class OpInstanceCreate(OpCode):
    OP_ID = "OP_INSTANCE_CREATE"
    SUMMARY_FIELD = "instance_name"
    PARAMS = [
        ("instance_name", REQUIRED, t_instance_name),
        ("disk_template", REQUIRED, t_elem_of(constants.DISK_TEMPLATES)),
        ("disks", list, t_list_of(t_dict)),
        ("nics", lambda: [{}], t_list_of(t_dict)),
        ("mode", constants.INSTANCE_CREATE,
         t_elem_of({constants.INSTANCE_CREATE, constants.INSTANCE_IMPORT})),
        ("os_type", None, t_maybe(t_nonempty_str)),
        ("pnode", None, t_maybe(t_nonempty_str)),
        ("snode", None, t_maybe(t_nonempty_str)),
        ("iallocator", None, t_maybe(t_nonempty_str)),
        ("hypervisor", None, t_maybe(t_elem_of(constants.HYPER_TYPES))),
        ("hvparams", dict, t_dict),
        ("beparams", dict, t_dict),
        ("start", True, t_bool),
        ("wait_for_sync", True, t_bool),
        ("ip_check", True, t_bool),
        ("name_check", True, t_bool),
        ("no_install", False, t_bool),
        ("file_storage_dir", None, t_maybe(t_str)),
        ("file_driver", constants.FD_LOOP, t_elem_of(constants.FILE_DRIVERS)),
        ("src_node", None, t_maybe(t_nonempty_str)),
        ("src_path", None, t_maybe(t_nonempty_str)),
    ]

    def validate(self) -> None:
        if self.mode == constants.INSTANCE_IMPORT:
            raise errors.OpPrereqError("Instance import needs exports (gnt-backup), which this "
                                       "version does not support yet")
        if not self.os_type:
            raise errors.OpPrereqError("No guest OS specified (os_type)")
        if (self.pnode is None) == (self.iallocator is None):
            raise errors.OpPrereqError("Give exactly one of the primary node and an "
                                       "iallocator")
        if self.disk_template == constants.DT_DISKLESS:
            if self.disks:
                raise errors.OpPrereqError("Diskless instances cannot have disks")
        elif not self.disks:
            raise errors.OpPrereqError("Instances with disk template %s need at least one "
                                       "disk" % self.disk_template)
        if len(self.disks) > constants.MAX_DISKS:
            raise errors.OpPrereqError("Too many disks: %d given, at most %d allowed"
                                       % (len(self.disks), constants.MAX_DISKS))
        if len(self.nics) > constants.MAX_NICS:
            raise errors.OpPrereqError("Too many NICs: %d given, at most %d allowed"
                                       % (len(self.nics), constants.MAX_NICS))
        for index, disk in enumerate(self.disks):
            check_disk_spec(index, disk)
        for index, nic in enumerate(self.nics):
            check_nic_spec(index, nic)
        if not self.name_check:
            if self.ip_check:
                raise errors.OpPrereqError("The IP check needs the name check (the IP comes "
                                           "from the name)")
            if any(nic.get("ip") == constants.VALUE_AUTO for nic in self.nics):
                raise errors.OpPrereqError("NIC IP 'auto' needs the name check")
        if self.file_storage_dir and os.path.isabs(self.file_storage_dir):
            raise errors.OpPrereqError("The file storage directory must be a relative path")
        if self.file_storage_dir and ".." in self.file_storage_dir.split("/"):
            raise errors.OpPrereqError("The file storage directory must not contain '..'")
        _check_param_dicts(self.hvparams, self.beparams)


class _InstanceOp(OpCode):
    SUMMARY_FIELD = "instance_name"


def _instance_op(op_id: str, *params: Tuple[str, Any, Check],
                 req_bgl: bool = False) -> Type[OpCode]:
    """An instance opcode: ``instance_name`` first, then ``params``."""
    return type("Op" + "".join(w.capitalize() for w in op_id[3:].split("_")), (_InstanceOp,),
                {"OP_ID": op_id, "REQ_BGL": req_bgl,
                 "PARAMS": [("instance_name", REQUIRED, t_nonempty_str)] + list(params)})


OpInstanceRemove = _instance_op("OP_INSTANCE_REMOVE", ("ignore_failures", False, t_bool))
OpInstanceShutdown = _instance_op("OP_INSTANCE_SHUTDOWN")
OpInstanceReboot = _instance_op(
    "OP_INSTANCE_REBOOT", ("reboot_type", constants.REBOOT_HARD, t_elem_of(constants.REBOOT_TYPES)),
    ("ignore_secondaries", False, t_bool))
OpInstanceReinstall = _instance_op("OP_INSTANCE_REINSTALL",
                                   ("os_type", None, t_maybe(t_nonempty_str)))
# Without mirroring there is no secondary: instances on shared storage move to
# ``target_node`` or where ``iallocator`` says (Ganeti 2.6's parameters).
OpInstanceFailover = _instance_op("OP_INSTANCE_FAILOVER", ("ignore_consistency", False, t_bool),
                                  ("target_node", None, t_maybe(t_nonempty_str)),
                                  ("iallocator", None, t_maybe(t_nonempty_str)))
OpInstanceMigrate = _instance_op("OP_INSTANCE_MIGRATE", ("live", True, t_bool),
                                 ("cleanup", False, t_bool),
                                 ("target_node", None, t_maybe(t_nonempty_str)),
                                 ("iallocator", None, t_maybe(t_nonempty_str)))
OpInstanceConsole = _instance_op("OP_INSTANCE_CONSOLE")
OpInstanceActivateDisks = _instance_op("OP_INSTANCE_ACTIVATE_DISKS",
                                       ("ignore_size", False, t_bool))
OpInstanceDeactivateDisks = _instance_op("OP_INSTANCE_DEACTIVATE_DISKS")
OpInstanceGrowDisk = _instance_op("OP_INSTANCE_GROW_DISK", ("disk", REQUIRED, t_disk_index),
                                  ("amount", REQUIRED, t_positive_int),
                                  ("wait_for_sync", True, t_bool))
OpInstanceRename = _instance_op("OP_INSTANCE_RENAME", ("new_name", REQUIRED, t_instance_name),
                                ("ignore_ip", False, t_bool), ("name_check", True, t_bool),
                                req_bgl=True)


class OpInstanceStartup(_InstanceOp):
    OP_ID = "OP_INSTANCE_STARTUP"
    PARAMS = [
        ("instance_name", REQUIRED, t_nonempty_str),
        ("force", False, t_bool),
        ("hvparams", dict, t_dict),
        ("beparams", dict, t_dict),
    ]

    def validate(self) -> None:
        _check_param_dicts(self.hvparams, self.beparams)


_MODIFY_OPS = ("add", "remove")


def _check_modifications(what: str, mods: List[Any], check_item: Callable[..., None]) -> None:
    """``[[op, params], ...]`` where op is an index, "add" or "remove" (spec 5.6)."""
    adds_removes = 0
    for mod in mods:
        if not (isinstance(mod, (list, tuple)) and len(mod) == 2 and isinstance(mod[1], dict)):
            raise errors.OpPrereqError("Invalid %s modification %r: expected [operation, "
                                       "{parameters}]" % (what, mod))
        op, params = mod
        if op in _MODIFY_OPS:
            adds_removes += 1
            if op == "remove" and params:
                raise errors.OpPrereqError("Removing a %s takes no parameters" % what)
        elif not t_disk_index(op):
            raise errors.OpPrereqError("Invalid %s operation %r: expected an index, 'add' or "
                                       "'remove'" % (what, op))
        if op != "remove":
            check_item(op, params, op == "add")
    if adds_removes > 1:
        raise errors.OpPrereqError("Only one %s add or remove operation is supported at a time"
                                   % what)


class OpInstanceSetParams(_InstanceOp):
    OP_ID = "OP_INSTANCE_SET_PARAMS"
    PARAMS = [
        ("instance_name", REQUIRED, t_nonempty_str),
        ("hvparams", dict, t_dict),
        ("beparams", dict, t_dict),
        ("nics", list, t_list_of(Check("an [operation, parameters] pair",
                                       lambda v: isinstance(v, (list, tuple))))),
        ("disks", list, t_list_of(Check("an [operation, parameters] pair",
                                        lambda v: isinstance(v, (list, tuple))))),
        ("force", False, t_bool),
    ]

    def validate(self) -> None:
        if not (self.hvparams or self.beparams or self.nics or self.disks):
            raise errors.OpPrereqError("No changes submitted")
        _check_modifications("disk", self.disks,
                             lambda i, p, add: check_disk_spec(i, p, size_required=add))
        _check_modifications("NIC", self.nics,
                             lambda i, p, add: check_nic_spec(i, p, allow_auto_mac=add))
        for index, params in self.disks:
            if t_disk_index(index) and "size" in params:
                raise errors.OpPrereqError("Disk size can't be changed here; use grow-disk")
        beparams = {k: v for k, v in self.beparams.items() if v != constants.VALUE_DEFAULT}
        _check_param_dicts(self.hvparams, beparams)


class OpInstanceQuery(OpCode):
    OP_ID = "OP_INSTANCE_QUERY"
    PARAMS = [
        ("output_fields", REQUIRED, t_list_of(t_nonempty_str)),
        ("names", list, t_list_of(t_nonempty_str)),
        ("use_locking", False, t_bool),
    ]


class OpInstanceQueryData(OpCode):
    OP_ID = "OP_INSTANCE_QUERY_DATA"
    PARAMS = [
        ("instances", list, t_list_of(t_nonempty_str)),
        ("static", False, t_bool),
    ]


# OS and tags -------------------------------------------------------------------

class OpOsDiagnose(OpCode):
    OP_ID = "OP_OS_DIAGNOSE"
    PARAMS = [
        ("output_fields", REQUIRED, t_list_of(t_elem_of({"name", "valid", "node_status"}))),
        ("names", list, t_list_of(t_nonempty_str)),
    ]

    def validate(self) -> None:
        if self.names:
            raise errors.OpPrereqError("Selective OS query not supported")


t_tag_kind = t_elem_of(constants.VALID_TAG_TYPES)


def check_tag(tag: Any) -> None:
    """A tag: 1-128 characters from Ganeti's set (spec 5.4)."""
    if not isinstance(tag, str):
        raise errors.TagError("Invalid tag type (not a string): %r" % (tag,))
    if not tag:
        raise errors.TagError("Tags cannot be empty")
    if len(tag) > constants.MAX_TAG_LEN:
        raise errors.TagError("Tag too long (>%d characters)" % constants.MAX_TAG_LEN)
    if not re.match(r"^[\w.+*/:@-]+$", tag):
        raise errors.TagError("Tag contains invalid characters: %r" % tag)


class _TagsOp(OpCode):
    SUMMARY_FIELD = "name"

    def validate(self) -> None:
        if self.kind != constants.TAG_CLUSTER and not self.name:
            raise errors.OpPrereqError("Tags of a %s need the %s's name" % (self.kind, self.kind))
        for tag in getattr(self, "tags", []):
            check_tag(tag)


class OpTagsGet(_TagsOp):
    OP_ID = "OP_TAGS_GET"
    PARAMS = [("kind", REQUIRED, t_tag_kind), ("name", None, t_maybe(t_str))]


class OpTagsSet(_TagsOp):
    OP_ID = "OP_TAGS_SET"
    PARAMS = [("kind", REQUIRED, t_tag_kind), ("name", None, t_maybe(t_str)),
              ("tags", REQUIRED, t_list_of(t_str))]


class OpTagsDel(_TagsOp):
    OP_ID = "OP_TAGS_DEL"
    PARAMS = [("kind", REQUIRED, t_tag_kind), ("name", None, t_maybe(t_str)),
              ("tags", REQUIRED, t_list_of(t_str))]


class OpTagsSearch(OpCode):
    OP_ID = "OP_TAGS_SEARCH"
    SUMMARY_FIELD = "pattern"
    PARAMS = [("pattern", REQUIRED, t_nonempty_str)]

    def validate(self) -> None:
        try:
            re.compile(self.pattern)
        except re.error as err:
            raise errors.OpPrereqError("Invalid search pattern %r: %s" % (self.pattern, err)) \
                from None


# iallocator test ---------------------------------------------------------------

class OpTestAllocator(OpCode):
    OP_ID = "OP_TEST_ALLOCATOR"
    SUMMARY_FIELD = "name"
    REQ_BGL = True
    PARAMS = [
        ("direction", REQUIRED, t_elem_of({constants.IALLOCATOR_DIR_IN,
                                           constants.IALLOCATOR_DIR_OUT})),
        ("mode", REQUIRED, t_elem_of({constants.IALLOCATOR_MODE_ALLOC,
                                      constants.IALLOCATOR_MODE_RELOC})),
        ("name", REQUIRED, t_nonempty_str),
        ("mem_size", 128, t_positive_int),
        ("disks", list, t_list_of(t_dict)),
        ("disk_template", constants.DT_FILE, t_elem_of(constants.DISK_TEMPLATES)),
        ("os", None, t_maybe(t_str)),
        ("tags", list, t_list_of(t_str)),
        ("nics", list, t_list_of(t_dict)),
        ("vcpus", 1, t_positive_int),
        ("hypervisor", None, t_maybe(t_elem_of(constants.HYPER_TYPES))),
        ("allocator", None, t_maybe(t_nonempty_str)),
    ]

    def validate(self) -> None:
        if self.direction == constants.IALLOCATOR_DIR_OUT and not self.allocator:
            raise errors.OpPrereqError("Direction 'out' needs the allocator's name")
        for index, disk in enumerate(self.disks):
            if not isinstance(disk, dict) or not t_positive_int(disk.get("size")) or \
                    disk.get("mode", "w") not in ("r", "w", "rw", "ro"):
                raise errors.OpPrereqError("Disk %d: expected {size: MiB, mode: r|w}, got %r"
                                           % (index, disk))
