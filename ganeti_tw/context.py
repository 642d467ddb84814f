"""The master daemon's shared context: config, locks, node RPC, job queue.

It owns the replication rules of spec 3.3 and 4.6: every config write goes
to all master candidates, ssconf to every online node when it changed, and
every job queue write to all candidates.
"""

from typing import Any, Dict, List, Set, Tuple

from twisted.internet import defer
from twisted.logger import Logger

from ganeti_tw import constants, errors, serializer, ssconf, utils
from ganeti_tw.config import ConfigWriter
from ganeti_tw.jqueue.queue import JobQueue
from ganeti_tw.locking import LockManager
from ganeti_tw.paths import Paths
from ganeti_tw.rpc.client import RpcClient

log = Logger()


class QueueReplicator:
    """Pushes job queue changes to every online master candidate but the master."""

    def __init__(self, context: "GanetiContext"):
        self.context = context

    async def _call(self, procedure: str, args: List[Any]) -> None:
        nodes = self.context.other_candidates()
        failed = await self.context.replicate(nodes, procedure, args,
                                              "Job queue replication (%s)" % procedure)
        if len(failed) * 2 > len(nodes):
            log.error("Job queue replication failed on more than half of the candidates")

    async def update(self, files: List[Tuple[str, bytes]]) -> None:
        await self._call("jobqueue_update",
                         [[[name, serializer.encode_payload(data)] for name, data in files]])

    async def rename(self, pairs: List[Tuple[str, str]]) -> None:
        await self._call("jobqueue_rename", [[list(p) for p in pairs]])

    async def set_drain(self, flag: bool) -> None:
        await self._call("jobqueue_set_drain", [flag])


