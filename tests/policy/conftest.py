"""The policy pack's rules, checked against the objects the real program declares."""

import copy
import runpy
from pathlib import Path

import pytest

from tests.support.pulumi_mocks import DEV_CONFIG, ROOT, run_program, stack_config

POLICY_DIR = Path(__file__).resolve().parents[2] / "policy"


@pytest.fixture(scope="session")
def policies():
    """The pack's policies by name, loaded without starting the policy server.

    Run as pulumi runs the pack: the directory, whose __main__.py imports `rules` beside it."""
    return {policy.name: policy for policy in pack()["POLICIES"]}


@pytest.fixture(scope="session")
def pack_rules():
    """policy/rules.py as the pack imports it (`rules`, beside its __main__.py)."""
    return pack()["rules"]


def pack() -> dict:
    return runpy.run_path(str(POLICY_DIR), run_name="policy_pack_under_test")


@pytest.fixture(scope="session")
def shop_objects():
    """(type, inputs) of every Kubernetes object the dev stack declares: all compliant."""
    run = run_program(DEV_CONFIG)
    return [(r.type, r.inputs) for r in run.kubernetes_objects()]


@pytest.fixture
def objects(shop_objects):
    return copy.deepcopy(shop_objects)



@pytest.fixture(scope="session")
def prod_objects_once():
    """(type, inputs) of every Kubernetes object the committed prod stack (Pulumi.prod.yaml) declares."""
    run = run_program(stack_config(ROOT / "Pulumi.prod.yaml"), stack="prod")
    return [(r.type, r.inputs) for r in run.kubernetes_objects()]


@pytest.fixture
def prod_objects(prod_objects_once):
    return copy.deepcopy(prod_objects_once)
