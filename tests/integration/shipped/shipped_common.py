"""Paths and helpers shared by the shipped-file tests."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import rigwatch_testlib  # noqa: E402
from rigwatch_testlib import SOURCE_DIR  # noqa: E402

AM_DIR = os.path.join(SOURCE_DIR, "alertmanager")
DEPLOY = os.path.join(SOURCE_DIR, "deploy")
DASH = os.path.join(SOURCE_DIR, "dashboards")
PYTHON = "/usr/bin/python3"


def run(argv, timeout=60, **kw):
    p = subprocess.run(argv, capture_output=True, timeout=timeout, **kw)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def load_yaml(path):
    try:
        import yaml  # python3-yaml
    except ImportError:
        rigwatch_testlib.require(False, "Python module yaml (python3-yaml)")
    with open(path) as f:
        return yaml.safe_load(f)
