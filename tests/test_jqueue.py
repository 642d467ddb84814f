"""The job model (status rules, file format) and the job queue with the real processor."""

import json
import os
import tempfile

from twisted.internet import defer, reactor, task, threads
from twisted.trial import unittest

from ganeti_tw import config, constants as C, errors, objects, serializer
from ganeti_tw.context import GanetiContext
from ganeti_tw.jqueue.job import QueuedJob
from ganeti_tw.locking import BGL, LEVEL_CLUSTER
from ganeti_tw.mcpu import Processor
from ganeti_tw.paths import Paths

DELAY0 = {"OP_ID": "OP_TEST_DELAY", "duration": 0}


def job_with(*statuses: str) -> QueuedJob:
    job = QueuedJob(1, [dict(DELAY0) for _ in statuses])
    for op, status in zip(job.ops, statuses):
        op.status = status
    return job


class JobStatusTests(unittest.SynchronousTestCase):
    def test_all_success_is_success(self):
        self.assertEqual(job_with("success", "success").calc_status(), "success")

    def test_all_queued_is_queued(self):
        self.assertEqual(job_with("queued", "queued").calc_status(), "queued")

    def test_first_error_wins_over_later_states(self):
        self.assertEqual(job_with("success", "error", "queued").calc_status(), "error")

    def test_canceled_and_canceling(self):
        self.assertEqual(job_with("canceled", "canceled").calc_status(), "canceled")
        self.assertEqual(job_with("success", "canceling", "canceling").calc_status(),
                         "canceling")

    def test_running_after_success_is_running(self):
        self.assertEqual(job_with("success", "running", "queued").calc_status(), "running")
        self.assertEqual(job_with("success", "waiting", "queued").calc_status(), "waiting")

    def test_finalize_unfinished_keeps_finished_opcodes(self):
        job = job_with("success", "running", "queued")
        job.finalize_unfinished("error", "Unclean master daemon shutdown")
        self.assertEqual([op.status for op in job.ops], ["success", "error", "error"])
        self.assertEqual(job.ops[0].result, None)
        self.assertEqual(job.run_op_index, -1)
        self.assertIsNotNone(job.end_timestamp)

    def test_file_round_trip(self):
        job = job_with("success", "queued")
        job.run_op_index = 1
        job.add_log("message", "hello")
        again = QueuedJob.from_dict(json.loads(serializer.dump(job.to_dict())))
        self.assertEqual(again.to_dict(), job.to_dict())
        self.assertEqual(again.log_serial, 1)

    def test_log_serials_increase_per_job(self):
        job = job_with("running")
        job.run_op_index = 0
        serials = [job.add_log("message", str(i))[0] for i in range(3)]
        self.assertEqual(serials, [1, 2, 3])
        self.assertEqual([e[3] for e in job.log_since(1)], ["1", "2"])

    def test_malformed_job_data_raises(self):
        for data in ({}, {"id": "1", "ops": [], "received_timestamp": [0, 0]},
                     {"id": "x", "ops": [{"input": {}, "status": "queued"}],
                      "received_timestamp": [0, 0]},
                     {"id": "1", "ops": [{"input": {}, "status": "bogus"}],
                      "received_timestamp": [0, 0]}):
            self.assertRaises((ValueError, KeyError, TypeError), QueuedJob.from_dict, data)

    def test_unknown_query_field(self):
        self.assertRaises(errors.ParameterError, job_with("queued").get_info, ["colour"])


def make_context(root: str) -> GanetiContext:
    """A one-node master context on a real config file (no daemons needed)."""
    paths = Paths(root)
    os.makedirs(paths.data_dir)
    node = objects.Node(name="node1", primary_ip="127.0.9.1", secondary_ip="127.0.9.1",
                        master_candidate=True)
    data = objects.ConfigData(cluster=objects.Cluster(cluster_name="c", master_node="node1",
                                                      master_ip="127.0.9.254"),
                              nodes={"node1": node})
    config.write_config(paths.config_file, data)
    ctx = GanetiContext(paths, config.ConfigWriter(paths.config_file), "node1", reactor)
    ctx.processor = Processor(ctx)
    ctx.jqueue.processor = ctx.processor
    return ctx


