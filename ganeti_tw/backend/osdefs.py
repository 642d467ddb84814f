"""Guest OS definitions (OS API 10, spec 10): finding, validating, running their scripts.

An OS definition is a directory holding ``ganeti_api_version`` and the
executables ``create``, ``import``, ``export`` and ``rename``; they get all
their input from the environment, never from arguments.
"""

import os
import stat
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import ganeti_tw
from ganeti_tw import constants, errors
from ganeti_tw.backend.context import NodeContext
from ganeti_tw.backend.process import run_process
from ganeti_tw.paths import Paths

# A guest's files must get the modes of a normal install (an /etc/hostname
# every user can read), not the node daemon's private 077.
OS_SCRIPT_UMASK = 0o022

API_FILE = "ganeti_api_version"
OS_SCRIPTS = ("create", "import", "export", "rename")
#: the OS definitions shipped with ganeti-tw, searched after every system dir
PACKAGE_OS_DIR = os.path.join(os.path.dirname(ganeti_tw.__file__), "data", "os")
#: an OS install may fetch and unpack a whole distribution; a hung one must still end
SCRIPT_TIMEOUT = 30 * 60
SCRIPT_PATH_ENV = "/sbin:/bin:/usr/sbin:/usr/bin"
#: how much of a failed script's log goes into the error message
ERROR_LOG_LINES = 20
_ERROR_LINE_CHARS = 300
_API_FILE_LIMIT = 4096


class InvalidOS(errors.OpPrereqError):
    """An OS definition is missing or broken; ``reason`` says why."""

    def __init__(self, name: str, path: Optional[str], reason: str):
        # callers name the OS and the node; the message adds only what they lack
        super().__init__(reason + (" (path: %s)" % path if path else ""))
        self.name = name
        self.path = path
        self.reason = reason


@dataclass
class OSDefinition:
    """A validated OS definition directory."""

    name: str
    path: str
    api_versions: List[int] = field(default_factory=list)

    def script(self, script: str) -> str:
        return os.path.join(self.path, script)


def search_path(paths: Paths) -> List[str]:
    """The directories searched for OS definitions, in order.

    A node of a local cluster (root not ``/``) also searches the system dirs
    themselves, so OS packages installed on the machine (Debian's
    ganeti-os-noop in /usr/share/ganeti/os) serve all its nodes.
    """
    dirs = list(paths.os_search_path)
    if paths.root != "/":
        dirs += constants.OS_SEARCH_PATH
    dirs.append(PACKAGE_OS_DIR)
    return list(dict.fromkeys(dirs))


def _regular_file(name: str, os_dir: str, filename: str, absent: str,
                  irregular: str) -> os.stat_result:
    """stat() of a file the definition needs; InvalidOS with ``absent`` or ``irregular``."""
    try:
        st = os.stat(os.path.join(os_dir, filename))
    except OSError as err:
        raise InvalidOS(name, os_dir, "'%s' %s (%s)" % (filename, absent, err.strerror)) \
            from None
    if not stat.S_ISREG(st.st_mode):
        raise InvalidOS(name, os_dir, "'%s' %s" % (filename, irregular))
    return st


def _api_versions(name: str, os_dir: str) -> List[int]:
    api_file = os.path.join(os_dir, API_FILE)
    _regular_file(name, os_dir, API_FILE, "file not found", "file is not a regular file")
    try:
        with open(api_file, "rb") as fh:
            text = fh.read(_API_FILE_LIMIT).decode("ascii", "replace")
    except OSError as err:
        raise InvalidOS(name, os_dir, "error while reading the API version (%s)"
                        % err.strerror) from None
    try:
        return [int(line) for line in text.split() if line]
    except ValueError as err:
        raise InvalidOS(name, os_dir, "API version is not integer (%s)" % err) from None


