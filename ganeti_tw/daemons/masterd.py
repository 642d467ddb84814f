"""ganeti-masterd: config, job queue and LUXI, on the master node only."""

import os
from typing import Any, Optional

from twisted.application import internet, service
from twisted.internet import defer, threads
from twisted.logger import Logger

from ganeti_tw import constants, errors, master_role, ssconf, utils, voting
from ganeti_tw.config import ConfigWriter
from ganeti_tw.context import GanetiContext
from ganeti_tw.daemons.common import DaemonOptions, fail_startup, log_to_file, tune_gc
from ganeti_tw.luxi_server import LuxiFactory
from ganeti_tw.mcpu import Processor

log = Logger()


class Options(DaemonOptions):
    synopsis = "[--root DIR] [--no-voting [--yes-do-it]]"
    longdesc = "Ganeti master daemon: owns config.data and the job queue."
    optFlags = [
        ["no-voting", None, "Start without asking the other nodes to confirm this is the master"],
        ["yes-do-it", None, "Do not ask for confirmation of --no-voting"],
    ]

    def postOptions(self) -> None:
        if self["no-voting"] and not self["yes-do-it"]:
            answer = input("The master daemon will start without checking that the other "
                           "nodes agree this is the master.\nType uppercase YES to continue: ")
            if answer.strip() != "YES":
                fail_startup("Aborted.", constants.EXIT_FAILURE)


class MasterService(service.Service):
    """Listens on the LUXI socket and runs the job queue."""

    def __init__(self, context: GanetiContext, voting: bool):
        self.context = context
        self.voting = voting
        self.port: Optional[Any] = None

    def startService(self) -> None:
        service.Service.startService(self)
        defer.ensureDeferred(self._start()).addErrback(self._abort)

    def _abort(self, failure: Any) -> None:
        log.failure("Master daemon start-up failed", failure)
        self._fatal("start-up failed: %s" % failure.getErrorMessage())

    def _fatal(self, reason: str) -> None:
        """Refuse to run: log why, stop, and exit non-zero after shutdown."""
        from twisted.internet import reactor
        log.critical("Error: the master daemon will not start: {reason}", reason=reason)
        reactor.addSystemEventTrigger("after", "shutdown", os._exit, constants.EXIT_FAILURE)
        reactor.stop()

    async def _start(self) -> None:
        from twisted.internet import reactor
        context = self.context
        if self.voting:
            agreement = await voting.check_agreement(
                context.rpc, context.myself, context.cfg.node_names(), reactor,
                config_serial=context.cfg.data.serial_no)
            if not agreement.accepted:
                self._fatal("%s; use --no-voting to override" % agreement.reason)
                return
            log.info("Master role {why}", why=agreement.reason)
            # a candidate may have seen jobs this node missed: never reuse their ids
            context.jqueue.advance_serial(agreement.next_job_id)
            # confirmed as master: make sure every node has this config (the
            # previous master may have died between writing and sending it)
            defer.ensureDeferred(context.redistribute()).addErrback(
                lambda f: log.failure("Redistributing the configuration failed", f))
        cluster = context.cfg.cluster
        try:
            done = await threads.deferToThread(master_role.activate_master_ip, context.paths,
                                               cluster.master_ip, cluster.master_netdev)
            log.info("{done}", done=done)
        except errors.GenericError as err:
            log.error("Cannot activate the master IP: {err}", err=err)
        paths = self.context.paths
        utils.ensure_dirs([(paths.run_dir, 0o755), (paths.socket_dir, 0o700)])
        utils.remove_file(paths.master_socket)
        self.port = reactor.listenUNIX(paths.master_socket, LuxiFactory(self.context),
                                       mode=0o600)
        self.context.jqueue.start()
        log.info("Master daemon of cluster {name} ready", name=self.context.cfg.cluster.cluster_name)

    def stopService(self) -> defer.Deferred:
        service.Service.stopService(self)
        return defer.ensureDeferred(self._stop())

    async def _stop(self) -> None:
        if self.port is not None:
            await self.port.stopListening()
        await self.context.jqueue.stop()
        self.context.rpc.disconnect_all()


def _resync(context: GanetiContext) -> defer.Deferred:
    """One round of node resyncs; a failure is logged and the next round comes."""
    d = defer.ensureDeferred(context.resync_nodes())
    d.addErrback(lambda f: log.failure("Resyncing nodes failed", f))
    return d


def makeService(options: Options) -> service.MultiService:
    tune_gc()
    paths = options.paths()
    master, myself = ssconf.get_master_and_myself(paths)
    if master is None:
        fail_startup("ganeti-masterd: this node is not part of a cluster (no ssconf files "
                     "under %s)" % paths.data_dir, constants.EXIT_NOTCLUSTER)
    if master != myself:
        fail_startup("ganeti-masterd: this node (%s) is not the master; the master is %s"
                     % (myself, master), constants.EXIT_NOTMASTER)
    try:
        cfg = ConfigWriter(paths.config_file)
    except errors.ConfigurationError as err:
        fail_startup("ganeti-masterd: %s" % err, constants.EXIT_CONFIG_ERROR)
    log_to_file(paths, constants.DAEMON_MASTERD)
    # only the master daemon writes config.data here: a temp file of it is
    # what a previous master daemon left when it was killed mid-write
    leftover = utils.atomic_temp_path(paths.data_dir, os.path.basename(paths.config_file))
    if os.path.exists(leftover):
        log.info("Removing {path}, left by an interrupted configuration write", path=leftover)
        utils.remove_file(leftover)
    context = GanetiContext(paths, cfg, myself)
    context.processor = Processor(context)
    context.jqueue.processor = context.processor
    try:
        context.jqueue.open()
    except (errors.GenericError, OSError) as err:
        fail_startup("ganeti-masterd: cannot open the job queue: %s" % err,
                     constants.EXIT_FAILURE)
    top = service.MultiService()
    MasterService(context, voting=not options["no-voting"]).setServiceParent(top)
    internet.TimerService(constants.CANDIDATE_RESYNC_INTERVAL, _resync, context
                          ).setServiceParent(top)
    return top
