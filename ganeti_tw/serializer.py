"""JSON as Ganeti writes it: compact, sorted keys, UTF-8 bytes."""

import json
from typing import Any


def dump(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode("utf-8")


def dump_pretty(data: Any) -> bytes:
    return (json.dumps(data, sort_keys=True, indent=1) + "\n").encode("utf-8")


def load(data: bytes) -> Any:
    if isinstance(data, bytes):
        data = data.decode("utf-8")
    return json.loads(data)
