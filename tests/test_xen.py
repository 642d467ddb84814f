"""The xen-pvm and xen-hvm providers: their domain XML, and their life cycle on libvirt.

Real Xen is not available here; the life-cycle tests drive real
libvirt-python against libvirt's own in-memory ``test:///default`` driver,
which accepts the same XML and API calls but runs no guest.
"""

import os
import tempfile
import xml.etree.ElementTree as ET

from twisted.internet import defer
from twisted.trial import unittest
from zope.interface.verify import verifyObject

from ganeti_tw import constants, errors, objects
from ganeti_tw.hypervisors import get_hypervisor, libvirt_conn, params, xen_domain
from ganeti_tw.hypervisors.interfaces import IHypervisor
from ganeti_tw.hypervisors.xen import XenHvmHypervisor, XenPvmHypervisor
from ganeti_tw.paths import Paths

libvirt = libvirt_conn.libvirt
TEST_URI = "test:///default"
NS = "{%s}" % xen_domain.METADATA_NS


def make_instance(hv_name, name="inst1.example.com", hvparams=None, memory=128, vcpus=2,
                  nics=None, network_port=None):
    return objects.Instance(
        name=name, hypervisor=hv_name, network_port=network_port,
        hvparams=params.fill_hvparams(hv_name, {}, hvparams or {}),
        beparams={constants.BE_MEMORY: memory, constants.BE_VCPUS: vcpus,
                  constants.BE_AUTO_BALANCE: True},
        nics=nics if nics is not None else
        [objects.NIC(mac="aa:00:00:00:00:01", ip=None, bridge="xen-br0")])


def parse(hv_name, instance, disks=(), root="/srv/node1", password=None):
    xml = xen_domain.domain_xml(hv_name, "xen", instance, list(disks), root, password)
    return ET.fromstring(xml)


def file_disk(path, read_only=False):
    return xen_domain.DiskSpec(path, False, read_only)


