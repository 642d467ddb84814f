"""Hooks: the node runner with real scripts, the master's environment and verdicts."""

import os
import shutil
from typing import Any, Dict, List

from twisted.internet import defer, reactor
from twisted.trial import unittest

from ganeti_tw import errors, hooks
from ganeti_tw.backend import hooks as backend_hooks
from ganeti_tw.backend.context import NodeContext
from ganeti_tw.backend.hooks import hooks_runner
from ganeti_tw.constants import HKR_FAIL, HKR_SKIP, HKR_SUCCESS
from ganeti_tw.paths import Paths
from ganeti_tw.rpc.client import OFFLINE_MSG, RpcResult
from tests.reactor_util import in_running_reactor

ENV_BIN = shutil.which("env")


def write_script(dirname: str, name: str, body: str, mode: int = 0o755) -> str:
    os.makedirs(dirname, exist_ok=True)
    path = os.path.join(dirname, name)
    with open(path, "w") as fh:
        fh.write(body)
    os.chmod(path, mode)
    return path


def node_ctx(root: str, name: str = "node1") -> NodeContext:
    return NodeContext(Paths(root), name, reactor)


def parse_env(output: str) -> Dict[str, str]:
    return dict(line.split("=", 1) for line in output.splitlines())


class HooksRunnerTests(unittest.TestCase):
    def setUp(self):
        self.ctx = node_ctx(self.mktemp())
        self.pre_dir = os.path.join(self.ctx.paths.hooks_dir, "instance-start-pre.d")

    def run_pre(self, env: Any = None, hpath: str = "instance-start") -> defer.Deferred:
        return in_running_reactor(lambda: hooks_runner(self.ctx, hpath, "pre", env or {}))

    async def _env_is_exactly_given_plus_path(self):
        os.makedirs(self.pre_dir)
        # env(1) itself as the hook: it prints its environment untouched by any shell.
        os.symlink(ENV_BIN, os.path.join(self.pre_dir, "10-env"))
        result = await self.run_pre({"GANETI_A": "1", "GANETI_EMPTY": None})
        [[script, status, output]] = result
        self.assertEqual((script, status), ("instance-start-pre.d/10-env", HKR_SUCCESS))
        self.assertEqual(parse_env(output), {"GANETI_A": "1", "GANETI_EMPTY": "",
                                             "PATH": "/sbin:/bin:/usr/sbin:/usr/bin"})

    def test_env_is_exactly_given_plus_path(self):
        return in_running_reactor(lambda: self._env_is_exactly_given_plus_path())

    async def _scripts_run_sequentially_in_name_order(self):
        log = os.path.join(self.ctx.paths.root, "log")
        for name in ("20-b", "10-a", "30-c"):
            write_script(self.pre_dir, name, "#!/bin/sh\nsleep 0.1\necho %s >> %s\n"
                         % (name, log))
        result = await self.run_pre()
        self.assertEqual([r[0] for r in result], ["instance-start-pre.d/10-a",
                                                  "instance-start-pre.d/20-b",
                                                  "instance-start-pre.d/30-c"])
        with open(log) as fh:
            self.assertEqual(fh.read().split(), ["10-a", "20-b", "30-c"])

    def test_scripts_run_sequentially_in_name_order(self):
        return in_running_reactor(lambda: self._scripts_run_sequentially_in_name_order())

    async def _bad_names_and_non_executables_are_skipped(self):
        marker = os.path.join(self.ctx.paths.root, "ran")
        body = "#!/bin/sh\ntouch %s\n" % marker
        write_script(self.pre_dir, "has.dot", body)
        write_script(self.pre_dir, "noexec", body, mode=0o644)
        write_script(self.pre_dir, ".hidden", body)
        os.mkdir(os.path.join(self.pre_dir, "subdir"))
        result = await self.run_pre()
        self.assertEqual(sorted(result), [["instance-start-pre.d/has.dot", HKR_SKIP, ""],
                                          ["instance-start-pre.d/noexec", HKR_SKIP, ""],
                                          ["instance-start-pre.d/subdir", HKR_SKIP, ""]])
        self.assertFalse(os.path.exists(marker))

    def test_bad_names_and_non_executables_are_skipped(self):
        return in_running_reactor(lambda: self._bad_names_and_non_executables_are_skipped())

    async def _failure_keeps_stdout_and_stderr(self):
        write_script(self.pre_dir, "10-fail", "#!/bin/sh\necho out\necho err >&2\nexit 3\n")
        write_script(self.pre_dir, "20-ok", "#!/bin/sh\nexit 0\n")
        result = await self.run_pre()
        self.assertEqual(result[0][1], HKR_FAIL)
        self.assertEqual(sorted(result[0][2].split()), ["err", "out"])
        self.assertEqual(result[1], ["instance-start-pre.d/20-ok", HKR_SUCCESS, ""])

    def test_failure_keeps_stdout_and_stderr(self):
        return in_running_reactor(lambda: self._failure_keeps_stdout_and_stderr())

    async def _missing_interpreter_fails_with_one_line(self):
        write_script(self.pre_dir, "10-bad", "#!/nonexistent/sh\necho hi\n")
        [[_, status, output]] = await self.run_pre()
        self.assertEqual(status, HKR_FAIL)
        self.assertTrue(output.startswith("Cannot execute %s/10-bad: " % self.pre_dir), output)
        self.assertIn("No such file or directory", output)
        self.assertNotIn("\n", output)

    def test_missing_interpreter_fails_with_one_line(self):
        return in_running_reactor(lambda: self._missing_interpreter_fails_with_one_line())

    async def _output_is_cut_at_4096_bytes(self):
        write_script(self.pre_dir, "10-chatty",
                     "#!/bin/sh\nhead -c 100000 /dev/zero | tr '\\0' x\n")
        [[_, status, output]] = await self.run_pre()
        self.assertEqual((status, output), (HKR_SUCCESS, "x" * 4096))

    def test_output_is_cut_at_4096_bytes(self):
        return in_running_reactor(lambda: self._output_is_cut_at_4096_bytes())

    async def _runs_in_root_dir_with_empty_stdin(self):
        write_script(self.pre_dir, "10-where", "#!/bin/sh\npwd\ncat\necho done\n")
        [[_, status, output]] = await self.run_pre()
        self.assertEqual((status, output.split()), (HKR_SUCCESS, ["/", "done"]))

    def test_runs_in_root_dir_with_empty_stdin(self):
        return in_running_reactor(lambda: self._runs_in_root_dir_with_empty_stdin())

    async def _slow_script_is_killed_and_fails(self):
        self.patch(backend_hooks, "HOOK_TIMEOUT", 0.5)
        # The shell's child keeps the pipe open after the shell is killed.
        write_script(self.pre_dir, "10-slow", "#!/bin/sh\necho started\nsleep 5\n")
        write_script(self.pre_dir, "20-next", "#!/bin/sh\necho next\n")
        start = reactor.seconds()
        result = await self.run_pre()
        self.assertLess(reactor.seconds() - start, 4)
        self.assertEqual(result[0][1], HKR_FAIL)
        self.assertIn("started", result[0][2])
        self.assertIn("timed out", result[0][2])
        self.assertEqual(result[1][1:], [HKR_SUCCESS, "next"])

    def test_slow_script_is_killed_and_fails(self):
        return in_running_reactor(lambda: self._slow_script_is_killed_and_fails())

    # these start no process: their result is there at once
    def test_missing_directory_means_no_hooks(self):
        d = defer.ensureDeferred(hooks_runner(self.ctx, "instance-start", "pre", {}))
        self.assertEqual(self.successResultOf(d), [])

    def test_paths_outside_hooks_dir_are_refused(self):
        for hpath, phase in [("../etc", "pre"), ("a/b", "pre"), ("", "pre"), (".x", "pre"),
                             ("instance-start", "../pre")]:
            d = defer.ensureDeferred(hooks_runner(self.ctx, hpath, phase, {}))
            self.failureResultOf(d, errors.HooksFailure)


