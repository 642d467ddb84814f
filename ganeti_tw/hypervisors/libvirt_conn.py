"""One lazily opened libvirt connection whose blocking calls run in threads.

libvirt's Python API has no asynchronous form, so each call runs through
``deferToThread`` (DESIGN.md allows threads for exactly this) and the
reactor never waits on libvirt. libvirt errors become one-line
``HypervisorError``s at this edge.
"""

import threading
from typing import Any, Callable, Optional

from twisted.internet import threads

from ganeti_tw import errors, utils

try:
    import libvirt
except ImportError:  # a node without the bindings cannot run Xen; the provider says so
    libvirt = None
else:
    # libvirt prints every error on stderr by default; ours reach the job instead
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)

# Where a Xen node's libvirtd listens; a node file overrides it (tests: test:///default)
DEFAULT_URI = "xen:///system"


def read_uri(path: str) -> str:
    """The URI in ``path`` (first non-comment line), else the real Xen one."""
    try:
        text = utils.read_file(path).decode("utf-8", "replace")
    except FileNotFoundError:
        return DEFAULT_URI
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            return line
    return DEFAULT_URI


def error_code(err: Exception) -> Optional[int]:
    """libvirt's error number of ``err`` (``VIR_ERR_*``), None for other exceptions."""
    if libvirt is not None and isinstance(err, libvirt.libvirtError):
        return err.get_error_code()
    return None


def _one_line(err: Exception) -> str:
    message = err.get_error_message() if hasattr(err, "get_error_message") else None
    return " ".join(str(message or err).split())


class _NotConnected(Exception):
    """Opening the connection failed; its text names the URI."""


class LibvirtConnection:
    """The connection to one libvirt URI, opened in a thread on first use.

    A connection that died (libvirtd restarted) is reopened on the next call.
    Drivers with in-memory state (``test:///default``) keep it for as long as
    this object lives, so a node daemon keeps one per hypervisor.
    """

    def __init__(self, uri: str):
        if libvirt is None:
            raise errors.HypervisorError("The libvirt Python bindings (libvirt-python) are not"
                                         " installed on this node")
        self.uri = uri
        self._conn: Any = None
        self._open_lock = threading.Lock()

    def _connection(self) -> Any:
        with self._open_lock:
            if self._conn is None or not self._conn.isAlive():
                try:
                    self._conn = libvirt.open(self.uri)
                except libvirt.libvirtError as err:
                    raise _NotConnected("cannot connect to libvirt at %s: %s"
                                        % (self.uri, _one_line(err))) from None
            return self._conn

    def _run(self, func: Callable[..., Any], *args: Any) -> Any:
        return func(self._connection(), *args)

    async def call(self, what: str, func: Callable[..., Any], *args: Any) -> Any:
        """``func(connection, *args)`` in a thread; a libvirt error becomes "what: reason"."""
        try:
            return await threads.deferToThread(self._run, func, *args)
        except libvirt.libvirtError as err:
            raise errors.HypervisorError("%s: %s" % (what, _one_line(err))) from None
        except _NotConnected as err:
            raise errors.HypervisorError("%s: %s" % (what, err)) from None
