"""Mutual TLS for node RPC: both ends present their node certificate.

The node daemon accepts a client only if its certificate chains to the
cluster CA *and* its SHA-256 fingerprint is listed in
``ssconf_master_candidates_certs``: only the master (always a master
candidate) calls node daemons, and a node removed from the cluster drops out
of that list. The master's client accepts a server only if its certificate
chains to the cluster CA and its CN is the node it meant to call.

OpenSSL checks the chain; our check (fingerprint, or CN) runs in the verify
callback at depth 0, i.e. inside the handshake. So the handshake itself fails:
a refused peer gets a fatal alert (``internal_error``: OpenSSL's alert when an
application callback refuses), and not one byte of its application data ever
reaches Perspective Broker. A check after the handshake would leave a window
in which PB may already be reading, and every new transport would have to
remember to make it.

Refusals are logged, with the peer address and the reason, when the fatal
alert is sent; that also covers a client sending no certificate at all,
which never reaches the verify callback.
"""

import os
from typing import Callable, Optional
from weakref import WeakKeyDictionary

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from OpenSSL import SSL, crypto
from twisted.internet.interfaces import (IOpenSSLClientConnectionCreator,
                                         IOpenSSLServerConnectionCreator)
from twisted.logger import Logger
from twisted.protocols.tls import TLSMemoryBIOProtocol
from zope.interface import implementer

from ganeti_tw import certs, constants, errors, utils
from ganeti_tw.paths import Paths

_log = Logger()

# Both ends are ours, so TLS 1.2 may be limited to forward-secret AEAD suites
# (TLS 1.3 suites all are).
_TLS12_CIPHERS = b"ECDHE+AESGCM:ECDHE+CHACHA20"
_ALERT_FATAL = 2
# The fatal alerts (RFC 8446 section 6) a handshake can fail with before any
# certificate reaches the verify callback.
_ALERT_NAMES = {40: "handshake_failure", 70: "protocol_version", 71: "insufficient_security",
                116: "certificate_required"}

_fingerprint_cache: dict[str, tuple[tuple[int, int, int], frozenset[str]]] = {}


def load_allowed_fingerprints(paths: Paths) -> frozenset[str]:
    """The fingerprints listed in ssconf_master_candidates_certs (none if the file is missing).

    Cached by the file's (inode, mtime, size), so a handshake costs one stat()
    unless the file changed; the inode catches an atomic replacement within
    one mtime tick.
    """
    path = paths.ssconf_file(constants.SS_MASTER_CANDIDATES_CERTS)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return frozenset()
    key = (st.st_ino, st.st_mtime_ns, st.st_size)
    cached = _fingerprint_cache.get(path)
    if cached is None or cached[0] != key:
        text = utils.read_file(path, constants.SSCONF_MAX_SIZE).decode("utf-8", "replace")
        fields = (line.split() for line in text.splitlines())
        cached = (key, frozenset(f[1].lower() for f in fields if len(f) == 2))
        _fingerprint_cache[path] = cached
    return cached[1]


def _load_ca(path: str) -> crypto.X509:
    try:
        return crypto.X509.from_cryptography(x509.load_pem_x509_certificate(utils.read_file(path)))
    except (OSError, ValueError) as err:
        raise errors.SignatureError("Cannot load the cluster CA certificate %s: %s"
                                    % (path, err)) from None


