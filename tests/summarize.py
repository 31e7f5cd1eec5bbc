"""Counts passed and failed tests from cmocka logs and pytest junit files."""
import glob
import os
import re
import sys
import xml.etree.ElementTree as ET


def unit_counts(path):
    text = open(path, errors="replace").read()
    passed = sum(int(n) for n in re.findall(r"\[  PASSED  \] (\d+) test", text))
    failed = sum(int(n) for n in re.findall(r"\[  FAILED  \] (\d+) test", text))
    if passed == 0 and failed == 0:
        failed = 1  # the binary crashed before reporting
    return passed, failed


def junit_counts(path):
    root = ET.parse(path).getroot()
    passed = failed = 0
    for case in root.iter("testcase"):
        if case.find("skipped") is not None:
            continue
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        else:
            passed += 1
    return passed, failed


def main(out):
    passed = failed = 0
    for path in sorted(glob.glob(os.path.join(out, "unit-*.log"))):
        p, f = unit_counts(path)
        passed, failed = passed + p, failed + f
    for variant in ("plain", "asan"):
        path = os.path.join(out, "integration-%s.xml" % variant)
        if not os.path.exists(path):
            print("missing results: %s" % path)
            failed += 1
            continue
        p, f = junit_counts(path)
        passed, failed = passed + p, failed + f
    for name in ("distcheck-passed", "layers-passed"):
        if os.path.exists(os.path.join(out, name)):
            passed += 1
    fuzz = os.path.join(out, "fuzz-passed")
    if os.path.exists(fuzz):
        text = open(fuzz).read().strip()
        passed += int(text) if text.isdigit() else 0
    extra = os.path.join(out, "failures")
    if os.path.exists(extra):
        lines = open(extra).read().split()
        print("failed steps: %s" % " ".join(lines))
        failed += len(lines)
    print("TOTAL: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
