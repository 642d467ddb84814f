"""Tag logical units: get, set, delete and search tags (spec 5.4)."""

import dataclasses
import re
import time
from typing import Any, Callable, Iterator, List, Optional, Tuple

from ganeti_tw import constants as C, errors
from ganeti_tw.cmdlib.base import LogicalUnit
from ganeti_tw.locking import LEVEL_INSTANCE, LEVEL_NODE


@dataclasses.dataclass(frozen=True)
class _Kind:
    """How to find the object of one tag kind, and which lock guards it."""

    level: Optional[int]  # None: the cluster, guarded by the BGL alone
    expand: Callable[[Any, str], str]
    get: Callable[[Any, str], Any]


_KINDS = {
    C.TAG_CLUSTER: _Kind(None, lambda cfg, name: cfg.cluster.cluster_name,
                         lambda cfg, name: cfg.cluster),
    C.TAG_NODE: _Kind(LEVEL_NODE, lambda cfg, name: cfg.expand_node_name(name),
                      lambda cfg, name: cfg.get_node(name)),
    C.TAG_INSTANCE: _Kind(LEVEL_INSTANCE, lambda cfg, name: cfg.expand_instance_name(name),
                          lambda cfg, name: cfg.get_instance(name)),
}


def tagged_objects(cfg: Any) -> Iterator[Tuple[str, Any]]:
    """Every taggable object with its search path, in path order (names sorted nicely)."""
    yield "/cluster", cfg.cluster
    for name in cfg.instance_names():
        yield "/instances/%s" % name, cfg.get_instance(name)
    for name in cfg.node_names():
        yield "/nodes/%s" % name, cfg.get_node(name)


class _TagsLU(LogicalUnit):
    """A tag opcode on one object; locks it shared (reads) or exclusively (changes)."""

    SHARED = False

    def expand_names(self) -> None:
        self.kind = _KINDS[self.op.kind]
        self.name = self.kind.expand(self.cfg, self.op.name)
        if self.kind.level is not None:
            self.needed_locks[self.kind.level] = [self.name]
            self.share_locks[self.kind.level] = self.SHARED

    @property
    def target(self) -> Any:
        return self.kind.get(self.cfg, self.name)

    async def save(self, tags: set) -> None:
        """Store the object's new tags, sorted, as an update of that object."""
        target = self.target
        target.tags = sorted(tags)
        target.serial_no += 1
        target.mtime = time.time()
        await self.context.save_config()


class LUTagsGet(_TagsLU):
    SHARED = True

    async def exec(self) -> List[str]:
        return sorted(self.target.tags)


class LUTagsSet(_TagsLU):
    """Add tags (set semantics), up to MAX_TAGS_PER_OBJ per object."""

    async def check_prereq(self) -> None:
        count = len(set(self.target.tags) | set(self.op.tags))
        if count > C.MAX_TAGS_PER_OBJ:
            raise errors.TagError("Too many tags: %s %s would have %d, at most %d are allowed"
                                  % (self.op.kind, self.name, count, C.MAX_TAGS_PER_OBJ))

    async def exec(self) -> None:
        await self.save(set(self.target.tags) | set(self.op.tags))


class LUTagsDel(_TagsLU):
    """Remove tags; all of them must be there, so a typo is not silently ignored."""

    async def check_prereq(self) -> None:
        missing = sorted(set(self.op.tags) - set(self.target.tags))
        if missing:
            raise errors.TagError("Tag(s) %s not found"
                                  % ", ".join("'%s'" % tag for tag in missing))

    async def exec(self) -> None:
        await self.save(set(self.target.tags) - set(self.op.tags))


class LUTagsSearch(LogicalUnit):
    """Find tags matching a regular expression anywhere in them, on every object."""

    def check_arguments(self) -> None:
        self.regex = re.compile(self.op.pattern)

    async def exec(self) -> List[List[str]]:
        return [[path, tag] for path, obj in tagged_objects(self.cfg)
                for tag in sorted(obj.tags) if self.regex.search(tag)]
