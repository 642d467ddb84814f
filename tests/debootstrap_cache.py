"""A ganeti-instance-debootstrap cache tarball made of the host's own files.

The OS's ``create`` unpacks ``$CACHE_DIR/cache-$SUITE-$ARCH.tar`` instead of
running debootstrap when that file exists, so a test that supplies one installs
an instance without ever contacting a mirror. The tree holds only what
``create`` itself uses: ``chroot $TARGET passwd -d root`` (``passwd`` and the
libraries ``ldd`` lists for it, plus passwd/shadow/group) and the directories
it writes into (``etc/network``); the rest is the skeleton a root has.
"""

import io
import os
import subprocess
import tarfile
import time
from typing import Iterable, List, Set

#: programs create runs inside the chroot
CHROOT_PROGRAMS = ("/usr/bin/passwd",)
#: (path, mode) of every directory of the tree
DIRECTORIES = (
    ("bin", 0o755), ("dev", 0o755), ("etc", 0o755), ("etc/default", 0o755),
    ("etc/network", 0o755), ("proc", 0o555), ("root", 0o700), ("sbin", 0o755),
    ("tmp", 0o1777), ("usr", 0o755), ("usr/bin", 0o755), ("var", 0o755),
    ("var/tmp", 0o1777),
)
# written, not copied from the host: no password hash of this machine lands in
# a temporary file, and the test can tell that create emptied root's password
ACCOUNT_FILES = (
    ("etc/passwd", 0o644, "root:x:0:0:root:/root:/bin/sh\n"),
    ("etc/shadow", 0o640, "root:*:19000:0:99999:7:::\n"),
    ("etc/group", 0o644, "root:x:0:\n"),
)


def shared_libraries(program: str) -> List[str]:
    """The absolute paths ``ldd`` lists for ``program``, the dynamic loader included."""
    out = subprocess.run(["ldd", program], check=True, capture_output=True, text=True,
                         timeout=30).stdout
    libs = []
    for line in out.splitlines():
        words = line.split()
        if "=>" in words:
            words = words[words.index("=>") + 1:]
        if words and words[0].startswith("/"):
            libs.append(words[0])
    return libs


def _root_owned(info: tarfile.TarInfo, mode: int) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mode = mode
    info.mtime = int(time.time())
    return info


def _add_directory(tar: tarfile.TarFile, name: str, mode: int, added: Set[str]) -> None:
    if name not in added:
        added.add(name)
        info = _root_owned(tarfile.TarInfo(name), mode)
        info.type = tarfile.DIRTYPE
        tar.addfile(info)


def _add_host_file(tar: tarfile.TarFile, path: str, added: Set[str]) -> None:
    """``path``'s content (symlinks followed) at the same place in the tree."""
    name = path.lstrip("/")
    if name in added:
        return
    added.add(name)
    st = os.stat(path)
    info = _root_owned(tarfile.TarInfo(name), st.st_mode & 0o7777)
    info.size = st.st_size
    with open(path, "rb") as fh:
        tar.addfile(info, fh)


def build_cache_tarball(dest: str, programs: Iterable[str] = CHROOT_PROGRAMS) -> None:
    """Write the tarball to ``dest`` (replaced atomically)."""
    tmp = dest + ".tmp"
    added: Set[str] = set()
    with tarfile.open(tmp, "w", format=tarfile.GNU_FORMAT) as tar:
        for name, mode in DIRECTORIES:
            _add_directory(tar, name, mode, added)
        for program in programs:
            for path in [program] + shared_libraries(program):
                # the libraries' directories too (lib/x86_64-linux-gnu, lib64, ...)
                parts = [part for part in os.path.dirname(path).split("/") if part]
                for depth in range(1, len(parts) + 1):
                    _add_directory(tar, "/".join(parts[:depth]), 0o755, added)
                _add_host_file(tar, path, added)
        for name, mode, text in ACCOUNT_FILES:
            data = text.encode()
            info = _root_owned(tarfile.TarInfo(name), mode)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    os.replace(tmp, dest)
