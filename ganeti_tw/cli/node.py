"""gnt-node: node administration."""

import io
import os
import shlex
import subprocess
import tarfile
from typing import Any, List, Optional

from ganeti_tw import constants as C, errors, opcodes
from ganeti_tw.cli import (Parser, UsageError, add_command, add_list_options, add_submit_option,
                           bool_arg, generate_table, get_client, make_parser, run,
                           selected_fields, submit_one, submit_or_wait)
from ganeti_tw.cli.instance import add_target_options, ask_user
from ganeti_tw.cli.tags import add_tag_commands
from ganeti_tw.paths import Paths

DEFAULT_FIELDS = ["name", "dtotal", "dfree", "mtotal", "mnode", "mfree", "pinst_cnt",
                  "sinst_cnt"]
HEADERS = {
    "name": "Node", "pinst_cnt": "Pinst", "sinst_cnt": "Sinst", "pinst_list": "PriInstances",
    "sinst_list": "SecInstances", "pip": "PrimaryIP", "sip": "SecondaryIP", "dtotal": "DTotal",
    "dfree": "DFree", "mtotal": "MTotal", "mnode": "MNode", "mfree": "MFree",
    "bootid": "BootID", "ctotal": "CTotal", "cnodes": "CNodes", "csockets": "CSockets",
    "tags": "Tags", "serial_no": "SerialNo", "master_candidate": "MasterC",
    "master": "IsMaster", "offline": "Offline", "drained": "Drained", "role": "Role",
    "ctime": "CTime", "mtime": "MTime",
}
UNIT_FIELDS = ("dtotal", "dfree", "mtotal", "mnode", "mfree")
NUM_FIELDS = ("pinst_cnt", "sinst_cnt", "ctotal", "cnodes", "csockets", "serial_no")

SSH_OPTIONS = ["-oEscapeChar=none", "-oHashKnownHosts=no", "-oBatchMode=yes",
               "-oGlobalKnownHostsFile=/dev/null"]


