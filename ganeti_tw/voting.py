"""Master start-up voting (spec 2.4): the other nodes confirm who the master is.

A confirmation, not an election: masterd starts only if most nodes name it
as the master, so a node that lost the master role while down does not come
back as a second master.
"""

import collections
from typing import Any, Dict, List, Optional, Tuple

from twisted.internet import task
from twisted.logger import Logger

log = Logger()

VOTE_ATTEMPTS = 6
VOTE_RETRY_DELAY = 10


def count_votes(votes: Dict[str, Optional[str]]) -> List[Tuple[Optional[str], int]]:
    """(candidate, votes) sorted by votes, then name; no answer (None) sorts last."""
    counter = collections.Counter(votes.values())
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or ""))


async def gather_votes(rpc: Any, nodes: List[str]) -> Dict[str, Optional[str]]:
    """Ask every node (offline ones too) which node its ssconf names as master."""
    results = await rpc.call(nodes, "master_info", [], timeout=10, static=True)
    votes: Dict[str, Optional[str]] = {}
    for node, result in results.items():
        data = result.data
        valid = not result.failed and isinstance(data, list) and len(data) >= 3
        votes[node] = data[2] if valid else None
    return votes


async def check_agreement(rpc: Any, myself: str, nodes: List[str], reactor: Any,
                          attempts: int = VOTE_ATTEMPTS,
                          retry_delay: float = VOTE_RETRY_DELAY) -> Tuple[bool, str]:
    """(accepted, explanation) for starting the master daemon on ``myself``."""
    others = [n for n in nodes if n != myself]
    if not others:
        return True, "single-node cluster, no voting needed"
    for attempt in range(1, attempts + 1):
        votes = await gather_votes(rpc, others)
        ranking = count_votes(votes)
        top, top_votes = ranking[0]
        if top is None and attempt < attempts:
            log.warn("Most nodes did not answer the master vote (attempt {n}/{total}); "
                     "retrying in {delay}s", n=attempt, total=attempts, delay=retry_delay)
            await task.deferLater(reactor, retry_delay, lambda: None)
            continue
        summary = ", ".join("%s: %d" % (name or "no answer", count) for name, count in ranking)
        if top is None:
            return False, "most nodes did not answer (%s)" % summary
        if top != myself:
            return False, "the nodes name %s as the master, not this node (%s)" % (top, summary)
        if top_votes < len(others) - top_votes:
            return False, "not enough nodes confirm this node as master (%s)" % summary
        return True, "confirmed by the nodes (%s)" % summary
    raise AssertionError("unreachable")