class PvmDomainXmlTests(unittest.SynchronousTestCase):
    def test_identity_memory_and_vcpus(self):
        dom = parse(constants.HT_XEN_PVM, make_instance(constants.HT_XEN_PVM, memory=96,
                                                         vcpus=3))
        self.assertEqual(dom.get("type"), "xen")
        self.assertEqual(dom.findtext("name"), "inst1.example.com")
        self.assertEqual((dom.findtext("memory"), dom.find("memory").get("unit")), ("96", "MiB"))
        self.assertEqual(dom.findtext("vcpu"), "3")
        self.assertEqual([dom.findtext(e) for e in ("on_poweroff", "on_reboot", "on_crash")],
                         ["destroy", "restart", "restart"])

    def test_metadata_marks_node_and_hypervisor(self):
        mark = parse(constants.HT_XEN_PVM, make_instance(constants.HT_XEN_PVM),
                     root="/srv/node7").find("metadata/%sinstance" % NS)
        self.assertEqual(mark.attrib, {"name": "inst1.example.com", "node-root": "/srv/node7",
                                       "hypervisor": "xen-pvm"})

    def test_kernel_root_and_args_make_the_boot(self):
        inst = make_instance(constants.HT_XEN_PVM, hvparams={
            "kernel_path": "/boot/vmlinuz-x", "root_path": "/dev/xvda2",
            "kernel_args": "ro console=hvc0"})
        os_el = parse(constants.HT_XEN_PVM, inst).find("os")
        self.assertEqual(os_el.findtext("type"), "xen")
        self.assertEqual(os_el.findtext("kernel"), "/boot/vmlinuz-x")
        self.assertEqual(os_el.findtext("cmdline"), "root=/dev/xvda2 ro console=hvc0")
        self.assertIsNone(os_el.find("initrd"), "no initrd when initrd_path is empty")

    def test_initrd_and_empty_kernel_args(self):
        inst = make_instance(constants.HT_XEN_PVM, hvparams={"initrd_path": "/boot/initrd-x",
                                                             "kernel_args": ""})
        os_el = parse(constants.HT_XEN_PVM, inst).find("os")
        self.assertEqual(os_el.findtext("initrd"), "/boot/initrd-x")
        self.assertEqual(os_el.findtext("cmdline"), "root=/dev/sda1")

    def test_markup_in_parameters_stays_text(self):
        evil = "ro'/><devices><disk/></devices><x a='"
        inst = make_instance(constants.HT_XEN_PVM, hvparams={"kernel_args": evil})
        dom = parse(constants.HT_XEN_PVM, inst)
        self.assertEqual(dom.findtext("os/cmdline"), "root=/dev/sda1 " + evil)
        self.assertEqual(len(dom.findall("devices")), 1)

    def test_disks_are_sda_onwards_file_or_block_and_read_only(self):
        disks = [file_disk("/d/disk0"), xen_domain.DiskSpec("/dev/xenvg/d1", True, False),
                 file_disk("/d/disk2", read_only=True)]
        found = parse(constants.HT_XEN_PVM, make_instance(constants.HT_XEN_PVM),
                      disks).findall("devices/disk")
        self.assertEqual([(d.get("type"), d.find("target").get("dev"),
                           d.find("target").get("bus")) for d in found],
                         [("file", "sda", "xen"), ("block", "sdb", "xen"),
                          ("file", "sdc", "xen")])
        self.assertEqual(found[0].find("source").get("file"), "/d/disk0")
        self.assertEqual(found[1].find("source").get("dev"), "/dev/xenvg/d1")
        self.assertEqual(found[1].find("driver").get("name"), "phy")
        self.assertEqual([d.find("readonly") is not None for d in found], [False, False, True])

    def test_more_than_24_disks_refused(self):
        disks = [file_disk("/d/%d" % i) for i in range(25)]
        with self.assertRaises(errors.HypervisorError) as ctx:
            parse(constants.HT_XEN_PVM, make_instance(constants.HT_XEN_PVM), disks)
        self.assertIn("at most 24 disks, not 25", str(ctx.exception))

    def test_nics_bridged_or_bare_with_macs_and_ip(self):
        nics = [objects.NIC(mac="aa:00:00:00:00:01", ip="192.0.2.9", bridge="br7"),
                objects.NIC(mac="aa:00:00:00:00:02", ip=None, bridge="")]
        found = parse(constants.HT_XEN_PVM, make_instance(constants.HT_XEN_PVM, nics=nics)
                      ).findall("devices/interface")
        self.assertEqual([n.get("type") for n in found], ["bridge", "ethernet"])
        self.assertEqual([n.find("mac").get("address") for n in found],
                         ["aa:00:00:00:00:01", "aa:00:00:00:00:02"])
        self.assertEqual(found[0].find("source").get("bridge"), "br7")
        self.assertEqual(found[0].find("ip").get("address"), "192.0.2.9")
        self.assertIsNone(found[1].find("source"))
        self.assertIsNone(found[0].find("model"), "a PVM guest's vif has no emulated model")

    def test_serial_console_and_no_hvm_devices(self):
        devices = parse(constants.HT_XEN_PVM, make_instance(constants.HT_XEN_PVM)
                        ).find("devices")
        self.assertIsNotNone(devices.find("serial"))
        self.assertIsNotNone(devices.find("console"))
        for absent in ("emulator", "graphics", "input"):
            self.assertIsNone(devices.find(absent), absent)


