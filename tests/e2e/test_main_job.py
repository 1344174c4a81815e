"""The main job, as the README runs it, on a machine with no kube context and no minikube.

`make up` announces and starts the embedded cluster with its real node (the committed
Pulumi.embedded.yaml, its salt, its context), deploys, and ends with the shop's URL; the
page there lists the five items; while it runs, a second real node is refused at once,
naming what is in the way; `make preview` shows no changes and runs the policy pack
against the live cluster; `make down` leaves no object, process, bridge or iptables rule.
The verbs run in a copy of the repository, with their state in a backend of the test's own.
"""

from __future__ import annotations

import os
import re
import subprocess
import time

import pytest
import requests

from tests.support.repo import copy_repo
from tools.engine import ROOT
from tools.realcluster import alive, leftovers, node_dir

pytestmark = pytest.mark.pods

ITEMS = ["Apple", "Banana", "Orange", "Potato", "Onion"]


@pytest.fixture(scope="module")
def machine(tmp_path_factory):
    """A clone to run make in, and the environment of a machine with no kube context and no minikube."""
    if any(alive(name) for name in ("kubelet", "containerd")):
        owner = (node_dir() / "owner").read_text().strip() if (node_dir() / "owner").exists() else "?"
        pytest.fail(f"a real node already runs on this machine (for {owner}): `make down` stops make up's")
    tmp = tmp_path_factory.mktemp("main-job")
    (tmp / "state").mkdir()
    path = [d for d in os.environ["PATH"].split(os.pathsep) if d and not os.path.exists(os.path.join(d, "minikube"))]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "PYTHON_SHOP_CLUSTER"))}
    env.update(
        PATH=os.pathsep.join(path),
        KUBECONFIG=str(tmp / "no-kubeconfig"),  # no file: no context at all
        PULUMI_BACKEND_URL=f"file://{tmp / 'state'}",
    )
    repo = copy_repo(tmp / "repo")
    yield repo, env
    # Whatever happened above, leave no cluster running for the next tests.
    subprocess.run(["make", "--no-print-directory", "down"], cwd=repo, env=env, capture_output=True, timeout=600)


def make(machine, verb: str) -> subprocess.CompletedProcess:
    repo, env = machine
    return subprocess.run(["make", "--no-print-directory", verb], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=900, stdin=subprocess.DEVNULL)


def test_make_up_ends_with_the_url_of_the_page_listing_the_five_items(machine):
    up = make(machine, "up")
    assert up.returncode == 0, (up.stdout + up.stderr)[-6000:]
    assert "no kube context 'minikube' answers and minikube is not installed" in up.stderr
    last = up.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"The shop: http://127\.0\.0\.1:\d+/", last), last
    page = requests.get(last.removeprefix("The shop: "), timeout=10)
    assert page.status_code == 200
    positions = [page.text.index(f"<td>{name}</td>") for name in ITEMS]
    assert positions == sorted(positions)


def test_a_second_real_node_is_refused_at_once_naming_what_is_in_the_way(machine):
    env = {**machine[1], "PYTHON_SHOP_CLUSTER": "python-shop-second"}
    started = time.monotonic()
    second = subprocess.run([str(ROOT / "tools" / "cluster"), "up", "--real"], env=env, capture_output=True,
                            text=True, timeout=300)
    elapsed = time.monotonic() - started
    assert second.returncode == 1
    assert ("this machine's real node already runs for cluster python-shop-real (containerd, kubelet, kube-proxy, "
            "coredns), and there is one real node per machine: stop that cluster first (`make down`)") in second.stderr
    # At once, not after the node's 5-minute start deadline (about a second here; 60 s is generous).
    assert elapsed < 60, f"took {elapsed:.0f}s"
    assert alive("kubelet"), "make up's node is untouched"


def test_make_preview_shows_no_changes_and_runs_the_policy_pack(machine):
    preview = make(machine, "preview")
    said = preview.stdout + preview.stderr
    assert preview.returncode == 0, said[-6000:]
    assert "python-shop-guardrails" in said
    assert "14 unchanged" in said
    for change in ("to create", "to update", "to delete", "to replace"):
        assert change not in said


def test_make_down_leaves_nothing_behind(machine):
    repo, env = machine
    down = make(machine, "down")
    assert down.returncode == 0, (down.stdout + down.stderr)[-6000:]
    assert leftovers() == []
    status = subprocess.run([str(ROOT / "tools" / "cluster"), "status", "--real"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert status.stdout.strip() == "cluster python-shop-real: absent"
    marks = ("clusters/python-shop-real/", str(node_dir()), "python-shop/images/docker")
    processes = subprocess.run(["ps", "-eo", "stat=,args="], capture_output=True, text=True).stdout.splitlines()
    assert [p for p in processes if any(m in p for m in marks) and not p.startswith("Z")] == []