def _bundle_tar(files: dict) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, (data, mode) in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def ssh_setup(paths: Paths, node: str, address: str, no_key_check: bool) -> None:
    """Install the node's files and (re)start its node daemon over root ssh (Ganeti's way).

    Host keys are checked against the cluster's known_hosts file under the
    node's name; with ``no_key_check`` an unknown key is accepted and
    recorded there. The remote side honours GANETI_ROOT like every program.
    """
    from ganeti_tw import bootstrap
    remote = Paths("/")
    script = ('set -e; umask 077; r="${{GANETI_ROOT:-}}"; mkdir -p "$r{d}" "$r{c}"; '
              'tar -x -C "$r{d}"; echo {n} > "$r{h}"; '
              'ganeti-daemon-util restart ganeti-noded >/dev/null').format(
        d=remote.data_dir, c=remote.conf_dir, n=shlex.quote(node), h=remote.hostname_file)
    cmd = ["ssh"] + SSH_OPTIONS + [
        "-oUserKnownHostsFile=%s" % paths.known_hosts, "-oHostKeyAlias=%s" % node,
        "-oStrictHostKeyChecking=%s" % ("accept-new" if no_key_check else "yes"),
        "root@%s" % address, script]
    data = _bundle_tar(bootstrap.node_bundle(paths, node, address))
    proc = subprocess.run(cmd, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        lines = [l for l in proc.stderr.decode(errors="replace").strip().splitlines()
                 if not l.startswith("Warning: Permanently added")]
        raise errors.OpExecError("Setting up node %s over ssh failed: %s"
                                 % (node, lines[-1] if lines else "exit code %d"
                                    % proc.returncode))


def add(opts: Any) -> int:
    for ip in (opts.primary_ip, opts.secondary_ip):
        if ip is not None and not opcodes.is_valid_ipv4(ip):
            raise UsageError("gnt-node add: error: invalid IPv4 address '%s'" % ip)
    op = opcodes.OpNodeAdd(node_name=opts.node, primary_ip=opts.primary_ip,
                           secondary_ip=opts.secondary_ip, readd=opts.readd)
    get_client(opts.paths)  # fail early if this is not the master
    if not opts.no_node_setup:
        from ganeti_tw import bootstrap
        address = opts.primary_ip
        if address is None and opts.readd:
            rows = get_client(opts.paths).query_nodes([opts.node], ["pip"])
            address = rows[0][0]
        address = address or bootstrap.resolve(opts.node)
        print("Setting up %s over ssh: installing a new node certificate and restarting "
              "its node daemon" % opts.node)
        ssh_setup(opts.paths, opts.node, address, opts.no_ssh_key_check)
    submit_one(opts, op)
    return 0


def prepare(opts: Any) -> int:
    """Write a new node's files below its root, for adding it with --no-node-setup."""
    from ganeti_tw import bootstrap
    target = Paths(opts.dest_root)
    if os.path.realpath(target.root) == os.path.realpath(opts.paths.root):
        raise UsageError("gnt-node prepare: error: %s is this node's own root; give a "
                         "directory for the new node's files" % target.root)
    bootstrap.install_bundle(target, bootstrap.node_bundle(opts.paths, opts.node,
                                                           opts.primary_ip))
    print("Wrote the files for node %s below %s; start ganeti-noded there and run "
          "'gnt-node add --no-node-setup %s'" % (opts.node, target.data_dir, opts.node))
    return 0


def remove(opts: Any) -> int:
    submit_one(opts, opcodes.OpNodeRemove(node_name=opts.node))
    return 0


def list_nodes(opts: Any) -> int:
    fields = selected_fields(opts.output, DEFAULT_FIELDS)
    rows = get_client(opts.paths).query_nodes(opts.nodes, fields)
    for line in generate_table(HEADERS, fields, rows, opts.separator, opts.no_headers,
                               opts.units, UNIT_FIELDS, NUM_FIELDS):
        print(line)
    return 0


def info(opts: Any) -> int:
    fields = ["name", "pip", "sip", "master_candidate", "drained", "offline", "role",
              "pinst_list", "sinst_list"]
    rows = get_client(opts.paths).query_nodes(opts.nodes, fields)
    for name, pip, sip, mc, drained, offline, role, pinst, sinst in rows:
        print("Node name: %s" % name)
        print("  primary ip: %s" % pip)
        print("  secondary ip: %s" % sip)
        print("  role: %s" % {"M": "master", "C": "master candidate", "D": "drained",
                              "O": "offline", "R": "regular"}[role])
        print("  master candidate: %s" % mc)
        print("  drained: %s" % drained)
        print("  offline: %s" % offline)
        print("  primary for instances:")
        for inst in pinst:
            print("    - %s" % inst)
        print("  secondary for instances:")
        for inst in sinst:
            print("    - %s" % inst)
    return 0


def modify(opts: Any) -> int:
    if opts.master_candidate is None and opts.offline is None and opts.drained is None:
        raise UsageError("gnt-node modify: error: give at least one of -C, -O, -D")
    op = opcodes.OpNodeSetParams(node_name=opts.node, force=opts.force,
                                 master_candidate=opts.master_candidate,
                                 offline=opts.offline, drained=opts.drained)
    result = submit_one(opts, op)
    if result is not None:
        print("Modified node %s" % opts.node)
        for param, value in result:
            print(" - %-5s -> %s" % (param, value))
    return 0


def migrate(opts: Any) -> int:
    """Live-migrate every primary instance of the node, one job, one opcode per instance."""
    (instances,), = get_client(opts.paths).query_nodes([opts.node], ["pinst_list"])
    if not instances:
        print("No primary instances on node %s, exiting." % opts.node)
        return 0
    if not opts.force and not ask_user("Migrate instance(s) %s?" % ", ".join(instances)):
        return C.EXIT_FAILURE
    submit_or_wait(opts, [opcodes.OpInstanceMigrate(
        instance_name=name, live=not opts.non_live, target_node=opts.target_node,
        iallocator=opts.iallocator) for name in instances])
    return 0


def build_parser() -> Parser:
    parser, sub = make_parser("gnt-node", "Ganeti node administration")

    p = add_command(sub, "add", add, "add a node to the cluster")
    p.add_argument("node")
    p.add_argument("--primary-ip", help="the node's primary IP (default: its name's address)")
    p.add_argument("-s", "--secondary-ip", help="the node's secondary IP")
    p.add_argument("--readd", action="store_true", help="re-add a node already in the config")
    p.add_argument("--no-node-setup", action="store_true",
                   help="do not set the node up over ssh: it already runs ganeti-noded with "
                        "files from 'gnt-node prepare'")
    p.add_argument("--no-ssh-key-check", action="store_true",
                   help="accept and record an unknown ssh host key")

    p = add_command(sub, "prepare", prepare, "write a new node's certificate and ssconf files "
                                             "below its root directory")
    p.add_argument("node")
    p.add_argument("--primary-ip", help="the node's primary IP, so its daemon listens there")
    p.add_argument("dest_root", help="directory on this (master) node to write the new "
                                     "node's files below, as DEST_ROOT/var/lib/ganeti/...")

    p = add_command(sub, "remove", remove, "remove a node from the cluster")
    p.add_argument("node")

    p = add_command(sub, "list", list_nodes, "list nodes")
    add_list_options(p)
    p.add_argument("nodes", nargs="*")

    p = add_command(sub, "info", info, "show node details")
    p.add_argument("nodes", nargs="*")

    p = add_command(sub, "modify", modify, "change a node's role flags")
    p.add_argument("node")
    p.add_argument("-C", "--master-candidate", type=bool_arg, metavar="yes|no")
    p.add_argument("-O", "--offline", type=bool_arg, metavar="yes|no")
    p.add_argument("-D", "--drained", type=bool_arg, metavar="yes|no")
    p.add_argument("-f", "--force", action="store_true",
                   help="demote a candidate even if too few would remain")
    add_submit_option(p)

    p = add_command(sub, "migrate", migrate, "migrate all primary instances of a node")
    p.add_argument("node")
    p.add_argument("-f", "--force", action="store_true", help="do not ask for confirmation")
    p.add_argument("--non-live", action="store_true", help="pause the instances while moving")
    add_target_options(p)
    add_submit_option(p)

    add_tag_commands(sub, C.TAG_NODE)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    return run(build_parser(), argv)
