"""Master side of node RPC: parallel calls over Perspective Broker and mutual TLS.

Logical units see only :class:`RpcResult` objects; PB, TLS and connection
handling stay here (DESIGN: protocol at the edges).
"""

from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from OpenSSL import crypto
from twisted.internet import defer, error as ierror
from twisted.logger import Logger
from twisted.spread import pb

from ganeti_tw import certs, constants, errors
from ganeti_tw.paths import Paths
from ganeti_tw.rpc import tls, wire

log = Logger()

OFFLINE_MSG = "Node is marked offline"


class RpcResult:
    """One node's answer: ``data`` on success, else ``fail_msg``.

    ``unreachable``: the node did not answer at all (no connection, timeout),
    as opposed to a procedure that ran and failed there.
    """

    def __init__(self, node: str, data: Any = None, fail_msg: Optional[str] = None,
                 offline: bool = False, unreachable: bool = False):
        self.node = node
        self.data = data
        self.fail_msg = fail_msg
        self.offline = offline
        self.unreachable = unreachable

    @property
    def failed(self) -> bool:
        return self.fail_msg is not None

    def raise_on_error(self, what: str) -> Any:
        """Return ``data`` or raise OpExecError naming the node and the action."""
        if self.fail_msg is not None:
            raise errors.OpExecError("%s failed on node %s: %s" % (what, self.node, self.fail_msg))
        return self.data

    def __repr__(self) -> str:
        return "<RpcResult %s %s>" % (self.node, "failed: %s" % self.fail_msg
                                      if self.failed else "ok")


Resolver = Callable[[str], Tuple[str, int]]


class RpcClient:
    """Calls procedures on node daemons, several nodes in parallel.

    ``resolver`` maps a node name to (primary IP, port); ``is_offline`` tells
    which nodes must not be contacted (their results are synthesized).
    """

    def __init__(self, paths: Paths, resolver: Resolver,
                 is_offline: Callable[[str], bool] = lambda name: False,
                 reactor: Any = None):
        if reactor is None:
            from twisted.internet import reactor
        self.paths = paths
        self.resolver = resolver
        self.is_offline = is_offline
        self.reactor = reactor
        self._roots: Dict[Tuple[str, str, int], pb.RemoteReference] = {}
        self._connecting: Dict[Tuple[str, str, int], List[defer.Deferred]] = {}
        self._tls: Optional[tls.ClientTLS] = None
        self._fingerprints: Dict[str, str] = {}

    async def _root(self, node: str, address: Tuple[str, int]) -> pb.RemoteReference:
        """The node daemon's PB root, connecting once and sharing the connection."""
        key = (node,) + address
        root = self._roots.get(key)
        if root is not None:
            return root
        if key in self._connecting:
            waiter: defer.Deferred = defer.Deferred()
            self._connecting[key].append(waiter)
            return await waiter
        self._connecting[key] = []
        try:
            if self._tls is None:
                self._tls = tls.ClientTLS(self.paths)
            options = self._tls.for_node(node)
            factory = pb.PBClientFactory()
            self.reactor.connectSSL(address[0], address[1], factory, options,
                                    timeout=constants.RPC_CONNECT_TIMEOUT)
            root = await factory.getRootObject()
        except Exception as err:
            for waiter in self._connecting.pop(key):
                waiter.errback(err)
            raise
        root.notifyOnDisconnect(lambda _: self._roots.pop(key, None))
        peer = root.broker.transport.getPeerCertificate()
        self._fingerprints[node] = certs.fingerprint(
            crypto.dump_certificate(crypto.FILETYPE_PEM, peer))
        self._roots[key] = root
        for waiter in self._connecting.pop(key):
            waiter.callback(root)
        return root

    def peer_fingerprint(self, node: str) -> str:
        """SHA-256 fingerprint of the certificate ``node`` presented at the handshake."""
        return self._fingerprints[node]

    async def call_node(self, node: str, procedure: str, args: List[Any],
                        timeout: float = constants.RPC_TIMEOUT_DEFAULT,
                        address: Optional[Tuple[str, int]] = None) -> RpcResult:
        """Call one node; ``address`` overrides the resolver (a node not in the config)."""
        timeout = max(timeout, constants.RPC_PROCEDURE_TIMEOUTS.get(procedure, 0))
        if address is None:
            try:
                address = self.resolver(node)
            except (KeyError, errors.GenericError) as err:
                return RpcResult(node, fail_msg="Cannot resolve node %s: %s" % (node, err))
        try:
            root = await self._root(node, address)
            d = root.callRemote("call", procedure, args)
            d.addTimeout(timeout, self.reactor)
            answer = await d
        except defer.TimeoutError:
            return RpcResult(node, fail_msg="Timeout after %ds calling %s on %s:%d"
                             % (timeout, procedure, address[0], address[1]), unreachable=True)
        except (ierror.ConnectError, ierror.ConnectionLost, ierror.ConnectionDone,
                pb.PBConnectionLost, pb.DeadReferenceError) as err:
            self._roots.pop((node,) + address, None)
            return RpcResult(node, fail_msg="Error connecting to %s:%d: %s"
                             % (address[0], address[1], _describe(err)), unreachable=True)
        except pb.Error as err:
            return RpcResult(node, fail_msg="RPC error calling %s: %s" % (procedure, err))
        except errors.GenericError as err:  # e.g. this node's certificate is unreadable
            return RpcResult(node, fail_msg=str(err))
        except Exception as err:
            log.failure("Unexpected RPC failure calling {proc} on {node}",
                        proc=procedure, node=node)
            return RpcResult(node, fail_msg="Unexpected error: %s" % _describe(err))
        try:
            success, value = wire.decode_answer(answer)
        except ValueError as err:
            return RpcResult(node, fail_msg=str(err))
        if success:
            return RpcResult(node, data=value)
        return RpcResult(node, fail_msg=str(value))

    async def call(self, nodes: Iterable[str], procedure: str, args: List[Any],
                   timeout: float = constants.RPC_TIMEOUT_DEFAULT,
                   static: bool = False) -> Dict[str, RpcResult]:
        """Call ``procedure(*args)`` on every node in parallel.

        Offline nodes are not contacted unless ``static`` (spec 1.3).
        """
        results: Dict[str, RpcResult] = {}
        pending = []
        for node in dict.fromkeys(nodes):
            if not static and self.is_offline(node):
                results[node] = RpcResult(node, fail_msg=OFFLINE_MSG, offline=True)
            else:
                pending.append(defer.ensureDeferred(self.call_node(node, procedure, args,
                                                                   timeout)))
        for result in await defer.gatherResults(pending):
            results[result.node] = result
        return results

    async def call_one(self, node: str, procedure: str, args: List[Any],
                       timeout: float = constants.RPC_TIMEOUT_DEFAULT) -> RpcResult:
        return (await self.call([node], procedure, args, timeout))[node]

    def disconnect_all(self) -> None:
        for root in list(self._roots.values()):
            root.broker.transport.loseConnection()
        self._roots.clear()


def _describe(err: BaseException) -> str:
    text = str(err).strip()
    return text or type(err).__name__
