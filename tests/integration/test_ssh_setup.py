"""gnt-node add over root ssh, against a real sshd on a loopback address."""

import os
import shutil
import subprocess
import sys

from twisted.trial import unittest

from ganeti_tw import constants as C, daemon_util
from tests.integration.base import ClusterTestCase

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SSHD = "/usr/sbin/sshd"


class SshNodeSetupTests(ClusterTestCase):
    """The master sets node2 up over ssh; sshd gives the session node2's GANETI_ROOT."""

    NODES = 1
    BASE_IP = "127.0.8."

    def setUp(self):
        for tool in (SSHD, shutil.which("ssh"), shutil.which("ssh-keygen"),
                     shutil.which("ssh-agent")):
            if not tool or not os.path.exists(tool):
                raise unittest.SkipTest("OpenSSH client and server are needed "
                                        "(run-tests installs them as root)")
        if os.geteuid() != 0:
            raise unittest.SkipTest("node setup logs in as root: the test's sshd must run as root")
        super().setUp()
        self.sshdir = os.path.join(self.tmpdir, "ssh")
        os.makedirs(self.sshdir, mode=0o700)
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", ""]
        subprocess.run(keygen + ["-f", self._p("host_key")], check=True)
        subprocess.run(keygen + ["-f", self._p("admin_key")], check=True)
        shutil.copy(self._p("admin_key.pub"), self._p("authorized_keys"))
        self.node2_root = self.cluster.root(2)
        os.makedirs(self.node2_root)
        path = os.pathsep.join([os.path.join(TOP, "bin"), os.path.dirname(sys.executable),
                                "/usr/bin", "/bin"])
        with open(self._p("sshd_config"), "w") as fh:
            fh.write("\n".join([
                "ListenAddress %s" % self.cluster.ip(2), "Port 22",
                "HostKey %s" % self._p("host_key"), "PidFile %s" % self._p("sshd.pid"),
                "AuthorizedKeysFile %s" % self._p("authorized_keys"),
                "PermitRootLogin prohibit-password", "PasswordAuthentication no",
                "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no",
                "SetEnv GANETI_ROOT=%s PATH=%s PYTHONPATH=%s" % (self.node2_root, path, TOP),
                ""]))
        sshd = subprocess.Popen([SSHD, "-D", "-e", "-f", self._p("sshd_config")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(self._stop, sshd)
        agent = subprocess.run(["ssh-agent", "-a", self._p("agent.sock")],
                               capture_output=True, text=True, check=True)
        agent_pid = int(agent.stdout.split("SSH_AGENT_PID=")[1].split(";")[0])
        self.addCleanup(os.kill, agent_pid, 15)
        self.ssh_env = {"SSH_AUTH_SOCK": self._p("agent.sock")}
        subprocess.run(["ssh-add", "-q", self._p("admin_key")], check=True,
                       env=dict(os.environ, **self.ssh_env))
        self.wait_until(lambda: os.path.exists(self._p("sshd.pid")), "sshd is up")
        self.addCleanup(daemon_util.stop_daemon, self.cluster.paths(2), C.DAEMON_NODED)

    def _p(self, name: str) -> str:
        return os.path.join(self.sshdir, name)

    @staticmethod
    def _stop(proc: subprocess.Popen) -> None:
        proc.terminate()
        proc.wait(10)

    def add(self, *args: str) -> subprocess.CompletedProcess:
        return self.cluster.gnt("gnt-node", "add", "--primary-ip", self.cluster.ip(2), *args,
                                "node2", check=False, capture=True, env=self.ssh_env)

    def test_add_over_ssh_installs_certificate_and_starts_the_daemon(self):
        proc = self.add()
        self.assertEqual(proc.returncode, 1)
        self.assertIn("Host key verification failed", proc.stderr)
        self.assertNotIn("node2", self.assertCommandOk("gnt-node", "list", "-o", "name"))
        proc = self.add("--no-ssh-key-check")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        paths2 = self.cluster.paths(2)
        self.assertIsNotNone(daemon_util.read_pid(paths2, C.DAEMON_NODED))
        self.assertEqual(os.stat(paths2.node_pem).st_mode & 0o777, 0o400)
        with open(paths2.hostname_file) as fh:
            self.assertEqual(fh.read().strip(), "node2")
        with open(self.cluster.paths(1).known_hosts) as fh:
            self.assertIn("node2 ssh-ed25519", fh.read())
        self.assertEqual(self.read_data_file(2, "config.data"),
                         self.read_data_file(1, "config.data"))
        self.assertCommandOk("gnt-cluster", "verify")
        self.assertCommandOk("gnt-debug", "delay", "0", "-n", "node2")

    def test_readd_over_ssh_uses_recorded_host_key_and_new_certificate(self):
        self.assertEqual(self.add("--no-ssh-key-check").returncode, 0)
        with open(self.cluster.paths(2).node_pem, "rb") as fh:
            first_pem = fh.read()
        proc = self.add("--readd")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(self.cluster.paths(2).node_pem, "rb") as fh:
            self.assertNotEqual(fh.read(), first_pem)
        self.assertCommandOk("gnt-cluster", "verify")

    def test_changed_host_key_is_refused(self):
        self.assertEqual(self.add("--no-ssh-key-check").returncode, 0)
        with open(self.cluster.paths(1).known_hosts) as fh:
            entry = fh.read()
        other = os.path.join(self.sshdir, "other_key")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other], check=True)
        with open(other + ".pub") as fh:
            fake = "node2 " + " ".join(fh.read().split()[:2]) + "\n"
        with open(self.cluster.paths(1).known_hosts, "w") as fh:
            fh.write(fake)
        proc = self.add("--readd")
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)
        self.assertIn("over ssh failed", proc.stderr)
        self.assertTrue(entry)
