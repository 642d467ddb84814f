"""Packaging: setup.py installs package, scripts and twistd plugins; man pages render."""

import glob
import os
import shutil
import subprocess
import sys
import tempfile

from twisted.trial import unittest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class PackagingTests(unittest.SynchronousTestCase):
    def test_install_provides_plugins_and_scripts(self):
        target = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, target)
        build = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, build)
        shutil.copytree(TOP, os.path.join(build, "src"),
                        ignore=shutil.ignore_patterns(".git", "_trial_temp", "*.egg-info",
                                                      "build", "__pycache__"))
        proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                               "--target", target,
                               os.path.join(build, "src")],
                              capture_output=True, text=True)
        if proc.returncode != 0 and "No module named" in proc.stderr:
            raise unittest.SkipTest("pip/setuptools unavailable: %s" % proc.stderr.strip())
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertTrue(os.path.exists(os.path.join(target, "twisted", "plugins",
                                                    "ganeti_tw_plugins.py")))
        self.assertFalse(os.path.exists(os.path.join(target, "twisted", "plugins",
                                                     "__init__.py")))
        for script in ("gnt-cluster", "gnt-node", "gnt-job", "gnt-debug", "gnt-instance",
                       "gnt-os", "ganeti-local-cluster"):
            self.assertTrue(os.path.exists(os.path.join(target, "bin", script)), script)
        data = os.path.join(target, "ganeti_tw", "data")
        for script in ("os/tiny/create", "iallocators/free-memory"):
            self.assertTrue(os.access(os.path.join(data, script), os.X_OK), script)
        env = dict(os.environ, PYTHONPATH=target)
        out = subprocess.run([sys.executable, "-c",
                              "from twisted.scripts.twistd import run; run()", "--help"],
                             capture_output=True, text=True, env=env, cwd=target).stdout
        self.assertIn("ganeti-masterd", out)
        self.assertIn("ganeti-noded", out)
        self.assertIn("ganeti-rapi", out)
        self.assertTrue(os.path.exists(os.path.join(target, "ganeti_tw", "rapi", "rlib2.py")))
        self.assertIn("ganeti-watcher", out)

    def test_cli_imports_no_twisted(self):
        code = ("import sys; import ganeti_tw.cli.cluster, ganeti_tw.cli.node, "
                "ganeti_tw.cli.job, ganeti_tw.cli.debug, ganeti_tw.cli.guest_os, "
                "ganeti_tw.cli.instance, ganeti_tw.cli.instance_format, ganeti_tw.cli.tags, "
                "ganeti_tw.watcher.command, ganeti_tw.cleaner, "
                "ganeti_tw.cli.serial_console; "
                "bad = [m for m in sys.modules if m.startswith(('twisted', 'cryptography'))]; "
                "print(bad); sys.exit(1 if bad else 0)")
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env=dict(os.environ, PYTHONPATH=TOP))
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)


class ManPageTests(unittest.SynchronousTestCase):
    def setUp(self):
        if not shutil.which("man") or not shutil.which("groff"):
            raise unittest.SkipTest("man-db/groff not installed (run-tests installs them "
                                    "when it runs as root)")

    def test_every_command_has_a_man_page(self):
        for script in glob.glob(os.path.join(TOP, "bin", "gnt-*")):
            name = os.path.basename(script)
            self.assertTrue(glob.glob(os.path.join(TOP, "man", name + ".*")), name)
        for page in ("ganeti.7", "ganeti-masterd.8", "ganeti-noded.8", "ganeti-rapi.8"):
            self.assertTrue(os.path.exists(os.path.join(TOP, "man", page)), page)

    def test_man_pages_render_without_warnings(self):
        pages = sorted(glob.glob(os.path.join(TOP, "man", "*.[78]")))
        self.assertTrue(pages)
        for page in pages:
            proc = subprocess.run(["man", "--warnings", "-l", page], capture_output=True,
                                  text=True, env=dict(os.environ, MANWIDTH="80"))
            self.assertEqual(proc.returncode, 0, page)
            self.assertEqual(proc.stderr, "", "%s: %s" % (page, proc.stderr))
            self.assertIn("NAME", proc.stdout)
