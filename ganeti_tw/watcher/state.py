"""The watcher's state file (spec 11.1): restart counters and node boot ids.

``{"instance": {name: {"restart_count": n, "restart_when": ts}},
"node": {name: {"bootid": id}}}``. A corrupt or missing file is an empty
state: deleting it only resets the counters.
"""

import contextlib
import fcntl
import json
import os
import time
from typing import Any, Dict, Iterator, Optional

from ganeti_tw import errors, utils
from ganeti_tw.paths import Paths


class WatcherState:
    def __init__(self, data: Optional[Dict[str, Any]] = None):
        data = data if isinstance(data, dict) else {}
        self.instances: Dict[str, Dict[str, Any]] = _dict(data.get("instance"))
        self.nodes: Dict[str, Dict[str, Any]] = _dict(data.get("node"))

    def to_dict(self) -> Dict[str, Any]:
        return {"instance": self.instances, "node": self.nodes}

    def restart_count(self, name: str) -> int:
        count = self.instances.get(name, {}).get("restart_count", 0)
        return count if isinstance(count, int) else 0

    def count_restart(self, name: str) -> int:
        count = self.restart_count(name) + 1
        self.instances[name] = {"restart_count": count, "restart_when": time.time()}
        return count

    def forget_instance(self, name: str) -> bool:
        return self.instances.pop(name, None) is not None

    def boot_id(self, node: str) -> Optional[str]:
        return self.nodes.get(node, {}).get("bootid")

    def set_boot_id(self, node: str, boot_id: str) -> None:
        self.nodes[node] = {"bootid": boot_id}


def _dict(value: Any) -> Dict[str, Dict[str, Any]]:
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, dict)}


def _load(path: str) -> WatcherState:
    try:
        return WatcherState(json.loads(utils.read_file(path).decode()))
    except (OSError, ValueError, UnicodeDecodeError):
        return WatcherState()


@contextlib.contextmanager
def locked_state(paths: Paths) -> Iterator[WatcherState]:
    """The state, with the watcher lock held; saved on exit if it changed.

    A second watcher (cron and the service, or a slow run) fails at once
    instead of queueing behind the first.
    """
    utils.ensure_dirs([(paths.data_dir, 0o755)])
    lock_fd = os.open(paths.watcher_state_file + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise errors.CommandError("Another watcher is running on this node") from None
        state = _load(paths.watcher_state_file)
        before = json.dumps(state.to_dict(), sort_keys=True)
        yield state
        after = json.dumps(state.to_dict(), sort_keys=True)
        if after != before or not os.path.exists(paths.watcher_state_file):
            utils.write_file_atomic(paths.watcher_state_file, after.encode() + b"\n")
        else:
            os.utime(paths.watcher_state_file)
    finally:
        os.close(lock_fd)