class _NodeTLS:
    """One context per daemon start, holding this node's key and certificate and the CA.

    ``_check_peer`` gets the connection and the PEM of a peer certificate
    that chains to the cluster CA, and returns why it is refused, or None to
    accept it.
    """

    _check_peer: Callable[[SSL.Connection, bytes], Optional[str]]

    def __init__(self, paths: Paths):
        key_pem, cert_pem = certs.read_node_pem(paths.node_pem)
        ctx = SSL.Context(SSL.TLS_METHOD)
        ctx.set_min_proto_version(SSL.TLS1_2_VERSION)
        ctx.set_cipher_list(_TLS12_CIPHERS)
        ctx.use_privatekey(serialization.load_pem_private_key(key_pem, None))
        ctx.use_certificate(x509.load_pem_x509_certificate(cert_pem))
        ctx.get_cert_store().add_cert(_load_ca(paths.ca_cert))
        # No session resumption: a resumed session skips the verify callback,
        # which would let a removed node in on an old session.
        ctx.set_options(SSL.OP_NO_TICKET)
        ctx.set_session_cache_mode(SSL.SESS_CACHE_OFF)
        ctx.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, self._verify)
        ctx.set_info_callback(self._info)
        self._context = ctx
        # Why the verify callback refused a connection, for the info callback
        # to log; weak keys, so a connection's entry goes with it.
        self._refusals: WeakKeyDictionary[SSL.Connection, str] = WeakKeyDictionary()

    def _connection(self, tls_protocol: TLSMemoryBIOProtocol) -> SSL.Connection:
        connection = SSL.Connection(self._context, None)
        # Twisted sets this too; the info callback needs it for the peer address.
        connection.set_app_data(tls_protocol)
        return connection

    def _verify(self, connection: SSL.Connection, cert: crypto.X509, errnum: int, depth: int,
                ok: int) -> bool:
        if not ok:
            reason = "certificate not issued by the cluster CA (X509 error %d at depth %d)" % (
                errnum, depth)
        elif depth > 0:
            return True
        else:
            reason = self._check_peer(connection, cert.to_cryptography().public_bytes(
                serialization.Encoding.PEM))
            if reason is None:
                return True
        self._refusals[connection] = reason
        return False

    def _info(self, connection: SSL.Connection, where: int, ret: int) -> None:
        if where & SSL.SSL_CB_WRITE_ALERT != SSL.SSL_CB_WRITE_ALERT or ret >> 8 != _ALERT_FATAL:
            return
        alert = ret & 0xff
        if connection.client_random() is None:
            # closed before sending anything (a TCP reachability probe such as
            # cluster verify's node-net-test): nothing was refused
            self._refusals.pop(connection, None)
            return
        reason = self._refusals.pop(connection, None) or "%s, TLS alert %s" % (
            "no peer certificate" if connection.get_peer_certificate() is None
            else "handshake failed", _ALERT_NAMES.get(alert, alert))
        peer = connection.get_app_data().getPeer()
        _log.warn("Refused TLS connection with {peer}: {reason}",
                  peer="%s:%s" % (peer.host, peer.port), reason=reason)


@implementer(IOpenSSLServerConnectionCreator)
class _ServerOptions(_NodeTLS):

    def __init__(self, paths: Paths):
        super().__init__(paths)
        self._paths = paths

    def serverConnectionForTLS(self, tlsProtocol: TLSMemoryBIOProtocol) -> SSL.Connection:
        return self._connection(tlsProtocol)

    def _check_peer(self, connection: SSL.Connection, cert_pem: bytes) -> Optional[str]:
        digest = certs.fingerprint(cert_pem)
        try:
            allowed = load_allowed_fingerprints(self._paths)
        except OSError as err:
            return "cannot read the allowed fingerprints: %s" % err
        if digest in allowed:
            return None
        return "certificate of %r (%s) is not in ssconf_%s" % (
            certs.cert_common_name(cert_pem), digest, constants.SS_MASTER_CANDIDATES_CERTS)


class ClientTLS(_NodeTLS):
    """The master's TLS side: one context for all nodes (files read once), the
    node each connection means to reach remembered per connection."""

    def __init__(self, paths: Paths):
        super().__init__(paths)
        self._expected: WeakKeyDictionary[SSL.Connection, str] = WeakKeyDictionary()

    def for_node(self, node_name: str) -> IOpenSSLClientConnectionCreator:
        """Options for ``connectSSL`` / ``wrapClientTLS`` to ``node_name``."""
        return _NodeClient(self, node_name)

    def _check_peer(self, connection: SSL.Connection, cert_pem: bytes) -> Optional[str]:
        expected = self._expected.get(connection)
        name = certs.cert_common_name(cert_pem)
        if name == expected:
            return None
        return "certificate is for %r, expected %r" % (name, expected)


@implementer(IOpenSSLClientConnectionCreator)
class _NodeClient:
    def __init__(self, tls: ClientTLS, node_name: str):
        self._tls = tls
        self._node_name = node_name

    def clientConnectionForTLS(self, tlsProtocol: TLSMemoryBIOProtocol) -> SSL.Connection:
        connection = self._tls._connection(tlsProtocol)
        self._tls._expected[connection] = self._node_name
        return connection


def server_options(paths: Paths) -> IOpenSSLServerConnectionCreator:
    """The node daemon's TLS side, for ``SSL4ServerEndpoint`` / ``listenSSL``."""
    return _ServerOptions(paths)


def client_options(paths: Paths, node_name: str) -> IOpenSSLClientConnectionCreator:
    """The master's TLS side for calling ``node_name``, for ``connectSSL`` / ``wrapClientTLS``."""
    return ClientTLS(paths).for_node(node_name)
