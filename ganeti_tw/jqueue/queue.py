"""The master's job queue: submission, execution, persistence, archive, drain.

Every state change of a job is written to its file (atomically, fsynced)
and replicated to the master candidates before anyone waiting on the job is
told. Changes are group-committed: all changes made during one reactor turn
are written in one batch by a thread (so the reactor never waits on fsync)
and sent to the candidates in one call each.
"""

import collections
import fcntl
import os
import re
import time
from typing import Any, Deque, Dict, List, Optional, Tuple

from twisted.internet import defer, threads
from twisted.logger import Logger

from ganeti_tw import constants as C, errors, opcodes, serializer, utils
from ganeti_tw.jqueue.job import QueuedJob, timestamp
from ganeti_tw.paths import Paths

log = Logger()

JOB_FILE_RE = re.compile(r"^job-(\d+)$")
MSG_UNCLEAN = "Unclean master daemon shutdown"
MSG_CANCELED = "Job canceled by request"
MAX_WORKERS = 25


class NullReplicator:
    """Replication target used when the master is the only candidate."""

    async def update(self, files: List[Tuple[str, bytes]]) -> None:
        return None

    async def rename(self, pairs: List[Tuple[str, str]]) -> None:
        return None

    async def set_drain(self, flag: bool) -> None:
        return None


class _OpContext:
    """What the processor sees of the job running an opcode (and the lock owner)."""

    def __init__(self, queue: "JobQueue", job: QueuedJob, index: int):
        self.queue = queue
        self.job = job
        self.op = job.ops[index]
        self.lock_wait: Optional[defer.Deferred] = None

    def check_canceled(self) -> None:
        if self.op.status == C.OP_STATUS_CANCELING:
            raise defer.CancelledError()

    async def wait_for_locks(self, acquisition: Any) -> None:
        """Await the lock acquisition coroutine; a cancel request interrupts it."""
        self.check_canceled()
        self.lock_wait = defer.ensureDeferred(acquisition)
        try:
            await self.lock_wait
        finally:
            self.lock_wait = None

    def cancel(self) -> None:
        if self.lock_wait is not None:
            self.lock_wait.cancel()

    def feedback(self, msg_type: str, message: Any) -> None:
        self.job.add_log(msg_type, message)
        self.queue.notify_watchers(self.job.id)

    async def notify_start(self) -> None:
        """Locks are held: waiting -> running, unless a cancel arrived meanwhile."""
        self.check_canceled()
        self.op.status = C.OP_STATUS_RUNNING
        self.op.exec_timestamp = timestamp()
        await self.queue.commit(self.job)

    def __repr__(self) -> str:
        return "<job %d>" % self.job.id