class HvmDomainXmlTests(unittest.SynchronousTestCase):
    def hvm(self, hvparams=None, disks=(), password=None, **kwargs):
        inst = make_instance(constants.HT_XEN_HVM, hvparams=hvparams, **kwargs)
        return parse(constants.HT_XEN_HVM, inst, disks, password=password)

    def test_loader_device_model_and_boot_order(self):
        dom = self.hvm({"kernel_path": "/usr/lib/xen/boot/hvmloader2", "boot_order": "dcna",
                        "device_model": "/usr/lib/xen/bin/qemu-dm2"})
        self.assertEqual(dom.findtext("os/type"), "hvm")
        self.assertEqual(dom.findtext("os/loader"), "/usr/lib/xen/boot/hvmloader2")
        self.assertEqual([b.get("dev") for b in dom.findall("os/boot")],
                         ["cdrom", "hd", "network", "fd"])
        self.assertEqual(dom.findtext("devices/emulator"), "/usr/lib/xen/bin/qemu-dm2")
        self.assertEqual(dom.find("clock").get("offset"), "localtime")

    def test_acpi_and_pae_switch_features(self):
        on = self.hvm({"acpi": True, "pae": True}).find("features")
        self.assertEqual([f.tag for f in on], ["acpi", "apic", "pae"])
        off = self.hvm({"acpi": False, "pae": False}).find("features")
        self.assertEqual(list(off), [])
        self.assertEqual([f.tag for f in self.hvm({"acpi": False}).find("features")], ["pae"])

    def test_nic_types(self):
        for nic_type, model in (("rtl8139", "rtl8139"), ("ne2k_pci", "ne2k_pci"),
                                ("ne2k_isa", "ne2k_isa"), ("paravirtual", "netfront")):
            nic = self.hvm({"nic_type": nic_type}).find("devices/interface")
            self.assertEqual(nic.find("model").get("type"), model, nic_type)

    def test_disk_types(self):
        disks = [file_disk("/d/0"), file_disk("/d/1")]
        pv = self.hvm({"disk_type": "paravirtual"}, disks).findall("devices/disk")
        self.assertEqual([(d.find("target").get("dev"), d.find("target").get("bus"))
                          for d in pv], [("xvda", "xen"), ("xvdb", "xen")])
        emu = self.hvm({"disk_type": "ioemu"}, disks).findall("devices/disk")
        self.assertEqual([(d.find("target").get("dev"), d.find("target").get("bus"))
                          for d in emu], [("hda", "ide"), ("hdb", "ide")])

    def test_ioemu_disks_leave_hdc_to_the_cdrom_and_are_at_most_three(self):
        disks = [file_disk("/d/%d" % i) for i in range(3)]
        found = self.hvm({"disk_type": "ioemu", "cdrom_image_path": "/iso/x.iso"},
                         disks).findall("devices/disk")
        self.assertEqual([(d.get("device"), d.find("target").get("dev")) for d in found],
                         [("disk", "hda"), ("disk", "hdb"), ("disk", "hdd"), ("cdrom", "hdc")])
        cdrom = found[3]
        self.assertEqual(cdrom.find("source").get("file"), "/iso/x.iso")
        self.assertIsNotNone(cdrom.find("readonly"))
        with self.assertRaises(errors.HypervisorError) as ctx:
            self.hvm({"disk_type": "ioemu"}, disks + [file_disk("/d/3")])
        self.assertIn("disk_type ioemu can have at most 3 disks", str(ctx.exception))

    def test_no_cdrom_without_image(self):
        self.assertEqual(self.hvm().findall("devices/disk"), [])

    def test_vnc_on_the_instance_port_with_password(self):
        graphics = self.hvm({"vnc_bind_address": "127.0.0.1"}, password="s3cret",
                            network_port=11005).find("devices/graphics")
        self.assertEqual(graphics.attrib, {"type": "vnc", "listen": "127.0.0.1",
                                           "port": "11005", "autoport": "no",
                                           "passwd": "s3cret"})

    def test_vnc_without_port_is_autoport_and_empty_address_is_no_vnc(self):
        graphics = self.hvm().find("devices/graphics")
        self.assertEqual((graphics.get("listen"), graphics.get("autoport")), ("0.0.0.0", "yes"))
        self.assertIsNone(self.hvm({"vnc_bind_address": ""}).find("devices/graphics"))

    def test_usb_tablet(self):
        tablet = self.hvm().find("devices/input")
        self.assertEqual(tablet.attrib, {"type": "tablet", "bus": "usb"})


class CapabilitiesTests(unittest.SynchronousTestCase):
    CAPS = ("<capabilities><guest><os_type>hvm</os_type><arch name='x86_64'>"
            "<domain type='xen'/></arch></guest><guest><os_type>xen</os_type>"
            "<arch name='x86_64'><domain type='xen'/></arch></guest></capabilities>")

    def test_domain_type_per_guest_kind(self):
        self.assertEqual(xen_domain.domain_type(self.CAPS, "xen"), "xen")
        self.assertEqual(xen_domain.domain_type(self.CAPS, "hvm"), "xen")
        self.assertIsNone(xen_domain.domain_type(self.CAPS, "exe"))
        self.assertIsNone(xen_domain.domain_type("<not xml", "xen"))

    def test_parse_mark(self):
        self.assertEqual(xen_domain.parse_mark("<instance name='a' node-root='/r'/>"),
                         {"name": "a", "node-root": "/r"})
        self.assertEqual(xen_domain.parse_mark("garbage"), {})


