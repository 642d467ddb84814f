"""Tag commands shared by gnt-cluster, gnt-node and gnt-instance (spec 5.4, 6.1).

One set of functions serves the three object kinds; each gnt-* parser
registers them with ``add_tag_commands``.
"""

import sys
from typing import Any, List

from ganeti_tw import constants as C, opcodes, utils
from ganeti_tw.cli import UsageError, submit_one


def read_tags(opts: Any) -> List[str]:
    """The command line's tags plus, with ``--from FILE``, one per line (``-`` = stdin)."""
    tags = list(opts.tags)
    if opts.tags_source is not None:
        try:
            if opts.tags_source == "-":
                lines = sys.stdin.read().splitlines()
            else:
                with open(opts.tags_source) as fh:
                    lines = fh.read().splitlines()
        except (OSError, UnicodeDecodeError) as err:
            raise UsageError("%s: error: cannot read tags from %s: %s"
                             % (opts.tags_prog, opts.tags_source, err)) from None
        tags.extend(line.strip() for line in lines if line.strip())
    if not tags:
        raise UsageError("%s: error: no tags given (as arguments or with --from)"
                         % opts.tags_prog)
    return tags


def list_tags(opts: Any) -> int:
    tags = submit_one(opts, opcodes.OpTagsGet(kind=opts.tag_kind, name=opts.tag_name))
    for tag in sorted(tags or []):
        print(tag)
    return 0


def add_tags(opts: Any) -> int:
    submit_one(opts, opcodes.OpTagsSet(kind=opts.tag_kind, name=opts.tag_name,
                                       tags=read_tags(opts)))
    return 0


def remove_tags(opts: Any) -> int:
    submit_one(opts, opcodes.OpTagsDel(kind=opts.tag_kind, name=opts.tag_name,
                                       tags=read_tags(opts)))
    return 0


def search_tags(opts: Any) -> int:
    """Print ``path tag`` for every tag of every object matching the pattern; 1 if none."""
    found = submit_one(opts, opcodes.OpTagsSearch(pattern=opts.pattern))
    for path, tag in sorted(found or [], key=lambda row: (utils.nice_sort_key(row[0]), row[1])):
        print("%s %s" % (path, tag))
    return 0 if found else C.EXIT_FAILURE


def add_tag_commands(subparsers: Any, kind: str) -> None:
    """Register list-tags, add-tags, remove-tags (and for the cluster search-tags)."""
    what = {C.TAG_CLUSTER: "the cluster", C.TAG_NODE: "a node",
            C.TAG_INSTANCE: "an instance"}[kind]
    for command, func, help_text in (("list-tags", list_tags, "list the tags of %s"),
                                     ("add-tags", add_tags, "add tags to %s"),
                                     ("remove-tags", remove_tags, "remove tags from %s")):
        p = subparsers.add_parser(command, help=help_text % what)
        if kind == C.TAG_CLUSTER:
            p.set_defaults(tag_name=None)
        else:
            p.add_argument("tag_name", metavar=kind.upper())
        if func is not list_tags:
            p.add_argument("tags", nargs="*", metavar="TAG")
            p.add_argument("--from", dest="tags_source", metavar="FILE",
                           help="also read tags from FILE, one per line ('-' = stdin)")
        p.set_defaults(func=func, tag_kind=kind, tags_prog=p.prog)
    if kind == C.TAG_CLUSTER:
        p = subparsers.add_parser("search-tags", help="find the objects whose tags match a "
                                                      "regular expression")
        p.add_argument("pattern")
        p.set_defaults(func=search_tags)
