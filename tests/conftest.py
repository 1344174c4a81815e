"""Fixtures shared by the integration, fault and browser tests: the real shop on loopback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.shop import start_shop
from tools.procfile import ROOT

ARTIFACTS = ROOT / "artifacts"


@pytest.fixture
def artifacts_dir(request) -> Path:
    """A per-test folder for screenshots and logs, kept after the run (emptied before it:
    the logs a test reads are its own run's, never an earlier one's)."""
    path = ARTIFACTS / request.node.name.replace("/", "_").replace("[", "-").replace("]", "")
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


@pytest.fixture
def shop(tmp_path, artifacts_dir):
    """Backend and frontend started from their Procfiles, wired by a config.cfg file."""
    running = start_shop(tmp_path, artifacts_dir)
    yield running
    running.frontend.stop()
    running.backend.stop()
