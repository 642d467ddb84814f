"""ganeti-noded: the node daemon (PB over mutual TLS, standard port 1811)."""

import os
from typing import Any

from twisted.application import internet, service
from twisted.spread import pb

from ganeti_tw import constants, errors, ssconf
from ganeti_tw.backend import NodeContext
from ganeti_tw.daemons.common import DaemonOptions, fail_startup, log_to_file, tune_gc
from ganeti_tw.rpc import tls
from ganeti_tw.rpc.server import NodeRoot


class Options(DaemonOptions):
    synopsis = "[--root DIR] [--bind ADDRESS] [--port PORT]"
    longdesc = "Ganeti node daemon: does the local work the master asks for."
    optParameters = [
        ["bind", "b", None, "Address to listen on (default: this node's primary IP "
                            "from ssconf, else all addresses)"],
        ["port", "p", None, "TCP port (default: the cluster's, else 1811)", int],
    ]


def _listen_address(paths: Any, name: str, options: Options) -> "tuple[str, int]":
    store = ssconf.SimpleStore(paths)
    bind = options["bind"]
    port = options["port"]
    if bind is None:
        try:
            bind = store.get_node_primary_ips().get(name, "")
        except errors.ConfigurationError:
            bind = ""
    if port is None:
        try:
            port = store.get_noded_port()
        except (errors.ConfigurationError, ValueError):
            port = constants.DEFAULT_NODED_PORT
    return bind, port


def makeService(options: Options) -> service.MultiService:
    from twisted.internet import reactor
    tune_gc()
    paths = options.paths()
    for path in (paths.node_pem, paths.ca_cert):
        if not os.path.exists(path):
            fail_startup("ganeti-noded: %s is missing; this node was not set up for a "
                         "cluster (see gnt-node(8), adding a node)" % path,
                         constants.EXIT_NOTCLUSTER)
    log_to_file(paths, constants.DAEMON_NODED)
    name = ssconf.read_hostname(paths)
    bind, port = _listen_address(paths, name, options)
    ctx = NodeContext(paths, name, reactor, request_stop=reactor.stop)
    top = service.MultiService()
    try:
        creator = tls.server_options(paths)
    except errors.GenericError as err:
        fail_startup("ganeti-noded: %s" % err, constants.EXIT_NOTCLUSTER)
    server = internet.SSLServer(port, pb.PBServerFactory(NodeRoot(ctx)), creator,
                                interface=bind)
    server.setServiceParent(top)
    return top
