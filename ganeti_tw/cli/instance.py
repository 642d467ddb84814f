"""gnt-instance: instance administration (spec 6.4)."""

import argparse
import json
import os
import shlex
import sys
import textwrap
from typing import IO, Any, Callable, Dict, List, Optional, Sequence, Tuple

from ganeti_tw import constants as C, errors, opcodes, utils
from ganeti_tw.cli import (Parser, UsageError, add_command, add_list_options, add_submit_option,
                           get_client, ident_keyval_arg, keyval_arg, make_parser, poll_job,
                           run, selected_fields, submit_one)
from ganeti_tw.cli.instance_format import (DEFAULT_FIELDS, format_instance_info,
                                           format_instance_table)
from ganeti_tw.cli.tags import add_tag_commands

# sizes ---------------------------------------------------------------------------------

def size_arg(text: str) -> int:
    """argparse type for a size option or argument."""
    try:
        return utils.parse_unit(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


# errors at the door -------------------------------------------------------------------

def _usage(opts: Any, message: str) -> UsageError:
    return UsageError("gnt-instance %s: error: %s" % (opts.cmd, message))


def _make_op(opts: Any, cls: Any, **params: Any) -> opcodes.OpCode:
    """Build an opcode; its validation error becomes a usage error, before any job exists."""
    try:
        return cls(**params)
    except errors.GenericError as err:
        raise _usage(opts, str(err)) from None


# indexed disk/NIC options (spec 6.1: ``N:key=val,...``, ``add[:...]``, ``remove``) -------

def _disk_params(params: Dict[str, Any]) -> Dict[str, Any]:
    unknown = sorted(set(params) - {"size", "mode"})
    if unknown:
        raise ValueError("unknown disk parameter(s) %s (known: size, mode)" % ", ".join(unknown))
    out = dict(params)
    if "size" in out:
        if isinstance(out["size"], bool):
            raise ValueError("size needs a value")
        out["size"] = utils.parse_unit(out["size"])
    if out.get("mode", C.DISK_RDWR) not in C.DISK_ACCESS_SET:
        raise ValueError("invalid disk mode '%s' (use ro or rw)" % out["mode"])
    return out


def _nic_params(params: Dict[str, Any]) -> Dict[str, Any]:
    unknown = sorted(set(params) - {"mac", "ip", "bridge", "mode"})
    if unknown:
        raise ValueError("unknown NIC parameter(s) %s (known: mac, ip, bridge, mode)"
                         % ", ".join(unknown))
    for key, value in params.items():
        if isinstance(value, bool):
            raise ValueError("%s needs a value" % key)
    return {key: str(value) for key, value in params.items()}


def _indexed_arg(what: str, convert: Callable[[Dict[str, Any]], Dict[str, Any]],
                 operations: Sequence[str] = ()) -> Callable[[str], Tuple[Any, Dict[str, Any]]]:
    """An argparse type for ``N:key=val,...`` (and ``add[:...]``/``remove`` if allowed)."""
    def parse(text: str) -> Tuple[Any, Dict[str, Any]]:
        op, _, rest = text.partition(":")
        if op.isdigit():
            index: Any = int(op)
        elif op in operations:
            index = op
        else:
            expected = "an index" + "".join(", '%s'" % o for o in operations)
            raise argparse.ArgumentTypeError("invalid %s specification '%s': it must start "
                                             "with %s" % (what, text, expected))
        try:
            params = convert(keyval_arg(rest))
        except (ValueError, argparse.ArgumentTypeError) as err:
            raise argparse.ArgumentTypeError("invalid %s specification '%s': %s"
                                             % (what, text, err)) from None
        if index == "remove" and params:
            raise argparse.ArgumentTypeError("'remove' takes no parameters (it removes the "
                                             "last %s)" % what)
        return index, params
    return parse


disk_arg = _indexed_arg("disk", _disk_params)
nic_arg = _indexed_arg("NIC", _nic_params)
disk_mod_arg = _indexed_arg("disk", _disk_params, ("add", "remove"))
nic_mod_arg = _indexed_arg("NIC", _nic_params, ("add", "remove"))


def _indexed_list(opts: Any, option: str, items: List[Tuple[int, Dict[str, Any]]]) -> List[dict]:
    """``[(index, params)]`` as a list ordered by index; indices must run from 0 without gaps."""
    by_index: Dict[int, Dict[str, Any]] = {}
    for index, params in items:
        if index in by_index:
            raise _usage(opts, "%s %d given twice" % (option, index))
        by_index[index] = params
    if sorted(by_index) != list(range(len(by_index))):
        raise _usage(opts, "%s indices must run from 0 without gaps, got %s"
                     % (option, ", ".join(map(str, sorted(by_index)))))
    return [by_index[i] for i in range(len(by_index))]


def _is_default(value: Any) -> bool:
    return isinstance(value, str) and value.lower() == C.VALUE_DEFAULT


def _beparams(raw: Optional[Dict[str, Any]], allow_default: bool = False) -> dict:
    """Backend parameters: memory takes a unit; with ``allow_default`` the value ``default``."""
    out = dict(raw or {})
    for key, value in out.items():
        if allow_default and _is_default(value):
            out[key] = C.VALUE_DEFAULT
        elif key == C.BE_MEMORY and isinstance(value, str):
            out[key] = utils.parse_unit(value)
    return out


def _option_beparams(opts: Any, allow_default: bool = False) -> dict:
    """The ``-B`` option's backend parameters."""
    try:
        return _beparams(opts.beparams, allow_default)
    except ValueError as err:
        raise _usage(opts, "-B memory: %s" % err) from None


def _hvparams(raw: Optional[Dict[str, Any]]) -> dict:
    """``modify -H`` values; ``default`` (any case) removes an instance's override."""
    return {key: C.VALUE_DEFAULT if _is_default(value) else value
            for key, value in (raw or {}).items()}


# asking the user ------------------------------------------------------------------------

Choice = Tuple[str, Any, str]
YES_NO: List[Choice] = [("y", True, "Perform the operation"),
                        ("n", False, "Do not perform the operation")]


def ask_user(text: str, choices: Sequence[Choice] = YES_NO, stdin: Optional[IO[str]] = None,
             stdout: Optional[IO[str]] = None) -> Any:
    """Ask a question; the last choice (no) answers when stdin is no terminal, or at EOF.

    A command run from a script must not hang on a prompt nor be confirmed
    by accident, so it needs its force option.
    """
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    keys = [c[0] for c in choices]
    keys[-1] = "[%s]" % keys[-1]
    keys.append("?")
    answers = {c[0]: c[1] for c in choices}
    text = "\n".join(textwrap.fill(line, 70, replace_whitespace=False)
                     for line in text.splitlines())
    while True:
        stdout.write("%s\n%s: " % (text, "/".join(keys)))
        stdout.flush()
        if not stdin.isatty():
            stdout.write("\nStandard input is not a terminal: answering %s.\n" % choices[-1][0])
            return choices[-1][1]
        line = stdin.readline()
        if not line:
            stdout.write("\n")
            return choices[-1][1]
        answer = line.strip().lower() or choices[-1][0]
        if answer in answers:
            return answers[answer]
        if answer == "?":
            for key, _, help_text in choices:
                stdout.write(" %s - %s\n" % (key, help_text))
            stdout.write("\n")


def confirm_operation(names: List[str], what: str, warning: str = "") -> bool:
    """Ganeti's multi-instance confirmation; over 20 instances the list is shown on ``v``."""
    question = "%sThe %s will operate on %d instances.\nDo you want to continue?" \
        % (warning, what, len(names))
    affected = "\nAffected instances:\n" + "\n".join("  %s" % name for name in names)
    choices: List[Choice] = [("y", True, "Yes, execute the %s" % what),
                             ("n", False, "No, abort the %s" % what)]
    if len(names) > 20:
        answer = ask_user(question, choices[:1] + [("v", "v", "View the list of affected "
                                                                "instances")] + choices[1:])
        if answer != "v":
            return answer
    return ask_user(question + affected, choices)


# talking to the master ------------------------------------------------------------------

def query_instances(opts: Any, names: List[str], fields: List[str],
                    use_locking: bool = False) -> list:
    """Rows of OP_INSTANCE_QUERY through LUXI QueryInstances (no job, spec 1.2)."""
    return get_client(opts.paths).query_instances(names, fields, use_locking)


def submit_jobs(opts: Any, jobs: List[Tuple[str, opcodes.OpCode]], wait: bool,
                verbose: bool) -> int:
    """One job per ``(instance, opcode)``, submitted together, then followed in turn.

    Without ``wait`` print ``<jobid>: <name>``. A failed job of several is
    reported and the others are still followed; a single job's error is raised.
    """
    client = get_client(opts.paths)
    results = client.submit_many_jobs([[op.to_dict()] for _, op in jobs])
    code = 0
    submitted = []
    for (name, _), (ok, data) in zip(jobs, results):
        if ok:
            submitted.append((name, data))
            if not wait:
                print("%s: %s" % (data, name))
        else:
            sys.stderr.write("Failed to submit job for %s: %s\n" % (name, data))
            code = C.EXIT_FAILURE
    if not wait:
        return code
    if verbose and submitted:
        print("Submitted jobs %s" % ", ".join(job_id for _, job_id in submitted), flush=True)
    for name, job_id in submitted:
        if verbose:
            print("Waiting for job %s for %s..." % (job_id, name), flush=True)
        try:
            poll_job(client, job_id)
        except errors.GenericError as err:
            if not verbose:
                raise
            sys.stderr.write("Job %s for %s has failed: %s\n"
                             % (job_id, name, errors.format_error(err)))
            code = C.EXIT_FAILURE
    return code


# instance selection for startup/shutdown/reboot/reinstall -----------------------------------

MODE_INSTANCE, MODE_NODE, MODE_PRIMARY, MODE_SECONDARY, MODE_ALL = (
    "instance", "node", "primary", "secondary", "all")


def filter_by_nodes(rows: List[list], nodes: Sequence[str], mode: str) -> List[str]:
    """Instances of ``[name, pnode, snodes]`` rows having a node of ``nodes`` in ``mode``'s role."""
    wanted = set(nodes)
    return [name for name, pnode, snodes in rows
            if (mode != MODE_SECONDARY and pnode in wanted)
            or (mode != MODE_PRIMARY and wanted.intersection(snodes))]


def select_instances(opts: Any) -> List[str]:
    """The instances a multi-instance command acts on (spec 6.4 selection flags)."""
    mode, args = opts.multi_mode, opts.names
    if mode == MODE_ALL:
        if args:
            raise _usage(opts, "--all takes no instance or node names")
        names = [row[0] for row in query_instances(opts, [], ["name"])]
    elif not args:
        raise _usage(opts, "no %s given" % ("instance" if mode == MODE_INSTANCE else "node"))
    elif mode == MODE_INSTANCE:
        names = [row[0] for row in query_instances(opts, args, ["name"])]
    else:
        nodes = [row[0] for row in get_client(opts.paths).query_nodes(args, ["name"])]
        names = filter_by_nodes(query_instances(opts, [], ["name", "pnode", "snodes"]),
                                nodes, mode)
    if not names:
        raise _usage(opts, "the selection matches no instance")
    return names


def _run_on_instances(opts: Any, names: List[str], what: str,
                      build: Callable[[Any, str], opcodes.OpCode], force_multi: bool,
                      warning: str = "") -> int:
    """Confirm a multi-instance operation unless forced, then run one job per instance."""
    multi = opts.multi_mode != MODE_INSTANCE or len(names) > 1
    if multi and not force_multi and not confirm_operation(names, what, warning):
        return C.EXIT_FAILURE
    jobs = [(name, build(opts, name)) for name in names]
    return submit_jobs(opts, jobs, wait=not opts.submit, verbose=multi)


def build_startup_op(opts: Any, name: str) -> opcodes.OpCode:
    return _make_op(opts, opcodes.OpInstanceStartup, instance_name=name, force=opts.force,
                    hvparams=opts.hvparams or {}, beparams=_option_beparams(opts))


def build_shutdown_op(opts: Any, name: str) -> opcodes.OpCode:
    return _make_op(opts, opcodes.OpInstanceShutdown, instance_name=name)


def build_reboot_op(opts: Any, name: str) -> opcodes.OpCode:
    return _make_op(opts, opcodes.OpInstanceReboot, instance_name=name,
                    reboot_type=opts.reboot_type, ignore_secondaries=opts.ignore_secondaries)


def startup(opts: Any) -> int:
    names = select_instances(opts)
    return _run_on_instances(opts, names, "startup", build_startup_op, opts.force_multiple)


def shutdown(opts: Any) -> int:
    names = select_instances(opts)
    return _run_on_instances(opts, names, "shutdown", build_shutdown_op, opts.force_multiple)


def reboot(opts: Any) -> int:
    names = select_instances(opts)
    return _run_on_instances(opts, names, "reboot", build_reboot_op, opts.force_multiple)


def _choose_os(opts: Any) -> Optional[str]:
    """Numbered menu of the OSes valid on every node; None if the user aborts."""
    rows = submit_one(opts, opcodes.OpOsDiagnose(output_fields=["name", "valid"]))
    valid = utils.nice_sort(name for name, ok in rows or [] if ok)
    if not valid:
        raise errors.OpPrereqError("No valid OS found on the cluster's nodes")
    print("Available OS templates:")
    for number, name in enumerate(valid):
        print("%3s: %s" % (number, name))
    choices: List[Choice] = [(str(i), name, name) for i, name in enumerate(valid)]
    choices.append(("x", None, "Exit gnt-instance reinstall"))
    return ask_user("Enter OS template number (or x to abort):", choices)


def reinstall(opts: Any) -> int:
    if opts.select_os and opts.os:
        raise _usage(opts, "give either -o/--os-type or --select-os, not both")
    names = select_instances(opts)
    os_name = opts.os
    if opts.select_os:
        os_name = _choose_os(opts)
        if os_name is None:
            sys.stderr.write("User aborted reinstall, exiting\n")
            return C.EXIT_FAILURE
    if opts.multi_mode == MODE_INSTANCE and len(names) == 1 and not opts.force and \
            not ask_user("This will reinstall the instance %s and remove all data. Continue?"
                         % names[0]):
        return C.EXIT_FAILURE

    def build(opts: Any, name: str) -> opcodes.OpCode:
        return _make_op(opts, opcodes.OpInstanceReinstall, instance_name=name, os_type=os_name)
    return _run_on_instances(opts, names, "reinstall", build,
                             opts.force_multiple and opts.force,
                             "Note: this will remove *all* data for the below instances!\n")


# add and batch-create -------------------------------------------------------------------

def _check_hypervisor(opts: Any, name: Optional[str]) -> None:
    if name is not None and name not in C.HYPER_TYPES:
        raise _usage(opts, "unknown hypervisor '%s' (known: %s)"
                     % (name, ", ".join(sorted(C.HYPER_TYPES))))


def build_create_op(opts: Any) -> opcodes.OpCode:
    """OP_INSTANCE_CREATE from ``gnt-instance add`` options, checked before submission."""
    template = opts.disk_template
    if opts.os_size is not None and opts.disks:
        raise _usage(opts, "give either --disk or -s/--os-size, not both")
    if template == C.DT_DISKLESS:
        if opts.os_size is not None or opts.disks:
            raise _usage(opts, "diskless instances take no disks (-s/--os-size, --disk)")
        disks: List[dict] = []
    elif opts.os_size is not None:
        disks = [{"size": opts.os_size}]
    elif opts.disks:
        disks = _indexed_list(opts, "--disk", opts.disks)
    else:
        raise _usage(opts, "give the disks with --disk or -s/--os-size (only diskless "
                           "instances have none)")
    if opts.no_nics and opts.nics:
        raise _usage(opts, "give either --net or --no-nics, not both")
    nics = [] if opts.no_nics else (_indexed_list(opts, "--net", opts.nics) if opts.nics
                                    else [{}])
    if opts.node and opts.iallocator:
        raise _usage(opts, "give either the nodes (-n) or an iallocator (-I), not both")
    if not opts.node and not opts.iallocator:
        raise _usage(opts, "give the nodes (-n PNODE[:SNODE]) or an iallocator (-I)")
    pnode = snode = None
    if opts.node:
        pnode, _, snode = opts.node.partition(":")
        if not pnode:
            raise _usage(opts, "-n needs a primary node: -n PNODE[:SNODE]")
    hypervisor, hvparams = opts.hypervisor or (None, {})
    _check_hypervisor(opts, hypervisor)
    name_check = not opts.no_name_check
    return _make_op(opts, opcodes.OpInstanceCreate, instance_name=opts.instance,
                    disk_template=template, disks=disks, nics=nics, os_type=opts.os,
                    pnode=pnode, snode=snode or None, iallocator=opts.iallocator,
                    hypervisor=hypervisor, hvparams=hvparams,
                    beparams=_option_beparams(opts), start=not opts.no_start,
                    wait_for_sync=not opts.no_wait_for_sync,
                    ip_check=name_check and not opts.no_ip_check, name_check=name_check,
                    no_install=opts.no_install, file_storage_dir=opts.file_storage_dir,
                    file_driver=opts.file_driver)


def add(opts: Any) -> int:
    submit_one(opts, build_create_op(opts))
    return 0


def _one_of(values: Any) -> Tuple[Callable[[Any], bool], str]:
    return (lambda v: isinstance(v, str) and v in values,
            "one of %s" % ", ".join(sorted(values)))


_STR_OR_NULL = (lambda v: v is None or isinstance(v, str), "a string or null")
_BOOL = (lambda v: isinstance(v, bool), "true or false")
_OBJECT = (lambda v: isinstance(v, dict), "an object")
# batch-create: key -> (default, check, what the check wants); REQUIRED keys have no default
_BATCH_KEYS: Dict[str, Tuple[Any, Callable[[Any], bool], str]] = {
    "template": (opcodes.REQUIRED,) + _one_of(C.DISK_TEMPLATES),
    "os": (opcodes.REQUIRED, lambda v: isinstance(v, str) and bool(v), "an OS name"),
    "disk_size": ([20 * 1024], lambda v: isinstance(v, list) and bool(v),
                  "a non-empty list of sizes"),
    "backend": ({},) + _OBJECT,
    "hypervisor": (None, lambda v: v is None or _one_of(C.HYPER_TYPES)[0](v),
                   _one_of(C.HYPER_TYPES)[1]),
    "hvparams": ({},) + _OBJECT,
    "primary_node": (None,) + _STR_OR_NULL,
    "secondary_node": (None,) + _STR_OR_NULL,
    "iallocator": (None,) + _STR_OR_NULL,
    "ip": (C.VALUE_NONE,) + _STR_OR_NULL,
    "mac": (C.VALUE_AUTO,) + _STR_OR_NULL,
    "bridge": (None,) + _STR_OR_NULL,
    "start": (True,) + _BOOL,
    "ip_check": (True,) + _BOOL,
    "name_check": (True,) + _BOOL,
    "file_storage_dir": (None,) + _STR_OR_NULL,
    "file_driver": (C.FD_LOOP,) + _one_of(C.FILE_DRIVERS),
}


def _batch_op(name: str, spec: Any) -> opcodes.OpCode:
    """OP_INSTANCE_CREATE for one instance of a batch-create file (ValueError if invalid)."""
    if not isinstance(spec, dict):
        raise ValueError("the specification must be a JSON object")
    unknown = sorted(set(spec) - set(_BATCH_KEYS))
    if unknown:
        raise ValueError("unknown key(s) %s" % ", ".join("'%s'" % k for k in unknown))
    values = {}
    for key, (default, check, wanted) in _BATCH_KEYS.items():
        if key not in spec and default is opcodes.REQUIRED:
            raise ValueError("missing required key '%s'" % key)
        values[key] = spec.get(key, default)
        if not check(values[key]):
            raise ValueError("'%s' must be %s, got %s" % (key, wanted, json.dumps(values[key])))
    template = values["template"]
    if template == C.DT_DISKLESS and "disk_size" in spec:
        raise ValueError("'disk_size' given for a diskless instance")
    try:
        disks = [] if template == C.DT_DISKLESS else \
            [{"size": utils.parse_unit(size)} for size in values["disk_size"]]
    except ValueError as err:
        raise ValueError("'disk_size': %s" % err) from None
    try:
        beparams = _beparams(values["backend"])
    except ValueError as err:
        raise ValueError("'backend': %s" % err) from None
    if values["primary_node"] is None and values["iallocator"] is None:
        raise ValueError("give 'primary_node' or 'iallocator'")
    if template == C.DT_DRBD8 and values["primary_node"] is not None and \
            values["secondary_node"] is None:
        raise ValueError("'secondary_node' is required for the drbd template")
    try:
        return opcodes.OpInstanceCreate(
            instance_name=name, disk_template=template, disks=disks,
            nics=[{"ip": values["ip"], "mac": values["mac"], "bridge": values["bridge"]}],
            os_type=values["os"], pnode=values["primary_node"], snode=values["secondary_node"],
            # the nodes take precedence over an iallocator
            iallocator=values["iallocator"] if values["primary_node"] is None else None,
            hypervisor=values["hypervisor"], hvparams=values["hvparams"], beparams=beparams,
            start=values["start"], name_check=values["name_check"],
            # as with add, no name check means no IP check
            ip_check=values["ip_check"] and values["name_check"], wait_for_sync=True,
            file_storage_dir=values["file_storage_dir"], file_driver=values["file_driver"])
    except errors.GenericError as err:
        raise ValueError(str(err)) from None


def build_batch_ops(opts: Any, data: Any) -> List[Tuple[str, opcodes.OpCode]]:
    """One OP_INSTANCE_CREATE per instance of a batch-create file, all checked first."""
    if not isinstance(data, dict) or not data:
        raise _usage(opts, "the file must hold a JSON object {instance name: "
                           "specification, ...}")
    jobs = []
    for name in utils.nice_sort(data):
        try:
            jobs.append((name, _batch_op(name, data[name])))
        except ValueError as err:
            raise _usage(opts, "instance %s: %s" % (name, err)) from None
    return jobs


def batch_create(opts: Any) -> int:
    try:
        with open(opts.file) as fh:
            data = json.load(fh)
    except (OSError, ValueError) as err:
        raise _usage(opts, "cannot read the instance definition file %s: %s"
                     % (opts.file, err)) from None
    # Ganeti 2.0 never waited; later versions do, so the exit code tells
    return submit_jobs(opts, build_batch_ops(opts, data), wait=not opts.submit, verbose=True)


# list and info ---------------------------------------------------------------------------

def list_instances(opts: Any) -> int:
    fields = selected_fields(opts.output, DEFAULT_FIELDS)
    rows = query_instances(opts, opts.names, fields, opts.sync)
    for line in format_instance_table(fields, rows, opts.separator, opts.no_headers,
                                      opts.units):
        print(line)
    return 0


def info(opts: Any) -> int:
    if not opts.names and not opts.all:
        raise _usage(opts, "no instance selected; pass --all to show all instances (this "
                           "can take a long time on a big cluster)")
    if opts.names and opts.all:
        raise _usage(opts, "--all cannot be combined with instance names")
    result = submit_one(opts, opcodes.OpInstanceQueryData(instances=opts.names,
                                                          static=opts.static))
    if not result:
        print("No instances.")
        return C.EXIT_FAILURE
    for name in utils.nice_sort(result):
        for line in format_instance_info(result[name], opts.static):
            print(line)
    return 0


# single-instance commands --------------------------------------------------------------------

def remove(opts: Any) -> int:
    if not opts.force:
        query_instances(opts, [opts.instance], ["name"])
        if not ask_user("This will remove the volumes of the instance %s (including mirrors),"
                        " thus removing all the data of the instance. Continue?"
                        % opts.instance):
            return C.EXIT_FAILURE
    submit_one(opts, _make_op(opts, opcodes.OpInstanceRemove, instance_name=opts.instance,
                              ignore_failures=opts.ignore_failures))
    return 0


def build_modify_op(opts: Any) -> opcodes.OpCode:
    """OP_INSTANCE_SET_PARAMS from ``gnt-instance modify`` options."""
    if not (opts.hvparams or opts.beparams or opts.disks or opts.nics):
        raise _usage(opts, "give at least one of -H, -B, --disk, --net")
    for index, params in opts.disks:
        if index == "add" and "size" not in params:
            raise _usage(opts, "--disk add needs a size: --disk add:size=SIZE[,mode=ro|rw]")
    return _make_op(opts, opcodes.OpInstanceSetParams, instance_name=opts.instance,
                    hvparams=_hvparams(opts.hvparams),
                    beparams=_option_beparams(opts, allow_default=True),
                    disks=[list(mod) for mod in opts.disks],
                    nics=[list(mod) for mod in opts.nics], force=opts.force)


def modify(opts: Any) -> int:
    result = submit_one(opts, build_modify_op(opts))
    if result:
        print("Modified instance %s" % opts.instance)
        for param, value in result:
            print(" - %-5s -> %s" % (param, value))
        print("Please don't forget that these parameters take effect only at the next start "
              "of the instance.")
    return 0


def rename(opts: Any) -> int:
    name_check = not opts.no_name_check
    submit_one(opts, _make_op(opts, opcodes.OpInstanceRename, instance_name=opts.instance,
                              new_name=opts.new_name, name_check=name_check,
                              ignore_ip=opts.no_ip_check or not name_check))
    return 0


def activate_disks(opts: Any) -> int:
    result = submit_one(opts, _make_op(opts, opcodes.OpInstanceActivateDisks,
                                       instance_name=opts.instance,
                                       ignore_size=opts.ignore_size))
    for node, iv_name, path in result or []:
        print("%s:%s:%s" % (node, iv_name, path))
    return 0


def deactivate_disks(opts: Any) -> int:
    submit_one(opts, _make_op(opts, opcodes.OpInstanceDeactivateDisks,
                              instance_name=opts.instance))
    return 0


def build_grow_disk_op(opts: Any) -> opcodes.OpCode:
    if not opts.disk.isdigit():
        raise _usage(opts, "invalid disk index '%s' (0 for the first disk)" % opts.disk)
    return _make_op(opts, opcodes.OpInstanceGrowDisk, instance_name=opts.instance,
                    disk=int(opts.disk), amount=opts.amount,
                    wait_for_sync=not opts.no_wait_for_sync)


def grow_disk(opts: Any) -> int:
    submit_one(opts, build_grow_disk_op(opts))
    return 0


def console_command(command: Any) -> List[str]:
    """The argv to exec for OP_INSTANCE_CONSOLE's result (a list, or a shell command)."""
    if isinstance(command, str):
        return ["sh", "-c", command]
    return [str(arg) for arg in command]


def console(opts: Any) -> int:
    command = submit_one(opts, _make_op(opts, opcodes.OpInstanceConsole,
                                        instance_name=opts.instance))
    if opts.show_cmd:
        print(command if isinstance(command, str) else shlex.join(console_command(command)))
        return 0
    argv = console_command(command)
    sys.stdout.flush()
    try:
        os.execvp(argv[0], argv)
    except OSError as err:
        raise errors.OpExecError("Can't run the console command %s: %s"
                                 % (shlex.join(argv), err.strerror)) from None


def failover(opts: Any) -> int:
    if not opts.force:
        query_instances(opts, [opts.instance], ["name"])
        if not ask_user("Failover will happen to image %s. This requires a shutdown of the "
                        "instance. Continue?" % opts.instance):
            return C.EXIT_FAILURE
    submit_one(opts, _make_op(opts, opcodes.OpInstanceFailover, instance_name=opts.instance,
                              ignore_consistency=opts.ignore_consistency,
                              target_node=opts.target_node, iallocator=opts.iallocator))
    return 0


def migrate(opts: Any) -> int:
    if not opts.force:
        query_instances(opts, [opts.instance], ["name"])
        if opts.cleanup:
            text = ("Instance %s will be recovered from a failed migration. Note that the "
                    "migration procedure (including cleanup)" % opts.instance)
        else:
            text = "Instance %s will be migrated. Note that migration" % opts.instance
        if not ask_user(text + " is **experimental** in this version. This might impact the "
                        "instance if anything goes wrong. Continue?"):
            return C.EXIT_FAILURE
    submit_one(opts, _make_op(opts, opcodes.OpInstanceMigrate, instance_name=opts.instance,
                              live=not opts.non_live, cleanup=opts.cleanup,
                              target_node=opts.target_node, iallocator=opts.iallocator))
    return 0


def replace_disks(opts: Any) -> int:
    raise _usage(opts, "replace-disks needs the drbd disk template, which this version does "
                       "not support yet")


# the parser ------------------------------------------------------------------------------


def _add_selection_options(p: argparse.ArgumentParser) -> None:
    """The multi-instance flags of spec 6.4; the last one given wins."""
    p.set_defaults(multi_mode=MODE_INSTANCE)
    for flag, mode, help_text in (
            ("--instance", MODE_INSTANCE, "the arguments are instances (the default)"),
            ("--node", MODE_NODE, "the instances having an argument node as primary or "
                                  "secondary"),
            ("--primary", MODE_PRIMARY, "the instances having an argument node as primary"),
            ("--secondary", MODE_SECONDARY, "the instances having an argument node as "
                                            "secondary"),
            ("--all", MODE_ALL, "all instances (no arguments)")):
        p.add_argument(flag, dest="multi_mode", action="store_const", const=mode,
                       help=help_text)
    p.add_argument("--force-multiple", action="store_true",
                   help="do not ask for confirmation when several instances are affected")
    add_submit_option(p)
    p.add_argument("names", nargs="*", metavar="NAME")


def add_target_options(p: argparse.ArgumentParser) -> None:
    """Where failover and migrate move an instance on shared storage (Ganeti 2.6's options)."""
    p.add_argument("-n", "--target-node", metavar="NODE", help="move the instance to NODE")
    p.add_argument("-I", "--iallocator", metavar="NAME", help="let NAME choose the node")


def build_parser() -> Parser:
    parser, sub = make_parser("gnt-instance", "Ganeti instance administration")

    p = add_command(sub, "add", add, "create an instance")
    p.add_argument("-t", "--disk-template", required=True,
                   choices=sorted(C.DISK_TEMPLATES), help="disk layout")
    p.add_argument("--disk", dest="disks", action="append", type=disk_arg, default=[],
                   metavar="N:size=SIZE[,mode=ro|rw]", help="disk N (repeatable)")
    p.add_argument("-s", "--os-size", type=size_arg, metavar="SIZE",
                   help="a single disk 0 of SIZE")
    p.add_argument("--net", dest="nics", action="append", type=nic_arg, default=[],
                   metavar="N:mac=MAC,ip=IP,bridge=BR", help="NIC N (repeatable)")
    p.add_argument("--no-nics", action="store_true", help="create no NIC")
    p.add_argument("-n", "--node", metavar="PNODE[:SNODE]", help="primary (and secondary) node")
    p.add_argument("-I", "--iallocator", metavar="NAME", help="choose the nodes with NAME")
    p.add_argument("-o", "--os-type", dest="os", required=True, metavar="OS", help="guest OS")
    p.add_argument("-B", "--backend-parameters", dest="beparams", type=keyval_arg,
                   metavar="key=val,...", help="memory, vcpus, auto_balance")
    p.add_argument("-H", "--hypervisor", type=ident_keyval_arg, metavar="HV[:key=val,...]",
                   help="hypervisor and its parameters for this instance")
    p.add_argument("--no-start", action="store_true", help="do not start the instance")
    p.add_argument("--no-install", action="store_true",
                   help="do not run the OS create script on the new disks")
    p.add_argument("--no-ip-check", action="store_true",
                   help="do not check that the instance's IP is unused")
    p.add_argument("--no-name-check", action="store_true",
                   help="do not resolve the name (implies --no-ip-check)")
    p.add_argument("--no-wait-for-sync", action="store_true",
                   help="do not wait for the disks to sync")
    p.add_argument("--file-storage-dir", metavar="REL",
                   help="sub-directory of the cluster's file storage directory")
    p.add_argument("--file-driver", choices=sorted(C.FILE_DRIVERS), default=C.FD_LOOP)
    add_submit_option(p)
    p.add_argument("instance", metavar="NAME")

    p = add_command(sub, "batch-create", batch_create, "create instances from a JSON file")
    p.add_argument("file", metavar="FILE.json")
    add_submit_option(p)

    p = add_command(sub, "remove", remove, "remove an instance and its disks")
    p.add_argument("-f", "--force", action="store_true", help="do not ask for confirmation")
    p.add_argument("--ignore-failures", action="store_true",
                   help="remove the instance even if removing its disks fails")
    add_submit_option(p)
    p.add_argument("instance", metavar="NAME")

    p = add_command(sub, "list", list_instances, "list instances")
    add_list_options(p)
    p.add_argument("--sync", action="store_true", help="query with locks (refused by the "
                                                       "master daemon)")
    p.add_argument("names", nargs="*", metavar="NAME")

    p = add_command(sub, "info", info, "show instance details")
    p.add_argument("-s", "--static", action="store_true",
                   help="only the configuration, do not ask the nodes")
    p.add_argument("--all", action="store_true", help="all instances")
    p.add_argument("names", nargs="*", metavar="NAME")

    p = add_command(sub, "modify", modify, "change an instance's parameters")
    p.add_argument("-H", "--hypervisor-parameters", dest="hvparams", type=keyval_arg,
                   metavar="key=val,...")
    p.add_argument("-B", "--backend-parameters", dest="beparams", type=keyval_arg,
                   metavar="key=val,...")
    p.add_argument("--disk", dest="disks", action="append", type=disk_mod_arg, default=[],
                   metavar="add:size=SIZE[,mode=M]|remove|N:mode=M")
    p.add_argument("--net", dest="nics", action="append", type=nic_mod_arg, default=[],
                   metavar="add[:mac=,ip=,bridge=]|remove|N:mac=,ip=,bridge=")
    p.add_argument("-f", "--force", action="store_true",
                   help="skip the memory and bridge checks")
    add_submit_option(p)
    p.add_argument("instance", metavar="NAME")

    p = add_command(sub, "reinstall", reinstall, "reinstall the OS of instances")
    p.add_argument("-o", "--os-type", dest="os", metavar="OS", help="install this OS")
    p.add_argument("--select-os", action="store_true", help="choose the OS from a menu")
    p.add_argument("-f", "--force", action="store_true", help="do not ask for confirmation")
    _add_selection_options(p)

    p = add_command(sub, "rename", rename, "rename an instance")
    p.add_argument("--no-ip-check", action="store_true",
                   help="do not check that the new IP is unused")
    p.add_argument("--no-name-check", action="store_true",
                   help="do not resolve the new name (implies --no-ip-check)")
    add_submit_option(p)
    p.add_argument("instance", metavar="NAME")
    p.add_argument("new_name", metavar="NEW_NAME")

    p = add_command(sub, "startup", startup, "start instances", aliases=["start"])
    p.add_argument("-f", "--force", action="store_true",
                   help="ignore disk errors on secondary nodes")
    p.add_argument("-H", "--hypervisor-parameters", dest="hvparams", type=keyval_arg,
                   metavar="key=val,...", help="hypervisor parameters for this start only")
    p.add_argument("-B", "--backend-parameters", dest="beparams", type=keyval_arg,
                   metavar="key=val,...", help="backend parameters for this start only")
    _add_selection_options(p)

    p = add_command(sub, "shutdown", shutdown, "stop instances", aliases=["stop"])
    _add_selection_options(p)

    p = add_command(sub, "reboot", reboot, "reboot instances")
    p.add_argument("-t", "--type", dest="reboot_type", choices=sorted(C.REBOOT_TYPES),
                   default=C.REBOOT_HARD, help="soft, hard (the default) or full")
    p.add_argument("--ignore-secondaries", action="store_true",
                   help="ignore secondary disk errors (full reboot)")
    _add_selection_options(p)

    p = add_command(sub, "console", console, "connect to an instance's console")
    p.add_argument("--show-cmd", action="store_true", help="print the command, do not run it")
    p.add_argument("instance", metavar="NAME")

    p = add_command(sub, "replace-disks", replace_disks, "replace mirrored disks (drbd only)",
                 aliases=["replace_disks"])
    p.add_argument("-p", "--on-primary", action="store_true")
    p.add_argument("-s", "--on-secondary", action="store_true")
    p.add_argument("-n", "--new-secondary", metavar="NODE")
    p.add_argument("-I", "--iallocator", metavar="NAME")
    p.add_argument("--disks", metavar="N,N...")
    add_submit_option(p)
    p.add_argument("instance", metavar="NAME")

    p = add_command(sub, "activate-disks", activate_disks, "assemble an instance's disks",
                 aliases=["activate_block_devs"])
    p.add_argument("--ignore-size", action="store_true",
                   help="assemble the disks whatever their recorded size")
    add_submit_option(p)
    p.add_argument("instance", metavar="NAME")

    p = add_command(sub, "deactivate-disks", deactivate_disks, "shut an instance's disks down")
    add_submit_option(p)
    p.add_argument("instance", metavar="NAME")

    p = add_command(sub, "grow-disk", grow_disk, "grow a disk of an instance")
    p.add_argument("--no-wait-for-sync", action="store_true",
                   help="do not wait for the disk to sync")
    add_submit_option(p)
    p.add_argument("instance", metavar="NAME")
    p.add_argument("disk", metavar="DISK", help="disk index")
    p.add_argument("amount", type=size_arg, metavar="AMOUNT", help="size to add")

    p = add_command(sub, "failover", failover, "restart an instance on another node")
    p.add_argument("-f", "--force", action="store_true", help="do not ask for confirmation")
    add_target_options(p)
    p.add_argument("--ignore-consistency", action="store_true",
                   help="fail over even if the disks are degraded")
    add_submit_option(p)
    p.add_argument("instance", metavar="NAME")

    p = add_command(sub, "migrate", migrate, "move a running instance to another node")
    p.add_argument("-f", "--force", action="store_true", help="do not ask for confirmation")
    add_target_options(p)
    p.add_argument("--non-live", action="store_true", help="pause the instance while moving")
    p.add_argument("--cleanup", action="store_true", help="recover from a failed migration")
    p.add_argument("instance", metavar="NAME")

    add_tag_commands(sub, C.TAG_INSTANCE)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    return run(build_parser(), argv)