def load_os(name: str, os_dir: str) -> OSDefinition:
    """Validate the OS definition in ``os_dir``; raise InvalidOS with the reason."""
    if not os.path.isdir(os_dir):
        raise InvalidOS(name, os_dir, "not a directory")
    versions = _api_versions(name, os_dir)
    if constants.OS_API_VERSION not in versions:
        raise InvalidOS(name, os_dir, "API version mismatch (found %s want %s)"
                        % (versions, constants.OS_API_VERSION))
    for script in OS_SCRIPTS:
        st = _regular_file(name, os_dir, script, "script missing", "is not a regular file")
        if not st.st_mode & stat.S_IXUSR:
            raise InvalidOS(name, os_dir, "'%s' script not executable" % script)
    return OSDefinition(name, os_dir, versions)


def find_os(paths: Paths, name: str) -> OSDefinition:
    """The OS ``name`` from the first search dir that has it; InvalidOS if none or broken."""
    if not name or name.startswith(".") or "/" in name:
        raise InvalidOS(name, None, "invalid OS name")
    dirs = search_path(paths)
    for top in dirs:
        os_dir = os.path.join(top, name)
        if os.path.isdir(os_dir):
            return load_os(name, os_dir)
    raise InvalidOS(name, None, "OS dir not found in search path (%s)" % ", ".join(dirs))


def diagnose(paths: Paths) -> List[List[Any]]:
    """``[name, path, status, valid]`` for every OS dir of every search dir, in search order."""
    result: List[List[Any]] = []
    for top in search_path(paths):
        try:
            names = sorted(n for n in os.listdir(top) if not n.startswith("."))
        except OSError:
            continue
        for name in names:
            os_dir = os.path.join(top, name)
            if not os.path.isdir(os_dir):
                continue
            try:
                load_os(name, os_dir)
            except InvalidOS as err:
                result.append([name, os_dir, err.reason, False])
            else:
                result.append([name, os_dir, constants.OS_VALID_STATUS, True])
    return result


# the scripts' environment (spec 10) ---------------------------------------------------

def _text(value: Any) -> str:
    return "" if value is None else str(value)


def os_environment(instance: Dict[str, Any], os_name: str, disk_paths: Sequence[str],
                   debug: int = 0) -> Dict[str, str]:
    """The environment of every OS script for ``instance``: spec 10's table, plus PATH.

    ``instance`` is an Instance's dict with filled hvparams/beparams;
    ``disk_paths`` are its disks' device paths on this node, in order.
    """
    disks = instance.get("disks", [])
    nics = instance.get("nics", [])
    hvparams = instance.get("hvparams", {})
    if len(disk_paths) != len(disks):
        raise errors.ProgrammerError("Instance %s has %d disks but %d device paths were given"
                                     % (instance.get("name"), len(disks), len(disk_paths)))
    env = {
        "PATH": SCRIPT_PATH_ENV,
        "OS_API_VERSION": str(constants.OS_API_VERSION),
        "INSTANCE_NAME": instance["name"],
        "INSTANCE_OS": os_name,
        "HYPERVISOR": _text(instance.get("hypervisor")),
        "DISK_COUNT": str(len(disks)),
        "NIC_COUNT": str(len(nics)),
        "DEBUG_LEVEL": str(debug),
    }
    for idx, (disk, path) in enumerate(zip(disks, disk_paths)):
        env["DISK_%d_PATH" % idx] = path
        env["DISK_%d_ACCESS" % idx] = _text(disk.get("mode", constants.DISK_RDWR))
        if "disk_type" in hvparams:
            env["DISK_%d_FRONTEND_TYPE" % idx] = _text(hvparams["disk_type"])
        if disk.get("dev_type") in (constants.DT_FILE, constants.DT_SHARED_FILE):
            env["DISK_%d_BACKEND_TYPE" % idx] = "file:%s" % disk["logical_id"][0]
        else:
            env["DISK_%d_BACKEND_TYPE" % idx] = "block"
    for idx, nic in enumerate(nics):
        env["NIC_%d_MAC" % idx] = _text(nic.get("mac"))
        env["NIC_%d_BRIDGE" % idx] = _text(nic.get("bridge"))
        if nic.get("ip"):
            env["NIC_%d_IP" % idx] = nic["ip"]
        if "nic_type" in hvparams:
            env["NIC_%d_FRONTEND_TYPE" % idx] = _text(hvparams["nic_type"])
    for kind, params in (("BE", instance.get("beparams", {})), ("HV", hvparams)):
        for key, value in params.items():
            env["INSTANCE_%s_%s" % (kind, key)] = str(value)
    return env


