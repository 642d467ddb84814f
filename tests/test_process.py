"""The backend's child process runner, with real processes."""

import os

from twisted.internet import reactor, task
from twisted.trial import unittest

from ganeti_tw.backend.process import ProcessResult, run_process

ENV = {"PATH": "/sbin:/bin:/usr/sbin:/usr/bin"}


def sh(script: str) -> list:
    return ["/bin/sh", "-c", script]


async def run(argv: list, timeout: float = 10, **kwargs) -> ProcessResult:
    """``run_process`` from a running reactor.

    A child that ends before trial starts the reactor is reaped during its
    startup; the test then ends mid-startup and trial's crash() leaves the
    next run without SIGCHLD handling, so the next test's child is never
    reaped.
    """
    await task.deferLater(reactor, 0, lambda: None)
    return await run_process(reactor, argv, ENV, timeout, **kwargs)


def alive(pid: int) -> bool:
    try:
        with open("/proc/%d/stat" % pid) as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


class DescribeTests(unittest.SynchronousTestCase):
    def test_describe_says_how_the_child_ended(self):
        self.assertEqual(ProcessResult(3, None, False, 60).describe(), "exit 3")
        self.assertEqual(ProcessResult(None, 9, False, 60).describe(), "killed by signal 9")
        self.assertEqual(ProcessResult(None, 9, True, 0.5).describe(),
                         "timed out after 0.5s")

    def test_only_exit_zero_in_time_is_ok(self):
        self.assertTrue(ProcessResult(0, None, False, 1).ok)
        self.assertFalse(ProcessResult(0, None, True, 1).ok)
        self.assertFalse(ProcessResult(1, None, False, 1).ok)


class RunProcessTests(unittest.TestCase):
    def setUp(self):
        self.dir = os.path.abspath(self.mktemp())
        os.makedirs(self.dir)

    async def test_collects_both_streams_separately_and_interleaved(self) -> None:
        res = await run(sh("echo out; echo err >&2; exit 2"))
        self.assertEqual((res.exit_code, res.stdout, res.stderr), (2, b"out\n", b"err\n"))
        self.assertEqual(sorted(res.output.split()), [b"err", b"out"])

    async def test_collected_output_is_capped_but_drained(self) -> None:
        res = await run(sh("head -c 200000 /dev/zero | tr '\\0' x"), limit=10)
        self.assertEqual((res.exit_code, res.stdout), (0, b"x" * 10))

    async def test_stdin_is_dev_null_or_the_given_file(self) -> None:
        source = os.path.join(self.dir, "in")
        with open(source, "w") as fh:
            fh.write("from file\n")
        self.assertEqual((await run(["cat"])).stdout, b"")
        self.assertEqual((await run(["cat"], stdin=source)).stdout, b"from file\n")

    async def test_missing_stdin_file_raises_oserror_naming_it(self) -> None:
        missing = os.path.join(self.dir, "missing")
        with self.assertRaises(OSError) as ctx:
            await run(["cat"], stdin=missing)
        self.assertEqual(ctx.exception.filename, missing)

    async def test_streams_can_go_to_file_descriptors(self) -> None:
        target = os.path.join(self.dir, "out")
        fd = os.open(target, os.O_WRONLY | os.O_CREAT)
        try:
            res = await run(sh("echo out; echo err >&2"), stdout=fd, stderr=fd)
        finally:
            os.close(fd)
        self.assertEqual((res.exit_code, res.output), (0, b""))
        with open(target) as fh:
            self.assertEqual(sorted(fh.read().split()), ["err", "out"])

    async def test_runs_in_the_given_directory(self) -> None:
        res = await run(["pwd"], cwd=self.dir)
        self.assertEqual(res.stdout.decode().strip(), self.dir)

    async def test_failed_exec_is_one_line(self) -> None:
        script = os.path.join(self.dir, "bad")
        with open(script, "w") as fh:
            fh.write("#!/nonexistent/sh\n")
        os.chmod(script, 0o755)
        res = await run([script])
        self.assertFalse(res.ok)
        self.assertTrue(res.stderr.startswith(b"Cannot execute %s: " % script.encode()),
                        res.stderr)
        self.assertNotIn(b"\n", res.output)

    async def test_timeout_ends_the_wait_even_if_a_grandchild_holds_the_pipes(self) -> None:
        start = reactor.seconds()
        res = await run(sh("echo started; sleep 5; echo late"), timeout=0.5)
        self.assertLess(reactor.seconds() - start, 4)
        self.assertTrue(res.timed_out)
        self.assertEqual(res.stdout, b"started\n")
        self.assertEqual(res.describe(), "timed out after 0.5s")

    async def test_own_session_timeout_kills_what_the_child_started(self) -> None:
        pidfile = os.path.join(self.dir, "pid")
        res = await run(sh("sleep 60 & echo $! > %s; wait" % pidfile), timeout=0.5,
                        own_session=True)
        self.assertTrue(res.timed_out)
        with open(pidfile) as fh:
            pid = int(fh.read())
        for _ in range(100):
            if not alive(pid):
                break
            await task.deferLater(reactor, 0.02, lambda: None)
        else:
            self.fail("the child's child %d survived the timeout" % pid)

