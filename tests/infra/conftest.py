"""Fixtures for the mock tier: the program run under the committed dev stack and a production-like one."""

from __future__ import annotations

import pytest

from tests.support.pulumi_mocks import DEV_CONFIG, PRODUCTION_LIKE_CONFIG, Run, run_program

CONFIGS = {"dev": DEV_CONFIG, "production-like": PRODUCTION_LIKE_CONFIG}


@pytest.fixture(scope="module", params=list(CONFIGS))
def stack_run(request) -> Run:
    """The program run under the real Pulumi.dev.yaml, then under a production-like config."""
    return run_program(CONFIGS[request.param], stack=request.param)  # its .config: the very CONFIGS dict


@pytest.fixture(scope="module")
def dev_run() -> Run:
    return run_program(DEV_CONFIG)
