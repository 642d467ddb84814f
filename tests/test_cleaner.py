"""ganeti-cleaner: old archived jobs and stale temporary files go, the rest stays."""

import os
import time

from twisted.trial import unittest

from ganeti_tw import cleaner, constants as C
from ganeti_tw.paths import Paths


def _touch(path: str, age: float) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write("x")
    then = time.time() - age
    os.utime(path, (then, then))
    return path


class CleanerTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.paths = Paths(self.mktemp())

    def test_archive_older_than_21_days_is_removed(self):
        old = _touch(self.paths.archived_job_file(3), C.CLEANER_ARCHIVE_AGE + 60)
        young = _touch(self.paths.archived_job_file(4), C.CLEANER_ARCHIVE_AGE - 60)
        lone = _touch(self.paths.archived_job_file(20001), C.CLEANER_ARCHIVE_AGE + 60)
        self.assertEqual(sorted(cleaner.clean_archive(self.paths)), sorted([old, lone]))
        self.assertTrue(os.path.exists(young))
        # emptied archive sub-directories go too
        self.assertFalse(os.path.exists(os.path.dirname(lone)))

    def test_missing_archive_is_fine(self):
        self.assertEqual(cleaner.clean_archive(self.paths), [])
        self.assertEqual(cleaner.main(["--root", self.paths.root]), 0)

    def test_only_stale_temp_files_of_atomic_writes_are_removed(self):
        stale = _touch(os.path.join(self.paths.queue_dir, ".job-7.tmp"), C.CLEANER_TEMP_AGE + 5)
        fresh = _touch(os.path.join(self.paths.data_dir, ".config.data.tmp"), 1)
        job = _touch(os.path.join(self.paths.queue_dir, "job-7"), C.CLEANER_TEMP_AGE + 5)
        hidden = _touch(os.path.join(self.paths.data_dir, ".keep"), C.CLEANER_TEMP_AGE + 5)
        self.assertEqual(cleaner.clean_temp_files(self.paths), [stale])
        for path in (fresh, job, hidden):
            self.assertTrue(os.path.exists(path), path)
