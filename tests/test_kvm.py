"""The kvm provider's pure parts: qemu probing, command lines, the QMP protocol."""

import json
import os
import shutil
import tempfile

from twisted.internet import defer, reactor
from twisted.internet.testing import StringTransport
from twisted.trial import unittest

from ganeti_tw import errors, objects
from ganeti_tw.hypervisors import kvm, params, qemu_probe
from ganeti_tw.hypervisors.kvm_cmdline import InstanceFiles, build_command, vnc_display
from ganeti_tw.hypervisors.qemu_probe import QemuCapabilities
from ganeti_tw.hypervisors.qmp import QMPError, QMPProtocol
from ganeti_tw.paths import Paths
from tests.reactor_util import in_running_reactor

HELP_7_2 = """QEMU emulator version 7.2.22
usage: qemu-system-x86_64 [options] [disk_image]
-machine [type=]name[,prop[=value][,...]]
-accel [accel=]accelerator[,prop[=value][,...]]
-blockdev [driver=]driver[,node-name=N][,discard=ignore|unmap]
-no-acpi        disable ACPI
-incoming tcp:[host]:port[,to=maxport][,ipv4=on|off][,ipv6=on|off]
"""
DEVICES = ('name "virtio-net-pci", bus PCI, alias "virtio-net"\n'
           'name "virtio-blk-pci", bus PCI, alias "virtio-blk"\n'
           'name "e1000", bus PCI, alias "e1000-82540em"\nname "ide-hd", bus IDE\n'
           'name "ide-cd", bus IDE\nname "VGA", bus PCI\nname "usb-tablet", bus usb-bus\n')


def caps(**changes):
    base = dict(version=(7, 2, 22), options=qemu_probe.parse_options(HELP_7_2),
                machines=frozenset(["pc", "q35", "none"]),
                devices=qemu_probe.parse_devices(DEVICES),
                objects=frozenset(["tls-creds-x509", "tls-creds-anon"]),
                qmp_commands=frozenset(["migrate-incoming", "query-status"]))
    base.update(changes)
    return QemuCapabilities(**base)


def runtime(**hv):
    hvparams = params.fill_hvparams("kvm", {"kernel_path": "", "accelerator": "tcg"}, hv)
    return {"name": "inst1", "memory": 128, "vcpus": 2, "hvparams": hvparams,
            "nics": [{"mac": "aa:00:00:00:00:01", "bridge": "br0"}],
            "disks": [{"mode": "rw"}], "network_port": 11000}


FILES = InstanceFiles("/r/pid/inst1", "/r/ctrl/inst1.qmp", "/r/ctrl/inst1.serial",
                      ["/r/disks/inst1:0"], ["/r/nic/inst1-0"])


def option_values(argv, option):
    return [argv[i + 1] for i, arg in enumerate(argv) if arg == option]


class ProbeParsingTests(unittest.SynchronousTestCase):
    def test_version(self):
        self.assertEqual(qemu_probe.parse_version("QEMU emulator version 7.2.22 (Debian)"),
                         (7, 2, 22))
        self.assertEqual(qemu_probe.parse_version("QEMU emulator version 9.1"), (9, 1, 0))
        self.assertRaises(errors.HypervisorError, qemu_probe.parse_version, "nonsense")

    def test_options_devices_and_machines(self):
        self.assertTrue({"-accel", "-blockdev", "-no-acpi", "-incoming"}
                        <= qemu_probe.parse_options(HELP_7_2))
        self.assertIn("virtio-net", qemu_probe.parse_devices(DEVICES))
        self.assertEqual(qemu_probe.parse_machines(
            "Supported machines are:\npc    Standard PC (alias of pc-i440fx-7.2)\n"
            "q35   Standard PC (Q35)\n"), frozenset(["pc", "q35"]))

    def test_qmp_commands_from_a_session_transcript(self):
        transcript = "\n".join([
            json.dumps({"QMP": {"version": {}}}), json.dumps({"return": {}}),
            json.dumps({"return": [{"name": "migrate"}, {"name": "query-status"}]}),
            json.dumps({"return": {}}), "garbage"])
        self.assertEqual(qemu_probe.parse_qmp_commands(transcript),
                         frozenset(["migrate", "query-status"]))


