"""Ganeti's error classes.

Errors cross the LUXI socket as ``[ClassName, [args...]]`` (spec 1.2) and are
rebuilt on the other side by :func:`decode_error`, so the CLI can print
Ganeti's messages and pick Ganeti's exit codes.
"""

from typing import Any


class GenericError(Exception):
    """Base of every error that may be shown to a user."""


class ProgrammerError(GenericError):
    """A bug: an internal invariant was broken."""


class ConfigurationError(GenericError):
    """config.data is missing, corrupt or inconsistent."""


class ConfigVersionMismatch(ConfigurationError):
    """config.data was written by another configuration format version."""


class NotClusterError(ConfigurationError):
    """This node is not part of a cluster (no ssconf files)."""


class SignatureError(GenericError):
    """A certificate or signature could not be verified."""


class OpPrereqError(GenericError):
    """The prerequisites of an opcode are not met; nothing was changed."""


class OpExecError(GenericError):
    """An opcode failed while executing."""



class OpCodeUnknown(GenericError):
    """The opcode's OP_ID is not known."""


class ParameterError(GenericError):
    """A parameter is unknown or invalid."""


class TypeEnforcementError(GenericError):
    """A parameter has the wrong type."""


class HooksFailure(GenericError):
    """A hooks run failed as a whole."""


class HooksAbort(HooksFailure):
    """A pre-hook script failed, aborting the opcode."""



class JobQueueError(GenericError):
    """Generic job queue error."""


class JobQueueDrainError(JobQueueError):
    """The queue is drained: no new jobs are accepted."""


class JobQueueFull(JobQueueError):
    """The queue holds the maximum number of job files."""


class JobLost(GenericError):
    """The job disappeared from the queue."""


class LuxiError(GenericError):
    """The LUXI request or answer was malformed."""


class ProtocolError(LuxiError):
    """Malformed LUXI message."""


class NoMasterError(GenericError):
    """The master daemon cannot be reached."""


class TimeoutError(GenericError):  # noqa: A001 - Ganeti's name
    """A LUXI or RPC call timed out."""


class ResolverError(GenericError):
    """A host name could not be resolved."""


class CommandError(GenericError):
    """A local command failed."""


class HypervisorError(GenericError):
    """A hypervisor operation failed or the hypervisor is not usable."""


class BlockDeviceError(GenericError):
    """A block device operation failed."""


class TagError(GenericError):
    """A tag is invalid, missing, or there are too many."""


def encode_error(err: BaseException) -> list:
    """Encode an exception for the wire as ``[ClassName, [args...]]``."""
    if isinstance(err, GenericError):
        name = type(err).__name__
    else:
        name = "OpExecError"
    args = [a if isinstance(a, (str, int, float, bool, type(None))) else str(a)
            for a in err.args] or [str(err)]
    return [name, args]


def decode_error(data: Any) -> GenericError:
    """Rebuild an exception from its wire form; unknown shapes become OpExecError."""
    if (isinstance(data, (list, tuple)) and len(data) == 2
            and isinstance(data[0], str) and isinstance(data[1], (list, tuple))):
        cls = globals().get(data[0])
        if isinstance(cls, type) and issubclass(cls, GenericError):
            return cls(*data[1])
    return OpExecError(str(data))


def format_error(err: BaseException) -> str:
    """Ganeti's one-line message for an error (the 'Failure: ...' text)."""
    args = [str(a) for a in err.args]
    detail = ", ".join(args) if args else type(err).__name__
    if isinstance(err, OpPrereqError):
        return "Failure: prerequisites not met for this operation: %s" % detail
    if isinstance(err, OpExecError):
        return "Failure: command execution error: %s" % detail
    if isinstance(err, HooksAbort):
        return "Failure: hooks execution failed: %s" % detail
    if isinstance(err, TagError):
        return "Failure: invalid tag(s) given: %s" % detail
    if isinstance(err, JobQueueDrainError):
        return "Failure: the job queue is marked for drain and doesn't accept new requests"
    if isinstance(err, JobQueueFull):
        return "Failure: the job queue is full, please retry later"
    if isinstance(err, NoMasterError):
        return "Cannot communicate with the master daemon; is it running and listening for connections?"
    if isinstance(err, NotClusterError):
        return detail
    if isinstance(err, ConfigurationError):
        return "Corrupt configuration file: %s" % detail
    return "Failure: %s" % detail