class UriTests(unittest.SynchronousTestCase):
    def test_default_is_real_xen_and_the_node_file_overrides(self):
        path = os.path.join(self.mktemp())
        self.assertEqual(libvirt_conn.read_uri(path), "xen:///system")
        with open(path, "w") as fh:
            fh.write("# for the tests\n\ntest:///default\n")
        self.assertEqual(libvirt_conn.read_uri(path), "test:///default")

    def test_missing_bindings_say_so(self):
        self.patch(libvirt_conn, "libvirt", None)
        with self.assertRaises(errors.HypervisorError) as ctx:
            get_hypervisor(constants.HT_XEN_PVM, Paths(self.mktemp()))
        self.assertIn("libvirt-python", str(ctx.exception))


class LibvirtTestBase(unittest.TestCase):
    """A node root whose xen hypervisors use libvirt's test driver."""

    def setUp(self):
        if libvirt is None:
            raise unittest.SkipTest("libvirt-python is not importable (scripts/setup-env.sh"
                                    " installs it)")
        self.raw = libvirt.open(TEST_URI)  # the same in-memory state, seen from outside
        self.addCleanup(self.raw.close)
        self.root = tempfile.mkdtemp(dir=os.getcwd())
        self.paths = self.node_paths(self.root)
        self.kernel = self.touch("vmlinuz")
        self.disk = self.touch("disk0")

    def node_paths(self, root):
        paths = Paths(root)
        os.makedirs(paths.conf_dir, exist_ok=True)
        with open(paths.xen_libvirt_uri_file, "w") as fh:
            fh.write(TEST_URI + "\n")
        self.addCleanup(self.remove_domains_of, root)
        return paths

    def remove_domains_of(self, root):
        for dom in self.raw.listAllDomains():
            if root in dom.XMLDesc():
                if dom.isActive():
                    dom.destroy()
                if dom.isPersistent():
                    dom.undefine()

    def touch(self, name):
        path = os.path.join(self.root, name)
        with open(path, "wb") as fh:
            fh.write(b"\0" * 4096)
        return path

    def pvm(self, paths=None):
        return get_hypervisor(constants.HT_XEN_PVM, paths or self.paths)

    def instance(self, hv_name=constants.HT_XEN_PVM, name="inst1.example.com", **hvparams):
        hvparams.setdefault("kernel_path", self.kernel)
        return make_instance(hv_name, name=name, hvparams=hvparams)

    def devices(self):
        return [({"mode": "rw"}, self.disk)]

    async def assertHvError(self, coro, text):
        try:
            await coro
        except errors.HypervisorError as err:
            self.assertIn(text, str(err))
            self.assertNotIn("\n", str(err))
            return str(err)
        self.fail("no HypervisorError containing %r" % text)


