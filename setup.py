"""ganeti-tw: Ganeti, the cluster virtualization manager, rebuilt on Twisted."""

import glob

from setuptools import setup

setup(
    name="ganeti-tw",
    version="0.1.0",
    description="Cluster virtualization manager (Ganeti) on Twisted",
    packages=["ganeti_tw", "ganeti_tw.backend", "ganeti_tw.cli", "ganeti_tw.cmdlib",
              "ganeti_tw.daemons", "ganeti_tw.hypervisors", "ganeti_tw.jqueue",
              "ganeti_tw.rapi", "ganeti_tw.rpc", "ganeti_tw.storage", "ganeti_tw.watcher",
              "twisted.plugins"],
    # our OS definition and iallocator are executables: pip keeps their mode
    package_data={"twisted": ["plugins/ganeti_tw_plugins.py"],
                  "ganeti_tw": ["data/os/*/*", "data/iallocators/*"]},
    scripts=sorted(glob.glob("bin/*")),
    data_files=[("share/man/man7", glob.glob("man/*.7")),
                ("share/man/man8", glob.glob("man/*.8"))],
    python_requires=">=3.11",
    install_requires=open("requirements.txt").read().split(),
)
