"""Shared/exclusive locks for the master daemon's job processor (spec 4.7).

Everything runs on the reactor thread: a lock is granted by firing a Deferred,
so a waiting job costs nothing and cancelling it is just cancelling that
Deferred. Deadlocks are avoided by ordering, never detected: levels are taken
cluster -> instance -> node, and names within a level in sorted order.
"""

from collections import deque
from typing import Deque, Dict, FrozenSet, Hashable, Iterable, List, Optional, Tuple

from twisted.internet import defer

from ganeti_tw import errors

LEVEL_CLUSTER = 0
LEVEL_INSTANCE = 1
LEVEL_NODE = 2
LEVELS = [LEVEL_CLUSTER, LEVEL_INSTANCE, LEVEL_NODE]
LEVEL_NAMES = {LEVEL_CLUSTER: "cluster", LEVEL_INSTANCE: "instance", LEVEL_NODE: "node"}
BGL = "BGL"
ALL_SET = None


class LockDeletedError(errors.GenericError):
    """The lock was deleted; whoever waited for it must give up."""


class SharedLock:
    """A lock held by many owners in shared mode or by one in exclusive mode.

    Waiters are served first come, first served: a waiting exclusive request
    holds back later shared ones, so writers are never starved by a stream of
    readers.
    """

    def __init__(self, name: str):
        self.name = name
        self._owners: set = set()
        self._exclusive = False
        self._pending: Deque[Tuple[Hashable, bool, defer.Deferred]] = deque()
        self._deleted = False

    @property
    def mode(self) -> Optional[str]:
        """"shared", "exclusive", or None when nobody holds the lock."""
        if not self._owners:
            return None
        return "exclusive" if self._exclusive else "shared"

    @property
    def owners(self) -> FrozenSet[Hashable]:
        return frozenset(self._owners)

    @property
    def pending(self) -> int:
        """Number of acquisitions waiting for the lock."""
        return len(self._pending)

    def is_owned(self, owner: Hashable) -> bool:
        return owner in self._owners

    def acquire(self, owner: Hashable, shared: bool) -> defer.Deferred:
        """Return a Deferred firing with None once ``owner`` holds the lock.

        Cancelling the Deferred while it waits withdraws the request. A deleted
        lock fails the Deferred with LockDeletedError.
        """
        if self.is_owned(owner) or any(w[0] == owner for w in self._pending):
            raise errors.ProgrammerError("Lock %s already held or requested by %r"
                                         % (self.name, owner))
        if self._deleted:
            return defer.fail(LockDeletedError("Lock %s has been deleted" % self.name))
        if not self._pending and self._grantable(shared):
            self._grant(owner, shared)
            return defer.succeed(None)
        d = defer.Deferred(lambda _: self._withdraw(waiter))
        waiter = (owner, shared, d)
        self._pending.append(waiter)
        return d

    def release(self, owner: Hashable) -> None:
        """Give the lock up and let the next compatible waiters in."""
        if not self.is_owned(owner):
            raise errors.ProgrammerError("Lock %s is not held by %r" % (self.name, owner))
        self._owners.remove(owner)
        self._grant_waiters()

    def delete(self, owner: Hashable) -> None:
        """Delete the lock held exclusively by ``owner``; every waiter fails."""
        if self.mode != "exclusive" or not self.is_owned(owner):
            raise errors.ProgrammerError("Lock %s must be held exclusively to be deleted"
                                         % self.name)
        self._deleted = True
        self._owners.clear()
        waiters, self._pending = self._pending, deque()
        for _, _, d in waiters:
            d.errback(LockDeletedError("Lock %s has been deleted" % self.name))

    def _grantable(self, shared: bool) -> bool:
        return not self._owners or (shared and not self._exclusive)

    def _grant(self, owner: Hashable, shared: bool) -> None:
        self._owners.add(owner)
        self._exclusive = not shared

    def _grant_waiters(self) -> None:
        # One at a time, re-checking the head each round: a woken waiter may
        # release or acquire this lock again from inside its callback.
        while self._pending and self._grantable(self._pending[0][1]):
            owner, shared, d = self._pending.popleft()
            self._grant(owner, shared)
            d.callback(None)

    def _withdraw(self, waiter: Tuple[Hashable, bool, defer.Deferred]) -> None:
        # The Deferred then fails with CancelledError; a withdrawn exclusive
        # head may have been holding shared waiters back.
        self._pending.remove(waiter)
        self._grant_waiters()


