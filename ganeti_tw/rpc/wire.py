"""How a node daemon's answer travels: ``[True, result]``, ``[False, message]``, or JSON.

Perspective Broker's banana decoder reads nested values byte by byte in
Python: the master spent 4.6 ms decoding one node's ``all_instances_info``
of 100 instances, so a bulk instance list of 1000 instances on 10 nodes
spent ~46 ms there. A result that is plain JSON data therefore travels as
one JSON string (decoded in 0.04 ms), marked ``"json"``. A result JSON would
change (tuples, non-string keys, bytes), or one too long for a single PB
string (banana's SIZE_LIMIT), keeps PB's encoding.
"""

import json
from typing import Any, List

from twisted.spread import banana

OK = True
FAILED = False
OK_JSON = "json"


def encode_result(result: Any) -> List[Any]:
    """The wire form of a successful result."""
    try:
        text = json.dumps(result)
    except (TypeError, ValueError):
        return [OK, result]
    if len(text) >= banana.SIZE_LIMIT:
        return [OK, result]
    # equality tells a tuple from a list and 1 from "1" as a key, at any depth
    if json.loads(text) != result:
        return [OK, result]
    return [OK_JSON, text]


def decode_answer(answer: Any) -> "tuple[bool, Any]":
    """``(success, result or message)`` of an answer; ValueError if it is malformed."""
    if not (isinstance(answer, (list, tuple)) and len(answer) == 2):
        raise ValueError("Malformed answer from node daemon")
    if answer[0] == OK_JSON and isinstance(answer[1], str):
        return True, json.loads(answer[1])
    if answer[0] is OK or answer[0] is FAILED:
        return bool(answer[0]), answer[1]
    raise ValueError("Malformed answer from node daemon")
