"""Fixtures for end-to-end tests: Debian's Chromium (never a downloaded browser) and the local cluster."""

from pathlib import Path

import pytest

from tests.support.clusters import running_cluster

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialling out, and this
# machine's closed network refuses it.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("Debian's Chromium is missing: `make test` installs it (python3 -m sandbox.system_packages browser)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 900, "height": 560})
    page = context.new_page()
    yield page
    context.close()


# --- the local control plane (sandbox/cluster), for tests marked `cluster` -------------------

@pytest.fixture(scope="session")
def kwok_cluster():
    """A real API server, controller-manager and scheduler with one simulated node, for this test session."""
    yield from running_cluster(timeout=300)


@pytest.fixture(scope="session")
def real_cluster():
    """The same control plane with a real node: containerd, kubelet, kube-proxy, CoreDNS, our images."""
    yield from running_cluster("--real", timeout=900)
