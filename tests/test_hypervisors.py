"""ganeti_tw/hypervisors: the registry, the fake provider and the parameter tables."""

import os
import tempfile

from twisted.internet import defer
from twisted.trial import unittest
from zope.interface.verify import verifyObject

from ganeti_tw import constants, errors, objects
from ganeti_tw import hypervisors
from ganeti_tw.hypervisors import HYPERVISORS, get_hypervisor, hostinfo, params
from ganeti_tw.hypervisors.fake import FakeHypervisor
from ganeti_tw.hypervisors.interfaces import IHypervisor
from ganeti_tw.paths import Paths

MEMINFO = """\
MemTotal:        8388608 kB
MemFree:         1048576 kB
MemAvailable:    4194304 kB
Buffers:          524288 kB
Cached:           524288 kB
Active:          2097152 kB
"""


def instance(name: str = "inst1.example.com", memory: int = 256,
             vcpus: int = 2) -> objects.Instance:
    return objects.Instance(name=name, hvparams={},
                            beparams={"memory": memory, "vcpus": vcpus, "auto_balance": True})


def run(coro):
    return defer.ensureDeferred(coro)


class RegistryTests(unittest.SynchronousTestCase):
    def test_fake_is_registered_and_provides_the_interface(self):
        hv = get_hypervisor(constants.HT_FAKE, Paths(self.mktemp()))
        self.assertIsInstance(hv, FakeHypervisor)
        self.assertTrue(verifyObject(IHypervisor, hv))

    def test_every_registered_provider_provides_the_interface(self):
        for name in HYPERVISORS:
            self.assertTrue(verifyObject(IHypervisor, get_hypervisor(name, Paths("/"))))

    def test_known_hypervisor_without_provider_says_not_available(self):
        self.patch(hypervisors, "HYPERVISORS", {constants.HT_FAKE: FakeHypervisor})
        with self.assertRaises(errors.HypervisorError) as ctx:
            get_hypervisor(constants.HT_KVM, Paths("/"))
        self.assertIn("Hypervisor kvm is not available on this node", str(ctx.exception))

    def test_unknown_hypervisor_is_named(self):
        with self.assertRaises(errors.HypervisorError) as ctx:
            get_hypervisor("vmware", Paths("/"))
        self.assertIn("Unknown hypervisor 'vmware'", str(ctx.exception))