class GanetiContext:
    """Everything a logical unit may use, created once per master daemon."""

    def __init__(self, paths: Paths, cfg: ConfigWriter, myself: str, reactor: Any = None):
        if reactor is None:
            from twisted.internet import reactor
        self.paths = paths
        self.cfg = cfg
        self.myself = myself
        self.reactor = reactor
        self.rpc = RpcClient(paths, self.node_address, self.node_is_offline, reactor)
        self.glm = LockManager(nodes=cfg.node_names(), instances=sorted(cfg.data.instances))
        self.jqueue = JobQueue(paths, QueueReplicator(self), clock=reactor)
        self._dist_lock = defer.DeferredLock()
        # nodes that missed a copy: skipped until resynced in full
        self.out_of_sync: Set[str] = set()
        # copies sent and not answered yet, per node; nodes slow to answer
        self._pending: Dict[str, int] = {}
        self._slow: Set[str] = set()
        self._last_ssconf: Dict[str, str] = {}
        self._distributed_serial = 0

    # node lookup for the RPC client ---------------------------------------------

    def node_address(self, name: str) -> Tuple[str, int]:
        node = self.cfg.get_node(name)
        if node is None:
            raise errors.OpPrereqError("Node %s is not in the configuration" % name)
        return node.primary_ip, self.cfg.cluster.noded_port

    def node_is_offline(self, name: str) -> bool:
        node = self.cfg.get_node(name)
        return node is not None and node.offline

    def other_candidates(self) -> List[str]:
        return [n for n in self.cfg.candidates()
                if n != self.myself and not self.node_is_offline(n)]

    async def replicate(self, nodes: List[str], procedure: str, args: List[Any],
                        what: str) -> List[str]:
        """Send one copy to ``nodes``; returns those known to have failed.

        Waits for each node at most :data:`constants.REPLICATION_WAIT`
        seconds, and not at all for a node still busy with an earlier copy
        past that time (a dead link): one slow candidate must not stall
        every job. Its copies still go out, in order on its connection; if
        one fails in the end (RPC timeout), the node is cut off from
        replication until :meth:`resync_nodes` brings it back.
        """
        waits = []
        for node in nodes:
            if node in self.out_of_sync:
                continue
            d = defer.ensureDeferred(self.rpc.call_node(node, procedure, args))
            self._pending[node] = self._pending.get(node, 0) + 1
            d.addCallback(self._replicated, node, what)
            if node not in self._slow:
                waits.append((node, d))
        if not waits:
            return []
        timer: defer.Deferred = defer.Deferred()
        call = self.reactor.callLater(constants.REPLICATION_WAIT, timer.callback, None)
        await defer.DeferredList([defer.DeferredList([d for _, d in waits]), timer],
                                 fireOnOneCallback=True)
        if call.active():
            call.cancel()
        for node, d in waits:
            if not d.called:
                log.warn("{what} to {node} takes more than {wait}s; not waiting for it any "
                         "more", what=what, node=node, wait=constants.REPLICATION_WAIT)
                self._slow.add(node)
        return sorted(node for node, d in waits if d.called and node in self.out_of_sync)

    def _replicated(self, result: Any, node: str, what: str) -> None:
        self._pending[node] -= 1
        if not self._pending[node]:
            del self._pending[node]
            self._slow.discard(node)
        if result.failed and node not in self.out_of_sync:
            log.warn("{what} to {node} failed: {msg}; it gets no copies until it is "
                     "resynced", what=what, node=node, msg=result.fail_msg)
            self.out_of_sync.add(node)

    async def resync_nodes(self) -> None:
        """Bring back the nodes cut off from replication once they answer."""
        others = {n for n in self.cfg.online_nodes() if n != self.myself}
        self.out_of_sync &= others
        candidates = set(self.other_candidates())
        for node in sorted(self.out_of_sync):
            warnings = await self._resync_node(node, node in candidates)
            if warnings:
                log.info("Node {node} not resynced yet: {why}", node=node,
                         why="; ".join(warnings))
            else:
                log.info("Node {node} resynced", node=node)

    # configuration ----------------------------------------------------------------

    async def save_config(self, force_distribution: bool = False) -> None:
        """Write config.data durably, then replicate it and ssconf (spec 3.1).

        The local write is synchronous on purpose (about a millisecond, and
        rare next to job updates): a change and its write cannot interleave
        with another job's, so a failed write rolls back exactly this change.
        """
        try:
            self.cfg.save()
        except errors.GenericError:
            self.cfg.reload()
            raise
        await self._dist_lock.run(lambda: defer.ensureDeferred(
            self._distribute(force_distribution, self.cfg.data.serial_no)))

    async def redistribute(self) -> None:
        """Push config.data and ssconf to every node now, unchanged (no serial bump).

        A master starting after a crash may have died between writing the
        config and sending it: this brings the candidates level again.
        """
        serial = self.cfg.data.serial_no
        await self._dist_lock.run(lambda: defer.ensureDeferred(self._distribute(True, serial)))

    async def _distribute(self, force: bool, serial: int) -> None:
        # Runs serialized and always sends the newest bytes, so candidates
        # never receive versions out of order; a save whose version a
        # previous run already sent returns at once: bursts coalesce.
        if not force and self._distributed_serial >= serial:
            return
        self._distributed_serial = self.cfg.data.serial_no
        data = self.cfg.last_bytes or utils.read_file(self.cfg.path)
        await self.replicate(self.other_candidates(), "upload_file",
                             ["config.data", serializer.encode_payload(data)],
                             "Copying the configuration")
        values = ssconf.compute_values(self.cfg.data)
        if force or values != self._last_ssconf:
            ssconf.write_files(self.paths, values)
            others = [n for n in self.cfg.online_nodes() if n != self.myself]
            await self.replicate(others, "write_ssconf_files", [values],
                                 "Writing the ssconf files")
            self._last_ssconf = values

    async def sync_candidate(self, node: str) -> List[str]:
        """Give a new master candidate the config, the CA key and the whole queue.

        Returns warnings (a failed copy is not fatal: the node stays cut off
        from replication and is tried again by :meth:`resync_nodes`).
        """
        return await self._resync_node(node, candidate=True)

    async def _resync_node(self, node: str, candidate: bool) -> List[str]:
        """ssconf and, for a candidate, config, CA key and queue, all in full."""
        timeout = constants.RPC_TIMEOUT_DEFAULT
        # connect first: then the queue snapshot below leaves in the same
        # reactor turn it is taken, ahead of any later job update
        alive = await self.rpc.call_one(node, "version", [], timeout=timeout)
        if alive.failed:
            self.out_of_sync.add(node)
            return ["Cannot reach %s: %s" % (node, alive.fail_msg)]
        self.out_of_sync.discard(node)
        calls = []
        if candidate:
            calls.append(("the job queue", defer.ensureDeferred(self.rpc.call_one(
                node, "jobqueue_resync", [[[n, serializer.encode_payload(d)]
                                          for n, d in self.jqueue.all_files()],
                                         self.jqueue.is_drained()], timeout=timeout))))
        # under the distribution lock: no newer config or ssconf can overtake these
        await self._dist_lock.acquire()
        try:
            uploads = [("ssconf files", "write_ssconf_files",
                        [ssconf.compute_values(self.cfg.data)])]
            if candidate:
                uploads += [(name, "upload_file", [name, serializer.encode_payload(data)])
                            for name, data in (
                                ("config.data",
                                 self.cfg.last_bytes or utils.read_file(self.cfg.path)),
                                ("cluster-ca.key", utils.read_file(self.paths.ca_key)))]
            for what, procedure, args in uploads:
                calls.append((what, defer.ensureDeferred(
                    self.rpc.call_one(node, procedure, args, timeout=timeout))))
            warnings = []
            for what, d in calls:
                result = await d
                if result.failed:
                    warnings.append("Cannot copy %s to %s: %s" % (what, node, result.fail_msg))
        finally:
            self._dist_lock.release()
        if warnings:
            self.out_of_sync.add(node)
        return warnings

    async def demote_candidate(self, node: str) -> List[str]:
        result = await self.rpc.call_one(node, "node_demote_from_mc", [])
        if result.failed:
            return ["Cannot make %s drop its configuration copy: %s" % (node, result.fail_msg)]
        return []
