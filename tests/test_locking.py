"""Tests for ganeti_tw.locking: the reactor-based shared/exclusive locks."""

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from ganeti_tw import errors, locking
from ganeti_tw.locking import ALL_SET, BGL, LEVEL_CLUSTER, LEVEL_INSTANCE, LEVEL_NODE


class SharedLockTests(SynchronousTestCase):

    def setUp(self):
        self.lock = locking.SharedLock("lock")

    def test_shared_owners_hold_the_lock_together(self):
        self.successResultOf(self.lock.acquire("a", shared=True))
        self.successResultOf(self.lock.acquire("b", shared=True))
        self.assertEqual(self.lock.owners, {"a", "b"})
        self.assertEqual(self.lock.mode, "shared")

    def test_exclusive_owner_excludes_others_until_released(self):
        self.successResultOf(self.lock.acquire("a", shared=False))
        d = self.lock.acquire("b", shared=True)
        self.assertNoResult(d)
        self.lock.release("a")
        self.successResultOf(d)
        self.assertTrue(self.lock.is_owned("b"))

    def test_waiting_exclusive_blocks_later_shared(self):
        """No writer starvation: a reader arriving after a waiting writer queues behind it."""
        self.successResultOf(self.lock.acquire("a", shared=True))
        writer = self.lock.acquire("w", shared=False)
        reader = self.lock.acquire("r", shared=True)
        self.assertNoResult(writer)
        self.assertNoResult(reader)
        self.lock.release("a")
        self.successResultOf(writer)
        self.assertNoResult(reader)

    def test_consecutive_shared_waiters_are_granted_together(self):
        self.successResultOf(self.lock.acquire("w", shared=False))
        readers = [self.lock.acquire(r, shared=True) for r in ("r1", "r2")]
        writer = self.lock.acquire("w2", shared=False)
        self.lock.release("w")
        for d in readers:
            self.successResultOf(d)
        self.assertNoResult(writer)
        self.assertEqual(self.lock.pending, 1)

    def test_cancelled_waiting_exclusive_lets_shared_waiters_in(self):
        self.successResultOf(self.lock.acquire("a", shared=True))
        writer = self.lock.acquire("w", shared=False)
        reader = self.lock.acquire("r", shared=True)
        writer.cancel()
        self.failureResultOf(writer, defer.CancelledError)
        self.successResultOf(reader)
        self.assertEqual(self.lock.pending, 0)

    def test_acquiring_a_held_lock_again_is_a_programmer_error(self):
        self.successResultOf(self.lock.acquire("a", shared=True))
        self.assertRaises(errors.ProgrammerError, self.lock.acquire, "a", True)

    def test_release_by_non_owner_is_a_programmer_error(self):
        self.assertRaises(errors.ProgrammerError, self.lock.release, "a")

    def test_delete_fails_waiters_and_later_acquisitions(self):
        self.successResultOf(self.lock.acquire("a", shared=False))
        waiter = self.lock.acquire("b", shared=True)
        self.lock.delete("a")
        self.failureResultOf(waiter, locking.LockDeletedError)
        self.failureResultOf(self.lock.acquire("c", shared=True), locking.LockDeletedError)

    def test_delete_requires_exclusive_ownership(self):
        self.successResultOf(self.lock.acquire("a", shared=True))
        self.assertRaises(errors.ProgrammerError, self.lock.delete, "a")


