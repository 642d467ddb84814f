"""Giving up the master role, as the old master's node daemon does it (spec 1.1, 2.5).

The new master starts its own daemons and master IP locally (failover,
masterd start-up); the old one is told by RPC. Stopping daemons is
blocking (waiting for them to exit), so it runs in a thread.
"""

from typing import Any, List

from twisted.internet import threads

from ganeti_tw import errors, master_role, ssconf
from ganeti_tw.backend.context import NodeContext
from ganeti_tw.watcher import pause


def _master_ip(ctx: NodeContext) -> "tuple[str, str]":
    store = ssconf.SimpleStore(ctx.paths)
    return store.get_master_ip(), store.get_master_netdev()


def _stop(ctx: NodeContext, stop_daemons: bool) -> List[str]:
    done = []
    if stop_daemons:
        done += ["stopped %s" % d for d in master_role.stop_master_daemons(ctx.paths)]
    ip, netdev = _master_ip(ctx)
    done.append(master_role.deactivate_master_ip(ctx.paths, ip, netdev))
    return done


async def stop_master(ctx: NodeContext, stop_daemons: bool) -> List[str]:
    """Give up the master role here: daemons (if asked) first, then the master IP."""
    if not isinstance(stop_daemons, bool):
        raise errors.OpExecError("node_stop_master needs a boolean")
    return await threads.deferToThread(_stop, ctx, stop_daemons)


async def set_watcher_pause(ctx: NodeContext, until: Any) -> bool:
    """Pause this node's watcher until ``until`` (a Unix time), or resume it (None)."""
    if until is not None and (isinstance(until, bool) or not isinstance(until, (int, float))):
        raise errors.OpExecError("set_watcher_pause needs a timestamp or None")
    await ctx.in_thread(pause.write_pause, ctx.paths, until)
    return True


