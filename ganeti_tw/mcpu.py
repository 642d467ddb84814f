"""Running one opcode: locks, prerequisites, execution (spec 4.8)."""

from typing import Any

from ganeti_tw import errors, hooks, opcodes
from ganeti_tw.cmdlib import LU_FOR_OPCODE
from ganeti_tw.locking import BGL, LEVEL_CLUSTER, LEVEL_INSTANCE, LEVEL_NODE


class Processor:
    """Turns an opcode into its logical unit and drives the LU's phases."""

    def __init__(self, context: Any):
        self.context = context

    def _make_lu(self, op: opcodes.OpCode, feedback: Any) -> Any:
        lu_class = LU_FOR_OPCODE.get(op.OP_ID)
        if lu_class is None:
            raise errors.OpCodeUnknown("No logical unit for opcode %s" % op.OP_ID)
        lu = lu_class(self.context, op, feedback)
        lu.check_arguments()
        return lu

    async def exec_opcode(self, op: opcodes.OpCode, opctx: Any) -> Any:
        """Run ``op`` for a job; ``opctx`` is the lock owner and feedback sink."""
        lu = self._make_lu(op, opctx.feedback)
        lu.owner = opctx
        glm = self.context.glm
        succeeded = False
        try:
            await opctx.wait_for_locks(self._acquire_locks(lu, opctx))
            await opctx.notify_start()
            await lu.check_prereq()
            result = await self._run_with_hooks(lu)
            succeeded = True
            return result
        finally:
            await self._drop_locks(lu, opctx, succeeded)
            glm.release_all(opctx)

    async def _drop_locks(self, lu: Any, owner: Any, succeeded: bool) -> None:
        """Delete locks of removed objects, and locks an LU added for a failed creation."""
        glm = self.context.glm
        drop = dict(lu.remove_locks) if succeeded else {}
        if not succeeded:
            for level, names in lu.add_locks.items():
                drop[level] = sorted(set(drop.get(level, [])) | set(names))
        for level, names in drop.items():
            owned = [n for n in names if n in glm.owned(owner, level)]
            if owned:
                await glm.remove(owner, level, owned)

    def _hooks_master(self, lu: Any) -> Any:
        env, pre_nodes, post_nodes = lu.build_hooks_env()
        cfg = self.context.cfg
        return hooks.HooksMaster(self.context.rpc, cfg.cluster.cluster_name, cfg.master_node(),
                                 self.context.paths.data_dir, lu.op.OP_ID,
                                 lu.HPATH or "config-update", lu.HTYPE, env, pre_nodes,
                                 post_nodes, warn=lu.log_warning)

    async def _run_with_hooks(self, lu: Any) -> Any:
        """Pre hooks, exec, post hooks, and config-update if the config changed (spec 4.8)."""
        serial = self.context.cfg.data.serial_no
        # one environment for both phases, as in Ganeti: built before exec
        master = self._hooks_master(lu) if lu.HPATH else None
        if master:
            await master.run_pre()
        result = await lu.exec()
        if master:
            result = lu.hooks_callback(await master.run_post(), result)
        if self.context.cfg.data.serial_no != serial:
            await (master or self._hooks_master(lu)).run_config_update()
        return result

    async def _acquire_locks(self, lu: Any, owner: Any) -> None:
        """BGL, then instance, then node locks (spec 4.7 order)."""
        glm = self.context.glm
        await glm.acquire(owner, LEVEL_CLUSTER, [BGL], shared=not lu.op.REQ_BGL)
        lu.expand_names()
        for level in (LEVEL_INSTANCE, LEVEL_NODE):
            lu.declare_locks(level)
            if level in lu.add_locks:
                await glm.add(owner, level, lu.add_locks[level], acquired=True)
            elif level in lu.needed_locks:
                await glm.acquire(owner, level, lu.needed_locks[level],
                                  shared=lu.share_locks.get(level, False))

    async def run_query(self, op: opcodes.OpCode) -> Any:
        """Run a query opcode outside the queue, without locks (spec 1.2)."""
        if getattr(op, "use_locking", False):
            raise errors.OpPrereqError("Sync queries are not allowed")
        lu = self._make_lu(op, lambda msg_type, msg: None)
        lu.expand_names()
        await lu.check_prereq()
        return await lu.exec()
