"""A machine where an earlier version's `make up` went to the simulated cluster, under the old names.

The simulated cluster was named after the project alone (`python-shop`, context kwok-python-shop)
and its stack `simulated`; they are `python-shop-simulated` and `simulated-node` now. A stack
cannot move to another context without replacing everything, so `make up` destroys what the
old cluster holds (simulated pods: no container ran), removes that cluster, renames the stack
(its history kept) and deploys afresh; nothing is left behind. Real control plane, real engine,
in a copy of the repository; the clusters are the test's own (PYTHON_SHOP_CLUSTER).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import sandbox
from sandbox.kube import Kube
from tools.engine import find_tools, pulumi
from tools.repo import copy_repo

pytestmark = [pytest.mark.cluster, pytest.mark.engine]

BASE = "python-shop-former"  # the old simulated cluster's name; the new one is python-shop-former-simulated


def stack_file(repo: Path, stack: str, context: str) -> None:
    """Pulumi.<stack>.yaml naming `context`, with the committed salt (the earlier file had the same)."""
    committed = yaml.safe_load((repo / "Pulumi.simulated-node.yaml").read_text())
    (repo / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({**committed, "config": {"kubernetes:context": context}}))


@pytest.fixture
def former_machine(tmp_path):
    """The old simulated cluster running with stack `simulated` deployed to it; the tree pulled since."""
    repo = copy_repo(tmp_path / "repo")
    (tmp_path / "state").mkdir()
    tools = find_tools(install=False)
    env = tools.env(tmp_path / "state", {"PYTHON_SHOP_CLUSTER": BASE, "KUBECONFIG": str(tmp_path / "none"),
                                         "TMPDIR": str(tmp_path)})
    env.pop("STACK", None)
    try:
        started = sandbox.cluster("up", "--name", BASE, name=BASE, timeout=300)
        assert started.returncode == 0, started.stderr[-4000:]
        # The earlier version's stack file, and the state it deployed.
        stack_file(repo, "simulated", f"kwok-{BASE}")
        old = {**env, "KUBECONFIG": started.stdout.strip().splitlines()[-1]}
        pulumi("stack", "init", "simulated", env=old, tools=tools, cwd=repo)
        pulumi("up", "--yes", "--skip-preview", "--stack", "simulated", env=old, tools=tools, cwd=repo, timeout=600)
        # What `git pull` does to the tree: that stack file is gone, the new one names the test's cluster.
        (repo / "Pulumi.simulated.yaml").unlink()
        stack_file(repo, "simulated-node", f"kwok-{BASE}-simulated")
        yield repo, env, tools
    finally:
        for args in (("down", "--name", BASE), ("down",)):
            sandbox.cluster(*args, name=BASE, timeout=300)


def deploy(repo: Path, env: dict[str, str], verb: str, stack: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tools.deploy", verb], cwd=repo, env={**env, "STACK": stack},
                          capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)


def test_make_up_moves_the_shop_from_the_former_simulated_cluster_and_leaves_nothing_there(former_machine):
    repo, env, tools = former_machine
    up = deploy(repo, env, "up", "simulated")  # STACK= as the README said then
    said = up.stdout + up.stderr
    assert up.returncode == 0, said[-6000:]
    assert f"cluster {BASE} is the simulated cluster as an earlier version named it" in up.stderr
    assert "stack simulated is called simulated-node now: renaming it" in up.stderr
    assert not (sandbox.cluster_dir(BASE)).exists(), "the former cluster is removed"
    stacks = pulumi("stack", "ls", "--json", env=env, tools=tools, cwd=repo).stdout
    assert sorted(s["name"] for s in yaml.safe_load(stacks)) == ["simulated-node"]
    # The shop runs in the new cluster, from the renamed stack: its history holds the old update.
    kubeconfig = sandbox.cluster("kubeconfig", name=BASE).stdout.strip()
    kube = Kube(Path(kubeconfig), f"kwok-{BASE}-simulated")
    available = kube.run("get", "deployments", "--namespace", "python-shop", "--output",
                         "jsonpath={range .items[*]}{.metadata.name}={.status.availableReplicas} {end}")
    assert available.stdout.split() == ["python-shop-backend=1", "python-shop-frontend=1"]
    history = pulumi("stack", "history", "--json", "--stack", "simulated-node", env=env, tools=tools, cwd=repo)
    assert [u["kind"] for u in yaml.safe_load(history.stdout)] == ["update", "destroy", "update"]

    down = deploy(repo, env, "down", "simulated-node")
    assert down.returncode == 0, (down.stdout + down.stderr)[-6000:]
    assert not sandbox.cluster_dir(f"{BASE}-simulated").exists()
    assert not [p for p in os.listdir(sandbox.cluster_dir(BASE).parent) if p.startswith(BASE)]