class ProviderTests(LibvirtTestBase):
    def test_providers_provide_the_interface(self):
        self.assertTrue(verifyObject(IHypervisor, self.pvm()))
        self.assertIsInstance(self.pvm(), XenPvmHypervisor)
        hvm = get_hypervisor(constants.HT_XEN_HVM, self.paths)
        self.assertIsInstance(hvm, XenHvmHypervisor)
        self.assertTrue(verifyObject(IHypervisor, hvm))

    async def _lifecycle(self):
        hv = self.pvm()
        self.assertIsNone(await hv.verify())
        inst = self.instance()
        await hv.start_instance(inst, self.devices())
        self.assertEqual(await hv.list_instances(), ["inst1.example.com"])
        name, dom_id, memory, vcpus, state, _time = await hv.get_instance_info(inst.name)
        self.assertEqual((name, memory, vcpus, state), ("inst1.example.com", 128, 2, "r-----"))
        self.assertEqual(dom_id, self.raw.lookupByName(inst.name).ID())
        self.assertEqual([info[0] for info in await hv.get_all_instances_info()],
                         ["inst1.example.com"])
        stored = ET.fromstring(self.raw.lookupByName(inst.name).XMLDesc())
        self.assertEqual(stored.findtext("os/kernel"), self.kernel)
        self.assertEqual(stored.find("devices/disk/source").get("file"), self.disk)

        await hv.reboot_instance(inst)
        self.assertEqual(await hv.list_instances(), ["inst1.example.com"])

        await hv.stop_instance(inst, False)
        self.assertEqual(await hv.list_instances(), [])
        self.assertIsNone(await hv.get_instance_info(inst.name))
        # like Ganeti's removed /etc/xen/<name>: no definition is left behind
        self.assertNotIn(inst.name, [d.name() for d in self.raw.listAllDomains()])

        await hv.start_instance(inst, self.devices())
        await hv.stop_instance(inst, True)
        self.assertNotIn(inst.name, [d.name() for d in self.raw.listAllDomains()])

    def test_lifecycle(self):
        return defer.ensureDeferred(self._lifecycle())

    async def _refusals(self):
        hv = self.pvm()
        inst = self.instance()
        await self.assertHvError(hv.stop_instance(inst, False), "not running")
        await self.assertHvError(hv.reboot_instance(inst), "not running")
        await hv.start_instance(inst, self.devices())
        await self.assertHvError(hv.start_instance(inst, self.devices()), "already running")
        await self.assertHvError(hv.start_instance(self.instance(name="inst2"),
                                                   [({"mode": "rw"}, self.disk + ".gone")]),
                                 "Disk %s.gone of instance inst2 is not usable" % self.disk)
        self.assertEqual(await hv.list_instances(), ["inst1.example.com"])

    def test_refusals_are_one_line(self):
        return defer.ensureDeferred(self._refusals())

    async def _foreign(self):
        foreign = "foreign-%d" % os.getpid()
        dom = self.raw.defineXML("<domain type='test'><name>%s</name><memory>65536</memory>"
                                 "<os><type>hvm</type></os></domain>" % foreign)
        self.addCleanup(dom.undefine)
        dom.create()
        self.addCleanup(dom.destroy)
        hv = self.pvm()
        self.assertNotIn(foreign, await hv.list_instances())
        self.assertIsNone(await hv.get_instance_info(foreign))
        await self.assertHvError(hv.start_instance(self.instance(name=foreign), self.devices()),
                                 "libvirt already has a domain named %s that is not an instance"
                                 " of this node" % foreign)
        await self.assertHvError(hv.stop_instance(self.instance(name=foreign), True),
                                 "not running")
        self.assertTrue(dom.isActive())

    def test_domains_not_ours_are_left_alone(self):
        return defer.ensureDeferred(self._foreign())

    async def _two_nodes(self):
        other = self.pvm(self.node_paths(tempfile.mkdtemp(dir=os.getcwd())))
        await self.pvm().start_instance(self.instance(), self.devices())
        await other.start_instance(self.instance(name="inst2"), self.devices())
        self.assertEqual(await self.pvm().list_instances(), ["inst1.example.com"])
        self.assertEqual(await other.list_instances(), ["inst2"])
        self.assertEqual(await get_hypervisor(constants.HT_XEN_HVM, self.paths)
                         .list_instances(), [], "xen-hvm does not list xen-pvm instances")

    def test_nodes_sharing_one_libvirt_see_their_own_instances(self):
        return defer.ensureDeferred(self._two_nodes())

    async def _node_info(self):
        info = await self.pvm().get_node_info()
        model, memory, cpus, _mhz, nodes, sockets, _cores, _threads = self.raw.getInfo()
        self.assertEqual(info, {"memory_total": memory, "memory_free": memory,
                                "memory_dom0": 0, "cpu_total": cpus, "cpu_nodes": nodes,
                                "cpu_sockets": nodes * sockets})

    def test_node_info_from_libvirt(self):
        return defer.ensureDeferred(self._node_info())

    async def _hvm(self):
        hv = get_hypervisor(constants.HT_XEN_HVM, self.paths)
        iso = self.touch("cd.iso")
        inst = self.instance(constants.HT_XEN_HVM, cdrom_image_path=iso, boot_order="dc",
                             nic_type="ne2k_pci")
        inst.network_port = 11007
        await self.assertHvError(hv.start_instance(inst, self.devices()),
                                 "Cannot read the VNC password of xen-hvm instances from %s"
                                 % self.paths.vnc_password_file)
        with open(self.paths.vnc_password_file, "w") as fh:
            fh.write("pw\n")
        await hv.start_instance(inst, self.devices())
        self.assertEqual(await hv.list_instances(), [inst.name])
        stored = ET.fromstring(self.raw.lookupByName(inst.name).XMLDesc())
        self.assertEqual([b.get("dev") for b in stored.findall("os/boot")], ["cdrom", "hd"])
        self.assertEqual(stored.find("devices/graphics").get("port"), "11007")
        self.assertEqual(stored.find("devices/interface/model").get("type"), "ne2k_pci")
        self.assertEqual([d.get("device") for d in stored.findall("devices/disk")],
                         ["disk", "cdrom"])
        await hv.stop_instance(inst, False)
        self.assertEqual(await hv.list_instances(), [])

    def test_hvm_lifecycle(self):
        return defer.ensureDeferred(self._hvm())

    async def _bad_uri(self):
        with open(self.paths.xen_libvirt_uri_file, "w") as fh:
            fh.write("nosuchdriver:///system\n")
        hv = self.pvm()
        problem = await hv.verify()
        self.assertIn("Cannot use libvirt: cannot connect to libvirt at nosuchdriver:///system: ",
                      problem)
        self.assertNotIn("\n", problem)
        await self.assertHvError(hv.list_instances(), "Failed to list instances: ")

    def test_unusable_libvirt_is_one_line(self):
        return defer.ensureDeferred(self._bad_uri())

    async def _migration(self):
        hv = self.pvm()
        inst = self.instance()
        await hv.start_instance(inst, self.devices())
        for coro in (hv.migration_info(inst), hv.accept_instance(inst, "", "127.0.18.2"),
                     hv.migrate_instance(inst, "127.0.18.2", True),
                     hv.finalize_migration(inst, "", True)):
            await self.assertHvError(coro, "live migration of xen-pvm instances is not"
                                           " implemented (use failover)")
        await hv.finalize_migration(inst, "", False)
        self.assertEqual(await hv.list_instances(), [inst.name])

    def test_migration_refused_with_one_line(self):
        return defer.ensureDeferred(self._migration())

    def test_console_is_virsh_on_the_node_uri(self):
        self.assertEqual(self.pvm().get_console_command(self.instance(name="inst1")),
                         "virsh -c test:///default console inst1")


