"""Node side of the iallocator protocol: find an allocator and run it (spec 12.1)."""

import os
import re
import tempfile
from typing import Any, List

import ganeti_tw
from ganeti_tw import constants, errors
from ganeti_tw.backend.process import run_process

IALLOCATOR_TIMEOUT = 60
# Enough of a failing allocator's output to say why, not a whole dump.
_ERROR_TAIL = 2000

_NAME = re.compile(r"^[a-zA-Z0-9_.-]+$")

PACKAGE_IALLOCATOR_DIR = os.path.join(os.path.dirname(ganeti_tw.__file__), "data",
                                      "iallocators")


def search_dirs(ctx: Any) -> List[str]:
    """Directories searched for allocators, first match wins.

    Below the node's root first; a node with its own root (local cluster)
    also sees the system-wide directories, and the allocators shipped with
    the package come last.
    """
    dirs = list(ctx.paths.iallocator_search_path)
    if ctx.paths.root != "/":
        dirs.extend(constants.IALLOCATOR_SEARCH_PATH)
    dirs.append(PACKAGE_IALLOCATOR_DIR)
    return dirs


def find_iallocator(ctx: Any, name: str) -> str:
    """The path of allocator ``name``; only plain names, so no path escapes the dirs."""
    if not isinstance(name, str) or not _NAME.match(name) or name in (".", ".."):
        raise errors.OpExecError("Invalid instance allocator name %r" % (name,))
    dirs = search_dirs(ctx)
    for dirname in dirs:
        path = os.path.join(dirname, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise errors.OpExecError("Instance allocator %s not found in %s"
                             % (name, ", ".join(dirs)))


async def iallocator_runner(ctx: Any, name: str, input_text: str) -> List[Any]:
    """Run allocator ``name`` on ``input_text``; ``[True, stdout]`` on exit 0."""
    if not isinstance(input_text, str):
        raise errors.OpExecError("Instance allocator input must be text")
    script = find_iallocator(ctx, name)
    fd, tmpname = tempfile.mkstemp(prefix="ganeti-iallocator-")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(input_text)
        try:
            res = await run_process(ctx.reactor, [script, tmpname], dict(os.environ),
                                    IALLOCATOR_TIMEOUT)
        except OSError as err:
            raise errors.OpExecError("Instance allocator %s failed: %s" % (name, err))
    finally:
        os.unlink(tmpname)
    if not res.ok:
        tail = res.output.decode("utf-8", "replace").strip()[-_ERROR_TAIL:]
        raise errors.OpExecError("Instance allocator %s failed: %s: %s"
                                 % (name, res.describe(), tail or "no output"))
    return [True, res.stdout.decode("utf-8", "replace")]
