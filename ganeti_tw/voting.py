"""Master start-up voting (spec 2.4): the other nodes confirm who the master is.

A confirmation, not an election: masterd starts only if most nodes name it
as the master, so a node that lost the master role while down does not come
back as a second master. Beyond Ganeti 2.0 every node also reports the
serial number of its config.data and its job queue's next job id: a
master whose config is older than a candidate's refuses to start (it would
throw away changes), and no job id a candidate has seen is handed out again.
"""

import collections
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from twisted.internet import task
from twisted.logger import Logger

log = Logger()

VOTE_ATTEMPTS = 6
VOTE_RETRY_DELAY = 10
VOTE_TIMEOUT = 10


class NodeAnswer(NamedTuple):
    """What one node reported: its master, config serial (None: no config), next job id."""

    master: str
    config_serial: Optional[int]
    next_job_id: Optional[int]


class Agreement(NamedTuple):
    accepted: bool
    reason: str
    next_job_id: int  # the highest next job id any node reported (0 if none)


def count_votes(votes: Dict[str, Optional[str]]) -> List[Tuple[Optional[str], int]]:
    """(candidate, votes) sorted by votes, then name; no answer (None) sorts last."""
    counter = collections.Counter(votes.values())
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or ""))


def _int_or_none(value: Any) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_answer(data: Any) -> Optional[NodeAnswer]:
    """A master_info answer; None if it is not one (an old node reports no serials)."""
    if not isinstance(data, list) or len(data) < 3 or not isinstance(data[2], str):
        return None
    extra = list(data[3:5]) + [None] * (5 - len(data))
    return NodeAnswer(data[2], _int_or_none(extra[0]), _int_or_none(extra[1]))


async def gather_answers(rpc: Any, nodes: List[str]) -> Dict[str, Optional[NodeAnswer]]:
    """Ask every node (offline ones too) what its ssconf, config and queue say."""
    results = await rpc.call(nodes, "master_info", [], timeout=VOTE_TIMEOUT, static=True)
    return {node: None if result.failed else parse_answer(result.data)
            for node, result in results.items()}


def votes_of(answers: Dict[str, Optional[NodeAnswer]]) -> Dict[str, Optional[str]]:
    return {node: None if answer is None else answer.master for node, answer in answers.items()}


def newer_config(answers: Dict[str, Optional[NodeAnswer]], serial: int) -> Optional[str]:
    """Why ``serial`` is not the newest config among the answers, or None if it is."""
    newer = sorted((a.config_serial, node) for node, a in answers.items()
                   if a is not None and a.config_serial is not None and a.config_serial > serial)
    if not newer:
        return None
    node_serial, node = newer[-1]
    return ("node %s holds a newer configuration (serial %d, this node has %d); "
            "copy its config.data here or fail over to it" % (node, node_serial, serial))


def highest_job_id(answers: Dict[str, Optional[NodeAnswer]]) -> int:
    return max([a.next_job_id for a in answers.values()
                if a is not None and a.next_job_id is not None] or [0])


def judge(myself: str, votes: Dict[str, Optional[str]]) -> Tuple[bool, str]:
    """(accepted, why) for ``myself`` as master given the other nodes' votes (spec 2.4 step 5)."""
    ranking = count_votes(votes)
    top, top_votes = ranking[0]
    summary = ", ".join("%s: %d" % (name or "no answer", count) for name, count in ranking)
    if top is None:
        return False, "most nodes did not answer (%s)" % summary
    if top != myself:
        return False, "the nodes name %s as the master, not this node (%s)" % (top, summary)
    if top_votes < len(votes) - top_votes:
        return False, "not enough nodes confirm this node as master (%s)" % summary
    return True, "confirmed by the nodes (%s)" % summary


async def check_agreement(rpc: Any, myself: str, nodes: List[str], reactor: Any,
                          config_serial: Optional[int] = None,
                          attempts: int = VOTE_ATTEMPTS,
                          retry_delay: float = VOTE_RETRY_DELAY) -> Agreement:
    """May masterd start on ``myself``? Retries while most nodes do not answer."""
    others = [n for n in nodes if n != myself]
    if not others:
        return Agreement(True, "single-node cluster, no voting needed", 0)
    for attempt in range(1, attempts + 1):
        answers = await gather_answers(rpc, others)
        votes = votes_of(answers)
        if count_votes(votes)[0][0] is None and attempt < attempts:
            log.warn("Most nodes did not answer the master vote (attempt {n}/{total}); "
                     "retrying in {delay}s", n=attempt, total=attempts, delay=retry_delay)
            await task.deferLater(reactor, retry_delay, lambda: None)
            continue
        next_id = highest_job_id(answers)
        accepted, why = judge(myself, votes)
        newer = None if config_serial is None else newer_config(answers, config_serial)
        if accepted and newer is not None:
            return Agreement(False, newer, next_id)
        return Agreement(accepted, why, next_id)
    raise AssertionError("unreachable")
