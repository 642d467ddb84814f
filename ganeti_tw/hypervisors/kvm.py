"""The kvm hypervisor (spec 8.3): each instance is a daemonized qemu driven through QMP.

Per instance, below the node's root (``<run_dir>/kvm-hypervisor``): a pidfile,
a QMP socket and a serial console socket, the NIC ifup scripts, and the
runtime (what the machine is made of, plus the command line that started
it) so that a migration target builds the same machine. Instances are this
node's pidfiles whose process is alive and still names that pidfile: nodes
of a local cluster share one machine but never see each other's qemus.
"""

import json
import os
import shlex
import shutil
import signal
import sys
from typing import Any, Dict, List, Optional, Tuple

from twisted.internet import defer, task
from twisted.internet.utils import getProcessOutputAndValue
from zope.interface import implementer

from ganeti_tw import constants, errors, utils
from ganeti_tw.hypervisors import params as P, qmp
from ganeti_tw.hypervisors.hostinfo import host_node_info
from ganeti_tw.hypervisors.interfaces import IHypervisor
from ganeti_tw.hypervisors.kvm_cmdline import InstanceFiles, build_command, vnc_display
from ganeti_tw.hypervisors.qemu_probe import QemuCapabilities, probe
from ganeti_tw.paths import Paths

# a module attribute so that tests and odd installations can point elsewhere
QEMU_BINARY = "qemu-system-x86_64"
KVM_DEVICE = "/dev/kvm"
# the admin's own NIC script (Ganeti's kvm-vif-bridge); replaces the built-in one
VIF_HOOK = "kvm-vif-bridge"
MIGRATION_POLL = 0.05
INFO_QMP_TIMEOUT = 2.0
# the directory holding ganeti_tw, so the console relay runs from any working tree
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STOP_WAIT = 10.0
MIB = 1024 * 1024

InstanceInfo = Tuple[str, int, int, int, str, float]


def _reactor() -> Any:
    from twisted.internet import reactor
    return reactor


def _sleep(seconds: float) -> defer.Deferred:
    return task.deferLater(_reactor(), seconds, lambda: None)


def _cpu_time(pid: int) -> float:
    try:
        with open("/proc/%d/stat" % pid) as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@implementer(IHypervisor)
