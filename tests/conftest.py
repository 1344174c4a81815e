"""Fixtures shared by the integration, fault and browser tests: the real shop on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.shop import start_shop
from tools.procfile import ROOT

ARTIFACTS = ROOT / "artifacts"


@pytest.fixture
def artifacts_dir(request) -> Path:
    """A per-test folder for screenshots and logs, kept after the run."""
    path = ARTIFACTS / request.node.name.replace("/", "_").replace("[", "-").replace("]", "")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def shop(tmp_path, artifacts_dir):
    """Backend and frontend started from their Procfiles, wired by a config.cfg file."""
    running = start_shop(tmp_path, artifacts_dir)
    yield running
    running.frontend.stop()
    running.backend.stop()
