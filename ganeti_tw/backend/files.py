"""Files the master distributes: config.data, CA files, ssconf."""

import os
from typing import Any, Dict

from ganeti_tw import errors, serializer, ssconf, utils
from ganeti_tw.backend.context import NodeContext

# name in the data dir -> file mode; nothing else may be written remotely
UPLOAD_WHITELIST = {
    "config.data": 0o600,
    "cluster-ca.key": 0o400,
    "cluster-ca.pem": 0o400,
    "known_hosts": 0o644,
}


async def upload_file(ctx: NodeContext, name: str, payload: Any) -> bool:
    mode = UPLOAD_WHITELIST.get(name)
    if mode is None:
        raise errors.OpExecError("Refusing to upload '%s': not a distributed cluster file" % name)
    try:
        data = serializer.decode_payload(payload)
    except ValueError as err:
        raise errors.OpExecError("Invalid payload for %s: %s" % (name, err)) from None
    os.makedirs(ctx.paths.data_dir, mode=0o755, exist_ok=True)
    await ctx.in_thread(utils.write_file_atomic, os.path.join(ctx.paths.data_dir, name),
                        data, mode)
    return True


async def write_ssconf_files(ctx: NodeContext, values: Dict[str, str]) -> bool:
    if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
        raise errors.OpExecError("write_ssconf_files needs a {key: text} dictionary")
    await ctx.in_thread(ssconf.write_files, ctx.paths, values)
    return True