class JobQueue:
    """Jobs in memory and on disk under ``queue/`` (spec 4.3-4.6)."""

    def __init__(self, paths: Paths, replicator: Any = None,
                 clock: Any = None, max_workers: int = MAX_WORKERS):
        from twisted.internet import reactor
        self.paths = paths
        self.replicator = replicator or NullReplicator()
        self.clock = clock or reactor
        self.max_workers = max_workers
        self.processor: Any = None
        self._jobs: Dict[int, QueuedJob] = {}
        self._next_serial = 0
        self._serial_dirty = False
        self._dirty: set = set()
        self._new_jobs: set = set()
        # queries show what is durable: the bytes each job's last completed
        # write carried, for jobs changed since (dirty or being written)
        self._written: Dict[int, bytes] = {}
        self._in_flight: set = set()
        self._commit_waiters: List[defer.Deferred] = []
        self._flush_call = None
        self._flushing = False
        self._run_queue: Deque[QueuedJob] = collections.deque()
        self._running: Dict[int, defer.Deferred] = {}
        self._op_contexts: Dict[int, _OpContext] = {}
        self._watchers: Dict[int, List[defer.Deferred]] = collections.defaultdict(list)
        self._lock_fd: Optional[int] = None
        self._leftovers: List[str] = []
        self._corrupt: List[str] = []
        self._accepting = True

    # opening and recovery ------------------------------------------------------

    def open(self) -> None:
        """Lock the queue, check its version, load jobs and apply the restart rules."""
        utils.ensure_dirs([(self.paths.queue_dir, 0o700), (self.paths.queue_archive_dir, 0o700)])
        self._lock_fd = os.open(self.paths.queue_lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._lock_fd)
            self._lock_fd = None
            raise errors.JobQueueError("The job queue %s is locked by another process "
                                       "(is another master daemon running?)"
                                       % self.paths.queue_dir) from None
        self._check_version()
        self._next_serial = self._read_serial()
        for name in os.listdir(self.paths.queue_dir):
            path = os.path.join(self.paths.queue_dir, name)
            if name.startswith(".") and name.endswith(".tmp"):
                self._leftovers.append(path)
                continue
            match = JOB_FILE_RE.match(name)
            if not match:
                continue
            job_id = int(match.group(1))
            self._next_serial = max(self._next_serial, job_id + 1)
            data = self._read_job_file(path)
            job = self._load_job_file(path, job_id, data)
            if job is None:
                self._corrupt.append(path)
            else:
                self._jobs[job.id] = job
                self._written[job.id] = data
        self._next_serial = max(self._next_serial, self._highest_archived_id() + 1)
        log.info("Job queue opened: {count} jobs, next id {serial}",
                 count=len(self._jobs), serial=self._next_serial)

    def advance_serial(self, next_id: int) -> None:
        """Hand out no id below ``next_id``: a candidate's queue copy has seen it."""
        if next_id > self._next_serial:
            log.info("Next job id raised from {old} to {new} (seen on a candidate)",
                     old=self._next_serial, new=next_id)
            self._next_serial = next_id
            self._serial_dirty = True

    def _check_version(self) -> None:
        try:
            version = utils.read_file(self.paths.queue_version).decode().strip()
        except FileNotFoundError:
            return  # a new queue: start() writes the version
        if version != str(C.JOB_QUEUE_VERSION):
            raise errors.JobQueueError("Job queue %s has version %s, expected %d"
                                       % (self.paths.queue_dir, version, C.JOB_QUEUE_VERSION))

    def _read_serial(self) -> int:
        try:
            text = utils.read_file(self.paths.queue_serial).decode().strip()
        except FileNotFoundError:
            return 0
        if not text.isdigit():
            log.error("Job queue serial file {path} is corrupt ({text!r}); "
                      "recomputing it from the job files", path=self.paths.queue_serial,
                      text=text)
            return 0
        return int(text)

    @staticmethod
    def _read_job_file(path: str) -> bytes:
        try:
            return utils.read_file(path)
        except OSError as err:
            log.error("Job file {path} is unreadable ({err})", path=path, err=err)
            return b""

    @staticmethod
    def _load_job_file(path: str, job_id: int, data: bytes) -> Optional[QueuedJob]:
        try:
            job = QueuedJob.from_dict(serializer.load(data))
            if job.id != job_id:
                raise ValueError("file name and id %d differ" % job.id)
            return job
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as err:
            log.error("Job file {path} is unparseable ({err})", path=path, err=err)
            return None

    def _housekeeping(self) -> None:
        """Write the version of a new queue, drop left-over temp files, set corrupt files aside."""
        if not os.path.exists(self.paths.queue_version):
            utils.write_file_atomic(self.paths.queue_version, b"%d\n" % C.JOB_QUEUE_VERSION)
        for path in self._leftovers:
            log.info("Removing left-over temporary file {path}", path=path)
            utils.remove_file(path)
        for path in self._corrupt:
            target_dir = os.path.join(self.paths.queue_archive_dir, "corrupt")
            os.makedirs(target_dir, mode=0o700, exist_ok=True)
            target = os.path.join(target_dir, "%s.%d" % (os.path.basename(path), time.time()))
            os.rename(path, target)
            log.error("Moved unparseable job file {path} to {target}", path=path, target=target)
        self._leftovers, self._corrupt = [], []

    def _highest_archived_id(self) -> int:
        highest = -1
        base = self.paths.queue_archive_dir
        subdirs = [d for d in os.listdir(base) if d.isdigit()]
        for subdir in sorted(subdirs, key=int, reverse=True):
            ids = [int(m.group(1)) for m in map(JOB_FILE_RE.match,
                                                os.listdir(os.path.join(base, subdir))) if m]
            if ids:
                return max(ids)
        return highest

    def start(self) -> None:
        """Apply the restart rules of spec 4.5 and run the queued jobs.

        Not done in :meth:`open`: a master daemon that opened the queue but
        then lost the start-up vote must change (and replicate) nothing.
        """
        self._housekeeping()
        for job_id in sorted(self._jobs):
            job = self._jobs[job_id]
            status = job.calc_status()
            if status in (C.JOB_STATUS_WAITING, C.JOB_STATUS_RUNNING, C.JOB_STATUS_CANCELING):
                job.finalize_unfinished(C.OP_STATUS_ERROR, MSG_UNCLEAN)
                self._dirty.add(job_id)
            elif status == C.JOB_STATUS_QUEUED:
                self._run_queue.append(job)
        if self._dirty:
            self._schedule_flush()
        self._maybe_start_workers()

    async def stop(self) -> None:
        """Stop taking jobs, wait for pending writes, release the queue lock."""
        # Running jobs are left as they are: at the next start they become
        # "error" (spec 4.5), exactly as after a crash.
        self._accepting = False
        if self._flushing or self._dirty:
            await self._commit_now()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # group commit ---------------------------------------------------------------

    def commit(self, job: QueuedJob) -> defer.Deferred:
        """Persist and replicate ``job``'s current state; fires when both are done."""
        self._dirty.add(job.id)
        return self._commit_now()

    def _commit_now(self) -> defer.Deferred:
        d: defer.Deferred = defer.Deferred()
        self._commit_waiters.append(d)
        self._schedule_flush()
        return d

    def _schedule_flush(self) -> None:
        if self._flush_call is None and not self._flushing:
            self._flush_call = self.clock.callLater(0, self._start_flush)

    def _start_flush(self) -> None:
        self._flush_call = None
        defer.ensureDeferred(self._flush())

    async def _flush(self) -> None:
        self._flushing = True
        try:
            while self._dirty or self._serial_dirty or self._commit_waiters:
                waiters, self._commit_waiters = self._commit_waiters, []
                files = []
                if self._serial_dirty:
                    files.append(("serial", b"%d\n" % self._next_serial))
                    self._serial_dirty = False
                dirty, self._dirty = sorted(self._dirty), set()
                new_jobs, self._new_jobs = self._new_jobs, set()
                self._in_flight = set(dirty)
                job_files = {}
                for job_id in dirty:
                    job = self._jobs.get(job_id)
                    if job is not None:
                        job_files[job_id] = serializer.dump(job.to_dict())
                        files.append(("job-%d" % job_id, job_files[job_id]))
                try:
                    if files and new_jobs:
                        # a new job reaches the candidates only once the master
                        # has it: a failed local write must not leave a job that
                        # a new master would run although its submitter was refused
                        await threads.deferToThread(self._write_files, files)
                        await self.replicator.update(files)
                    elif files:
                        # updates of known jobs: write here and on the candidates
                        # at once, succeed only when both are done
                        local = threads.deferToThread(self._write_files, files)
                        remote = defer.ensureDeferred(self.replicator.update(files))
                        await defer.gatherResults([local, remote], consumeErrors=True)
                except Exception as err:  # disk full, I/O error: fail the waiters
                    if isinstance(err, defer.FirstError):
                        err = err.subFailure.value
                    log.error("Writing job queue files failed: {err}", err=err)
                    exc = errors.JobQueueError("Cannot write job queue files: %s" % err)
                    self._in_flight = set()
                    for d in waiters:
                        d.errback(exc)
                    continue
                self._written.update(job_files)
                self._in_flight = set()
                for d in waiters:
                    d.callback(None)
                for job_id in dirty:
                    self.notify_watchers(job_id)
        finally:
            self._flushing = False

    def _write_files(self, files: List[Tuple[str, bytes]]) -> None:
        utils.write_files_atomic(self.paths.queue_dir, files)

    # submission -------------------------------------------------------------------

    def _check_can_submit(self) -> None:
        if not self._accepting:
            raise errors.JobQueueError("The master daemon is shutting down")
        if os.path.exists(self.paths.queue_drain):
            raise errors.JobQueueDrainError("Job queue is drained, refusing job")
        if len(self._jobs) >= C.JOB_QUEUE_SIZE_HARD_LIMIT:
            raise errors.JobQueueFull()

    @staticmethod
    def validate_ops(ops: Any) -> List[Dict[str, Any]]:
        """Validate a job's opcodes at the door; returns their normalized dicts."""
        if not isinstance(ops, list) or not ops:
            raise errors.ParameterError("A job must be a non-empty list of opcodes")
        return [opcodes.OpCode.from_dict(op).to_dict() for op in ops]

    async def submit_job(self, ops: Any) -> int:
        """Queue a job; returns its id once its file is durable on master and candidates.

        The job is handed to a worker before that write: if its locks are
        free it reaches "running" in this reactor turn, and the one write
        carries both the new job and its start (no opcode executes before
        ``notify_start``'s commit, which is this write). This saves a whole
        write-and-replicate round per job. If the write fails the job never
        executes: it is canceled and forgotten.
        """
        normalized = self.validate_ops(ops)
        self._check_can_submit()
        job = QueuedJob(self._next_serial, normalized)
        self._next_serial += 1
        self._serial_dirty = True
        self._jobs[job.id] = job
        self._new_jobs.add(job.id)
        committed = self.commit(job)
        self._run_queue.append(job)
        self._maybe_start_workers()
        try:
            await committed
        except errors.JobQueueError:
            del self._jobs[job.id]
            self._written.pop(job.id, None)
            self._abandon(job)
            raise
        return job.id

    def _abandon(self, job: QueuedJob) -> None:
        """Stop a job whose submission failed, before any opcode executed."""
        for op in job.ops:
            if op.status not in C.OPS_FINALIZED:
                op.status = C.OP_STATUS_CANCELING
        opctx = self._op_contexts.get(job.id)
        if opctx is not None:
            opctx.cancel()

    # execution ----------------------------------------------------------------------

    def _maybe_start_workers(self) -> None:
        while self._accepting and len(self._running) < self.max_workers and self._run_queue:
            job = self._run_queue.popleft()
            if job.calc_status() != C.JOB_STATUS_QUEUED or job.id not in self._jobs:
                continue
            d = defer.ensureDeferred(self._run_job(job))
            if not d.called:
                self._running[job.id] = d
                d.addBoth(self._job_done, job.id)

    def _job_done(self, result: Any, job_id: int) -> None:
        self._running.pop(job_id, None)
        if isinstance(result, defer.Failure):
            # its state could not be written (disk full...): end it in memory
            # so nobody waits forever; on disk it keeps the last state written
            # and becomes "error" at the next start
            if result.check(errors.JobQueueError):
                log.error("Job {job} aborted: {err}", job=job_id, err=result.value)
            else:
                log.failure("Job {job} crashed", result, job=job_id)
            job = self._jobs.get(job_id)
            if job is not None:
                job.finalize_unfinished(C.OP_STATUS_ERROR, errors.encode_error(
                    errors.JobQueueError("Job aborted: %s" % result.getErrorMessage())))
                self.notify_watchers(job_id)
        self._maybe_start_workers()

    async def _run_job(self, job: QueuedJob) -> None:
        for index, op in enumerate(job.ops):
            if op.status == C.OP_STATUS_SUCCESS:
                continue
            job.run_op_index = index
            op.status = C.OP_STATUS_WAITING
            op.start_timestamp = timestamp()
            job.start_timestamp = job.start_timestamp or op.start_timestamp
            # Not awaited: if the locks are free at once, "waiting" and
            # "running" reach the disk in one write; a job that must wait is
            # written in the next flush anyway. A crash before that finds
            # the job "queued", which is true: nothing was executed.
            self.commit(job).addErrback(lambda f: None)
            opctx = self._op_contexts[job.id] = _OpContext(self, job, index)
            try:
                op.result = await self.processor.exec_opcode(
                    opcodes.OpCode.from_dict(op.input), opctx)
                op.status = C.OP_STATUS_SUCCESS
            except defer.CancelledError:
                job.finalize_unfinished(C.OP_STATUS_CANCELED, MSG_CANCELED)
                break
            except errors.GenericError as err:
                op.status = C.OP_STATUS_ERROR
                op.result = errors.encode_error(err)
            except Exception as err:
                log.failure("Unexpected error in job {job} opcode {idx}", job=job.id, idx=index)
                op.status = C.OP_STATUS_ERROR
                op.result = errors.encode_error(errors.OpExecError(str(err)))
            finally:
                del self._op_contexts[job.id]
            op.end_timestamp = timestamp()
            if op.status == C.OP_STATUS_ERROR:
                break
            if index + 1 < len(job.ops):
                await self.commit(job)
        job.run_op_index = -1
        job.end_timestamp = timestamp()
        await self.commit(job)

    # cancel, archive, drain ------------------------------------------------------

    async def cancel_job(self, job_id: int) -> List[Any]:
        job = self._jobs.get(job_id)
        if job is None:
            return [False, "Job %s not found" % job_id]
        status = job.calc_status()
        if status == C.JOB_STATUS_QUEUED:
            job.finalize_unfinished(C.OP_STATUS_CANCELED, MSG_CANCELED)
            await self.commit(job)
            return [True, "Job %s canceled" % job_id]
        if status == C.JOB_STATUS_WAITING:
            for op in job.ops:
                if op.status not in C.OPS_FINALIZED:
                    op.status = C.OP_STATUS_CANCELING
            opctx = self._op_contexts.get(job_id)
            if opctx is not None:
                opctx.cancel()
            await self.commit(job)
            return [True, "Job %s will be canceled" % job_id]
        return [False, "Job %s is no longer waiting in the queue" % job_id]

    async def archive_jobs(self, jobs: List[QueuedJob]) -> int:
        """Move finished jobs to the archive, here and on the candidates."""
        # a job may be final in memory with its last write still pending:
        # let that write land first so the archive holds the final state
        await self._commit_now()
        pairs = []
        for job in jobs:
            if not job.is_finalized() or self._jobs.get(job.id) is not job:
                continue
            old = self.paths.job_file(job.id)
            new = self.paths.archived_job_file(job.id)
            os.makedirs(os.path.dirname(new), mode=0o700, exist_ok=True)
            os.rename(old, new)
            del self._jobs[job.id]
            self._written.pop(job.id, None)
            pairs.append((os.path.relpath(old, self.paths.queue_dir),
                          os.path.relpath(new, self.paths.queue_dir)))
        if pairs:
            await threads.deferToThread(utils.fsync_dir, self.paths.queue_dir)
            await self.replicator.rename(pairs)
        return len(pairs)

    async def archive_job(self, job_id: int) -> bool:
        job = self._jobs.get(job_id)
        if job is None or not job.is_finalized():
            return False
        return await self.archive_jobs([job]) == 1

    async def autoarchive_jobs(self, age: int, timeout: float) -> List[int]:
        """Archive finished jobs older than ``age`` seconds (-1: all), in batches of 10."""
        deadline = time.time() + timeout
        ids = sorted(self._jobs)
        archived = 0
        examined = 0
        while examined < len(ids) and time.time() < deadline:
            batch = []
            for job_id in ids[examined:examined + 10]:
                job = self._jobs.get(job_id)
                if job is not None and job.is_finalized() and \
                        (age == -1 or time.time() - job.age_reference() > age):
                    batch.append(job)
            examined += 10
            archived += await self.archive_jobs(batch)
        return [archived, max(0, len(ids) - examined)]

    async def set_drain_flag(self, flag: bool) -> bool:
        if flag:
            utils.write_file_atomic(self.paths.queue_drain, b"")
        else:
            utils.remove_file(self.paths.queue_drain)
        await self.replicator.set_drain(flag)
        return True

    def is_drained(self) -> bool:
        return os.path.exists(self.paths.queue_drain)

    # queries --------------------------------------------------------------------------

    def get_job(self, job_id: int) -> Optional[QueuedJob]:
        job = self._jobs.get(job_id)
        if job is not None:
            return job
        try:
            data = utils.read_file(self.paths.archived_job_file(job_id))
            return QueuedJob.from_dict(serializer.load(data))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def job_ids(self) -> List[int]:
        return sorted(self._jobs)

    def durable_job(self, job_id: int) -> Optional[QueuedJob]:
        """The job as its last completed write left it (None: never written yet).

        A job's in-memory state runs ahead of its write to the master and the
        candidates; showing it early would let a client see "success" that a
        master failover could still turn into "error".
        """
        if job_id not in self._dirty and job_id not in self._in_flight:
            return self.get_job(job_id)
        data = self._written.get(job_id)
        return None if data is None else QueuedJob.from_dict(serializer.load(data))

    def query_jobs(self, job_ids: Optional[List[int]], fields: List[str]) -> List[Any]:
        jobs = [self.durable_job(i) for i in (job_ids or sorted(self._jobs))]
        if not job_ids:
            return [job.get_info(fields) for job in jobs if job is not None]
        return [None if job is None else job.get_info(fields) for job in jobs]

    def queue_info(self) -> Dict[str, Any]:
        """Counts for ``gnt-cluster queue info``."""
        by_status: Dict[str, int] = collections.Counter(j.calc_status() for j in self._jobs.values())
        archived = 0
        base = self.paths.queue_archive_dir
        for subdir in os.listdir(base):
            if subdir.isdigit():
                archived += len(os.listdir(os.path.join(base, subdir)))
        return {"drained": self.is_drained(), "jobs": len(self._jobs),
                "by_status": dict(by_status), "archived": archived,
                "next_job_id": self._next_serial, "running": len(self._running),
                "hard_limit": C.JOB_QUEUE_SIZE_HARD_LIMIT}

    def notify_watchers(self, job_id: int) -> None:
        for d in self._watchers.pop(job_id, []):
            if not d.called:
                d.callback(None)

    async def wait_for_job_change(self, job_id: int, fields: List[str], prev_info: Any,
                                  prev_log_serial: Optional[int], timeout: float) -> Any:
        """Spec 4.4: return [info, new log entries] on change, "nochange" on timeout."""
        deadline = time.monotonic() + max(0.0, min(float(timeout), 60.0))
        while True:
            job = self.durable_job(job_id)
            if job is None:
                return None
            info = job.get_info(fields)
            new_log = job.log_since(prev_log_serial or 0)
            if (job.calc_status() not in (C.JOB_STATUS_QUEUED, C.JOB_STATUS_WAITING,
                                          C.JOB_STATUS_RUNNING)
                    or info != prev_info or new_log):
                return [info, new_log]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "nochange"
            d: defer.Deferred = defer.Deferred()
            self._watchers[job_id].append(d)
            d.addTimeout(remaining, self.clock)
            try:
                await d
            except defer.TimeoutError:
                return "nochange"

    def all_files(self) -> List[Tuple[str, bytes]]:
        """The serial and every job file, to resync a new master candidate."""
        files = [("serial", b"%d\n" % self._next_serial)]
        files += [("job-%d" % i, serializer.dump(self._jobs[i].to_dict())) for i in sorted(self._jobs)]
        return files