class ParameterTests(LibvirtTestBase):
    def filled(self, hv_name, **overrides):
        return params.fill_hvparams(hv_name, {}, overrides)

    def assertRefused(self, hv_name, text, **overrides):
        hv = get_hypervisor(hv_name, self.paths)
        with self.assertRaises(errors.HypervisorError) as ctx:
            hv.validate_parameters(self.filled(hv_name, **overrides))
        self.assertIn(text, str(ctx.exception))

    def test_good_parameters_pass_on_the_node(self):
        self.pvm().validate_parameters(self.filled(constants.HT_XEN_PVM,
                                                   kernel_path=self.kernel))
        get_hypervisor(constants.HT_XEN_HVM, self.paths).validate_parameters(
            self.filled(constants.HT_XEN_HVM, kernel_path=self.kernel,
                        device_model=self.kernel))

    def test_bad_parameters_refused(self):
        self.assertRefused(constants.HT_XEN_PVM, "not an absolute path", kernel_path="vmlinuz")
        self.assertRefused(constants.HT_XEN_PVM, "not an existing file on this node",
                           kernel_path=self.kernel + ".missing")
        self.assertRefused(constants.HT_XEN_PVM, "'root_path' is required",
                           kernel_path=self.kernel, root_path="")
        self.assertRefused(constants.HT_XEN_HVM, "must be one of rtl8139",
                           kernel_path=self.kernel, device_model=self.kernel, nic_type="e1000")
        self.assertRefused(constants.HT_XEN_HVM, "not a valid IPv4 address",
                           kernel_path=self.kernel, device_model=self.kernel,
                           vnc_bind_address="/tmp/vnc")
        with self.assertRaises(errors.HypervisorError) as ctx:
            self.pvm().check_parameter_syntax(dict(self.filled(constants.HT_XEN_PVM),
                                                   boot_order="cd"))
        self.assertIn("'boot_order' is not supported by hypervisor xen-pvm", str(ctx.exception))
