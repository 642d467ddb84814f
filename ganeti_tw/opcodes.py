"""Opcodes: the units of work inside a job, and their validation.

An opcode travels as a dict ``{"OP_ID": ..., <params>}`` (spec 4.1). It is
validated here, at the door, before a job is queued: unknown fields, missing
required fields and wrong types are refused with one clear message.
"""

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
    return Check("one of %s" % ", ".join(sorted(map(str, values))), lambda v: v in values)


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