class LockManagerTests(SynchronousTestCase):

    def setUp(self):
        self.glm = locking.LockManager(nodes=["node1", "node2", "node3"],
                                       instances=["inst1", "inst2"])

    def with_bgl(self, *owners):
        for owner in owners:
            self.successResultOf(self.glm.acquire(owner, LEVEL_CLUSTER, [BGL], shared=True))

    def test_acquire_fires_with_sorted_names(self):
        self.with_bgl("job")
        d = self.glm.acquire("job", LEVEL_NODE, ["node2", "node1"])
        self.assertEqual(self.successResultOf(d), ["node1", "node2"])
        self.assertEqual(self.glm.owned("job", LEVEL_NODE), ["node1", "node2"])

    def test_sorted_acquisition_avoids_deadlock(self):
        """Asked in opposite orders, both owners queue on the same first lock."""
        self.with_bgl("j1", "j2")
        d1 = self.glm.acquire("j1", LEVEL_NODE, ["node2", "node1"])
        d2 = self.glm.acquire("j2", LEVEL_NODE, ["node1", "node2"])
        self.successResultOf(d1)
        self.assertNoResult(d2)
        self.assertEqual(self.glm.owned("j2", LEVEL_NODE), [])
        self.glm.release("j1", LEVEL_NODE)
        self.assertEqual(self.successResultOf(d2), ["node1", "node2"])

    def test_cancel_releases_partially_acquired_locks_and_lets_next_waiter_in(self):
        self.with_bgl("holder", "job", "next")
        self.successResultOf(self.glm.acquire("holder", LEVEL_NODE, ["node3"]))
        d = self.glm.acquire("job", LEVEL_NODE, ["node1", "node2", "node3"])
        waiting = self.glm.acquire("next", LEVEL_NODE, ["node1"])
        self.assertEqual(self.glm.owned("job", LEVEL_NODE), ["node1", "node2"])
        d.cancel()
        self.failureResultOf(d, defer.CancelledError)
        self.assertEqual(self.glm.owned("job", LEVEL_NODE), [])
        self.assertEqual(self.successResultOf(waiting), ["node1"])

    def test_unknown_name_fails_without_acquiring_anything(self):
        self.with_bgl("job")
        d = self.glm.acquire("job", LEVEL_NODE, ["node1", "nodeX"])
        failure = self.failureResultOf(d, errors.OpPrereqError)
        self.assertIn("nodeX", str(failure.value))
        self.assertEqual(self.glm.owned("job", LEVEL_NODE), [])

    def test_locking_a_higher_level_first_is_a_programmer_error(self):
        self.with_bgl("job")
        self.successResultOf(self.glm.acquire("job", LEVEL_NODE, ["node1"]))
        self.assertRaises(errors.ProgrammerError,
                          self.glm.acquire, "job", LEVEL_INSTANCE, ["inst1"])

    def test_node_lock_without_bgl_is_a_programmer_error(self):
        self.assertRaises(errors.ProgrammerError,
                          self.glm.acquire, "job", LEVEL_NODE, ["node1"])

    def test_release_of_non_held_lock_is_a_programmer_error(self):
        self.with_bgl("job")
        self.assertRaises(errors.ProgrammerError,
                          self.glm.release, "job", LEVEL_NODE, ["node1"])

    def test_release_of_bgl_while_holding_node_locks_is_a_programmer_error(self):
        self.with_bgl("job")
        self.successResultOf(self.glm.acquire("job", LEVEL_NODE, ["node1"]))
        self.assertRaises(errors.ProgrammerError, self.glm.release, "job", LEVEL_CLUSTER)

    def test_release_all_releases_every_level(self):
        self.with_bgl("job")
        self.successResultOf(self.glm.acquire("job", LEVEL_INSTANCE, ALL_SET))
        self.successResultOf(self.glm.acquire("job", LEVEL_NODE, ["node1"]))
        self.glm.release_all("job")
        self.assertEqual([lock for lock in self.glm.info() if lock["owners"]], [])
        self.successResultOf(self.glm.acquire("other", LEVEL_CLUSTER, [BGL]))

    def test_all_set_acquires_every_lock_of_the_level(self):
        self.with_bgl("job")
        d = self.glm.acquire("job", LEVEL_NODE, ALL_SET, shared=True)
        self.assertEqual(self.successResultOf(d), ["node1", "node2", "node3"])

    def test_all_set_blocks_add_until_released(self):
        self.with_bgl("job", "adder")
        self.successResultOf(self.glm.acquire("job", LEVEL_NODE, ALL_SET, shared=True))
        d = self.glm.add("adder", LEVEL_NODE, ["node4"])
        self.assertNoResult(d)
        self.assertNotIn("node4", self.glm.names(LEVEL_NODE))
        self.glm.release("job", LEVEL_NODE)
        self.assertEqual(self.successResultOf(d), ["node4"])
        self.assertIn("node4", self.glm.names(LEVEL_NODE))

    def test_individual_locks_do_not_block_add(self):
        self.with_bgl("job", "adder")
        self.successResultOf(self.glm.acquire("job", LEVEL_NODE, ["node1"]))
        self.successResultOf(self.glm.add("adder", LEVEL_NODE, ["node4"]))

    def test_add_with_acquired_gives_owner_the_new_lock_exclusively(self):
        self.with_bgl("job")
        self.successResultOf(self.glm.add("job", LEVEL_INSTANCE, ["inst3"], acquired=True))
        self.assertEqual(self.glm.owned("job", LEVEL_INSTANCE), ["inst3"])
        self.assertIn({"level": LEVEL_INSTANCE, "name": "inst3", "mode": "exclusive",
                       "owners": 1, "pending": 0}, self.glm.info())

    def test_add_of_existing_lock_fails_as_a_race(self):
        self.with_bgl("job")
        d = self.glm.add("job", LEVEL_INSTANCE, ["inst1"])
        self.assertIn("probably a race", str(self.failureResultOf(d, errors.OpPrereqError).value))

    def test_add_without_bgl_is_a_programmer_error(self):
        self.assertRaises(errors.ProgrammerError, self.glm.add, "job", LEVEL_NODE, ["node4"])

    def test_remove_fails_waiters_with_prereq_error_naming_the_lock(self):
        self.with_bgl("job", "waiter")
        self.successResultOf(self.glm.acquire("job", LEVEL_INSTANCE, ["inst2"]))
        d = self.glm.acquire("waiter", LEVEL_INSTANCE, ["inst1", "inst2"])
        self.successResultOf(self.glm.remove("job", LEVEL_INSTANCE, ["inst2"]))
        self.assertIn("inst2", str(self.failureResultOf(d, errors.OpPrereqError).value))
        self.assertEqual(self.glm.owned("waiter", LEVEL_INSTANCE), [])
        self.assertEqual(self.glm.names(LEVEL_INSTANCE), ["inst1"])

    def test_remove_lets_a_waiting_all_set_proceed_without_the_removed_lock(self):
        """remove() cannot wait for the set lock: the ALL_SET waiter may be waiting for our lock."""
        self.with_bgl("job", "waiter")
        self.successResultOf(self.glm.acquire("job", LEVEL_INSTANCE, ["inst2"]))
        d = self.glm.acquire("waiter", LEVEL_INSTANCE, ALL_SET)
        self.successResultOf(self.glm.remove("job", LEVEL_INSTANCE, ["inst2"]))
        self.assertEqual(self.successResultOf(d), ["inst1"])

    def test_remove_of_shared_lock_is_a_programmer_error(self):
        self.with_bgl("job")
        self.successResultOf(self.glm.acquire("job", LEVEL_INSTANCE, ["inst1"], shared=True))
        self.assertRaises(errors.ProgrammerError, self.glm.remove, "job", LEVEL_INSTANCE, ["inst1"])
