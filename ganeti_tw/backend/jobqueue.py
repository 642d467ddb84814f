"""Job queue copies on master candidates (spec 4.6), so a candidate can take over."""

import os
import re
import shutil
from typing import Any, List

from ganeti_tw import errors, serializer, utils
from ganeti_tw.backend.context import NodeContext

_NAME_RE = re.compile(r"^(serial|job-\d+)$")
_ARCHIVE_RE = re.compile(r"^archive/\d+/job-\d+$")


def _check_name(name: Any, pattern: "re.Pattern") -> str:
    if not isinstance(name, str) or not pattern.match(name):
        raise errors.OpExecError("Invalid job queue file name %r" % (name,))
    return name


def _checked_batch(files: List[Any]) -> List[tuple]:
    batch = []
    for item in files:
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            raise errors.OpExecError("jobqueue_update needs [name, payload] pairs")
        try:
            batch.append((_check_name(item[0], _NAME_RE), serializer.decode_payload(item[1])))
        except ValueError as err:
            raise errors.OpExecError("Invalid payload for %s: %s" % (item[0], err)) from None
    return batch


async def update(ctx: NodeContext, files: List[Any]) -> bool:
    """Write a batch of queue files atomically (one directory fsync)."""
    batch = _checked_batch(files)
    utils.ensure_dirs([(ctx.paths.queue_dir, 0o700), (ctx.paths.queue_archive_dir, 0o700)])
    await ctx.in_thread(utils.write_files_atomic, ctx.paths.queue_dir, batch)
    return True


def _replace_queue(paths: Any, batch: List[tuple], drained: bool) -> None:
    purge_queue(paths.queue_dir)
    utils.ensure_dirs([(paths.queue_dir, 0o700), (paths.queue_archive_dir, 0o700)])
    utils.write_files_atomic(paths.queue_dir, batch)
    if drained:
        utils.write_file_atomic(paths.queue_drain, b"")


async def resync(ctx: NodeContext, files: List[Any], drained: bool) -> bool:
    """Replace this candidate's whole queue copy by the master's, in one step.

    One call, so no job update sent after it can be undone by it.
    """
    batch = _checked_batch(files)
    if not isinstance(drained, bool):
        raise errors.OpExecError("jobqueue_resync needs the drain flag as a boolean")
    await ctx.in_thread(_replace_queue, ctx.paths, batch, drained)
    return True


def _rename_all(queue_dir: str, pairs: List[tuple]) -> None:
    for old, new in pairs:
        target = os.path.join(queue_dir, new)
        os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
        try:
            os.rename(os.path.join(queue_dir, old), target)
        except FileNotFoundError:
            pass  # never received (node was down): nothing to archive
    utils.fsync_dir(queue_dir)


async def rename(ctx: NodeContext, pairs: List[Any]) -> bool:
    checked = []
    for item in pairs:
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            raise errors.OpExecError("jobqueue_rename needs [old, new] pairs")
        checked.append((_check_name(item[0], _NAME_RE), _check_name(item[1], _ARCHIVE_RE)))
    await ctx.in_thread(_rename_all, ctx.paths.queue_dir, checked)
    return True


def purge_queue(queue_dir: str) -> None:
    """Remove every queue file and the archive (the node stops being a candidate)."""
    if not os.path.isdir(queue_dir):
        return
    for name in os.listdir(queue_dir):
        path = os.path.join(queue_dir, name)
        if name == "lock":
            continue
        if os.path.isdir(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)


async def set_drain(ctx: NodeContext, flag: bool) -> bool:
    utils.ensure_dirs([(ctx.paths.queue_dir, 0o700)])
    if flag:
        utils.write_file_atomic(ctx.paths.queue_drain, b"")
    else:
        utils.remove_file(ctx.paths.queue_drain)
    return True
