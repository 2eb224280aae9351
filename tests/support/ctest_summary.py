#!/usr/bin/python3
"""Prints how many tests ran, passed, skipped and failed per label, from a
CTest JUnit file (ctest --output-junit) and the labels CTest knows
(ctest --show-only=json-v1, which includes discovered GoogleTest tests).

  ctest_summary.py BUILD_DIR JUNIT_XML [--fail-on-skip]

Exits 1 if a test failed, a test has no label, or (with --fail-on-skip) a
test was skipped; 0 otherwise."""

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

LABELS = ("unit", "integration", "fuzz", "e2e", "bench-smoke")


def labels_by_test(build_dir):
    out = subprocess.run(["ctest", "--show-only=json-v1"], cwd=build_dir,
                         check=True, capture_output=True, text=True).stdout
    result = {}
    for t in json.loads(out).get("tests", []):
        labels = []
        for p in t.get("properties", []):
            if p.get("name") == "LABELS":
                labels = list(p.get("value") or [])
        result[t["name"]] = labels
    return result


def outcome(case):
    if case.find("failure") is not None or case.find("error") is not None:
        return "failed"
    status = case.get("status", "run")
    if case.find("skipped") is not None or status in ("notrun", "disabled"):
        return "skipped"
    if status == "fail":
        return "failed"
    return "passed"


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    build_dir, junit = argv[1], argv[2]
    fail_on_skip = "--fail-on-skip" in argv[3:]
    labels = labels_by_test(build_dir)
    rows = {}
    unlabeled, skipped, failed = [], [], []
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = case.get("name")
        what = outcome(case)
        test_labels = labels.get(name, [])
        if not test_labels:
            unlabeled.append(name)
            test_labels = ["(none)"]
        for label in test_labels:
            row = rows.setdefault(label, {"ran": 0, "passed": 0,
                                          "skipped": 0, "failed": 0})
            row[what] += 1
            if what != "skipped":
                row["ran"] += 1
        if what == "skipped":
            skipped.append(name)
        elif what == "failed":
            failed.append(name)

    print(f"{'label':<12} {'ran':>5} {'passed':>7} {'skipped':>8} {'failed':>7}")
    order = [l for l in LABELS if l in rows] + sorted(
        l for l in rows if l not in LABELS)
    for label in order:
        r = rows[label]
        print(f"{label:<12} {r['ran']:>5} {r['passed']:>7} {r['skipped']:>8} "
              f"{r['failed']:>7}")
    for name in skipped:
        print(f"skipped: {name}")
    for name in failed:
        print(f"failed: {name}")
    bad = False
    if unlabeled:
        print(f"{len(unlabeled)} test(s) without a label: "
              + ", ".join(unlabeled))
        bad = True
    if failed:
        bad = True
    if skipped and fail_on_skip:
        print(f"{len(skipped)} test(s) skipped, and skips fail this run "
              "(CI: every prerequisite must be installed)")
        bad = True
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
