"""The logical unit base class: the phases every opcode goes through."""

from typing import Any, Callable, Dict, List, Optional, Tuple

from ganeti_tw import constants as C


class LogicalUnit:
    """Master-side implementation of one opcode.

    ``expand_names`` fills ``needed_locks`` ({level: names or ALL_SET});
    ``check_prereq`` may contact nodes but changes nothing; ``exec`` does
    the work and returns the opcode's result.
    """

    # hooks directory name (spec 12.2), None for no hooks, and the object type
    HPATH: Optional[str] = None
    HTYPE: str = C.HTYPE_CLUSTER

    def __init__(self, context: Any, op: Any, feedback: Callable[[str, Any], None]):
        self.context = context
        self.cfg = context.cfg
        self.rpc = context.rpc
        self.op = op
        self._feedback = feedback
        self.owner: Any = None  # the lock owner, set by the processor
        self.needed_locks: Dict[int, Any] = {}
        self.share_locks: Dict[int, bool] = {}
        # locks created held (instance add) and deleted after success (remove)
        self.add_locks: Dict[int, List[str]] = {}
        self.remove_locks: Dict[int, List[str]] = {}

    def check_arguments(self) -> None:
        """Syntactic checks beyond the opcode's types."""

    def expand_names(self) -> None:
        """Canonicalize names and declare the locks needed."""

    def declare_locks(self, level: int) -> None:
        """Compute locks of ``level`` once the higher levels are held."""

    async def check_prereq(self) -> None:
        """Check the cluster state allows the operation."""

    async def exec(self) -> Any:
        raise NotImplementedError

    def build_hooks_env(self) -> Tuple[Dict[str, Any], List[str], List[str]]:
        """(environment without the GANETI_ prefix, pre-phase nodes, post-phase nodes)."""
        master = [self.cfg.master_node()]
        return {}, master, master

    def hooks_callback(self, post_results: Dict[str, Any], result: Any) -> Any:
        """See the post hooks' results; returns the opcode's (possibly changed) result."""
        return result

    # feedback (spec 4.3 conventions) --------------------------------------------

    def feedback(self, message: str) -> None:
        self._feedback(C.ELOG_MESSAGE, message)

    def log_info(self, message: str) -> None:
        self.feedback(" - INFO: %s" % message)

    def log_warning(self, message: str) -> None:
        self.feedback(" - WARNING: %s" % message)

    async def sync_candidates(self, names: List[str], promoted: bool = False) -> None:
        """Give new master candidates config, CA key and queue; a failed copy only warns."""
        for name in names:
            if promoted:
                self.log_info("Promoted %s to master candidate" % name)
            for warning in await self.context.sync_candidate(name):
                self.log_warning(warning)

    async def demote_candidate(self, name: str) -> None:
        """Make a former candidate drop its copies; a failure only warns."""
        for warning in await self.context.demote_candidate(name):
            self.log_warning(warning)

    # helpers ----------------------------------------------------------------------

    def expand_node(self, name: str) -> str:
        return self.cfg.expand_node_name(name)

    def expand_nodes(self, names: List[str]) -> List[str]:
        return sorted(dict.fromkeys(self.expand_node(n) for n in names))
