"""ganeti-rapi: the Remote API over HTTPS, on the master node only (spec 7)."""

from typing import Any

from OpenSSL import crypto
from twisted.application import internet, service
from twisted.internet import ssl
from twisted.python import usage
from twisted.web import server

from ganeti_tw import bootstrap, constants, errors, ssconf, utils
from ganeti_tw.daemons.common import DaemonOptions, fail_startup, log_to_file, require_master, tune_gc
from ganeti_tw.paths import Paths
from ganeti_tw.rapi.luxi_client import AsyncLuxiClient
from ganeti_tw.rapi.rlib2 import ROUTES
from ganeti_tw.rapi.server import RapiResource
from ganeti_tw.rapi.users import UsersFile


class Options(DaemonOptions):
    synopsis = "[--root DIR] [-p PORT] [-b ADDRESS] [--no-ssl] [--require-authentication]"
    longdesc = "Ganeti remote API daemon: REST over HTTPS, a LUXI client of masterd."
    optParameters = [
        ["port", "p", constants.RAPI_PORT, "TCP port", int],
        ["bind", "b", None, "Address to listen on (default: this node's primary IP from "
                            "ssconf, else all addresses)"],
    ]
    optFlags = [
        ["no-ssl", None, "Serve plain HTTP (for testing behind a TLS proxy only)"],
        ["require-authentication", None, "Require a valid user for GET requests too"],
    ]

    def postOptions(self) -> None:
        if not 0 < self["port"] < 65536:
            raise usage.UsageError("--port must be between 1 and 65535")


def tls_options(paths: Paths) -> ssl.CertificateOptions:
    """The server side of HTTPS with rapi.pem; TLS 1.2 is the oldest version accepted."""
    try:
        data = utils.read_file(paths.rapi_pem)
        key = crypto.load_privatekey(crypto.FILETYPE_PEM, data)
        cert = crypto.load_certificate(crypto.FILETYPE_PEM, data)
    except (OSError, crypto.Error) as err:
        raise errors.SignatureError("Cannot load the RAPI certificate %s: %s"
                                    % (paths.rapi_pem, err)) from None
    return ssl.CertificateOptions(privateKey=key, certificate=cert,
                                  raiseMinimumTo=ssl.TLSVersion.TLSv1_2)


def _bind_address(paths: Paths, name: str, options: Options) -> str:
    if options["bind"] is not None:
        return options["bind"]
    try:
        return ssconf.SimpleStore(paths).get_node_primary_ips().get(name, "")
    except errors.ConfigurationError:
        return ""


def makeService(options: Options) -> service.MultiService:
    from twisted.internet import reactor
    tune_gc()
    paths = options.paths()
    myself = require_master(paths, constants.DAEMON_RAPI, "the remote API")
    log_to_file(paths, constants.DAEMON_RAPI)
    luxi = AsyncLuxiClient(reactor, paths.master_socket)
    # bodies are JSON, never forms: a form-encoded POST must not add query arguments
    site = server.Site(RapiResource(ROUTES, luxi, UsersFile(paths.rapi_users),
                                    options["require-authentication"]),
                       parsePOSTFormSubmission=False)
    site.displayTracebacks = False
    bind = _bind_address(paths, myself, options)
    top = service.MultiService()
    if options["no-ssl"]:
        listener: Any = internet.TCPServer(options["port"], site, interface=bind)
    else:
        try:
            bootstrap.ensure_rapi_cert(paths, ssconf.SimpleStore(paths).get_cluster_name())
            creator = tls_options(paths)
        except (errors.GenericError, OSError) as err:
            fail_startup("ganeti-rapi: %s" % err, constants.EXIT_FAILURE)
        listener = internet.SSLServer(options["port"], site, creator, interface=bind)
    listener.setServiceParent(top)
    return top
