"""The master role as the node daemon sees it: master IP and master daemons (spec 1.1).

The work itself is blocking (``ip``, starting ``twistd`` children and
waiting for them), so it runs in a thread; ``master_role`` holds it.
"""

from typing import Any, List

from twisted.internet import threads

from ganeti_tw import errors, master_role, ssconf
from ganeti_tw.backend.context import NodeContext
from ganeti_tw.watcher import pause


def _master_ip(ctx: NodeContext) -> "tuple[str, str]":
    store = ssconf.SimpleStore(ctx.paths)
    return store.get_master_ip(), store.get_master_netdev()


def _start(ctx: NodeContext, start_daemons: bool, no_voting: bool) -> List[str]:
    ip, netdev = _master_ip(ctx)
    done = [master_role.activate_master_ip(ctx.paths, ip, netdev)]
    if start_daemons:
        done += ["started %s" % d for d in master_role.start_master_daemons(ctx.paths,
                                                                            no_voting)]
    return done


def _stop(ctx: NodeContext, stop_daemons: bool) -> List[str]:
    done = []
    if stop_daemons:
        done += ["stopped %s" % d for d in master_role.stop_master_daemons(ctx.paths)]
    ip, netdev = _master_ip(ctx)
    done.append(master_role.deactivate_master_ip(ctx.paths, ip, netdev))
    return done


async def start_master(ctx: NodeContext, start_daemons: bool, no_voting: bool) -> List[str]:
    """Activate the master IP here and, if asked, start the master's daemons."""
    if not isinstance(start_daemons, bool) or not isinstance(no_voting, bool):
        raise errors.OpExecError("node_start_master needs two booleans")
    return await threads.deferToThread(_start, ctx, start_daemons, no_voting)


async def stop_master(ctx: NodeContext, stop_daemons: bool) -> List[str]:
    """Give up the master role here: daemons (if asked) first, then the master IP."""
    if not isinstance(stop_daemons, bool):
        raise errors.OpExecError("node_stop_master needs a boolean")
    return await threads.deferToThread(_stop, ctx, stop_daemons)


def set_watcher_pause(ctx: NodeContext, until: Any) -> bool:
    """Pause this node's watcher until ``until`` (a Unix time), or resume it (None)."""
    if until is not None and not isinstance(until, (int, float)):
        raise errors.OpExecError("set_watcher_pause needs a timestamp or None")
    pause.write_pause(ctx.paths, until)
    return True


