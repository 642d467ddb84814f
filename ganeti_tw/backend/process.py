"""Running a child program from the node daemon without blocking the reactor.

One runner serves hooks, OS scripts and instance allocators: stdin from a
file or /dev/null, stdout/stderr collected (with a byte cap) or written to
file descriptors, and a time limit after which the child is killed.
"""

import os
import shutil
import signal
from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence

from twisted.internet import defer, error, protocol

#: where setsid(1) is looked for; the child's own PATH may be anything
_SYSTEM_PATH = "/sbin:/bin:/usr/sbin:/usr/bin"
_EXEC_FAILED = b"Upon execvpe "


@dataclass
class ProcessResult:
    """How a child process ended and what it wrote (empty for streams not collected)."""

    exit_code: Optional[int]
    signal: Optional[int]
    timed_out: bool
    timeout: float
    stdout: bytes = b""
    stderr: bytes = b""
    #: stdout and stderr interleaved in arrival order
    output: bytes = b""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def describe(self) -> str:
        """How the child ended, in a few words ("exit 3", "timed out after 60s")."""
        if self.timed_out:
            return "timed out after %gs" % self.timeout
        if self.signal is not None:
            return "killed by signal %d" % self.signal
        return "exit %s" % self.exit_code


class _Collector(protocol.ProcessProtocol):
    """Keeps at most ``limit`` bytes of each collected stream, but drains them all.

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


async def run_process(reactor: Any, argv: Sequence[str], env: Dict[str, str], timeout: float,
                      cwd: str = "/", stdin: Optional[str] = None,
                      stdout: Optional[int] = None, stderr: Optional[int] = None,
                      limit: Optional[int] = None,
                      own_session: bool = False,
                      umask: Optional[int] = None) -> ProcessResult:
    """Run ``argv``; kill it after ``timeout`` seconds.

    Args:
      stdin: a file to read from; None means /dev/null.
      stdout, stderr: a file descriptor to write to (the caller keeps and
        closes it); None collects the stream, at most ``limit`` bytes of it.
      own_session: run the child in a new session (setsid(1), when
        installed), so the timeout kills everything it started, not only the
        child itself.
      umask: the child's umask, when it must differ from the daemon's 077.

    Raises OSError when ``stdin`` cannot be opened (its ``filename`` is set)
    or no process can be forked.
    """
    collector = _Collector(limit)
    if own_session:
        setsid = shutil.which("setsid", path=_SYSTEM_PATH)
        if setsid:
            argv = [setsid, "--wait"] + list(argv)
        else:
            own_session = False
    stdin_fd = os.open(stdin or os.devnull, os.O_RDONLY)
    # the child inherits the umask at fork, inside spawnProcess
    old_umask = os.umask(umask) if umask is not None else None
    try:
        child_fds = {0: stdin_fd, 1: "r" if stdout is None else stdout,
                     2: "r" if stderr is None else stderr}
        transport = reactor.spawnProcess(collector, argv[0], list(argv), env=env, path=cwd,
                                         childFDs=child_fds)
    finally:
        if old_umask is not None:
            os.umask(old_umask)
        os.close(stdin_fd)
    timed_out = False

    def kill() -> None:
        nonlocal timed_out
        timed_out = True
        try:
            if own_session:
                os.killpg(transport.pid, signal.SIGKILL)
            else:
                transport.signalProcess("KILL")
        except (OSError, error.ProcessExitedAlready):
            pass
        # A grandchild (in another session, or not killed) may still hold our
        # pipes open; stop waiting for it.
        transport.loseConnection()

    timer = reactor.callLater(timeout, kill)
    try:
        reason = await collector.ended
    finally:
        if timer.active():
            timer.cancel()
    streams = collector.streams
    out, err, both = bytes(streams["out"]), bytes(streams["err"]), bytes(streams["both"])
    code = getattr(reason, "exitCode", None)
    if code == 1 and err.startswith(_EXEC_FAILED):
        # Twisted's forked child prints a traceback when exec fails (say a
        # missing interpreter); its last line is all a user needs.
        err = both = b"Cannot execute %s: %s" % (argv[0].encode(),
                                                 err.strip().splitlines()[-1])
    return ProcessResult(code, getattr(reason, "signal", None), timed_out, timeout,
                         out, err, both)
