"""A tiny kvm test guest built from Debian packages: a stock kernel and a busybox initramfs.

The kernel comes out of the candidate ``linux-image-amd64`` package
(``apt-get download`` + ``dpkg-deb -x``; nothing is installed), together
with the two modules the guest needs to see the ACPI power button (evdev,
button). The initramfs holds the host's static busybox and an ``init`` that
prints ``READY_MARKER`` on the serial console, then a counter line every
0.2 s (``counter N``), and powers off when the power button is pressed (QMP
``system_powerdown``). Both files are cached outside the repository, keyed
by the kernel package's version, so only the first run pays for the build.
"""

import glob
import gzip
import os
import shutil
import subprocess
import tempfile
from typing import Optional, Tuple

READY_MARKER = "GANETI-TW-GUEST-READY"
POWEROFF_MARKER = "GANETI-TW-GUEST-POWEROFF"
BUSYBOX = "/bin/busybox"
KERNEL_META_PACKAGE = "linux-image-amd64"
MODULES = ("kernel/drivers/input/evdev.ko", "kernel/drivers/acpi/button.ko")
KERNEL_ARGS = "console=ttyS0 quiet"

INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
insmod /evdev.ko
insmod /button.ko
# any event of the power button device is the ACPI power-off request
for d in /sys/class/input/event*; do
  if grep -q "Power Button" $d/device/name 2>/dev/null; then
    (dd if=/dev/${d#/sys/class/} bs=24 count=1 >/dev/null 2>&1
     echo %(poweroff)s; poweroff -f) &
  fi
done
echo %(ready)s
n=0
while true; do n=$((n+1)); echo "counter $n"; sleep 0.2; done
""" % {"ready": READY_MARKER, "poweroff": POWEROFF_MARKER}


def cache_dir() -> str:
    """Where built guests are kept: /var/cache as root, else the user's cache."""
    if os.geteuid() == 0:
        return "/var/cache/ganeti-tw-test/kvm-guest"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(base, "ganeti-tw-test", "kvm-guest")


def why_unavailable() -> Optional[str]:
    """Why the guest cannot be built here (a skip reason), or None."""
    for tool in ("apt-get", "apt-cache", "dpkg-deb", "cpio"):
        if shutil.which(tool) is None:
            return "%s is not installed (needed to build the test guest)" % tool
    if not os.path.isfile(BUSYBOX):
        return "%s (busybox-static) is not installed" % BUSYBOX
    if subprocess.run(["ldd", BUSYBOX], capture_output=True).returncode == 0:
        return "%s is linked dynamically: the guest needs busybox-static" % BUSYBOX
    return None


def _kernel_package() -> str:
    """The versioned linux-image package the meta package depends on."""
    out = subprocess.run(["apt-cache", "depends", KERNEL_META_PACKAGE], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    for line in out.splitlines():
        word = line.strip()
        if word.startswith("Depends: linux-image-"):
            return word.split()[1]
    raise RuntimeError("apt-cache knows no kernel behind %s" % KERNEL_META_PACKAGE)


def _write_initramfs(dest: str, module_dir: str, work: str) -> None:
    tree = os.path.join(work, "initramfs")
    for sub in ("bin", "proc", "sys", "dev"):
        os.makedirs(os.path.join(tree, sub))
    shutil.copy(BUSYBOX, os.path.join(tree, "bin", "busybox"))
    for module in MODULES:
        shutil.copy(os.path.join(module_dir, module), tree)
    init = os.path.join(tree, "init")
    with open(init, "w") as fh:
        fh.write(INIT)
    os.chmod(init, 0o755)
    names = subprocess.run(["find", "."], cwd=tree, check=True, capture_output=True,
                           timeout=60).stdout
    archive = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=tree, input=names,
                             check=True, capture_output=True, timeout=60).stdout
    with open(dest + ".tmp", "wb") as fh:
        fh.write(gzip.compress(archive, 1))
    os.replace(dest + ".tmp", dest)


def build_guest() -> Tuple[str, str]:
    """``(kernel_path, initrd_path)`` of the test guest, built on first use."""
    package = _kernel_package()
    directory = os.path.join(cache_dir(), package)
    kernel = os.path.join(directory, "vmlinuz")
    initrd = os.path.join(directory, "initrd.img")
    if os.path.isfile(kernel) and os.path.isfile(initrd):
        return kernel, initrd
    os.makedirs(directory, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory) as work:
        subprocess.run(["apt-get", "download", "-q", package], cwd=work, check=True,
                       capture_output=True, timeout=600)
        deb = glob.glob(os.path.join(work, "*.deb"))[0]
        extracted = os.path.join(work, "x")
        subprocess.run(["dpkg-deb", "-x", deb, extracted], check=True, capture_output=True,
                       timeout=600)
        module_dir = glob.glob(os.path.join(extracted, "lib/modules/*"))[0]
        _write_initramfs(initrd, module_dir, work)
        vmlinuz = glob.glob(os.path.join(extracted, "boot/vmlinuz-*"))[0]
        shutil.copy(vmlinuz, kernel + ".tmp")
        os.replace(kernel + ".tmp", kernel)
    return kernel, initrd
