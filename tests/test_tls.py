"""Tests for ganeti_tw.rpc.tls: mutual TLS over real loopback TCP."""

import os
from typing import Any, Optional

from twisted.internet import defer, endpoints, reactor, ssl
from twisted.internet.interfaces import IOpenSSLClientConnectionCreator
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import globalLogPublisher
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase

from ganeti_tw import certs, constants, utils
from ganeti_tw.paths import Paths
from ganeti_tw.rpc import tls

TIMEOUT = 10
PING = b"ping"


def make_node(base: str, root: str, ca: tuple[bytes, bytes], node_name: str,
              trusted_ca_cert: Optional[bytes] = None) -> Paths:
    """A node root holding a certificate for ``node_name`` issued by ``ca``.

    ``trusted_ca_cert`` (default: ``ca``'s) is written as the cluster CA certificate.
    """
    paths = Paths(os.path.join(base, root))
    os.makedirs(paths.data_dir)
    utils.write_file_atomic(paths.ca_cert, trusted_ca_cert or ca[1], mode=0o400)
    certs.write_node_pem(paths.node_pem, *certs.issue_node_cert(ca[0], ca[1], node_name))
    return paths


def allow(server: Paths, *clients: Paths) -> None:
    """Write the server's ssconf_master_candidates_certs listing ``clients``."""
    lines = []
    for client in clients:
        cert_pem = certs.read_node_pem(client.node_pem)[1]
        lines.append("%s %s\n" % (certs.cert_common_name(cert_pem), certs.fingerprint(cert_pem)))
    utils.write_file_atomic(server.ssconf_file(constants.SS_MASTER_CANDIDATES_CERTS),
                            "".join(lines).encode(), mode=0o444)


class Echo(Protocol):

    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)

    def connectionLost(self, reason: Optional[Failure] = None) -> None:
        self.factory.closed.pop(self).callback(None)


class EchoFactory(Factory):
    """Echo server that can wait for all its connections to close."""

    protocol = Echo

    def __init__(self) -> None:
        self.closed: dict[Echo, defer.Deferred] = {}

    def buildProtocol(self, addr: Any) -> Echo:
        proto = super().buildProtocol(addr)
        self.closed[proto] = defer.Deferred()
        return proto


class PingClient(Protocol):
    """Sends PING, hangs up once it is echoed; ``lost`` fires on disconnection."""

    def __init__(self) -> None:
        self.received = b""
        self.local_address = ""
        self.lost: defer.Deferred = defer.Deferred()

    def connectionMade(self) -> None:
        host = self.transport.getHost()
        self.local_address = "%s:%d" % (host.host, host.port)
        self.transport.write(PING)

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        if self.received == PING:
            self.transport.loseConnection()

    def connectionLost(self, reason: Optional[Failure] = None) -> None:
        self.lost.callback(None)


