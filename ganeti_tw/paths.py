"""Every file path of a node, derived from one root directory.

A whole cluster runs on one machine by giving each node its own root
(``--root DIR`` or ``GANETI_ROOT``); production uses ``/``.
"""

import os
from typing import Optional

from ganeti_tw import constants

ROOT_ENV = "GANETI_ROOT"


class Paths:
    """The file layout of one node (spec section 0), below ``root``."""

    def __init__(self, root: str = "/"):
        self.root = os.path.abspath(root)
        j = self._join
        self.data_dir = j("var/lib/ganeti")
        self.conf_dir = j("etc/ganeti")
        self.run_dir = j("var/run/ganeti")
        self.log_dir = j("var/log/ganeti")
        self.config_file = os.path.join(self.data_dir, "config.data")
        self.node_pem = os.path.join(self.data_dir, "server.pem")
        self.ca_cert = os.path.join(self.data_dir, "cluster-ca.pem")
        self.ca_key = os.path.join(self.data_dir, "cluster-ca.key")
        self.known_hosts = os.path.join(self.data_dir, "known_hosts")
        self.rapi_pem = os.path.join(self.data_dir, "rapi.pem")
        # Ganeti 3's place for the RAPI users file
        self.rapi_users = os.path.join(self.data_dir, "rapi", "users")
        self.queue_dir = os.path.join(self.data_dir, "queue")
        self.queue_archive_dir = os.path.join(self.queue_dir, "archive")
        self.queue_serial = os.path.join(self.queue_dir, "serial")
        self.queue_version = os.path.join(self.queue_dir, "version")
        self.queue_drain = os.path.join(self.queue_dir, "drain")
        self.queue_lock = os.path.join(self.queue_dir, "lock")
        self.socket_dir = os.path.join(self.run_dir, "socket")
        self.master_socket = os.path.join(self.socket_dir, "ganeti-master")
        self.watcher_state_file = os.path.join(self.data_dir, "watcher.data")
        self.watcher_pause_file = os.path.join(self.data_dir, "watcher.pause")
        self.instance_status_file = os.path.join(self.run_dir, "instance-status")
        self.hostname_file = os.path.join(self.conf_dir, "hostname")
        self.commands_log = os.path.join(self.log_dir, "commands.log")
        self.file_storage_dir = j("srv/ganeti/file-storage")
        self.hooks_dir = os.path.join(self.conf_dir, "hooks")
        self.os_log_dir = os.path.join(self.log_dir, "os")
        self.instance_disks_dir = os.path.join(self.run_dir, "instance-disks")
        self.fake_hv_dir = j("var/run/ganeti-fake-hypervisor")
        self.kvm_hv_dir = os.path.join(self.run_dir, "kvm-hypervisor")
        # the libvirt URI of the xen hypervisors on this node (absent: real Xen)
        self.xen_libvirt_uri_file = os.path.join(self.conf_dir, "xen-libvirt-uri")
        self.vnc_password_file = os.path.join(self.conf_dir, "vnc-cluster-password")
        # searched in order; the first directory holding a name wins (spec 10, 12.1)
        self.os_search_path = [j(d.lstrip("/")) for d in constants.OS_SEARCH_PATH]
        self.iallocator_search_path = [j(d.lstrip("/"))
                                       for d in constants.IALLOCATOR_SEARCH_PATH]

    def _join(self, rel: str) -> str:
        return os.path.join(self.root, rel)

    def ssconf_file(self, key: str) -> str:
        return os.path.join(self.data_dir, "ssconf_%s" % key)

    def pid_file(self, daemon: str) -> str:
        return os.path.join(self.run_dir, "%s.pid" % daemon)

    def daemon_log(self, daemon: str) -> str:
        return os.path.join(self.log_dir, constants.DAEMON_LOGS[daemon])

    def job_file(self, job_id: int) -> str:
        return os.path.join(self.queue_dir, "job-%d" % job_id)

    def archived_job_file(self, job_id: int) -> str:
        return os.path.join(self.queue_archive_dir,
                            str(job_id // constants.JOB_QUEUE_ARCHIVE_DIRS),
                            "job-%d" % job_id)

    def instance_disk_link(self, instance: str, index: int) -> str:
        """The stable name a hypervisor opens disk ``index`` of ``instance`` by."""
        return os.path.join(self.instance_disks_dir, "%s:%d" % (instance, index))

    def under_root(self, path: str) -> str:
        """Map an absolute cluster path (as stored in config) below this root."""
        if self.root == "/":
            return path
        return os.path.join(self.root, path.lstrip("/"))


def get_paths(root: Optional[str] = None) -> Paths:
    """The paths for ``root``, else ``$GANETI_ROOT``, else ``/``."""
    return Paths(root or os.environ.get(ROOT_ENV) or "/")
