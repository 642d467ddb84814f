"""ganeti_tw/hypervisors: the parameter tables."""

import os
import tempfile

from twisted.trial import unittest

from ganeti_tw import constants, errors
from ganeti_tw.hypervisors import params


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
                    "serial_console": True, "usb_mouse": ""},
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

    def test_no_accelerator_parameter_yet(self):
        self.assertNotIn("accelerator", params.HVC_DEFAULTS["kvm"])


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
