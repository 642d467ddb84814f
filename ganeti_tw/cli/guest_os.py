"""gnt-os: guest OS definitions on the cluster's nodes (spec 6.7).

Named guest_os, not os: a submodule ``os`` would replace the package's
imported ``os`` module.
"""

import sys
from typing import Any, Dict, List, Optional

from ganeti_tw import constants as C, opcodes, utils
from ganeti_tw.cli import Parser, add_command, generate_table, make_parser, run, submit_one



def _diagnose(opts: Any, fields: List[str]) -> Optional[List[List[Any]]]:
    rows = submit_one(opts, opcodes.OpOsDiagnose(output_fields=fields, names=[]))
    if not rows:
        sys.stderr.write("Can't get the OS list\n")
        return None
    return rows


def list_os(opts: Any) -> int:
    rows = _diagnose(opts, ["name", "valid"])
    if rows is None:
        return 1
    for line in generate_table({"name": "Name"}, ["name"],
                               [[name] for name, valid in rows if valid],
                               no_headers=opts.no_headers):
        print(line)
    return 0


def _status(status: str) -> str:
    return "valid" if status == C.OS_VALID_STATUS else "invalid - %s" % status


def format_diagnosis(name: str,
                     node_status: Dict[str, List[List[str]]]) -> "tuple[bool, List[str]]":
    """Ganeti's diagnose block of one OS; returns (fully valid, lines)."""
    good: Dict[str, str] = {}
    bad: Dict[str, str] = {}
    hidden: Dict[str, List[str]] = {}
    for node, entries in node_status.items():
        if not entries:
            bad[node] = "OS not found"
            continue
        (status, path), rest = entries[0], entries[1:]
        text = "%s (path: %s)" % (_status(status), path)
        (good if status == C.OS_VALID_STATUS else bad)[node] = text
        hidden[node] = ["    [hidden] path: %s, status: %s" % (p, _status(s)) for s, p in rest]
    if good and not bad:
        summary = "valid"
    elif bad and not good:
        summary = "invalid"
    else:
        summary = "partial valid"
    lines = ["OS: %s [global status: %s]" % (name, summary)]
    for group in (good, bad):
        for node in utils.nice_sort(group):
            lines.append("  Node: %s, status: %s" % (node, group[node]))
            lines.extend(hidden.get(node, []))
    lines.append("")
    return summary == "valid", lines


def diagnose(opts: Any) -> int:
    rows = _diagnose(opts, ["name", "valid", "node_status"])
    if rows is None:
        return 1
    all_valid = True
    for name, _, node_status in rows:
        valid, lines = format_diagnosis(name, node_status)
        all_valid = all_valid and valid
        for line in lines:
            print(line)
    return 0 if all_valid else 1


def build_parser() -> Parser:
    parser, sub = make_parser("gnt-os", "Ganeti guest OS definitions")
    p = add_command(sub, "list", list_os, "list the OS definitions valid on all nodes")
    p.add_argument("--no-headers", action="store_true", help="do not print headers")
    p = add_command(sub, "diagnose", diagnose, "show each OS definition's state on every node")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    return run(build_parser(), argv)
