"""What the installed qemu supports, asked of the binary itself (once per node).

qemu releases remove options (``-net ...,vlan=``, ``-usbdevice``,
``-no-acpi``, ``-vnc ...,tls,x509=``) and Ganeti clusters broke on upgrade
because their command lines were hard-coded. The kvm provider builds its
command lines from a ``QemuCapabilities`` instead, read from ``-version``,
``-help``, ``-machine help``, ``-device help``, ``-object help`` and the QMP
``query-commands`` of a throw-away qemu.
"""

import json
import re
from dataclasses import dataclass, field
from typing import Any, FrozenSet, Tuple

from twisted.internet import defer, protocol
from twisted.internet.utils import getProcessOutputAndValue

from ganeti_tw import errors

PROBE_TIMEOUT = 30


@dataclass(frozen=True)
class QemuCapabilities:
    """The parts of a qemu binary's interface the kvm provider depends on."""

    version: Tuple[int, int, int]
    options: FrozenSet[str]
    machines: FrozenSet[str]
    devices: FrozenSet[str]
    objects: FrozenSet[str] = field(default_factory=frozenset)
    qmp_commands: FrozenSet[str] = field(default_factory=frozenset)

    def has_option(self, name: str) -> bool:
        return name in self.options

    def has_device(self, name: str) -> bool:
        return name in self.devices


def parse_version(text: str) -> Tuple[int, int, int]:
    """``(7, 2, 22)`` from ``QEMU emulator version 7.2.22 (...)``."""
    match = re.search(r"version (\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        raise errors.HypervisorError("Cannot read the qemu version from %r" % text[:200])
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def parse_options(text: str) -> FrozenSet[str]:
    """The option names (``-accel``, ``-no-acpi``) that ``qemu -help`` lists."""
    return frozenset(m.group(1) for m in re.finditer(r"^(-[a-z0-9][\w-]*)", text, re.M))


def parse_machines(text: str) -> FrozenSet[str]:
    """Machine types and aliases from ``qemu -machine help``."""
    names = set()
    for line in text.splitlines()[1:]:
        words = line.split()
        if words:
            names.add(words[0])
    return frozenset(names)


def parse_devices(text: str) -> FrozenSet[str]:
    """Device names and aliases from ``qemu -device help``."""
    return frozenset(re.findall(r'(?:name|alias) "([^"]+)"', text))


def parse_objects(text: str) -> FrozenSet[str]:
    """User-creatable object types from ``qemu -object help``."""
    return frozenset(line.strip() for line in text.splitlines()[1:] if line.strip())


def parse_qmp_commands(text: str) -> FrozenSet[str]:
    """Command names from the replies of a QMP session that ran ``query-commands``."""
    names = set()
    for line in text.splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and isinstance(message.get("return"), list):
            names.update(item["name"] for item in message["return"]
                         if isinstance(item, dict) and "name" in item)
    return frozenset(names)


class _QMPSession(protocol.ProcessProtocol):
    """Feeds a ``-qmp stdio`` qemu its commands on stdin and keeps its stdout."""

    def __init__(self, commands: bytes):
        self.commands = commands
        self.output = []
        self.done: defer.Deferred = defer.Deferred()

    def connectionMade(self) -> None:
        self.transport.write(self.commands)

    def outReceived(self, data: bytes) -> None:
        self.output.append(data)

    def processEnded(self, reason: Any) -> None:
        self.done.callback(b"".join(self.output))


async def _run(reactor: Any, binary: str, *args: str) -> str:
    out, err, code = await getProcessOutputAndValue(binary, args, env={}, reactor=reactor)
    if code != 0:
        raise errors.HypervisorError("'%s %s' failed (exit %s): %s" % (
            binary, " ".join(args), code, (err or out).decode("utf-8", "replace").strip()))
    return out.decode("utf-8", "replace")


async def _qmp_commands(reactor: Any, binary: str) -> FrozenSet[str]:
    requests = [{"execute": "qmp_capabilities"}, {"execute": "query-commands"},
                {"execute": "quit"}]
    session = _QMPSession("".join(json.dumps(r) + "\n" for r in requests).encode())
    process = reactor.spawnProcess(
        session, binary, [binary, "-machine", "none", "-nodefaults", "-no-user-config",
                          "-display", "none", "-S", "-qmp", "stdio"], env={})
    timer = reactor.callLater(PROBE_TIMEOUT, process.signalProcess, "KILL")
    try:
        output = await session.done
    finally:
        if timer.active():
            timer.cancel()
    return parse_qmp_commands(output.decode("utf-8", "replace"))


async def probe(reactor: Any, binary: str) -> QemuCapabilities:
    """Ask ``binary`` what it supports; HypervisorError if it cannot even say."""
    try:
        version = parse_version(await _run(reactor, binary, "-version"))
        options = parse_options(await _run(reactor, binary, "-help"))
        machines = parse_machines(await _run(reactor, binary, "-machine", "help"))
        devices = parse_devices(await _run(reactor, binary, "-device", "help"))
        objects = parse_objects(await _run(reactor, binary, "-object", "help"))
        commands = await _qmp_commands(reactor, binary)
    except OSError as err:
        raise errors.HypervisorError("Cannot run %s: %s" % (binary, err)) from None
    if not commands:
        raise errors.HypervisorError("%s answered no QMP query-commands" % binary)
    return QemuCapabilities(version, options, machines, devices, objects, commands)
