"""JSON as Ganeti writes it: compact, sorted keys, UTF-8 bytes."""

import json
from typing import Any


def dump(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode("utf-8")


def load(data: bytes) -> Any:
    if isinstance(data, bytes):
        data = data.decode("utf-8")
    return json.loads(data)


# Opaque payloads (config, job files) cross the node RPC cut into chunks
# (Perspective Broker refuses single strings over 640 KiB); large ones are
# compressed. Small ones (job files) are not: zlib would cost more CPU than
# the bytes it saves on a LAN.
PAYLOAD_RAW = 0
PAYLOAD_ZLIB = 1
_CHUNK = 512 * 1024
_COMPRESS_FROM = 512


def encode_payload(data: bytes) -> list:
    import zlib
    if len(data) < _COMPRESS_FROM:
        enc, body = PAYLOAD_RAW, data
    else:
        enc, body = PAYLOAD_ZLIB, zlib.compress(data, 3)
    return [enc, [body[i:i + _CHUNK] for i in range(0, len(body), _CHUNK)] or [b""]]


def decode_payload(payload: Any) -> bytes:
    import zlib
    if (not isinstance(payload, (list, tuple)) or len(payload) != 2
            or payload[0] not in (PAYLOAD_RAW, PAYLOAD_ZLIB)
            or not all(isinstance(c, bytes) for c in payload[1])):
        raise ValueError("malformed payload")
    body = b"".join(payload[1])
    return zlib.decompress(body) if payload[0] == PAYLOAD_ZLIB else body
