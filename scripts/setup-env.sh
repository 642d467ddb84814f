# Sourced by run-tests and run-demo: install the Python and Debian packages needed.
# Debian packages first: pip builds libvirt-python from source against them.
# man-db/groff render the man pages (a test checks them); openssh-client adds nodes
# over ssh, and the ssh node-setup test runs its own sshd on a loopback address;
# e2fsprogs builds our tiny OS's image; ganeti-os-noop is Ganeti's own OS
# definition from Debian, which the tests install instances with;
# ganeti-instance-debootstrap is Debian's debootstrap OS, which a test installs
# an instance with offline, from a cache tarball it builds itself;
# python3-ganeti-rapi is Ganeti's own RAPI client library, which a test drives
# ganeti-rapi with (under Debian's /usr/bin/python3);
# qemu-system-x86 runs the kvm hypervisor's guests (tcg where /dev/kvm can't); the kvm
# tests build their guest from the host's busybox-static and a Debian kernel package
# (apt-get download, never installed), packing the initramfs with cpio; iproute2 (ip) makes
# the bridge of the bridged-NIC test, the namespaces of the partition test,
# and moves the master IP on real clusters.
missing=""
command -v qemu-system-x86_64 >/dev/null 2>&1 || missing="$missing qemu-system-x86"
{ [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } || missing="$missing busybox-static"
command -v cpio >/dev/null 2>&1 || missing="$missing cpio"
command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
command -v man >/dev/null 2>&1 || missing="$missing man-db"
command -v groff >/dev/null 2>&1 || missing="$missing groff-base"
command -v ssh >/dev/null 2>&1 || missing="$missing openssh-client"
[ -x /usr/sbin/sshd ] || missing="$missing openssh-server"
[ -x /usr/sbin/mke2fs ] || [ -x /sbin/mke2fs ] || missing="$missing e2fsprogs"
[ -d /usr/share/ganeti/os/noop ] || missing="$missing ganeti-os-noop"
[ -d /usr/share/ganeti/os/debootstrap ] || missing="$missing ganeti-instance-debootstrap"
# libvirt-python (the xen hypervisors' client) has no wheel: pip compiles it
# with gcc against libvirt-dev, which it finds through pkg-config
command -v gcc >/dev/null 2>&1 || missing="$missing gcc"
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
[ -e /usr/include/libvirt/libvirt.h ] || missing="$missing libvirt-dev"
[ -f /usr/lib/python3/dist-packages/ganeti/rapi/client.py ] || missing="$missing python3-ganeti-rapi"
if [ -n "$missing" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    # no service may start: policy-rc.d refuses it for the time of the install
    own_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
        own_policy=1
    fi
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends $missing >/dev/null </dev/null
    [ -n "$own_policy" ] && rm -f /usr/sbin/policy-rc.d
fi
if ! python3 -c 'import twisted, OpenSSL, service_identity, zope.interface, cryptography, libvirt' 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check -r requirements.txt
fi
# test-only: the RAPI tests fuzz the API with hypothesis and check the OpenAPI
# document and live answers with openapi-spec-validator (which brings jsonschema)
if ! python3 -c 'import hypothesis, jsonschema, openapi_spec_validator' 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check hypothesis openapi-spec-validator
fi