class FakeRpc:
    """Calls the real hooks_runner on per-node roots, like noded would."""

    def __init__(self, roots: Dict[str, str], offline=(), unreachable=()):
        self.ctxs = {name: node_ctx(root, name) for name, root in roots.items()}
        self.offline = set(offline)
        self.unreachable = set(unreachable)
        self.calls: List[Any] = []

    async def call(self, nodes, procedure, args, timeout=60):
        self.calls.append((list(nodes), procedure, args))
        assert procedure == "hooks_runner"
        results = {}
        for node in nodes:
            if node in self.offline:
                results[node] = RpcResult(node, fail_msg=OFFLINE_MSG, offline=True)
            elif node in self.unreachable:
                results[node] = RpcResult(node, fail_msg="Error connecting: refused")
            else:
                results[node] = RpcResult(node, data=await hooks_runner(self.ctxs[node], *args))
        return results


class HooksMasterTests(unittest.TestCase):
    def setUp(self):
        base = self.mktemp()
        self.roots = {n: os.path.join(base, n) for n in ("master", "node2", "node3")}
        self.rpc = FakeRpc(self.roots)
        self.warnings: List[str] = []

    def hooks_dir(self, node: str, subdir: str) -> str:
        return os.path.join(Paths(self.roots[node]).hooks_dir, subdir)

    def make_master(self, pre=("master", "node2"), post=("master", "node2", "node3"),
                    env=None) -> hooks.HooksMaster:
        return hooks.HooksMaster(self.rpc, "cluster.example.com", "master", "/var/lib/ganeti",
                                 "OP_INSTANCE_STARTUP", "instance-start", "INSTANCE",
                                 env if env is not None else {"OP_TARGET": "inst1", "FORCE": False},
                                 pre, post, warn=self.warnings.append)

    def test_env_prefixes_and_stringifies(self):
        env = self.make_master(env={"OP_TARGET": "inst1", "FORCE": False, "NONE": None,
                                    "HOOKS_PHASE": "spoofed"}).build_env("instance-start", "pre")
        self.assertEqual(env, {
            "GANETI_OP_TARGET": "inst1", "GANETI_FORCE": "False", "GANETI_NONE": "",
            "GANETI_HOOKS_VERSION": "2", "GANETI_HOOKS_PHASE": "pre",
            "GANETI_HOOKS_PATH": "instance-start", "GANETI_OP_CODE": "OP_INSTANCE_STARTUP",
            "GANETI_OBJECT_TYPE": "INSTANCE", "GANETI_DATA_DIR": "/var/lib/ganeti",
            "GANETI_CLUSTER": "cluster.example.com", "GANETI_MASTER": "master"})

    async def _scripts_see_the_full_environment(self):
        os.makedirs(self.hooks_dir("node2", "instance-start-post.d"))
        os.symlink(ENV_BIN, os.path.join(self.hooks_dir("node2", "instance-start-post.d"),
                                         "10-env"))
        results = await self.make_master().run_post()
        [[_, status, output]] = results["node2"].data
        self.assertEqual(status, HKR_SUCCESS)
        seen = parse_env(output)
        self.assertEqual(seen["GANETI_HOOKS_PHASE"], "post")
        self.assertEqual(seen["GANETI_OP_TARGET"], "inst1")
        self.assertEqual(seen["PATH"], "/sbin:/bin:/usr/sbin:/usr/bin")
        self.assertEqual(set(seen) - {"PATH"},
                         set(self.make_master().build_env("instance-start", "post")))
        self.assertEqual(results["master"].data, [])
        self.assertEqual(self.warnings, [])

    def test_scripts_see_the_full_environment(self):
        return in_running_reactor(lambda: self._scripts_see_the_full_environment())

    async def _failed_pre_hook_aborts_naming_node_script_output(self):
        write_script(self.hooks_dir("node2", "instance-start-pre.d"), "10-deny",
                     "#!/bin/sh\necho 'not today'\necho 'second line'\nexit 1\n")
        try:
            await self.make_master().run_pre()
        except errors.HooksAbort as err:
            message = str(err)
        else:
            self.fail("pre hook failure did not abort")
        self.assertIn("node2: instance-start-pre.d/10-deny: not today / second line", message)
        self.assertNotIn("\n", message)

    def test_failed_pre_hook_aborts_naming_node_script_output(self):
        return in_running_reactor(lambda: self._failed_pre_hook_aborts_naming_node_script_output())

    async def _unreachable_nodes_only_warn_and_offline_ones_are_skipped_in_pre(self):
        self.rpc.offline.add("node2")
        self.rpc.unreachable.add("node3")
        await self.make_master(pre=("master", "node2", "node3")).run_pre()
        self.assertEqual(len(self.warnings), 1)
        self.assertIn("node3", self.warnings[0])
        self.assertIn("refused", self.warnings[0])

    def test_unreachable_nodes_only_warn_and_offline_ones_are_skipped_in_pre(self):
        return in_running_reactor(lambda: 
            self._unreachable_nodes_only_warn_and_offline_ones_are_skipped_in_pre())

    async def _failed_post_hook_only_warns(self):
        write_script(self.hooks_dir("node3", "instance-start-post.d"), "10-fail",
                     "#!/bin/sh\necho broken\nexit 1\n")
        results = await self.make_master().run_post()
        self.assertEqual(results["node3"].data[0][1], HKR_FAIL)
        self.assertEqual(self.warnings,
                         ["Post hook failed: node3: instance-start-post.d/10-fail: broken"])

    def test_failed_post_hook_only_warns(self):
        return in_running_reactor(lambda: self._failed_post_hook_only_warns())

    async def _config_update_runs_post_on_master_only(self):
        for node in self.roots:
            os.makedirs(self.hooks_dir(node, "config-update-post.d"))
            os.symlink(ENV_BIN, os.path.join(self.hooks_dir(node, "config-update-post.d"),
                                             "10-env"))
        results = await self.make_master().run_config_update()
        self.assertEqual(list(results), ["master"])
        seen = parse_env(results["master"].data[0][2])
        self.assertEqual((seen["GANETI_HOOKS_PATH"], seen["GANETI_HOOKS_PHASE"]),
                         ("config-update", "post"))

    def test_config_update_runs_post_on_master_only(self):
        return in_running_reactor(lambda: self._config_update_runs_post_on_master_only())

    def test_no_nodes_means_no_call(self):
        master = self.make_master(pre=(), post=())
        self.assertEqual(self.successResultOf(defer.ensureDeferred(master.run_pre())), {})
        self.assertEqual(self.rpc.calls, [])


