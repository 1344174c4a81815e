"""The sandbox: the fallback for machines without their own pulumi or cluster (README.md here)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from sandbox.recipes.common import bin_dir, cache_root, toolchain_root

# The public surface the verbs use: the toolchain's links (bin_dir), its root, the clusters below.
__all__ = ["bin_dir", "cache_root", "toolchain_root", "base_name", "cluster_dir", "kubeconfig_path",
           "cluster_exists", "cluster"]

HERE = Path(__file__).resolve().parent


def base_name() -> str:
    """The clusters' base name (<base>-simulated, <base>-real): PYTHON_SHOP_CLUSTER, which the tests and
    benchmarks set to run clusters of their own, else python-shop."""
    return os.environ.get("PYTHON_SHOP_CLUSTER", "python-shop")


def cluster_dir(name: str) -> Path:
    """Where cluster `name` keeps its state (etcd data, certificates, logs, kubeconfig)."""
    return cache_root() / "kwok" / "clusters" / name


def kubeconfig_path(name: str) -> Path:
    """Cluster `name`'s own kubeconfig (`kwokctl get kubeconfig`, written by `sandbox/cluster up`)."""
    return cluster_dir(name) / f"{name}.kubeconfig"


def cluster_exists(name: str) -> bool:
    """Was cluster `name` created (running or stopped)? kwokctl writes kwok.yaml first."""
    return (cluster_dir(name) / "kwok.yaml").exists()


def cluster(*args: str, name: str | None = None, show_log: bool = False,
            timeout: float | None = None) -> subprocess.CompletedProcess:
    """`sandbox/cluster <args>` as a separate process, stdout captured (its last line is the
    kubeconfig path after `up`); `name`: another base name than python-shop (PYTHON_SHOP_CLUSTER);
    `show_log`: its progress lines go to our stderr instead of being captured."""
    env = {**os.environ, "PYTHON_SHOP_CLUSTER": name} if name else None
    return subprocess.run([str(HERE / "cluster"), *args], env=env, text=True, timeout=timeout,
                          stdout=subprocess.PIPE, stderr=None if show_log else subprocess.PIPE)
