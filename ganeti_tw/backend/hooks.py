"""Node side of hooks: run the scripts of one hooks directory (spec 12.2).

Also home of :func:`run_child`, the reactor-friendly way for backend code to
run a program with a time limit (used by the iallocator runner too).
"""

import os
import re
from typing import Any, Dict, List, Optional, Sequence

from twisted.internet import defer, error, protocol

from ganeti_tw import constants, errors

from ganeti_tw.constants import HKR_FAIL, HKR_SKIP, HKR_SUCCESS

HOOKS_PATH_ENV = "/sbin:/bin:/usr/sbin:/usr/bin"
HOOK_TIMEOUT = 60
HOOK_OUTPUT_LIMIT = 4096

_EXEC_FAILED = b"Upon execvpe "
_SCRIPT_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
_HPATH = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$")


class ChildResult:
    """How a child process ended and what it wrote."""

    def __init__(self, exit_code: Optional[int], signal_num: Optional[int],
                 timed_out: bool, stdout: bytes, stderr: bytes, output: bytes):
        self.exit_code = exit_code
        self.signal = signal_num
        self.timed_out = timed_out
        self.stdout = stdout
        self.stderr = stderr
        #: stdout and stderr interleaved in arrival order
        self.output = output

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def describe(self) -> str:
        """Why the child did not succeed, in a few words."""
        if self.timed_out:
            return "timed out"
        if self.signal is not None:
            return "killed by signal %d" % self.signal
        return "exit %s" % self.exit_code


class _Collector(protocol.ProcessProtocol):
    """Keeps at most ``limit`` bytes of each stream, but drains them all.

    Draining matters: a child blocked on a full pipe would never exit.
    """

    def __init__(self, limit: Optional[int]):
        self.limit = limit
        self.streams: Dict[str, bytearray] = {"out": bytearray(), "err": bytearray(),
                                              "both": bytearray()}
        self.ended: defer.Deferred = defer.Deferred()

    def _keep(self, name: str, data: bytes) -> None:
        buf = self.streams[name]
        if self.limit is None:
            buf += data
        elif len(buf) < self.limit:
            buf += data[:self.limit - len(buf)]

    def outReceived(self, data: bytes) -> None:
        self._keep("out", data)
        self._keep("both", data)

    def errReceived(self, data: bytes) -> None:
        self._keep("err", data)
        self._keep("both", data)

    def processEnded(self, reason: Any) -> None:
        self.ended.callback(reason.value)


async def run_child(reactor: Any, argv: Sequence[str], env: Dict[str, str], timeout: float,
                    cwd: str = "/", limit: Optional[int] = None) -> ChildResult:
    """Run ``argv`` with stdin from /dev/null; kill it after ``timeout`` seconds.

    Raises OSError when no process can be forked.
    """
    collector = _Collector(limit)
    devnull = os.open(os.devnull, os.O_RDONLY)
    try:
        transport = reactor.spawnProcess(collector, argv[0], list(argv), env=env, path=cwd,
                                         childFDs={0: devnull, 1: "r", 2: "r"})
    finally:
        os.close(devnull)
    timed_out = False

    def kill() -> None:
        nonlocal timed_out
        timed_out = True
        try:
            transport.signalProcess("KILL")
        except error.ProcessExitedAlready:
            pass
        # A grandchild may still hold the pipes open; stop waiting for it.
        transport.loseConnection()

    timer = reactor.callLater(timeout, kill)
    try:
        reason = await collector.ended
    finally:
        if timer.active():
            timer.cancel()
    code = getattr(reason, "exitCode", None)
    sig = getattr(reason, "signal", None)
    s = collector.streams
    out, err, both = bytes(s["out"]), bytes(s["err"]), bytes(s["both"])
    if code == 1 and err.startswith(_EXEC_FAILED):
        # Twisted's forked child prints a traceback when exec fails (say a
        # missing interpreter); its last line is all a user needs.
        err = both = b"Cannot execute %s: %s" % (argv[0].encode(),
                                                 err.strip().splitlines()[-1])
    return ChildResult(code, sig, timed_out, out, err, both)


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
        res = await run_child(ctx.reactor, [script], env, HOOK_TIMEOUT, cwd="/",
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