# running a script ----------------------------------------------------------------------

def _last_lines(log_path: str) -> str:
    try:
        with open(log_path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 64 * 1024))
            text = fh.read().decode("utf-8", "replace")
    except OSError as err:
        return "(log unreadable: %s)" % err.strerror
    lines = [line.strip()[:_ERROR_LINE_CHARS] for line in text.splitlines()]
    lines = [line for line in lines if line][-ERROR_LOG_LINES:]
    return " | ".join(lines) if lines else "(no output)"


def log_file_name(kind: str, names: Sequence[str], when: Optional[float] = None) -> str:
    """``<kind>-<name>-...-<unixtime>.log`` (spec 10: add, rename, exp, import)."""
    return "%s-%s-%d.log" % (kind, "-".join(names),
                             int(time.time() if when is None else when))


async def run_os_script(ctx: NodeContext, os_obj: OSDefinition, script: str,
                        instance: Dict[str, Any], disk_paths: Sequence[str], log_kind: str,
                        extra_env: Optional[Dict[str, str]] = None,
                        stdin_path: Optional[str] = None, stdout_path: Optional[str] = None,
                        log_names: Optional[Sequence[str]] = None,
                        timeout: float = SCRIPT_TIMEOUT) -> str:
    """Run one script of ``os_obj`` for ``instance``; return its log file's path.

    stdout and stderr go to the log (stdout to ``stdout_path`` if given);
    stdin is ``stdin_path`` or /dev/null. The script runs in its own session
    so a timeout kills whatever it started too. A failure raises OpExecError
    in one line with the log's last lines and its path.
    """
    env = os_environment(instance, os_obj.name, disk_paths)
    env.update(extra_env or {})
    names = list(log_names) if log_names is not None else [os_obj.name, instance["name"]]
    log_path = os.path.join(ctx.paths.os_log_dir, log_file_name(log_kind, names))
    fds: List[int] = []

    def cannot_open(path: str, err: OSError) -> errors.OpExecError:
        return errors.OpExecError("OS %s script on node %s: cannot open %s: %s"
                                  % (script, ctx.name, path, err.strerror))

    def open_fd(path: str, flags: int) -> int:
        try:
            if not os.path.isdir(ctx.paths.os_log_dir):
                os.makedirs(ctx.paths.os_log_dir, exist_ok=True)
                os.chmod(ctx.paths.os_log_dir, 0o750)  # spec 10; not the daemon's umask
            fds.append(os.open(path, flags, 0o640))
        except OSError as err:
            raise cannot_open(path, err) from None
        return fds[-1]

    try:
        # append: two exports of one instance within a second share a log name
        log_fd = open_fd(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        stdout_fd = (open_fd(stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
                     if stdout_path is not None else log_fd)
        # its own session, so the timeout kills whatever the script started too
        res = await run_process(ctx.reactor, [os_obj.script(script)], env, timeout,
                                cwd=os_obj.path, stdin=stdin_path, stdout=stdout_fd,
                                stderr=log_fd, own_session=True, umask=OS_SCRIPT_UMASK)
    except OSError as err:
        if stdin_path is not None and err.filename == stdin_path:
            raise cannot_open(stdin_path, err) from None
        raise errors.OpExecError("Cannot run OS %s script %s on node %s: %s"
                                 % (script, os_obj.script(script), ctx.name,
                                    err.strerror or err)) from None
    finally:
        for fd in fds:
            os.close(fd)
    if res.ok:
        return log_path
    raise errors.OpExecError("OS %s script failed (%s) on node %s, last lines: %s; "
                             "full log: %s" % (script, res.describe(), ctx.name,
                                               _last_lines(log_path), log_path))


# procedures ----------------------------------------------------------------------------

def os_diagnose(ctx: NodeContext) -> List[List[Any]]:
    """Every OS definition this node has, valid or not (for OP_OS_DIAGNOSE)."""
    return diagnose(ctx.paths)


def os_get(ctx: NodeContext, name: str) -> List[Any]:
    """``[name, path, api_versions]`` of the OS this node would use, or the reason it can't."""
    os_obj = find_os(ctx.paths, name)
    return [os_obj.name, os_obj.path, os_obj.api_versions]


async def instance_os_add(ctx: NodeContext, instance: Dict[str, Any],
                          disk_paths: List[str], reinstall: bool) -> str:
    """Install the instance's OS onto its disks (``create``); returns the log path.

    A reinstall also gets INSTANCE_REINSTALL=1, as Ganeti 2.1 and later
    pass it (ganeti-instance-debootstrap reads it); 2.0 scripts ignore it.
    """
    os_obj = find_os(ctx.paths, instance["os"])
    extra = {"INSTANCE_REINSTALL": "1"} if reinstall else {}
    return await run_os_script(ctx, os_obj, "create", instance, disk_paths, "add",
                               extra_env=extra)


async def instance_run_rename(ctx: NodeContext, instance: Dict[str, Any],
                              disk_paths: List[str], old_name: str) -> str:
    """Let the OS adapt to the instance's new name (``rename``); returns the log path."""
    os_obj = find_os(ctx.paths, instance["os"])
    return await run_os_script(ctx, os_obj, "rename", instance, disk_paths, "rename",
                               extra_env={"OLD_INSTANCE_NAME": old_name},
                               log_names=[os_obj.name, old_name, instance["name"]])


def _check_index(instance: Dict[str, Any], disk_index: int) -> None:
    if not isinstance(disk_index, int) or not 0 <= disk_index < len(instance.get("disks", [])):
        raise errors.OpExecError("Instance %s has no disk %r" % (instance.get("name"),
                                                                 disk_index))


async def _disk_transfer(ctx: NodeContext, script: str, instance: Dict[str, Any],
                         disk_paths: List[str], disk_index: int, device_path: str,
                         dump_file: str) -> str:
    """Run ``export`` (device into ``dump_file``) or ``import`` (``dump_file`` onto the device).

    Both get ``<SCRIPT>_DEVICE``/``<SCRIPT>_INDEX``; the dump is export's
    stdout and import's stdin (spec 10).
    """
    _check_index(instance, disk_index)
    os_obj = find_os(ctx.paths, instance["os"])
    exporting = script == "export"
    prefix = script.upper()
    return await run_os_script(ctx, os_obj, script, instance, disk_paths,
                               "exp" if exporting else "import",
                               extra_env={prefix + "_DEVICE": device_path,
                                          prefix + "_INDEX": str(disk_index)},
                               stdout_path=dump_file if exporting else None,
                               stdin_path=None if exporting else dump_file)


async def os_export(ctx: NodeContext, instance: Dict[str, Any], disk_paths: List[str],
                    disk_index: int, device_path: str, dest_file: str) -> str:
    """Dump disk ``disk_index`` (read from ``device_path``) into ``dest_file`` with ``export``."""
    return await _disk_transfer(ctx, "export", instance, disk_paths, disk_index, device_path,
                                dest_file)


async def os_import(ctx: NodeContext, instance: Dict[str, Any], disk_paths: List[str],
                    disk_index: int, device_path: str, src_file: str) -> str:
    """Write the dump in ``src_file`` onto ``device_path`` (disk ``disk_index``) with ``import``."""
    return await _disk_transfer(ctx, "import", instance, disk_paths, disk_index, device_path,
                                src_file)