class LockManager:
    """Ganeti's levels: cluster (the single BGL) -> instance -> node.

    Each level also has a set lock, taken with ALL_SET and by add(), so that
    no lock appears at a level while someone holds all of it.
    """

    def __init__(self, nodes: Iterable[str] = (), instances: Iterable[str] = ()):
        self._locks: Dict[int, Dict[str, SharedLock]] = {
            LEVEL_CLUSTER: {BGL: SharedLock(BGL)},
            LEVEL_INSTANCE: {name: SharedLock(name) for name in instances},
            LEVEL_NODE: {name: SharedLock(name) for name in nodes},
        }
        self._set_locks = {level: SharedLock("%s-set" % LEVEL_NAMES[level]) for level in LEVELS}

    def acquire(self, owner: Hashable, level: int, names: Optional[Iterable[str]],
                shared: bool = False) -> defer.Deferred:
        """Acquire ``names`` (or ALL_SET) at ``level``, in sorted order.

        Fires with the sorted names acquired. On failure or cancellation every
        lock this call took is released again.
        """
        self._check_may_lock(owner, level)
        return defer.ensureDeferred(self._acquire(owner, level, names, shared))

    def release(self, owner: Hashable, level: int, names: Optional[Iterable[str]] = None) -> None:
        """Release ``names`` (default: all ``owner`` holds) at ``level``.

        Releasing anything at a level also gives up its set lock: the owner no
        longer holds all of it.
        """
        owned = self.owned(owner, level)
        names = owned if names is None else list(names)
        not_owned = sorted(set(names) - set(owned))
        if not_owned:
            raise errors.ProgrammerError("%r does not hold %s lock(s) %s"
                                         % (owner, LEVEL_NAMES[level], ", ".join(not_owned)))
        if level == LEVEL_CLUSTER and any(self._owns_any(owner, lvl) for lvl in LEVELS[1:]):
            raise errors.ProgrammerError("Cannot release the BGL while holding instance"
                                         " or node locks")
        for name in names:
            self._locks[level][name].release(owner)
        if self._set_locks[level].is_owned(owner):
            self._set_locks[level].release(owner)

    def release_all(self, owner: Hashable) -> None:
        """Release everything ``owner`` holds, node level first (reverse of acquisition)."""
        for level in reversed(LEVELS):
            self.release(owner, level)

    def add(self, owner: Hashable, level: int, names: Iterable[str],
            acquired: bool = False) -> defer.Deferred:
        """Add new locks at ``level``, optionally held exclusively by ``owner``.

        Waits for ALL_SET holders of the level. Fires with the sorted names added.
        """
        if level == LEVEL_CLUSTER:
            raise errors.ProgrammerError("Cannot add locks at cluster level")
        self._check_may_lock(owner, level)
        return defer.ensureDeferred(self._add(owner, level, sorted(set(names)), acquired))

    def remove(self, owner: Hashable, level: int, names: Iterable[str]) -> defer.Deferred:
        """Delete locks ``owner`` holds exclusively; their waiters fail with OpPrereqError.

        Unlike add() this does not take the set lock: an ALL_SET acquisition
        may be waiting for one of these very locks, and it simply skips them.
        """
        if level == LEVEL_CLUSTER:
            raise errors.ProgrammerError("Cannot remove locks at cluster level")
        names = sorted(set(names))
        level_locks = self._locks[level]
        for name in names:
            if name not in level_locks or level_locks[name].mode != "exclusive" \
                    or not level_locks[name].is_owned(owner):
                raise errors.ProgrammerError("%s lock %s must be held exclusively to be removed"
                                             % (LEVEL_NAMES[level], name))
        for name in names:
            level_locks.pop(name).delete(owner)
        return defer.succeed(names)

    def owned(self, owner: Hashable, level: int) -> List[str]:
        """Sorted names of the locks ``owner`` holds at ``level``."""
        return sorted(name for name, lock in self._locks[level].items() if lock.is_owned(owner))

    def names(self, level: int) -> List[str]:
        return sorted(self._locks[level])

    def info(self) -> List[dict]:
        """One dict per lock, for debugging stuck jobs (gnt-debug)."""
        return [{"level": level, "name": name, "mode": lock.mode,
                 "owners": len(lock.owners), "pending": lock.pending}
                for level in LEVELS for name, lock in sorted(self._locks[level].items())]

    def _owns_any(self, owner: Hashable, level: int) -> bool:
        return (self._set_locks[level].is_owned(owner)
                or any(lock.is_owned(owner) for lock in self._locks[level].values()))

    def _check_may_lock(self, owner: Hashable, level: int) -> None:
        # Together with sorted names these rules keep the waits-for graph
        # acyclic: every owner takes each level once, in level order, under
        # the BGL.
        if any(self._owns_any(owner, lvl) for lvl in LEVELS if lvl >= level):
            raise errors.ProgrammerError("%r already holds locks at level %s or above"
                                         % (owner, LEVEL_NAMES[level]))
        if level != LEVEL_CLUSTER and not self._locks[LEVEL_CLUSTER][BGL].is_owned(owner):
            raise errors.ProgrammerError("%r must hold the BGL to lock at level %s"
                                         % (owner, LEVEL_NAMES[level]))

    async def _acquire(self, owner: Hashable, level: int, names: Optional[Iterable[str]],
                       shared: bool) -> List[str]:
        level_locks = self._locks[level]
        all_set = names is ALL_SET
        if not all_set:
            names = sorted(set(names))
            missing = [name for name in names if name not in level_locks]
            if missing:
                raise errors.OpPrereqError("%s lock(s) %s don't exist"
                                           % (LEVEL_NAMES[level].capitalize(), ", ".join(missing)))
            # Resolved now: a lock removed while we wait still fails our wait.
            locks = [(name, level_locks[name]) for name in names]
        taken: List[SharedLock] = []
        acquired: List[str] = []
        try:
            if all_set:
                await self._set_locks[level].acquire(owner, shared)
                taken.append(self._set_locks[level])
                locks = sorted(level_locks.items())
            for name, lock in locks:
                try:
                    await lock.acquire(owner, shared)
                except LockDeletedError:
                    if all_set:
                        continue
                    raise errors.OpPrereqError("%s lock %s was removed while waiting for it"
                                               % (LEVEL_NAMES[level].capitalize(), name)) from None
                taken.append(lock)
                acquired.append(name)
        except BaseException:
            for lock in taken:
                lock.release(owner)
            raise
        return acquired

    async def _add(self, owner: Hashable, level: int, names: List[str],
                   acquired: bool) -> List[str]:
        level_locks = self._locks[level]
        set_lock = self._set_locks[level]
        await set_lock.acquire(owner, False)
        try:
            existing = [name for name in names if name in level_locks]
            if existing:
                raise errors.OpPrereqError("%s lock(s) %s already exist, probably a race"
                                           % (LEVEL_NAMES[level].capitalize(), ", ".join(existing)))
            for name in names:
                level_locks[name] = SharedLock(name)
                if acquired:
                    level_locks[name].acquire(owner, False)
        finally:
            set_lock.release(owner)
        return names