class MutualTLSTests(TestCase):

    def setUp(self) -> defer.Deferred:
        self.base = self.mktemp()
        self.ca = certs.generate_ca("cluster.example.com")
        self.other_ca = certs.generate_ca("other.example.com")
        self.server = make_node(self.base, "node1", self.ca, "node1")
        self.master = make_node(self.base, "master", self.ca, "master")
        allow(self.server, self.master)
        self.events: list[dict] = []
        globalLogPublisher.addObserver(self.events.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.events.append)
        return defer.ensureDeferred(self.listen(self.server))

    async def listen(self, paths: Paths) -> None:
        factory = EchoFactory()
        endpoint = endpoints.SSL4ServerEndpoint(reactor, 0, tls.server_options(paths),
                                                interface="127.0.0.1")
        port = await endpoint.listen(factory).addTimeout(TIMEOUT, reactor)
        self.port = port.getHost().port
        self.addCleanup(port.stopListening)
        # Runs before stopListening: no server connection may outlive the test.
        self.addCleanup(lambda: defer.DeferredList(list(factory.closed.values()))
                        .addTimeout(TIMEOUT, reactor))

    async def ping(self, creator: IOpenSSLClientConnectionCreator) -> PingClient:
        """Connect with ``creator``, send PING, return the client once disconnected."""
        endpoint = endpoints.wrapClientTLS(creator, endpoints.TCP4ClientEndpoint(
            reactor, "127.0.0.1", self.port, timeout=TIMEOUT))
        client = PingClient()
        await endpoints.connectProtocol(endpoint, client).addTimeout(TIMEOUT, reactor)
        await client.lost.addTimeout(TIMEOUT, reactor)
        return client

    def refusals(self, peer: str) -> list[str]:
        """The reasons logged for refusing ``peer``."""
        return [event["reason"] for event in self.events
                if event.get("log_namespace") == tls.__name__ and event.get("peer") == peer]

    async def test_listed_master_candidate_gets_echo(self) -> None:
        client = await self.ping(tls.client_options(self.master, "node1"))
        self.assertEqual(client.received, PING)

    async def test_client_without_certificate_is_refused(self) -> None:
        creator = ssl.optionsForClientTLS("node1", trustRoot=ssl.Certificate.loadPEM(self.ca[1]))
        client = await self.ping(creator)
        self.assertEqual(client.received, b"")
        self.assertEqual(len(self.refusals(client.local_address)), 1)
        self.assertIn("no peer certificate", self.refusals(client.local_address)[0])

    async def test_client_with_other_cluster_certificate_is_refused(self) -> None:
        intruder = make_node(self.base, "intruder", self.other_ca, "master",
                             trusted_ca_cert=self.ca[1])
        allow(self.server, self.master, intruder)
        client = await self.ping(tls.client_options(intruder, "node1"))
        self.assertEqual(client.received, b"")
        self.assertIn("not issued by the cluster CA", self.refusals(client.local_address)[0])

    async def test_removed_node_with_unlisted_certificate_is_refused(self) -> None:
        removed = make_node(self.base, "node3", self.ca, "node3")
        client = await self.ping(tls.client_options(removed, "node1"))
        self.assertEqual(client.received, b"")
        self.assertIn("is not in ssconf_master_candidates_certs",
                      self.refusals(client.local_address)[0])

    async def test_refusal_is_logged_with_peer_address_and_fingerprint(self) -> None:
        removed = make_node(self.base, "node3", self.ca, "node3")
        client = await self.ping(tls.client_options(removed, "node1"))
        fingerprint = certs.fingerprint(certs.read_node_pem(removed.node_pem)[1])
        self.assertTrue(client.local_address.startswith("127.0.0.1:"))
        [reason] = self.refusals(client.local_address)
        self.assertIn("'node3'", reason)
        self.assertIn(fingerprint, reason)

    async def test_node_dropped_from_ssconf_is_refused_without_restart(self) -> None:
        first = await self.ping(tls.client_options(self.master, "node1"))
        allow(self.server)
        second = await self.ping(tls.client_options(self.master, "node1"))
        self.assertEqual((first.received, second.received), (PING, b""))

    async def test_client_refuses_server_with_other_name(self) -> None:
        client = await self.ping(tls.client_options(self.master, "node2"))
        self.assertEqual(client.received, b"")
        server = "127.0.0.1:%d" % self.port
        self.assertEqual(self.refusals(server), ["certificate is for 'node1', expected 'node2'"])

    async def test_client_refuses_server_of_other_cluster(self) -> None:
        impostor = make_node(self.base, "impostor", self.other_ca, "node1")
        allow(impostor, self.master)
        await self.listen(impostor)
        client = await self.ping(tls.client_options(self.master, "node1"))
        self.assertEqual(client.received, b"")
        self.assertIn("not issued by the cluster CA",
                      self.refusals("127.0.0.1:%d" % self.port)[0])


class AllowedFingerprintsTests(SynchronousTestCase):

    def setUp(self) -> None:
        self.paths = Paths(self.mktemp())
        os.makedirs(self.paths.data_dir)
        self.ssconf = self.paths.ssconf_file(constants.SS_MASTER_CANDIDATES_CERTS)

    def write(self, text: str) -> None:
        utils.write_file_atomic(self.ssconf, text.encode(), mode=0o444)

    def test_missing_file_allows_nobody(self) -> None:
        self.assertEqual(tls.load_allowed_fingerprints(self.paths), frozenset())

    def test_parses_node_fingerprint_lines(self) -> None:
        self.write("node1 AA:BB\n\nnode2 cc:dd\nmalformed\n")
        self.assertEqual(tls.load_allowed_fingerprints(self.paths), {"aa:bb", "cc:dd"})

    def test_unchanged_file_is_not_read_again(self) -> None:
        self.write("node1 aa:bb\n")
        first = tls.load_allowed_fingerprints(self.paths)
        self.patch(utils, "read_file", lambda *args: self.fail("file read again"))
        self.assertIs(tls.load_allowed_fingerprints(self.paths), first)

    def test_replaced_file_is_read_again(self) -> None:
        self.write("node1 aa:bb\n")
        tls.load_allowed_fingerprints(self.paths)
        self.write("node1 cc:dd\n")
        self.assertEqual(tls.load_allowed_fingerprints(self.paths), {"cc:dd"})