class FakeTestBase(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(dir=os.getcwd())
        self.paths = Paths(self.root)
        self.hv = FakeHypervisor(self.paths)
        meminfo = os.path.join(self.root, "meminfo")
        with open(meminfo, "w") as fh:
            fh.write(MEMINFO)
        self.patch(hostinfo, "MEMINFO_FILE", meminfo)

    def state_file(self, name: str, paths: Paths = None) -> str:
        return os.path.join((paths or self.paths).fake_hv_dir, name)


class FakeLifecycleTests(FakeTestBase):
    def test_start_writes_state_below_the_node_root(self):
        async def go():
            await self.hv.start_instance(instance(), [({"size": 1024}, "/dev/null")])
            with open(self.state_file("inst1.example.com")) as fh:
                self.assertEqual(fh.read(), "0\n256\n2\n")
            self.assertTrue(self.paths.fake_hv_dir.startswith(self.root))
        return run(go())

    def test_start_of_running_instance_fails(self):
        async def go():
            await self.hv.start_instance(instance(), [])
            with self.assertRaises(errors.HypervisorError) as ctx:
                await self.hv.start_instance(instance(), [])
            self.assertIn("already running", str(ctx.exception))
        return run(go())

    def test_stop_removes_state(self):
        async def go():
            await self.hv.start_instance(instance(), [])
            await self.hv.stop_instance(instance(), False)
            self.assertFalse(os.path.exists(self.state_file("inst1.example.com")))
            self.assertEqual(await self.hv.list_instances(), [])
        return run(go())

    def test_stop_of_stopped_instance_fails(self):
        async def go():
            with self.assertRaises(errors.HypervisorError) as ctx:
                await self.hv.stop_instance(instance(), True)
            self.assertIn("not running", str(ctx.exception))
        return run(go())

    def test_reboot_needs_a_running_instance_and_keeps_it_running(self):
        async def go():
            with self.assertRaises(errors.HypervisorError):
                await self.hv.reboot_instance(instance())
            await self.hv.start_instance(instance(), [])
            await self.hv.reboot_instance(instance())
            self.assertEqual(await self.hv.list_instances(), ["inst1.example.com"])
        return run(go())

    def test_list_in_nice_order_and_without_pending_or_temp_files(self):
        async def go():
            for name in ("web10", "web2", "db1"):
                await self.hv.start_instance(instance(name), [])
            await self.hv.accept_instance(instance("incoming1"), "0\n128\n1\n", "127.0.1.1")
            with open(self.state_file(".web3.tmp"), "w") as fh:
                fh.write("0\n1\n1\n")
            os.makedirs(self.state_file("not-an-instance"))
            self.assertEqual(await self.hv.list_instances(), ["db1", "web2", "web10"])
            self.assertEqual([info[0] for info in await self.hv.get_all_instances_info()],
                             ["db1", "web2", "web10"])
        return run(go())

    def test_list_without_state_dir_is_empty(self):
        async def go():
            self.assertEqual(await self.hv.list_instances(), [])
            self.assertEqual(await self.hv.get_all_instances_info(), [])
        return run(go())

    def test_instance_info(self):
        async def go():
            self.assertIsNone(await self.hv.get_instance_info("inst1.example.com"))
            await self.hv.start_instance(instance(memory=512, vcpus=4), [])
            self.assertEqual(await self.hv.get_instance_info("inst1.example.com"),
                             ("inst1.example.com", 0, 512, 4, "---b-", 0.0))
            await self.hv.start_instance(instance("other", memory=128, vcpus=1), [])
            infos = await self.hv.get_all_instances_info()
            self.assertEqual([(i[0], i[2], i[3]) for i in infos],
                             [("inst1.example.com", 512, 4), ("other", 128, 1)])
        return run(go())

    def test_corrupt_state_file_is_a_clear_error(self):
        async def go():
            os.makedirs(self.paths.fake_hv_dir)
            with open(self.state_file("broken"), "w") as fh:
                fh.write("garbage")
            with self.assertRaises(errors.HypervisorError) as ctx:
                await self.hv.get_instance_info("broken")
            self.assertIn("Corrupt fake hypervisor state of instance broken", str(ctx.exception))
        return run(go())

    def test_instance_names_cannot_escape_the_state_dir(self):
        async def go():
            for name in ("../../etc/passwd", ".hidden", ""):
                with self.assertRaises(errors.HypervisorError):
                    await self.hv.start_instance(instance(name), [])
        return run(go())

    def test_console_command_prints_not_available(self):
        self.assertEqual(self.hv.get_console_command(instance()),
                         "echo Console not available for fake hypervisor")

    def test_verify_creates_the_state_dir(self):
        async def go():
            self.assertIsNone(await self.hv.verify())
            self.assertTrue(os.path.isdir(self.paths.fake_hv_dir))
        return run(go())

    def test_verify_reports_an_uncreatable_state_dir(self):
        async def go():
            os.makedirs(os.path.dirname(self.paths.fake_hv_dir))
            with open(self.paths.fake_hv_dir, "w"):
                pass
            error = await self.hv.verify()
            self.assertIn(self.paths.fake_hv_dir, error)
        return run(go())

    def test_parameters_fake_has_none(self):
        self.hv.check_parameter_syntax({})
        self.hv.validate_parameters({})
        with self.assertRaises(errors.HypervisorError) as ctx:
            self.hv.check_parameter_syntax({"kernel_path": "/boot/vmlinuz"})
        self.assertIn("'kernel_path' is not supported", str(ctx.exception))


class FakeNodeInfoTests(FakeTestBase):
    def test_node_info_from_meminfo(self):
        async def go():
            info = await self.hv.get_node_info()
            self.assertEqual(info, {"memory_total": 8192, "memory_free": 2048,
                                    "memory_dom0": 2048, "cpu_total": os.cpu_count(),
                                    "cpu_nodes": 1, "cpu_sockets": 1})
        return run(go())

    def test_running_instances_reduce_free_memory(self):
        async def go():
            await self.hv.start_instance(instance("a", memory=512), [])
            await self.hv.start_instance(instance("b", memory=256), [])
            self.assertEqual((await self.hv.get_node_info())["memory_free"], 2048 - 768)
        return run(go())

    def test_free_memory_never_negative(self):
        async def go():
            await self.hv.start_instance(instance(memory=100000), [])
            self.assertEqual((await self.hv.get_node_info())["memory_free"], 0)
        return run(go())

    def test_unreadable_meminfo_is_a_hypervisor_error(self):
        async def go():
            self.patch(hostinfo, "MEMINFO_FILE", os.path.join(self.root, "missing"))
            with self.assertRaises(errors.HypervisorError):
                await self.hv.get_node_info()
        return run(go())


class FakeTwoNodesTests(FakeTestBase):
    """Nodes of a local cluster share one machine, each with its own root."""

    def setUp(self):
        super().setUp()
        self.paths2 = Paths(tempfile.mkdtemp(dir=os.getcwd()))
        self.hv2 = FakeHypervisor(self.paths2)

    def test_roots_do_not_see_each_others_instances(self):
        async def go():
            await self.hv.start_instance(instance("one", memory=1024), [])
            await self.hv2.start_instance(instance("two"), [])
            self.assertEqual(await self.hv.list_instances(), ["one"])
            self.assertEqual(await self.hv2.list_instances(), ["two"])
            self.assertIsNone(await self.hv2.get_instance_info("one"))
            self.assertEqual((await self.hv2.get_node_info())["memory_free"], 2048 - 256)
        return run(go())

    def test_migration_moves_the_instance(self):
        async def go():
            inst = instance(memory=384, vcpus=3)
            await self.hv.start_instance(inst, [])
            info = await self.hv.migration_info(inst)
            self.assertEqual(info, "0\n384\n3\n")
            await self.hv2.accept_instance(inst, info, "127.0.1.2")
            self.assertEqual(await self.hv2.list_instances(), [])
            await self.hv.migrate_instance(inst, "127.0.1.2", True)
            await self.hv2.finalize_migration(inst, info, True)
            self.assertEqual(await self.hv.list_instances(), [])
            self.assertEqual(await self.hv2.get_instance_info(inst.name),
                             (inst.name, 0, 384, 3, "---b-", 0.0))
            self.assertEqual(os.listdir(self.paths2.fake_hv_dir), [inst.name])
        return run(go())

    def test_failed_migration_removes_the_pending_instance(self):
        async def go():
            inst = instance()
            await self.hv.start_instance(inst, [])
            info = await self.hv.migration_info(inst)
            await self.hv2.accept_instance(inst, info, "127.0.1.2")
            await self.hv2.finalize_migration(inst, info, False)
            self.assertEqual(os.listdir(self.paths2.fake_hv_dir), [])
            self.assertEqual(await self.hv.list_instances(), [inst.name])
        return run(go())

    def test_migration_info_of_stopped_instance_fails(self):
        async def go():
            with self.assertRaises(errors.HypervisorError) as ctx:
                await self.hv.migration_info(instance())
            self.assertIn("not running on this node", str(ctx.exception))
        return run(go())

    def test_migrate_of_stopped_instance_fails(self):
        async def go():
            with self.assertRaises(errors.HypervisorError):
                await self.hv.migrate_instance(instance(), "127.0.1.2", False)
        return run(go())

    def test_accept_refuses_instance_running_on_target(self):
        async def go():
            await self.hv2.start_instance(instance(), [])
            with self.assertRaises(errors.HypervisorError) as ctx:
                await self.hv2.accept_instance(instance(), "0\n128\n1\n", "127.0.1.2")
            self.assertIn("already running on this node", str(ctx.exception))
        return run(go())

    def test_accept_refuses_garbage_info(self):
        async def go():
            with self.assertRaises(errors.HypervisorError):
                await self.hv2.accept_instance(instance(), "not a state", "127.0.1.2")
        return run(go())

    def test_finalize_without_accept_fails(self):
        async def go():
            with self.assertRaises(errors.HypervisorError) as ctx:
                await self.hv2.finalize_migration(instance(), "0\n128\n1\n", True)
            self.assertIn("No incoming migration", str(ctx.exception))
            await self.hv2.finalize_migration(instance(), "0\n128\n1\n", False)
        return run(go())


class ParameterTableTests(unittest.SynchronousTestCase):
    def test_defaults_match_spec(self):
        self.assertEqual(params.HVC_DEFAULTS, {
            "fake": {},
            "xen-pvm": {"kernel_path": "/boot/vmlinuz-2.6-xenU", "initrd_path": "",
                        "root_path": "/dev/sda1", "kernel_args": "ro"},
            "xen-hvm": {"kernel_path": "/usr/lib/xen/boot/hvmloader", "boot_order": "cd",
                        "cdrom_image_path": "", "nic_type": "rtl8139",
                        "disk_type": "paravirtual", "vnc_bind_address": "0.0.0.0",
                        "acpi": True, "pae": True, "device_model": "/usr/lib/xen/bin/qemu-dm"},
            "kvm": {"kernel_path": "/boot/vmlinuz-2.6-kvmU", "initrd_path": "",
                    "root_path": "/dev/vda1", "kernel_args": "ro", "boot_order": "disk",
                    "cdrom_image_path": "", "nic_type": "paravirtual",
                    "disk_type": "paravirtual", "vnc_bind_address": "", "vnc_tls": False,
                    "vnc_x509_path": "", "vnc_x509_verify": False, "acpi": True,
                    "serial_console": True, "usb_mouse": "", "accelerator": "kvm",
                    "migration_port": 8102, "migration_bandwidth": 32,
                    "migration_downtime": 30},
        })

    def test_every_known_hypervisor_has_a_table(self):
        self.assertEqual(set(params.HV_PARAMETERS), set(constants.HYPER_TYPES))

    def test_defaults_pass_the_syntax_check(self):
        for hv in constants.HYPER_TYPES:
            params.check_syntax(hv, params.fill_hvparams(hv, None, None))

    def test_fill_layers_builtin_cluster_and_instance(self):
        filled = params.fill_hvparams("kvm", {"acpi": False, "kernel_args": "ro quiet"},
                                      {"kernel_args": "single"})
        self.assertEqual(filled["acpi"], False)
        self.assertEqual(filled["kernel_args"], "single")
        self.assertEqual(filled["boot_order"], "disk")
        self.assertEqual(set(filled), set(params.HVC_DEFAULTS["kvm"]))

    def test_fill_does_not_change_its_inputs(self):
        cluster = {"acpi": False}
        params.fill_hvparams("kvm", cluster, {"acpi": True})
        self.assertEqual(cluster, {"acpi": False})
        params.fill_hvparams("kvm", {}, {})["root_path"] = "x"
        self.assertEqual(params.HVC_DEFAULTS["kvm"]["root_path"], "/dev/vda1")

    def test_unknown_hypervisor_is_an_error_everywhere(self):
        for call in (lambda: params.fill_hvparams("vmware", {}, {}),
                     lambda: params.upgrade_types("vmware", {}),
                     lambda: params.check_syntax("vmware", {})):
            self.assertRaises(errors.HypervisorError, call)

    def test_accelerator_is_kvm_or_tcg(self):
        filled = params.fill_hvparams("kvm", None, {"accelerator": "hax"})
        with self.assertRaises(errors.HypervisorError) as ctx:
            params.check_syntax("kvm", filled)
        self.assertIn("'accelerator' = 'hax': must be one of kvm, tcg", str(ctx.exception))


class UpgradeTypesTests(unittest.SynchronousTestCase):
    def test_bool_strings_case_insensitive(self):
        self.assertEqual(params.upgrade_types("kvm", {"acpi": "FALSE", "vnc_tls": "True",
                                                      "serial_console": False}),
                         {"acpi": False, "vnc_tls": True, "serial_console": False})

    def test_false_for_a_string_parameter_is_empty(self):
        self.assertEqual(params.upgrade_types("kvm", {"kernel_path": False,
                                                      "initrd_path": "false"}),
                         {"kernel_path": "", "initrd_path": ""})

    def test_strings_stay_strings(self):
        self.assertEqual(params.upgrade_types("xen-pvm", {"kernel_args": "ro quiet"}),
                         {"kernel_args": "ro quiet"})

    def test_input_is_not_modified(self):
        given = {"acpi": "true"}
        params.upgrade_types("kvm", given)
        self.assertEqual(given, {"acpi": "true"})

    def test_unknown_parameter(self):
        with self.assertRaises(errors.ParameterError) as ctx:
            params.upgrade_types("kvm", {"pae": True})
        self.assertEqual(str(ctx.exception), "Unknown parameter 'pae' for hypervisor kvm")

    def test_fake_knows_no_parameter(self):
        self.assertRaises(errors.ParameterError, params.upgrade_types, "fake", {"acpi": True})

    def test_bad_bool_names_the_parameter(self):
        with self.assertRaises(errors.TypeEnforcementError) as ctx:
            params.upgrade_types("kvm", {"acpi": "yes"})
        self.assertIn("'acpi'", str(ctx.exception))

    def test_bad_string_names_the_parameter(self):
        for value in (True, 3, None):
            with self.assertRaises(errors.TypeEnforcementError) as ctx:
                params.upgrade_types("kvm", {"root_path": value})
            self.assertIn("'root_path'", str(ctx.exception))

    def test_int_values(self):
        self.assertEqual(params.convert_value("n", params.VTYPE_INT, "42"), 42)
        self.assertEqual(params.convert_value("n", params.VTYPE_INT, 7), 7)
        for bad in ("4.5", "x", True, None):
            self.assertRaises(errors.TypeEnforcementError,
                              params.convert_value, "n", params.VTYPE_INT, bad)

    def test_size_values_become_mib_rounded_up_to_four(self):
        size = params.VTYPE_SIZE
        for given, mib in (("512", 512), ("1g", 1024), ("1.5G", 1536), ("2GiB", 2048),
                           ("1t", 1048576), ("10m", 12), (130, 132), ("0.1", 4)):
            self.assertEqual(params.convert_value("memory", size, given), mib, given)
        for bad in ("1x", "-5", "g", "", True, None):
            with self.assertRaises(errors.TypeEnforcementError) as ctx:
                params.convert_value("memory", size, bad)
            self.assertIn("'memory'", str(ctx.exception))


class CheckSyntaxTests(unittest.SynchronousTestCase):
    def assertInvalid(self, hv: str, overrides: dict, text: str) -> None:
        filled = params.fill_hvparams(hv, None, overrides)
        with self.assertRaises(errors.HypervisorError) as ctx:
            params.check_syntax(hv, filled)
        self.assertIn(text, str(ctx.exception))
        self.assertNotIn("\n", str(ctx.exception))

    def assertValid(self, hv: str, overrides: dict) -> None:
        params.check_syntax(hv, params.fill_hvparams(hv, None, overrides))

    def test_extra_parameter_not_supported(self):
        self.assertInvalid("xen-pvm", {"acpi": True}, "Parameter 'acpi' is not supported")

    def test_missing_parameter(self):
        filled = params.fill_hvparams("kvm", None, None)
        del filled["usb_mouse"]
        with self.assertRaises(errors.HypervisorError) as ctx:
            params.check_syntax("kvm", filled)
        self.assertIn("Parameter 'usb_mouse' of hypervisor kvm is missing", str(ctx.exception))

    def test_wrong_type(self):
        self.assertInvalid("kvm", {"acpi": "false"}, "'acpi' = 'false': not a bool")
        self.assertInvalid("kvm", {"kernel_args": 5}, "not a string")

    def test_xen_pvm_kernel_required_and_absolute(self):
        self.assertInvalid("xen-pvm", {"kernel_path": ""}, "'kernel_path' is required")
        self.assertInvalid("xen-pvm", {"kernel_path": "vmlinuz"}, "not an absolute path")

    def test_xen_pvm_root_required(self):
        self.assertInvalid("xen-pvm", {"root_path": ""}, "'root_path' is required")

    def test_initrd_absolute_if_set(self):
        for hv in ("xen-pvm", "kvm"):
            self.assertValid(hv, {"initrd_path": ""})
            self.assertInvalid(hv, {"initrd_path": "initrd.img"}, "not an absolute path")

    def test_hvm_boot_order_letters(self):
        for good in ("cd", "n", "dcna"):
            self.assertValid("xen-hvm", {"boot_order": good})
        self.assertInvalid("xen-hvm", {"boot_order": "cx"}, "boot order letters")
        self.assertInvalid("xen-hvm", {"boot_order": ""}, "'boot_order' is required")

    def test_hvm_nic_and_disk_types(self):
        self.assertValid("xen-hvm", {"nic_type": "ne2k_isa", "disk_type": "ioemu"})
        self.assertInvalid("xen-hvm", {"nic_type": "e1000"}, "must be one of rtl8139")
        self.assertInvalid("xen-hvm", {"disk_type": "ide"}, "must be one of paravirtual, ioemu")

    def test_hvm_vnc_bind_address_ipv4(self):
        self.assertValid("xen-hvm", {"vnc_bind_address": ""})
        self.assertValid("xen-hvm", {"vnc_bind_address": "127.0.0.1"})
        self.assertInvalid("xen-hvm", {"vnc_bind_address": "/var/run"},
                           "not a valid IPv4 address")

    def test_hvm_paths(self):
        self.assertInvalid("xen-hvm", {"kernel_path": ""}, "'kernel_path' is required")
        self.assertInvalid("xen-hvm", {"device_model": ""}, "'device_model' is required")
        self.assertInvalid("xen-hvm", {"device_model": "qemu-dm"}, "not an absolute path")
        self.assertInvalid("xen-hvm", {"cdrom_image_path": "a.iso"}, "not an absolute path")

    def test_kvm_empty_kernel_boots_from_disk(self):
        self.assertValid("kvm", {"kernel_path": "", "root_path": ""})

    def test_kvm_root_required_with_kernel(self):
        self.assertInvalid("kvm", {"root_path": ""}, "'root_path' is required when 'kernel_path'")

    def test_kvm_boot_order(self):
        self.assertInvalid("kvm", {"boot_order": "cd"}, "must be one of disk, cdrom, network")
        self.assertInvalid("kvm", {"boot_order": "cdrom"}, "without 'cdrom_image_path'")
        self.assertValid("kvm", {"boot_order": "cdrom", "cdrom_image_path": "/srv/a.iso"})

    def test_kvm_network_boot_needs_emulated_nic(self):
        self.assertInvalid("kvm", {"boot_order": "network"}, "paravirtual NIC")
        self.assertValid("kvm", {"boot_order": "network", "nic_type": "e1000"})

    def test_kvm_nic_and_disk_types(self):
        self.assertValid("kvm", {"nic_type": "i82559er", "disk_type": "scsi"})
        self.assertInvalid("kvm", {"nic_type": "ne2k"}, "'nic_type'")
        self.assertInvalid("kvm", {"disk_type": "ioemu"}, "'disk_type'")

    def test_kvm_vnc_bind_address_ipv4_or_absolute_dir(self):
        self.assertValid("kvm", {"vnc_bind_address": "0.0.0.0"})
        self.assertValid("kvm", {"vnc_bind_address": "/var/run/vnc"})
        self.assertInvalid("kvm", {"vnc_bind_address": "localhost"},
                           "neither an IPv4 address nor an absolute directory path")
        self.assertInvalid("kvm", {"vnc_bind_address": "300.1.1.1"}, "neither an IPv4")

    def test_kvm_x509(self):
        self.assertInvalid("kvm", {"vnc_x509_path": "certs"}, "not an absolute path")
        self.assertInvalid("kvm", {"vnc_x509_verify": True}, "requires 'vnc_x509_path'")
        self.assertValid("kvm", {"vnc_x509_verify": True, "vnc_x509_path": "/etc/x509"})

    def test_kvm_usb_mouse(self):
        for good in ("", "mouse", "tablet"):
            self.assertValid("kvm", {"usb_mouse": good})
        self.assertInvalid("kvm", {"usb_mouse": "trackball"}, "must be one of mouse, tablet")


class ValidateLocalTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(dir=os.getcwd())
        self.kernel = os.path.join(self.dir, "vmlinuz")
        with open(self.kernel, "w"):
            pass

    def validate(self, hv: str, overrides: dict) -> None:
        params.validate_local(hv, params.fill_hvparams(hv, None, overrides))

    def test_existing_files_pass(self):
        self.validate("kvm", {"kernel_path": self.kernel, "initrd_path": self.kernel,
                              "vnc_bind_address": self.dir, "vnc_x509_path": self.dir})

    def test_missing_kernel(self):
        missing = os.path.join(self.dir, "nothing")
        with self.assertRaises(errors.HypervisorError) as ctx:
            self.validate("xen-pvm", {"kernel_path": missing})
        self.assertIn("'kernel_path' = '%s': not an existing file" % missing,
                      str(ctx.exception))

    def test_empty_optional_paths_are_not_looked_up(self):
        self.validate("kvm", {"kernel_path": "", "initrd_path": "", "cdrom_image_path": ""})

    def test_directory_is_not_a_file(self):
        self.assertRaises(errors.HypervisorError, self.validate, "kvm",
                          {"kernel_path": "", "cdrom_image_path": self.dir})

    def test_vnc_socket_dir_must_exist_but_ip_needs_nothing(self):
        self.validate("kvm", {"kernel_path": "", "vnc_bind_address": "127.0.0.1"})
        self.assertRaises(errors.HypervisorError, self.validate, "kvm",
                          {"kernel_path": "", "vnc_bind_address": self.kernel})

    def test_x509_path_must_be_a_directory(self):
        self.assertRaises(errors.HypervisorError, self.validate, "kvm",
                          {"kernel_path": "", "vnc_x509_path": self.kernel})

    def test_hvm_device_model_must_exist(self):
        self.assertRaises(errors.HypervisorError, self.validate, "xen-hvm",
                          {"kernel_path": self.kernel,
                           "device_model": os.path.join(self.dir, "qemu-dm")})

    def test_syntax_is_checked_first(self):
        self.assertRaises(errors.HypervisorError, self.validate, "kvm",
                          {"kernel_path": self.kernel, "usb_mouse": "trackball"})
