"""Turn trial's closing line into 'N passed, N failed, N skipped' (what CI reads)."""

import re
import sys

text = open(sys.argv[1], errors="replace").read()
match = None
for match in re.finditer(r"^(PASSED|FAILED) \(([^)]*)\)\s*$", text, re.M):
    pass
counts = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2))) if match else {}
passed = counts.get("successes", 0)
failed = counts.get("failures", 0) + counts.get("errors", 0) + counts.get("unexpectedSuccesses", 0)
skipped = counts.get("skips", 0) + counts.get("expectedFailures", 0)
if match is None:
    failed = max(failed, 1)  # trial did not finish: count it as a failure
print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
