"""The real node's teardown sweeps the bridge plugin's NAT leftovers, whoever left them.

A teardown that raced the kubelet's CNI DEL (or one cut short) can leave CNI-* chains of the
node's network: with and without their POSTROUTING jump, or empty. Planted here by hand, they
are what `sandbox/real_node.remove_cni_chains` (run by every node stop and before every node
start) must remove, and another network's chains what it must leave alone. The rules match
TEST-NET addresses (192.0.2.0/24): nothing is routed, no packet is sent.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from sandbox import real_node

pytestmark = pytest.mark.pods

OURS_JUMPED, OURS_UNJUMPED, EMPTY, THEIRS = "CNI-ptest0001", "CNI-ptest0002", "CNI-ptest0003", "CNI-ptest0004"


def nat(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["iptables", "-t", "nat", *args], capture_output=True, text=True, check=check)


def chains() -> set[str]:
    return {line.split()[1] for line in nat("-S").stdout.splitlines() if line.startswith("-N CNI-ptest")}


def tagged(network: str) -> list[str]:
    return ["-m", "comment", "--comment", f'name: "{network}" id: "planted"']


def plant() -> None:
    for chain in (OURS_JUMPED, OURS_UNJUMPED, EMPTY, THEIRS):
        nat("-N", chain)
    nat("-A", OURS_JUMPED, "-d", "192.0.2.0/24", *tagged(real_node.CNI_NETWORK), "-j", "ACCEPT")
    nat("-A", "POSTROUTING", "-s", "192.0.2.10/32", *tagged(real_node.CNI_NETWORK), "-j", OURS_JUMPED)
    nat("-A", OURS_UNJUMPED, "-d", "192.0.2.0/24", *tagged(real_node.CNI_NETWORK), "-j", "ACCEPT")
    nat("-A", THEIRS, "-d", "192.0.2.0/24", *tagged("another-network"), "-j", "ACCEPT")
    nat("-A", "POSTROUTING", "-s", "192.0.2.20/32", *tagged("another-network"), "-j", THEIRS)


def remove_planted() -> None:
    for line in nat("-S", "POSTROUTING").stdout.splitlines():
        if "CNI-ptest" in line:
            subprocess.run(["sh", "-c", f"iptables -t nat {line.replace('-A ', '-D ', 1)}"], capture_output=True)
    for chain in sorted(chains()):
        nat("-F", chain, check=False)
        nat("-X", chain, check=False)


def test_our_networks_leftover_chains_are_swept_and_another_networks_kept():
    if os.geteuid() != 0:
        pytest.fail("iptables needs root: `make test` runs as root")
    remove_planted()
    plant()
    try:
        assert chains() == {OURS_JUMPED, OURS_UNJUMPED, EMPTY, THEIRS}
        real_node.remove_cni_chains()
        assert chains() == {THEIRS}
        postrouting = nat("-S", "POSTROUTING").stdout
        assert OURS_JUMPED not in postrouting and THEIRS in postrouting
        real_node.remove_cni_chains()  # idempotent: nothing of ours left to remove
        assert chains() == {THEIRS}
    finally:
        remove_planted()
    assert chains() == set()
