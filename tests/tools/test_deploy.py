"""`make up` / `make preview`: which stack and which cluster tools/deploy picks.

The choice is what users meet first: their minikube when it answers, else the
embedded cluster with a real node, else simulated pods, always said out loud.
The cluster and the reachability probe are stubbed here; the e2e tests and the
README's `make up` run exercise the real ones.
"""

from __future__ import annotations

import subprocess
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader

import pytest

from tools.engine import ROOT


@pytest.fixture
def deploy(monkeypatch):
    loader = SourceFileLoader("tools_deploy", str(ROOT / "tools" / "deploy"))
    module = module_from_spec(spec_from_loader("tools_deploy", loader))
    loader.exec_module(module)
    monkeypatch.delenv("STACK", raising=False)
    return module


class FakeClusters:
    """tools/cluster as seen by tools/deploy: which clusters run, whether `up` works."""

    def __init__(self, running=(), real_starts=True, simulated_starts=True):
        self.running = set(running)  # "real" / "simulated"
        self.starts = {"real": real_starts, "simulated": simulated_starts}
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, *args: str, capture: bool = False) -> subprocess.CompletedProcess:
        self.calls.append(args)
        which = "real" if "--real" in args else "simulated"
        kubeconfig = f"/cache/{which}.kubeconfig"
        if args[0] == "up":
            ok = self.starts[which]
            if ok:
                self.running.add(which)
            return subprocess.CompletedProcess(args, 0 if ok else 1, stdout=f"log\n{kubeconfig}\n" if ok else "")
        if args[0] == "status":
            return subprocess.CompletedProcess(args, 0 if which in self.running else 1, stdout="")
        if args[0] == "kubeconfig":
            return subprocess.CompletedProcess(args, 0, stdout=f"{kubeconfig}\n")
        raise AssertionError(f"unexpected tools/cluster {args}")


def use(deploy, monkeypatch, clusters: FakeClusters, minikube_answers: bool) -> FakeClusters:
    monkeypatch.setattr(deploy, "cluster", clusters)
    monkeypatch.setattr(deploy, "reachable", lambda context, kubeconfig=None: minikube_answers and context == "minikube")
    return clusters


def test_up_uses_the_dev_stacks_minikube_when_it_answers(deploy, monkeypatch):
    clusters = use(deploy, monkeypatch, FakeClusters(), minikube_answers=True)
    assert deploy.choose("up") == ("dev", {})
    assert not any(call[0] == "up" for call in clusters.calls)


def test_up_without_minikube_starts_the_real_node_and_says_so(deploy, monkeypatch, capsys):
    use(deploy, monkeypatch, FakeClusters(), minikube_answers=False)
    assert deploy.choose("up") == ("embedded", {"KUBECONFIG": "/cache/real.kubeconfig"})
    said = capsys.readouterr().err
    assert "'minikube'" in said and "cannot be reached" in said and "real node" in said


def test_up_falls_back_to_simulated_pods_where_a_real_node_cannot_run(deploy, monkeypatch, capsys):
    use(deploy, monkeypatch, FakeClusters(real_starts=False), minikube_answers=False)
    assert deploy.choose("up") == ("simulated", {"KUBECONFIG": "/cache/simulated.kubeconfig"})
    assert "falling back to simulated pods" in capsys.readouterr().err


def test_up_fails_clearly_when_no_cluster_can_start(deploy, monkeypatch):
    use(deploy, monkeypatch, FakeClusters(real_starts=False, simulated_starts=False), minikube_answers=False)
    with pytest.raises(deploy.DeployError, match="the embedded cluster did not start"):
        deploy.choose("up")


def test_preview_follows_make_up_to_the_running_embedded_cluster(deploy, monkeypatch):
    clusters = use(deploy, monkeypatch, FakeClusters(running={"real"}), minikube_answers=False)
    assert deploy.choose("preview") == ("embedded", {"KUBECONFIG": "/cache/real.kubeconfig"})
    assert not any(call[0] == "up" for call in clusters.calls)  # preview never starts a cluster


def test_preview_with_nothing_to_reach_names_the_context_and_the_fix(deploy, monkeypatch):
    use(deploy, monkeypatch, FakeClusters(), minikube_answers=False)
    with pytest.raises(deploy.DeployError, match=r"'minikube'.*minikube start.*make up"):
        deploy.choose("preview")


def test_an_explicit_embedded_stack_whose_cluster_is_down_is_an_error_for_destroy(deploy, monkeypatch):
    use(deploy, monkeypatch, FakeClusters(), minikube_answers=False)
    monkeypatch.setenv("STACK", "embedded")
    with pytest.raises(deploy.DeployError, match="not running"):
        deploy.choose("destroy")


def test_an_unknown_stack_lists_the_stacks_there_are(deploy, monkeypatch):
    use(deploy, monkeypatch, FakeClusters(), minikube_answers=True)
    monkeypatch.setenv("STACK", "staging")
    with pytest.raises(deploy.DeployError, match=r"no stack config Pulumi\.staging\.yaml.*dev.*embedded"):
        deploy.choose("up")


def test_guardrails_run_with_the_stacks_own_policy_config(deploy):
    assert deploy.guardrails("prod") == [
        "--policy-pack", str(ROOT / "policy"), "--policy-pack-config", str(ROOT / "policy" / "prod.json"),
    ]
    assert deploy.guardrails("dev")[:2] == ["--policy-pack", str(ROOT / "policy")]


def test_an_unknown_verb_prints_the_usage(deploy, capsys):
    assert deploy.main(["deploy-everything"]) == 2
    assert "tools/deploy up" in capsys.readouterr().err