class KVMHypervisor:
    """qemu processes under ``<run_dir>/kvm-hypervisor`` of one node root."""

    def __init__(self, paths: Paths):
        self._paths = paths
        self._dir = paths.kvm_hv_dir
        self._caps: Optional[QemuCapabilities] = None
        self._probe_lock = defer.DeferredLock()
        self._migrations: Dict[str, Dict[str, Any]] = {}

    # files ----------------------------------------------------------------------------

    def _path(self, kind: str, name: str, suffix: str = "") -> str:
        if not name or "/" in name or name.startswith("."):
            raise errors.HypervisorError("Invalid instance name '%s'" % name)
        return os.path.join(self._dir, kind, name + suffix)

    def _files(self, name: str, disks: List[str], nics: int) -> InstanceFiles:
        return InstanceFiles(
            pidfile=self._path("pid", name), qmp_socket=self._path("ctrl", name, ".qmp"),
            serial_socket=self._path("ctrl", name, ".serial"), disks=disks,
            nic_scripts=[self._path("nic", name, "-%d" % i) for i in range(nics)])

    def _runtime_file(self, name: str) -> str:
        return self._path("conf", name, ".runtime")

    def _read_runtime(self, name: str) -> Optional[Dict[str, Any]]:
        try:
            return json.loads(utils.read_file(self._runtime_file(name)))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            raise errors.HypervisorError("Cannot read the runtime of instance %s: %s"
                                         % (name, err)) from None

    def _write_runtime(self, runtime: Dict[str, Any]) -> None:
        path = self._runtime_file(runtime["name"])
        os.makedirs(os.path.dirname(path), mode=0o750, exist_ok=True)
        utils.write_file_atomic(path, json.dumps(runtime, sort_keys=True).encode(), mode=0o640)

    def _pid(self, name: str) -> Optional[int]:
        """The pid of ``name``'s live qemu on this node, else None."""
        pidfile = self._path("pid", name)
        try:
            pid = int(utils.read_file(pidfile).strip())
        except (OSError, ValueError):
            return None
        return pid if utils.process_has_argument(pid, pidfile) else None

    def _cleanup(self, name: str) -> None:
        files = self._files(name, [], 0)
        for path in (files.pidfile, files.qmp_socket, files.serial_socket,
                     self._runtime_file(name)):
            utils.remove_file(path)
        nic_dir = os.path.join(self._dir, "nic")
        if os.path.isdir(nic_dir):
            for entry in os.listdir(nic_dir):
                if entry.rsplit("-", 1)[0] == name:
                    utils.remove_file(os.path.join(nic_dir, entry))

    # qemu -----------------------------------------------------------------------------

    def _binary(self) -> str:
        binary = shutil.which(QEMU_BINARY)
        if binary is None:
            raise errors.HypervisorError("The qemu binary %s is not installed on this node"
                                         % QEMU_BINARY)
        return binary

    async def capabilities(self) -> QemuCapabilities:
        """What this node's qemu supports, probed once (a failed probe is retried)."""
        if self._caps is None:
            async with self._probe_lock:
                if self._caps is None:
                    self._caps = await probe(_reactor(), self._binary())
        return self._caps

    def _check_accelerator(self, hvparams: Dict[str, Any]) -> None:
        if hvparams[P.HV_KVM_ACCELERATOR] != P.KVM_ACCEL_KVM:
            return
        try:
            os.close(os.open(KVM_DEVICE, os.O_RDWR))
        except OSError as err:
            raise errors.HypervisorError(
                "Accelerator kvm is not usable on this node (%s: %s); set the hypervisor "
                "parameter accelerator=tcg for software emulation"
                % (KVM_DEVICE, err.strerror)) from None

    def _write_nic_scripts(self, runtime: Dict[str, Any], files: InstanceFiles) -> None:
        hook = os.path.join(self._paths.conf_dir, VIF_HOOK)
        for index, nic in enumerate(runtime["nics"]):
            bridge = nic.get("bridge")
            if not bridge:
                continue
            if not os.path.isdir("/sys/class/net/%s/bridge" % bridge):
                raise errors.HypervisorError("Cannot start instance %s: bridge %s of NIC %d "
                                             "does not exist on this node"
                                             % (runtime["name"], bridge, index))
            env = {"INSTANCE": runtime["name"], "MAC": nic["mac"], "IP": nic.get("ip") or "",
                   "BRIDGE": bridge}
            lines = ["#!/bin/sh", "# written by ganeti-tw: NIC %d of %s" % (index,
                                                                          runtime["name"]),
                     'INTERFACE="$1"', "export INTERFACE"]
            lines += ["export %s=%s" % (key, shlex.quote(value)) for key, value in env.items()]
            lines += ["if [ -x %s ]; then exec %s; fi" % (shlex.quote(hook), shlex.quote(hook)),
                      'ip link set "$INTERFACE" up && '
                      'ip link set "$INTERFACE" master "$BRIDGE"', ""]
            path = files.nic_scripts[index]
            os.makedirs(os.path.dirname(path), mode=0o750, exist_ok=True)
            utils.write_file_atomic(path, "\n".join(lines).encode(), mode=0o750)

    async def _launch(self, runtime: Dict[str, Any], files: InstanceFiles,
                      incoming: Optional[str] = None) -> None:
        """Start qemu for ``runtime`` and record the runtime; HypervisorError if it fails."""
        name = runtime["name"]
        if self._pid(name) is not None:
            raise errors.HypervisorError("Failed to start instance %s: already running"
                                         % name)
        self._check_accelerator(runtime["hvparams"])
        caps = await self.capabilities()
        self._cleanup(name)
        for path in (files.pidfile, files.qmp_socket):
            os.makedirs(os.path.dirname(path), mode=0o750, exist_ok=True)
        self._write_nic_scripts(runtime, files)
        argv = build_command(self._binary(), caps, runtime, files, incoming)
        out, err, code = await getProcessOutputAndValue(
            argv[0], argv[1:], env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            path="/", reactor=_reactor())
        if code != 0 or self._pid(name) is None:
            self._cleanup(name)
            text = (err or out).decode("utf-8", "replace").strip()
            raise errors.HypervisorError("Failed to start instance %s: qemu exited with %s: "
                                         "%s" % (name, code, text or "no message"))
        runtime["cmdline"] = argv
        self._write_runtime(runtime)

    async def _qmp(self, name: str, command: str, arguments: Optional[Dict] = None) -> Any:
        return await qmp.call(_reactor(), self._files(name, [], 0).qmp_socket, command,
                              arguments)

    async def _kill(self, name: str) -> None:
        """SIGKILL ``name``'s qemu and wait until it is gone."""
        pid = self._pid(name)
        if pid is not None:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            waited = 0.0
            while self._pid(name) is not None and waited < STOP_WAIT:
                await _sleep(0.05)
                waited += 0.05
            if self._pid(name) is not None:
                raise errors.HypervisorError("qemu of instance %s (pid %d) survived SIGKILL"
                                             % (name, pid))
        self._cleanup(name)

    # IHypervisor ------------------------------------------------------------------------

    async def start_instance(self, instance: Any, block_devices: List[tuple]) -> None:
        runtime = {
            "name": instance.name,
            "memory": instance.beparams[constants.BE_MEMORY],
            "vcpus": instance.beparams[constants.BE_VCPUS],
            "hvparams": dict(instance.hvparams),
            "nics": [{"mac": nic.mac, "ip": nic.ip, "bridge": nic.bridge, "mode": nic.mode}
                     for nic in instance.nics],
            "disks": [{"mode": disk.get("mode", constants.DISK_RDWR)}
                      for disk, _ in block_devices],
            "network_port": instance.network_port,
        }
        files = self._files(instance.name, [path for _, path in block_devices],
                            len(instance.nics))
        await self._launch(runtime, files)

    async def stop_instance(self, instance: Any, force: bool) -> None:
        name = instance.name
        runtime = self._read_runtime(name)
        # what the running machine has, not what the config says since
        acpi = runtime["hvparams"][P.HV_ACPI] if runtime else False
        if force or not acpi:
            await self._kill(name)
            return
        if self._pid(name) is None:
            raise errors.HypervisorError("Failed to stop instance %s: not running" % name)
        await self._qmp(name, "system_powerdown")

    async def reboot_instance(self, instance: Any) -> None:
        if self._pid(instance.name) is None:
            raise errors.HypervisorError("Failed to reboot instance %s: not running"
                                         % instance.name)
        await self._qmp(instance.name, "system_reset")

    def _running(self, name: str) -> bool:
        """Alive and not a migration target still waiting for its state."""
        if self._pid(name) is None:
            return False
        runtime = self._read_runtime(name)
        return runtime is not None and not runtime.get("incoming")

    async def list_instances(self) -> List[str]:
        try:
            names = os.listdir(os.path.join(self._dir, "pid"))
        except FileNotFoundError:
            return []
        return utils.nice_sort(name for name in names if self._running(name))

    async def get_instance_info(self, name: str) -> Optional[InstanceInfo]:
        if not self._running(name):
            return None
        pid = self._pid(name) or 0
        try:
            proto = await qmp.connect(_reactor(), self._files(name, [], 0).qmp_socket,
                                      INFO_QMP_TIMEOUT)
        except errors.HypervisorError:
            runtime = self._read_runtime(name)
            if self._pid(name) is None or runtime is None:
                return None  # it ended meanwhile
            # QMP serves one client at a time (a migration holds it): what it started with
            return (name, pid, runtime["memory"], runtime["vcpus"], "monitor busy",
                    _cpu_time(pid))
        try:
            status = await proto.execute("query-status")
            memory = await proto.execute("query-memory-size-summary")
            cpus = await proto.execute("query-cpus-fast")
        finally:
            proto.transport.loseConnection()
        return (name, pid, memory["base-memory"] // MIB, len(cpus), status["status"],
                _cpu_time(pid))

    async def get_all_instances_info(self) -> List[InstanceInfo]:
        infos = [await self.get_instance_info(name) for name in await self.list_instances()]
        return [info for info in infos if info is not None]

    async def get_node_info(self) -> Dict[str, int]:
        used = 0
        for name in await self.list_instances():
            runtime = self._read_runtime(name)
            used += runtime["memory"] if runtime else 0
        return host_node_info(used)

    def get_console_command(self, instance: Any) -> str:
        serial = self._files(instance.name, [], 0).serial_socket
        lines = []
        runtime = self._read_runtime(instance.name)
        vnc = vnc_display(runtime) if runtime else None
        if vnc:
            lines.append("echo %s" % shlex.quote("Instance %s has VNC at %s"
                                                 % (instance.name, vnc)))
        if not instance.hvparams.get(P.HV_SERIAL_CONSOLE):
            lines.append("echo %s" % shlex.quote("Instance %s has no serial console "
                                                 "(serial_console is off)" % instance.name))
            return "; ".join(lines)
        if shutil.which("socat"):
            relay = "socat STDIO,raw,echo=0,escape=0x1d UNIX-CONNECT:%s" % shlex.quote(serial)
        else:
            relay = "PYTHONPATH=%s %s -m ganeti_tw.cli.serial_console %s" % (
                shlex.quote(PACKAGE_PARENT), shlex.quote(sys.executable), shlex.quote(serial))
        return "; ".join(lines + [relay])

    async def verify(self) -> Optional[str]:
        try:
            binary = self._binary()
            await self.capabilities()
        except errors.HypervisorError as err:
            return str(err)
        if not os.access(binary, os.X_OK):
            return "The qemu binary %s is not executable" % binary
        return None

    # migration --------------------------------------------------------------------------

    async def migration_info(self, instance: Any) -> str:
        runtime = self._read_runtime(instance.name)
        if runtime is None or not self._running(instance.name):
            raise errors.HypervisorError("Instance %s is not running on this node"
                                         % instance.name)
        return json.dumps(runtime)

    async def accept_instance(self, instance: Any, info: str, target: str) -> None:
        runtime = json.loads(info)
        name = runtime["name"]
        port = runtime["hvparams"][P.HV_MIGRATION_PORT]
        caps = await self.capabilities()
        uri = "tcp:%s:%d" % (target, port)
        deferred = "migrate-incoming" in caps.qmp_commands
        runtime["incoming"] = True
        files = self._files(name, [self._paths.instance_disk_link(name, i)
                                   for i in range(len(runtime["disks"]))],
                            len(runtime["nics"]))
        await self._launch(runtime, files, "defer" if deferred else uri)
        if deferred:
            # listening through QMP turns a busy port into an error we can report
            try:
                await self._qmp(name, "migrate-incoming", {"uri": uri})
            except errors.HypervisorError as err:
                await self._kill(name)
                raise errors.HypervisorError("Cannot accept instance %s on %s: %s"
                                             % (name, uri, err)) from None

    async def migrate_instance(self, instance: Any, target: str,
                               live: bool) -> Dict[str, Any]:
        """Send ``instance`` to ``target``; the final QMP ``query-migrate`` status."""
        name = instance.name
        runtime = self._read_runtime(name)
        if runtime is None or not self._running(name):
            raise errors.HypervisorError("Failed to migrate instance %s: not running" % name)
        hv = runtime["hvparams"]
        uri = "tcp:%s:%d" % (target, hv[P.HV_MIGRATION_PORT])
        caps = await self.capabilities()
        proto = await qmp.connect(_reactor(), self._files(name, [], 0).qmp_socket)
        try:
            if "migrate-set-parameters" in caps.qmp_commands:
                await proto.execute("migrate-set-parameters", {
                    "max-bandwidth": hv[P.HV_MIGRATION_BANDWIDTH] * MIB,
                    "downtime-limit": hv[P.HV_MIGRATION_DOWNTIME]})
            else:  # qemu before 2.8
                await proto.execute("migrate_set_speed",
                                    {"value": hv[P.HV_MIGRATION_BANDWIDTH] * MIB})
                await proto.execute("migrate_set_downtime",
                                    {"value": hv[P.HV_MIGRATION_DOWNTIME] / 1000.0})
            if not live:
                await proto.execute("stop")
            self._migrations[name] = {"status": "setup"}
            try:
                await proto.execute("migrate", {"uri": uri})
                status = await self._wait_migration(proto, name)
            except errors.HypervisorError as err:
                status = {"status": "failed", "error-desc": str(err)}
            if status["status"] != "completed":
                await self._abort_migration(proto, live)
                raise errors.HypervisorError("Migration of instance %s to %s failed: %s" % (
                    name, uri, status.get("error-desc") or status["status"]))
            try:
                await proto.execute("quit")
            except qmp.QMPError:
                pass  # qemu may close the monitor before it answers
        finally:
            proto.transport.loseConnection()
            self._migrations.pop(name, None)
        await self._kill(name)
        return status

    async def _wait_migration(self, proto: Any, name: str) -> Dict[str, Any]:
        while True:
            status = await proto.execute("query-migrate")
            self._migrations[name] = status
            if status.get("status") in ("completed", "failed", "cancelled"):
                return status
            await _sleep(MIGRATION_POLL)

    async def _abort_migration(self, proto: Any, live: bool) -> None:
        """Leave the source running as before a failed or cancelled migration."""
        try:
            await proto.execute("migrate_cancel")
        except qmp.QMPError:
            pass
        if not live:
            await proto.execute("cont")
        for _ in range(int(STOP_WAIT / MIGRATION_POLL)):
            state = (await proto.execute("query-status"))["status"]
            if state == "running" or (not live and state == "paused"):
                return
            if state == "postmigrate":
                await proto.execute("cont")
            await _sleep(MIGRATION_POLL)

    async def migration_status(self, instance: Any) -> Optional[Dict[str, Any]]:
        """The last QMP ``query-migrate`` of an outgoing migration of ``instance``, or None."""
        return self._migrations.get(instance.name)

    async def finalize_migration(self, instance: Any, info: str, success: bool) -> None:
        name = instance.name
        if not success:
            await self._kill(name)
            return
        runtime = self._read_runtime(name)
        if runtime is None or self._pid(name) is None:
            raise errors.HypervisorError("No incoming migration of instance %s on this node"
                                         % name)
        for _ in range(int(STOP_WAIT / MIGRATION_POLL)):
            state = (await self._qmp(name, "query-status"))["status"]
            if state != "inmigrate":
                break
            await _sleep(MIGRATION_POLL)
        if state == "inmigrate":
            raise errors.HypervisorError("The incoming migration of instance %s did not "
                                         "finish" % name)
        if state == "paused":
            # a non-live migration paused the source; the copy runs on here
            await self._qmp(name, "cont")
        runtime["incoming"] = False
        self._write_runtime(runtime)

    # parameters -------------------------------------------------------------------------

    def check_parameter_syntax(self, hvparams: Dict[str, Any]) -> None:
        P.check_syntax(constants.HT_KVM, hvparams)

    def validate_parameters(self, hvparams: Dict[str, Any]) -> None:
        P.validate_local(constants.HT_KVM, hvparams)
