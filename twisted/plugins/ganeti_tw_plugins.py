"""twistd plugins for the ganeti-tw daemons (kept cheap to import)."""

from twisted.application.service import ServiceMaker

ganeti_masterd = ServiceMaker(
    "ganeti-tw master daemon", "ganeti_tw.daemons.masterd",
    "Ganeti master daemon: config, job queue, LUXI", "ganeti-masterd")
ganeti_noded = ServiceMaker(
    "ganeti-tw node daemon", "ganeti_tw.daemons.noded",
    "Ganeti node daemon: node RPC over mutual TLS", "ganeti-noded")
ganeti_rapi = ServiceMaker(
    "ganeti-tw remote API daemon", "ganeti_tw.daemons.rapi",
    "Ganeti remote API: REST over HTTPS on the master", "ganeti-rapi")
ganeti_watcher = ServiceMaker(
    "ganeti-tw watcher", "ganeti_tw.daemons.watcher",
    "Ganeti watcher: keeps daemons and instances running, archives old jobs",
    "ganeti-watcher")
