"""Starting asynchronous test code from trial's running reactor."""

from typing import Any, Awaitable, Callable

from twisted.internet import defer, reactor, task


def in_running_reactor(start: Callable[[], Awaitable[Any]]) -> defer.Deferred:
    """Run ``start()`` once the reactor runs.

    A child process that ends before trial starts the reactor is reaped during
    start-up; the test then ends mid-start-up and trial's crash() leaves the
    next run without SIGCHLD handling, so the next test's child is never
    reaped and that test hangs. Tests that spawn processes start here.
    """
    return task.deferLater(reactor, 0, lambda: defer.ensureDeferred(start()))
