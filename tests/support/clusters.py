"""The sandbox's clusters as the cluster tests use them: their own (TEST_CLUSTER), and stacks on them."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

import sandbox
from sandbox.kube import Kube
from tests.support.stacks import Stack

TEST_CLUSTER = "python-shop-test"  # base name of its own clusters: the user's python-shop-* are left alone


@dataclass(frozen=True)
class Cluster:
    kubeconfig: Path
    context: str
    kube: Kube


def cluster_cli(*args: str, timeout: float = 300, name: str = TEST_CLUSTER) -> subprocess.CompletedProcess:
    return sandbox.cluster(*args, name=name, timeout=timeout)


def running_cluster(*flags: str, timeout: float, name: str = TEST_CLUSTER):
    """Start this session's cluster with sandbox/cluster, hand it out, and stop it afterwards; `name`: a base
    name of its own (PYTHON_SHOP_CLUSTER), for a test that reshapes its cluster (tests/e2e/test_many_nodes.py)."""
    up = cluster_cli("up", *flags, timeout=timeout, name=name)
    if up.returncode != 0:
        cluster_cli("down", *flags, name=name)
        pytest.fail(f"sandbox/cluster up {' '.join(flags)} failed:\n{up.stderr[-4000:]}")
    kubeconfig = Path(up.stdout.strip().splitlines()[-1])
    context = f"kwok-{name}-" + ("real" if "--real" in flags else "simulated")
    try:
        yield Cluster(kubeconfig, context, Kube(kubeconfig, context))
    finally:
        down = cluster_cli("down", *flags, name=name)
        assert down.returncode == 0, down.stderr


def up_again(*flags: str, timeout: float) -> None:
    """The session's cluster running, should a test before have taken it down (test_pods' last test
    checks `down`): `sandbox/cluster up` is idempotent, about a second when the cluster runs."""
    up = cluster_cli("up", *flags, timeout=timeout)
    if up.returncode != 0:
        pytest.fail(f"sandbox/cluster up {' '.join(flags)} failed:\n{up.stderr[-4000:]}")


def deployed_stack(cluster: Cluster, workdir: Path, stack_name: str, base: str = "dev", **changes):
    """A throwaway stack of the program pointed at `cluster`, up for the caller's scope, destroyed after;
    its config Pulumi.<base>.yaml's with `changes` (bare keys are python-shop: settings)."""
    stack = Stack(
        workdir,
        stack_name,
        base=base,
        extra_env={"KUBECONFIG": str(cluster.kubeconfig)},
        **{"kubernetes:context": cluster.context},
        **changes,
    )
    stack.up()
    try:
        yield stack
    finally:
        stack.cli("destroy", "--yes", "--skip-preview", check=False)


def split_json_stream(text: str) -> list[str]:
    """`kubectl -o json --watch` prints one pretty-printed JSON document per event."""
    decoder, docs, index = json.JSONDecoder(), [], 0
    while index < len(text):
        if text[index].isspace():
            index += 1
            continue
        _, end = decoder.raw_decode(text, index)
        docs.append(text[index:end])
        index = end
    return docs