INSTANCE = {
    "name": "inst1.example.com", "primary_node": "node2", "os": "debian",
    "hypervisor": "fake", "admin_up": True, "disk_template": "file",
    "nics": [{"mac": "aa:00:00:00:00:01", "ip": None, "bridge": "br0"},
             {"mac": "aa:00:00:00:00:02", "ip": "10.0.0.5", "bridge": "br1"}],
    "disks": [{"size": 1024, "mode": "rw", "iv_name": "disk/0"}],
}
BEPARAMS = {"memory": 512, "vcpus": 2, "auto_balance": True}
HVPARAMS = {"kernel_path": "/boot/vmlinuz"}


class InstanceHookEnvTests(unittest.SynchronousTestCase):
    def test_variables_of_an_instance(self):
        env = hooks.instance_hook_env(INSTANCE, BEPARAMS, HVPARAMS)
        self.assertEqual(env, {
            "OP_TARGET": "inst1.example.com", "INSTANCE_NAME": "inst1.example.com",
            "INSTANCE_PRIMARY": "node2", "INSTANCE_SECONDARIES": "",
            "INSTANCE_OS_TYPE": "debian", "INSTANCE_STATUS": "up", "INSTANCE_MEMORY": 512,
            "INSTANCE_VCPUS": 2, "INSTANCE_DISK_TEMPLATE": "file",
            "INSTANCE_HYPERVISOR": "fake", "INSTANCE_NIC_COUNT": 2,
            "INSTANCE_NIC0_IP": "", "INSTANCE_NIC0_BRIDGE": "br0",
            "INSTANCE_NIC0_MAC": "aa:00:00:00:00:01", "INSTANCE_NIC1_IP": "10.0.0.5",
            "INSTANCE_NIC1_BRIDGE": "br1", "INSTANCE_NIC1_MAC": "aa:00:00:00:00:02",
            "INSTANCE_NIC0_MODE": "bridged", "INSTANCE_NIC1_MODE": "bridged",
            "INSTANCE_DISK_COUNT": 1, "INSTANCE_DISK0_SIZE": 1024, "INSTANCE_DISK0_MODE": "rw",
            "INSTANCE_BE_memory": 512, "INSTANCE_BE_vcpus": 2, "INSTANCE_BE_auto_balance": True,
            "INSTANCE_HV_kernel_path": "/boot/vmlinuz"})

    def test_override_shows_new_values(self):
        env = hooks.instance_hook_env(INSTANCE, BEPARAMS, HVPARAMS,
                                      override={"memory": 1024, "status": False, "nics": []})
        self.assertEqual((env["INSTANCE_MEMORY"], env["INSTANCE_STATUS"],
                          env["INSTANCE_NIC_COUNT"]), (1024, "down", 0))
        self.assertNotIn("INSTANCE_NIC0_MAC", env)

    def test_unknown_override_is_a_bug(self):
        self.assertRaises(errors.ProgrammerError, hooks.instance_hook_env, INSTANCE,
                          BEPARAMS, HVPARAMS, override={"memroy": 1})