class JobQueueTests(unittest.TestCase):
    timeout = 20

    def setUp(self):
        self.root = tempfile.mkdtemp()
        self.ctx = make_context(self.root)
        self.queue = self.ctx.jqueue
        self.queue.open()
        self.queue.start()
        self.addCleanup(lambda: defer.ensureDeferred(self.queue.stop()))

    async def wait_final(self, job_id: int) -> str:
        for _ in range(400):
            status = self.queue.get_job(job_id).calc_status()
            if status in C.JOBS_FINALIZED:
                return status
            await task.deferLater(reactor, 0.01, lambda: None)
        self.fail("job did not finish")

    async def wait_status(self, job_id: int, status: str) -> None:
        for _ in range(400):
            if self.queue.get_job(job_id).calc_status() == status:
                return
            await task.deferLater(reactor, 0.01, lambda: None)
        self.fail("job never reached %s" % status)

    def job_file(self, job_id: int) -> dict:
        with open(self.ctx.paths.job_file(job_id)) as fh:
            return json.load(fh)

    def test_submit_persists_before_returning_and_runs(self):
        async def go():
            job_id = await self.queue.submit_job([DELAY0])
            self.assertEqual(self.job_file(job_id)["id"], str(job_id))
            self.assertEqual(await self.wait_final(job_id), "success")
            await task.deferLater(reactor, 0.05, lambda: None)
            self.assertEqual(self.job_file(job_id)["ops"][0]["status"], "success")
            with open(self.ctx.paths.queue_serial) as fh:
                self.assertEqual(int(fh.read()), job_id + 1)
        return defer.ensureDeferred(go())

    def test_invalid_job_is_refused_and_nothing_written(self):
        async def go():
            for ops in ([], "x", [{"OP_ID": "OP_TEST_DELAY"}], [{"OP_ID": "OP_NOPE"}]):
                with self.assertRaises(errors.GenericError):
                    await self.queue.submit_job(ops)
            self.assertEqual(self.queue.job_ids(), [])
            self.assertFalse(os.path.exists(self.ctx.paths.queue_serial))
        return defer.ensureDeferred(go())

    def test_drained_queue_refuses_jobs(self):
        async def go():
            await self.queue.set_drain_flag(True)
            with self.assertRaises(errors.JobQueueDrainError):
                await self.queue.submit_job([DELAY0])
            await self.queue.set_drain_flag(False)
            await self.queue.submit_job([DELAY0])
        return defer.ensureDeferred(go())

    def test_full_queue_refuses_jobs(self):
        self.patch(C, "JOB_QUEUE_SIZE_HARD_LIMIT", 2)

        async def go():
            self.queue.max_workers = 0  # keep them queued
            await self.queue.submit_job([DELAY0])
            await self.queue.submit_job([DELAY0])
            with self.assertRaises(errors.JobQueueFull):
                await self.queue.submit_job([DELAY0])
        return defer.ensureDeferred(go())

    def test_cancel_waiting_job(self):
        owner = object()

        async def go():
            await self.ctx.glm.acquire(owner, LEVEL_CLUSTER, [BGL], shared=False)
            job_id = await self.queue.submit_job([DELAY0, DELAY0])
            await self.wait_status(job_id, "waiting")
            self.assertEqual((await self.queue.cancel_job(job_id))[0], True)
            self.assertEqual(await self.wait_final(job_id), "canceled")
            self.ctx.glm.release_all(owner)
            job = self.queue.get_job(job_id)
            self.assertEqual([op.status for op in job.ops], ["canceled", "canceled"])
            # the lock it waited for is free again: a new job runs
            self.assertEqual(await self.wait_final(await self.queue.submit_job([DELAY0])),
                             "success")
        return defer.ensureDeferred(go())

    def test_wait_for_job_change_returns_new_state_and_times_out(self):
        async def go():
            job_id = await self.queue.submit_job([DELAY0])
            await self.wait_final(job_id)
            info, log = await self.queue.wait_for_job_change(job_id, ["status"], None, 0, 1)
            self.assertEqual(info, ["success"])
            self.assertIsNone(await self.queue.wait_for_job_change(999, ["status"], None, 0, 1))
            self.queue.max_workers = 0
            queued = await self.queue.submit_job([DELAY0])
            self.assertEqual(await self.queue.wait_for_job_change(
                queued, ["status"], ["queued"], 0, 0.1), "nochange")
        return defer.ensureDeferred(go())

    def test_restart_recovery_rules(self):
        async def go():
            self.queue.max_workers = 0
            ids = [await self.queue.submit_job([DELAY0, DELAY0]) for _ in range(3)]
            await self.queue.stop()
            # simulate a master killed with job 0 running and job 1 half done
            for job_id, statuses in ((ids[0], ["running", "queued"]),
                                     (ids[1], ["success", "waiting"])):
                data = self.job_file(job_id)
                for op, status in zip(data["ops"], statuses):
                    op["status"] = status
                with open(self.ctx.paths.job_file(job_id), "w") as fh:
                    json.dump(data, fh)
            ctx = make_context(tempfile.mkdtemp())
            queue = ctx.jqueue.__class__(self.ctx.paths, clock=reactor)
            queue.processor = ctx.processor
            queue.open()
            queue.start()
            self.addCleanup(lambda: defer.ensureDeferred(queue.stop()))
            self.queue = queue
            self.assertEqual(await self.wait_final(ids[0]), "error")
            self.assertEqual(queue.get_job(ids[0]).ops[0].result, "Unclean master daemon shutdown")
            self.assertEqual([op.status for op in queue.get_job(ids[1]).ops],
                             ["success", "error"])
            self.assertEqual(await self.wait_final(ids[2]), "success")
            self.assertEqual(await queue.submit_job([DELAY0]), ids[2] + 1)
        return defer.ensureDeferred(go())

    def test_second_queue_on_same_dir_is_refused(self):
        other = self.queue.__class__(self.ctx.paths, clock=reactor)
        self.assertRaises(errors.JobQueueError, other.open)

    def test_write_failure_fails_submission_and_keeps_nothing(self):
        def broken(*args):
            raise OSError(28, "No space left on device")
        self.patch(self.queue, "_write_files", broken)

        async def go():
            with self.assertRaises(errors.JobQueueError) as ctx:
                await self.queue.submit_job([DELAY0])
            self.assertIn("No space left on device", str(ctx.exception))
            self.assertEqual(self.queue.job_ids(), [])
        return defer.ensureDeferred(go())

    def test_job_with_free_locks_is_written_once_already_running(self):
        writes = []
        real_write = self.queue._write_files
        self.patch(self.queue, "_write_files", lambda files: (writes.append(files),
                                                               real_write(files)))

        async def go():
            job_id = await self.queue.submit_job([{"OP_ID": "OP_TEST_DELAY", "duration": 0.3}])
            # one write made the job known and started it: no opcode runs before it
            self.assertEqual(len(writes), 1)
            self.assertEqual([name for name, _ in writes[0]], ["serial", "job-%d" % job_id])
            self.assertEqual(self.job_file(job_id)["ops"][0]["status"], "running")
            self.assertEqual(await self.wait_final(job_id), "success")
        return defer.ensureDeferred(go())

    def test_queries_show_a_state_only_once_it_is_written(self):
        """A client never sees "success" that a failover could turn into "error"."""
        held = []
        real_write = self.queue._write_files

        def slow_write(files):
            if any(b'"success"' in data for _, data in files):
                held.append(files)
                return threads.blockingCallFromThread(reactor, gate_wait)
            return real_write(files)
        gate: defer.Deferred = defer.Deferred()
        # a failing assertion must not leave the write thread blocked
        self.addCleanup(lambda: None if gate.called else gate.callback(None))

        def gate_wait():
            return gate.addCallback(lambda _: real_write(held[0]))
        self.patch(self.queue, "_write_files", slow_write)

        async def go():
            job_id = await self.queue.submit_job([DELAY0])
            while not held:  # the job ended in memory; its final write is held
                await task.deferLater(reactor, 0.01, lambda: None)
            self.assertEqual(self.queue.get_job(job_id).calc_status(), "success")
            self.assertEqual(self.queue.query_jobs([job_id], ["status"]), [["running"]])
            self.assertEqual([row[0] for row in self.queue.query_jobs(None, ["id"])],
                             [str(job_id)])
            change = await self.queue.wait_for_job_change(job_id, ["status"], ["running"],
                                                          None, 0.1)
            self.assertEqual(change, "nochange")
            waiting = defer.ensureDeferred(self.queue.wait_for_job_change(
                job_id, ["status"], ["running"], None, 10))
            gate.callback(None)
            self.assertEqual((await waiting)[0], ["success"])
            self.assertEqual(self.queue.query_jobs([job_id], ["status"]), [["success"]])
        return defer.ensureDeferred(go())

    def test_failed_submission_of_a_waiting_job_never_executes_it(self):
        executed = []
        real_run = self.ctx.processor._run_with_hooks

        async def run_with_hooks(lu):
            executed.append(lu.op.OP_ID)
            return await real_run(lu)
        self.patch(self.ctx.processor, "_run_with_hooks", run_with_hooks)
        real_write = self.queue._write_files

        def broken(*args):
            raise OSError(28, "No space left on device")

        async def go():
            owner = object()
            await self.ctx.glm.acquire(owner, LEVEL_CLUSTER, [BGL], shared=False)
            self.patch(self.queue, "_write_files", broken)
            with self.assertRaises(errors.JobQueueError):
                await self.queue.submit_job([DELAY0])
            self.patch(self.queue, "_write_files", real_write)
            self.ctx.glm.release_all(owner)
            job_id = await self.queue.submit_job([DELAY0])
            self.assertEqual(await self.wait_final(job_id), "success")
            self.assertEqual(executed, ["OP_TEST_DELAY"])  # the later job's only
            self.assertEqual(self.queue.job_ids(), [job_id])
            self.assertEqual(sorted(os.listdir(self.ctx.paths.queue_dir)),
                             sorted(["job-%d" % job_id, "lock", "serial", "version", "archive"]))
        return defer.ensureDeferred(go())

    def test_job_whose_state_cannot_be_written_ends_as_error(self):
        async def go():
            job_id = await self.queue.submit_job([DELAY0])
            await self.wait_final(job_id)

            def broken(*args):
                raise OSError(28, "No space left on device")
            self.patch(self.queue, "_write_files", broken)
            owner = object()
            await self.ctx.glm.acquire(owner, LEVEL_CLUSTER, [BGL], shared=False)
            self.queue._jobs[job_id].ops[0].status = "queued"  # make it runnable again
            self.queue._run_queue.append(self.queue._jobs[job_id])
            self.queue._maybe_start_workers()
            self.ctx.glm.release_all(owner)
            self.assertEqual(await self.wait_final(job_id), "error")
            result = self.queue.get_job(job_id).ops[0].result
            self.assertEqual(result[0], "JobQueueError")
            self.assertIn("No space left on device", result[1][0])
        return defer.ensureDeferred(go())

    def test_autoarchive_by_age(self):
        async def go():
            ids = [await self.queue.submit_job([DELAY0]) for _ in range(3)]
            for job_id in ids:
                await self.wait_final(job_id)
            self.assertEqual(await self.queue.autoarchive_jobs(3600, 10), [0, 0])
            old = self.queue.get_job(ids[0])
            old.end_timestamp = [old.end_timestamp[0] - 7200, 0]
            self.assertEqual(await self.queue.autoarchive_jobs(3600, 10), [1, 0])
            self.assertEqual(self.queue.job_ids(), ids[1:])
            self.assertTrue(os.path.exists(self.ctx.paths.archived_job_file(ids[0])))
            self.assertEqual(self.queue.get_job(ids[0]).calc_status(), "success")
        return defer.ensureDeferred(go())
