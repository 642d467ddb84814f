"""Node side of hooks: run the scripts of one hooks directory (spec 12.2)."""

import os
import re
from typing import Any, Dict, List

from ganeti_tw import constants, errors
from ganeti_tw.backend.process import run_process
from ganeti_tw.constants import HKR_FAIL, HKR_SKIP, HKR_SUCCESS

HOOKS_PATH_ENV = "/sbin:/bin:/usr/sbin:/usr/bin"
HOOK_TIMEOUT = 60
HOOK_OUTPUT_LIMIT = 4096

_SCRIPT_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
_HPATH = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$")


def _check_names(hpath: str, phase: str) -> None:
    if phase not in (constants.HOOKS_PHASE_PRE, constants.HOOKS_PHASE_POST):
        raise errors.HooksFailure("Unknown hooks phase %r" % (phase,))
    if not isinstance(hpath, str) or not _HPATH.match(hpath):
        raise errors.HooksFailure("Invalid hooks path %r" % (hpath,))


def _hook_env(env: Dict[str, Any]) -> Dict[str, str]:
    if not isinstance(env, dict):
        raise errors.HooksFailure("Hooks environment must be a dict")
    clean = {str(k): "" if v is None else str(v) for k, v in env.items()}
    clean["PATH"] = HOOKS_PATH_ENV
    return clean


async def _exec_hook(ctx: Any, script: str, env: Dict[str, str]) -> List[Any]:
    """Run one script; ``[status, output]`` with Ganeti's stripped output."""
    try:
        res = await run_process(ctx.reactor, [script], env, HOOK_TIMEOUT, cwd="/",
                                limit=HOOK_OUTPUT_LIMIT)
    except OSError as err:
        return [HKR_FAIL, "Hook script error: %s" % err]
    output = res.output.decode("utf-8", "replace").strip()
    if res.ok:
        return [HKR_SUCCESS, output]
    if res.timed_out:
        note = "Hook script timed out after %ss and was killed" % HOOK_TIMEOUT
        output = (output + "\n" + note) if output else note
    return [HKR_FAIL, output]


async def hooks_runner(ctx: Any, hpath: str, phase: str, env: Dict[str, Any]) -> List[List[Any]]:
    """Run ``<hooks_dir>/<hpath>-<phase>.d/*`` in name order, one after the other.

    Returns ``[["<hpath>-<phase>.d/<name>", status, output], ...]`` (status
    HKR_*); a missing directory means no hooks.
    """
    _check_names(hpath, phase)
    env = _hook_env(env)
    subdir = "%s-%s.d" % (hpath, phase)
    dirname = os.path.join(ctx.paths.hooks_dir, subdir)
    try:
        # Hidden files are not listed at all (editor leftovers), as in Ganeti.
        names = sorted(n for n in os.listdir(dirname) if not n.startswith("."))
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as err:
        raise errors.HooksFailure("Cannot list hooks directory %s: %s" % (dirname, err))
    results = []
    for name in names:
        script = os.path.join(dirname, name)
        if (_SCRIPT_NAME.match(name) and os.path.isfile(script)
                and os.access(script, os.X_OK)):
            status, output = await _exec_hook(ctx, script, env)
        else:
            status, output = HKR_SKIP, ""
        results.append(["%s/%s" % (subdir, name), status, output])
    return results
