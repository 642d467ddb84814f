"""The fake hypervisor (spec 8.4): a running instance is a state file, nothing executes.

It is the default hypervisor of tests and local clusters: the whole instance
life cycle, migration included, runs without virtualisation. Its state lives
below the node's root, so nodes sharing one machine keep apart.
"""

import os
from typing import Any, Dict, List, Optional, Tuple

from zope.interface import implementer

from ganeti_tw import constants, errors, utils
from ganeti_tw.hypervisors import params
from ganeti_tw.hypervisors.hostinfo import host_node_info
from ganeti_tw.hypervisors.interfaces import IHypervisor
from ganeti_tw.paths import Paths

# What `xm list` shows for an idle domain; the fake ones are always idle.
_STATE = "---b-"
# a state file is three short numbers: its first 4 KiB are all of it
_STATE_MAX = 4096
# Pending incoming migrations are dot files: instance names never start with
# a dot, so they cannot clash with a running instance or show in listings.
_INCOMING_PREFIX = ".incoming-"

InstanceInfo = Tuple[str, int, int, int, str, float]


@implementer(IHypervisor)
class FakeHypervisor:
    """Instances as files ``<fake_hv_dir>/<name>`` holding ``0\\n<memory>\\n<vcpus>\\n``."""

    def __init__(self, paths: Paths):
        self._dir = paths.fake_hv_dir

    def _state_file(self, name: str, prefix: str = "") -> str:
        if not name or "/" in name or name.startswith("."):
            raise errors.HypervisorError("Invalid instance name '%s'" % name)
        return os.path.join(self._dir, prefix + name)

    def _incoming_file(self, name: str) -> str:
        return self._state_file(name, _INCOMING_PREFIX)

    def _write(self, path: str, text: str) -> None:
        os.makedirs(self._dir, mode=0o755, exist_ok=True)
        utils.write_file_atomic(path, text.encode("ascii"), mode=0o644)

    def _remove(self, path: str) -> bool:
        """Remove ``path`` durably (a lost unlink would revive a stopped instance).

        Returns False if there was nothing to remove.
        """
        try:
            os.unlink(path)
        except FileNotFoundError:
            return False
        utils.fsync_dir(self._dir)
        return True

    async def start_instance(self, instance: Any, block_devices: List[tuple]) -> None:
        path = self._state_file(instance.name)
        if os.path.exists(path):
            raise errors.HypervisorError("Failed to start instance %s: already running"
                                         % instance.name)
        text = "0\n%d\n%d\n" % (instance.beparams[constants.BE_MEMORY],
                                instance.beparams[constants.BE_VCPUS])
        try:
            self._write(path, text)
        except OSError as err:
            raise errors.HypervisorError("Failed to start instance %s: %s"
                                         % (instance.name, err)) from None

    async def stop_instance(self, instance: Any, force: bool) -> None:
        if not self._remove(self._state_file(instance.name)):
            raise errors.HypervisorError("Failed to stop instance %s: not running"
                                         % instance.name)

    async def reboot_instance(self, instance: Any) -> None:
        if not os.path.exists(self._state_file(instance.name)):
            raise errors.HypervisorError("Failed to reboot instance %s: not running"
                                         % instance.name)

    async def list_instances(self) -> List[str]:
        try:
            names = os.listdir(self._dir)
        except FileNotFoundError:
            return []
        return utils.nice_sort(name for name in names if not name.startswith(".")
                               and os.path.isfile(os.path.join(self._dir, name)))

    async def get_instance_info(self, name: str) -> Optional[InstanceInfo]:
        return self._read_info(name, self._state_file(name))

    async def get_all_instances_info(self) -> List[InstanceInfo]:
        # one directory scan and one raw read per instance: every node answers
        # this for each bulk instance list, with hundreds of instances
        try:
            with os.scandir(self._dir) as entries:
                found = [(entry.name, entry.path) for entry in entries
                         if not entry.name.startswith(".") and entry.is_file()]
        except FileNotFoundError:
            return []
        infos = [self._read_info(name, path) for name, path in found]
        # an instance stopped between listing and reading is simply gone
        return sorted((info for info in infos if info is not None),
                      key=lambda info: utils.nice_sort_key(info[0]))

    @staticmethod
    def _read_info(name: str, path: str) -> Optional[InstanceInfo]:
        try:
            fd = os.open(path, os.O_RDONLY)
            try:
                text = os.read(fd, _STATE_MAX).decode("ascii", "replace")
            finally:
                os.close(fd)
        except FileNotFoundError:
            return None
        except OSError as err:
            raise errors.HypervisorError("Failed to get info of instance %s: %s"
                                         % (name, err)) from None
        inst_id, memory, vcpus = _parse_state(name, text)
        return (name, inst_id, memory, vcpus, _STATE, 0.0)

    async def get_node_info(self) -> Dict[str, int]:
        return host_node_info(sum(info[2] for info in await self.get_all_instances_info()))

    def get_console_command(self, instance: Any) -> str:
        return "echo Console not available for fake hypervisor"

    async def verify(self) -> Optional[str]:
        try:
            os.makedirs(self._dir, mode=0o755, exist_ok=True)
        except OSError as err:
            return "The required directory '%s' cannot be created: %s" % (self._dir, err)
        return None

    async def migration_info(self, instance: Any) -> str:
        try:
            return utils.read_file(self._state_file(instance.name)).decode("ascii")
        except FileNotFoundError:
            raise errors.HypervisorError("Instance %s is not running on this node"
                                         % instance.name) from None

    async def accept_instance(self, instance: Any, info: str, target: str) -> None:
        if os.path.exists(self._state_file(instance.name)):
            raise errors.HypervisorError("Cannot accept instance %s: already running"
                                         " on this node" % instance.name)
        _parse_state(instance.name, info)
        try:
            self._write(self._incoming_file(instance.name), info)
        except OSError as err:
            raise errors.HypervisorError("Cannot accept instance %s: %s"
                                         % (instance.name, err)) from None

    async def migrate_instance(self, instance: Any, target: str, live: bool) -> None:
        if not self._remove(self._state_file(instance.name)):
            raise errors.HypervisorError("Failed to migrate instance %s: not running"
                                         % instance.name)

    async def migration_status(self, instance: Any) -> None:
        return None  # a fake migration is over before anyone could ask

    async def finalize_migration(self, instance: Any, info: str, success: bool) -> None:
        incoming = self._incoming_file(instance.name)
        if not success:
            self._remove(incoming)
            return
        try:
            os.rename(incoming, self._state_file(instance.name))
        except FileNotFoundError:
            raise errors.HypervisorError("No incoming migration of instance %s on this node"
                                         % instance.name) from None
        utils.fsync_dir(self._dir)

    def check_parameter_syntax(self, hvparams: Dict[str, Any]) -> None:
        params.check_syntax(constants.HT_FAKE, hvparams)

    def validate_parameters(self, hvparams: Dict[str, Any]) -> None:
        params.validate_local(constants.HT_FAKE, hvparams)


def _parse_state(name: str, text: str) -> Tuple[int, int, int]:
    """``(id, memory, vcpus)`` from a state file's text."""
    try:
        inst_id, memory, vcpus = (int(line) for line in text.split("\n")[:3])
    except ValueError:
        raise errors.HypervisorError("Corrupt fake hypervisor state of instance %s: %r"
                                     % (name, text)) from None
    return inst_id, memory, vcpus

