"""The growth benchmark's own logic (benchmarks/growth.py, growth_program.py), hermetic: the throwaway
program it writes, run under the Pulumi mocks, makes N wired pairs of the real WebService; the apply
order, the ratios and the marginal cost are plain arithmetic on given figures."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import yaml

from benchmarks import growth
from benchmarks.growth_program import write_program
from tests.support.kinds import CONFIG_MAP, DEPLOYMENT, NETWORK_POLICY
from tests.support.pulumi_mocks import ROOT, run_program, stack_config

WEB_SERVICE = "python-shop:index:WebService"
FRONTEND_CONFIG = "python-shop:index:FrontendConfig"


@pytest.fixture(scope="module")
def three_pairs(tmp_path_factory):
    program = write_program(tmp_path_factory.mktemp("growth") / "program", 3)
    config = {**stack_config(ROOT / "Pulumi.simulated-node.yaml"), "python-shop:namespace": "pulumi-3"}
    return program, run_program(config, stack="growth-3", program=program)


def test_the_program_is_a_project_of_the_shops_name_on_the_repositorys_virtualenv(three_pairs):
    program, _ = three_pairs
    project = yaml.safe_load((program / "Pulumi.yaml").read_text())
    assert project["name"] == "python-shop"  # the shop's settings apply unchanged
    assert project["main"] == "."
    assert project["runtime"]["options"]["virtualenv"] == str(ROOT / ".venv")
    assert "deploy_pairs(load_settings(), 3)" in (program / "__main__.py").read_text()


def test_three_pairs_are_six_web_services_each_frontend_with_its_own_config(three_pairs):
    _, run = three_pairs
    assert sorted(r.name for r in run.all(WEB_SERVICE)) == [
        "python-shop-backend-1", "python-shop-backend-2", "python-shop-backend-3",
        "python-shop-frontend-1", "python-shop-frontend-2", "python-shop-frontend-3"]
    assert sorted(r.name for r in run.all(FRONTEND_CONFIG)) == [
        "python-shop-frontend-config-1", "python-shop-frontend-config-2", "python-shop-frontend-config-3"]
    # The namespace and its default-deny policy once; per pair 2 accounts, Deployments, Services and
    # NetworkPolicies and a ConfigMap (one replica each: no disruption budget).
    assert len(run.kubernetes_objects()) == 2 + 3 * 9
    assert len(run.all("pulumi:providers:kubernetes")) == 1
    assert run.exports == {"pairs": 3}


@pytest.mark.parametrize("pair", [1, 2, 3])
def test_each_frontend_reads_the_config_naming_its_own_backend(three_pairs, pair):
    _, run = three_pairs
    volumes = run.one(DEPLOYMENT, f"python-shop-frontend-{pair}").inputs["spec"]["template"]["spec"]["volumes"]
    assert {"name": f"python-shop-frontend-config-{pair}-volume",
            "configMap": {"name": f"python-shop-frontend-config-{pair}"}} in volumes
    config = run.one(CONFIG_MAP, f"python-shop-frontend-config-{pair}").inputs["data"]["config.cfg"]
    assert config == f'BACKEND_URI = "http://python-shop-backend-{pair}-service.pulumi-3.svc:8080"\n'


@pytest.mark.parametrize("pair", [1, 2, 3])
def test_each_backend_admits_its_own_frontend_alone(three_pairs, pair):
    _, run = three_pairs
    policy = run.one(NETWORK_POLICY, f"python-shop-backend-{pair}-from-frontend-{pair}").inputs["spec"]
    assert policy["ingress"][0]["from"] == [{"podSelector": {"matchLabels": {"app": f"python-shop-frontend-{pair}"}}}]


def test_kubectl_gets_the_namespace_first_and_the_deployments_after_their_accounts():
    given = [(Path("apps_v1-deployment-b.yaml"), "Deployment"), (Path("v1-serviceaccount-b.yaml"), "ServiceAccount"),
             (Path("v1-namespace-n.yaml"), "Namespace"), (Path("apps_v1-deployment-a.yaml"), "Deployment"),
             (Path("x-widget.yaml"), "Widget"), (Path("v1-configmap-c.yaml"), "ConfigMap")]
    assert [p.name for p in growth.apply_order(given)] == [
        "v1-namespace-n.yaml", "v1-serviceaccount-b.yaml", "v1-configmap-c.yaml", "apps_v1-deployment-a.yaml",
        "apps_v1-deployment-b.yaml", "x-widget.yaml"]


def test_ratios_and_the_cost_of_each_extra_object():
    figures = {"pulumi up": 12.0, "kubectl apply + rollout": 3.0, "pulumi preview": 6.0, "kubectl diff": 4.0}
    assert growth.ratios(figures) == {"pulumi up / kubectl apply + rollout": 4.0, "pulumi preview / kubectl diff": 1.5}
    # 11 objects at 1 pair, 47 at 5, 227 at 25: 36 and 180 more.
    assert growth.marginal_ms({1: 11, 5: 47, 25: 227}, {1: 10.0, 5: 13.6, 25: 31.6}) == pytest.approx(
        {"1→5": 100.0, "5→25": 100.0})


def test_sizes_are_pairs_counted_from_one():
    assert growth.parse_sizes("25,1,5,1") == [1, 5, 25]
    for bad in ("", "0,5", "five"):
        with pytest.raises(argparse.ArgumentTypeError, match="--sizes"):
            growth.parse_sizes(bad)


def test_the_processes_of_a_run_are_told_apart_by_name():
    assert [growth.role(n) for n in ("pulumi", "pulumi-language-python", "python3", "pulumi-resource-kubernetes",
                                     "pulumi-resource", "kubectl")] == [
        "engine (CLI)", "language host + program", "language host + program", "provider", "provider", "other"]