class CommandLineTests(unittest.SynchronousTestCase):
    def test_absolute_node_files_and_daemon_options(self):
        argv = build_command("/usr/bin/qemu-system-x86_64", caps(), runtime(), FILES)
        self.assertEqual(option_values(argv, "-pidfile"), ["/r/pid/inst1"])
        self.assertIn("-daemonize", argv)
        self.assertIn("socket,id=qmp,path=/r/ctrl/inst1.qmp,server=on,wait=off",
                      option_values(argv, "-chardev"))
        self.assertEqual(option_values(argv, "-m") + option_values(argv, "-smp"), ["128", "2"])

    def test_accelerator_uses_accel_option_when_present(self):
        self.assertEqual(option_values(build_command("q", caps(), runtime(), FILES), "-accel"),
                         ["tcg"])
        old = caps(options=frozenset(["-machine", "-no-acpi"]))
        argv = build_command("q", old, runtime(), FILES)
        self.assertEqual(option_values(argv, "-machine"), ["pc,accel=tcg"])

    def test_acpi_off_without_no_acpi_option_becomes_machine_property(self):
        argv = build_command("q", caps(), runtime(acpi=False), FILES)
        self.assertIn("-no-acpi", argv)
        new = caps(options=caps().options - {"-no-acpi"})
        argv = build_command("q", new, runtime(acpi=False), FILES)
        self.assertNotIn("-no-acpi", argv)
        self.assertEqual(option_values(argv, "-machine"), ["pc,acpi=off"])

    def test_disks_use_blockdev_or_drive_as_the_binary_allows(self):
        argv = build_command("q", caps(), runtime(), FILES)
        self.assertEqual(option_values(argv, "-blockdev")[0],
                         "driver=file,filename=/r/disks/inst1:0,node-name=disk0-file,"
                         "read-only=off")
        self.assertIn("virtio-blk-pci,drive=disk0,id=disk0-dev,bootindex=1",
                      option_values(argv, "-device"))
        old = caps(options=caps().options - {"-blockdev"})
        argv = build_command("q", old, runtime(), FILES)
        self.assertEqual(option_values(argv, "-drive"),
                         ["file=/r/disks/inst1:0,format=raw,if=none,id=disk0,readonly=off"])

    def test_bridged_nic_is_a_tap_netdev_with_its_ifup_script(self):
        argv = build_command("q", caps(), runtime(nic_type="e1000"), FILES)
        self.assertEqual(option_values(argv, "-netdev"),
                         ["tap,id=net0,script=/r/nic/inst1-0,downscript=no"])
        self.assertIn("e1000,mac=aa:00:00:00:00:01,id=nic0,netdev=net0",
                      option_values(argv, "-device"))
        self.assertNotIn("-net", argv)

    def test_nic_of_mode_none_is_a_device_without_backend(self):
        """Mode none: the guest sees its NIC (and MAC), connected to nothing on the host."""
        data = runtime()
        data["nics"] = [{"mac": "aa:00:00:00:00:02", "ip": None, "bridge": None,
                         "mode": "none"}]
        argv = build_command("q", caps(), data, FILES)
        self.assertEqual(option_values(argv, "-netdev"), [])
        self.assertIn("virtio-net-pci,mac=aa:00:00:00:00:02,id=nic0",
                      option_values(argv, "-device"))

    def test_device_missing_from_this_qemu_is_named(self):
        with self.assertRaises(errors.HypervisorError) as ctx:
            build_command("q", caps(), runtime(nic_type="pcnet"), FILES)
        self.assertIn("does not support the device pcnet (nic_type pcnet)", str(ctx.exception))

    def test_kernel_and_serial_console(self):
        argv = build_command("q", caps(), runtime(kernel_path="/boot/k", initrd_path="/boot/i",
                                                  kernel_args="quiet"), FILES)
        self.assertEqual(option_values(argv, "-kernel") + option_values(argv, "-initrd"),
                         ["/boot/k", "/boot/i"])
        self.assertEqual(option_values(argv, "-append"),
                         ["root=/dev/vda1 quiet console=ttyS0,38400"])
        self.assertEqual(option_values(argv, "-serial"), ["chardev:serial0"])
        self.assertNotIn("-boot", argv)

    def test_vnc_display_from_network_port_with_tls_credentials_object(self):
        rt = runtime(vnc_bind_address="127.0.0.1", vnc_tls=True, vnc_x509_path="/etc/x509",
                     vnc_x509_verify=True)
        argv = build_command("q", caps(), rt, FILES)
        self.assertEqual(option_values(argv, "-vnc"), ["127.0.0.1:5100,tls-creds=vnc-tls"])
        self.assertEqual(option_values(argv, "-object"),
                         ["tls-creds-x509,id=vnc-tls,endpoint=server,dir=/etc/x509,"
                          "verify-peer=on"])
        self.assertEqual(vnc_display(rt), "127.0.0.1:11000")
        argv = build_command("q", caps(), runtime(), FILES)
        self.assertEqual(option_values(argv, "-display"), ["none"])

    def test_usb_tablet_is_a_device_not_usbdevice(self):
        argv = build_command("q", caps(), runtime(usb_mouse="tablet"), FILES)
        self.assertIn("usb-tablet", option_values(argv, "-device"))
        self.assertNotIn("-usbdevice", argv)

    def test_incoming(self):
        argv = build_command("q", caps(), runtime(), FILES, incoming="defer")
        self.assertEqual(option_values(argv, "-incoming"), ["defer"])


class QMPProtocolTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.proto = QMPProtocol()
        self.transport = StringTransport()
        self.proto.makeConnection(self.transport)

    def sent(self):
        lines = [json.loads(line) for line in self.transport.value().splitlines()]
        self.transport.clear()
        return lines

    def receive(self, message):
        self.proto.dataReceived(json.dumps(message).encode() + b"\r\n")

    def negotiate(self):
        self.receive({"QMP": {"version": {"qemu": {"major": 7}}, "capabilities": []}})
        request = self.sent()
        self.assertEqual([r["execute"] for r in request], ["qmp_capabilities"])
        self.receive({"return": {}, "id": request[0]["id"]})

    def test_ready_only_after_capabilities_negotiated(self):
        self.assertNoResult(self.proto.ready)
        self.negotiate()
        self.assertIs(self.successResultOf(self.proto.ready), self.proto)

    def test_replies_match_their_commands_and_events_are_kept(self):
        self.negotiate()
        first = defer.ensureDeferred(self.proto.execute("query-status"))
        second = defer.ensureDeferred(self.proto.execute("query-migrate"))
        ids = [r["id"] for r in self.sent()]
        self.receive({"event": "STOP", "timestamp": {}})
        self.receive({"return": {"status": "active"}, "id": ids[1]})
        self.receive({"return": {"status": "running"}, "id": ids[0]})
        self.assertEqual(self.successResultOf(first), {"status": "running"})
        self.assertEqual(self.successResultOf(second), {"status": "active"})
        self.assertEqual([e["event"] for e in self.proto.events], ["STOP"])

    def test_error_reply_is_a_qmp_error(self):
        self.negotiate()
        result = defer.ensureDeferred(self.proto.execute("migrate", {"uri": "tcp:x:1"}))
        request = self.sent()[0]
        self.assertEqual(request["arguments"], {"uri": "tcp:x:1"})
        self.receive({"error": {"class": "GenericError", "desc": "Failed to connect"},
                      "id": request["id"]})
        failure = self.failureResultOf(result, QMPError)
        self.assertEqual(str(failure.value), "GenericError: Failed to connect")

    def test_lost_connection_fails_pending_commands(self):
        self.negotiate()
        result = defer.ensureDeferred(self.proto.execute("quit"))
        self.proto.connectionLost(Exception("gone"))
        self.failureResultOf(result, QMPError)
        self.failureResultOf(defer.ensureDeferred(self.proto.execute("query-status")),
                             QMPError)


class RealQemuProbeTests(unittest.TestCase):
    def setUp(self):
        self.binary = shutil.which(kvm.QEMU_BINARY)
        if self.binary is None:
            raise unittest.SkipTest("%s is not installed" % kvm.QEMU_BINARY)

    def test_probe_reads_the_installed_qemu(self):
        async def check():
            found = await qemu_probe.probe(reactor, self.binary)
            self.assertGreaterEqual(found.version, (2, 0, 0))
            self.assertTrue({"query-status", "migrate", "system_powerdown"}
                            <= found.qmp_commands)
            self.assertIn("pc", found.machines)
            self.assertIn("virtio-net-pci", found.devices)
            self.assertIn("-incoming", found.options)
        return in_running_reactor(check)


class ConsoleCommandTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.root)
        self.hv = kvm.KVMHypervisor(Paths(self.root))
        self.patch(shutil, "which", lambda name: None)  # no socat: our own relay

    def instance(self, **hv):
        rt = runtime(**hv)
        conf = os.path.join(Paths(self.root).kvm_hv_dir, "conf")
        os.makedirs(conf)
        with open(os.path.join(conf, "inst1.runtime"), "w") as fh:
            json.dump(rt, fh)
        return objects.Instance(name="inst1", hypervisor="kvm", hvparams=rt["hvparams"])

    def test_serial_relay_on_the_instance_socket(self):
        command = self.hv.get_console_command(self.instance())
        self.assertIn("-m ganeti_tw.cli.serial_console %s" % os.path.join(
            Paths(self.root).kvm_hv_dir, "ctrl", "inst1.serial"), command)
        self.assertNotIn("VNC", command)

    def test_vnc_address_is_printed_first(self):
        command = self.hv.get_console_command(self.instance(vnc_bind_address="127.0.0.1"))
        self.assertTrue(command.startswith("echo 'Instance inst1 has VNC at 127.0.0.1:11000'; "),
                        command)


class AcceleratorTests(unittest.SynchronousTestCase):
    def test_unusable_kvm_device_is_a_clear_error(self):
        self.patch(kvm, "KVM_DEVICE", "/nonexistent/kvm")
        hv = kvm.KVMHypervisor(Paths("/nonexistent-root"))
        with self.assertRaises(errors.HypervisorError) as ctx:
            hv._check_accelerator(runtime(accelerator="kvm")["hvparams"])
        self.assertIn("Accelerator kvm is not usable on this node (/nonexistent/kvm: No such "
                      "file or directory); set the hypervisor parameter accelerator=tcg",
                      str(ctx.exception))
        hv._check_accelerator(runtime(accelerator="tcg")["hvparams"])
