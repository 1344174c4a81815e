"""Fixtures for end-to-end tests: Debian's Chromium (never a downloaded browser) and the local cluster."""

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

import sandbox
from sandbox.kube import Kube
from tools.engine import Stack

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

TEST_CLUSTER = "python-shop-test"  # base name of its own clusters: the user's python-shop-* are left alone


@dataclass(frozen=True)
class Cluster:
    kubeconfig: Path
    context: str
    kube: Kube


def cluster_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return sandbox.cluster(*args, name=TEST_CLUSTER, timeout=timeout)


def _running_cluster(*flags: str, timeout: float):
    """Start this session's cluster with sandbox/cluster, hand it out, and stop it afterwards."""
    up = cluster_cli("up", *flags, timeout=timeout)
    if up.returncode != 0:
        cluster_cli("down", *flags)
        pytest.fail(f"sandbox/cluster up {' '.join(flags)} failed:\n{up.stderr[-4000:]}")
    kubeconfig = Path(up.stdout.strip().splitlines()[-1])
    context = f"kwok-{TEST_CLUSTER}-" + ("real" if "--real" in flags else "simulated")
    try:
        yield Cluster(kubeconfig, context, Kube(kubeconfig, context))
    finally:
        down = cluster_cli("down", *flags)
        assert down.returncode == 0, down.stderr


@pytest.fixture(scope="session")
def kwok_cluster():
    """A real API server, controller-manager and scheduler with one simulated node, for this test session."""
    yield from _running_cluster(timeout=300)


@pytest.fixture(scope="session")
def real_cluster():
    """The same control plane with a real node: containerd, kubelet, kube-proxy, CoreDNS, our images."""
    yield from _running_cluster("--real", timeout=900)


def deployed_stack(cluster: Cluster, workdir: Path, stack_name: str):
    """A throwaway stack of the program pointed at `cluster`, up for the caller's scope, destroyed after."""
    stack = Stack(
        workdir,
        stack_name,
        extra_env={"KUBECONFIG": str(cluster.kubeconfig)},
        **{"kubernetes:context": cluster.context},
    )
    stack.up()
    try:
        yield stack
    finally:
        stack.cli("destroy", "--yes", "--skip-preview", check=False)
