"""`make up` / `make preview` / `make down`: which stack and which cluster tools/deploy picks.

The choice is what users meet first: their minikube when it answers; minikube
installed but stopped, a clear error and nothing started; no minikube and no
usable context, the embedded cluster (announced first) with a real node, else
simulated pods. The clusters, the sandbox build and the reachability probe are
stubbed here; tests/e2e/test_user_machine.py runs the real ones.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import tools.deploy
from tests.support.minikube import install_minikube
from tools.toolset import ROOT


@pytest.fixture
def deploy(monkeypatch):
    monkeypatch.delenv("STACK", raising=False)
    return tools.deploy  # what a test stubs on it, monkeypatch puts back


class FakeClusters:
    """sandbox/cluster as seen by tools/deploy: which clusters run, whether `up` works."""

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
        if args[0] == "down":
            self.running.discard(which)
            return subprocess.CompletedProcess(args, 0, stdout="")
        raise AssertionError(f"unexpected sandbox/cluster {args}")


def use(deploy, monkeypatch, clusters: FakeClusters, minikube_answers: bool, minikube_installed: bool = False,
        contexts: tuple[str, ...] = (), real_node_blocker: str | None = None) -> FakeClusters:
    monkeypatch.setattr(deploy, "cluster", clusters)
    monkeypatch.setattr(deploy, "reachable", lambda context, kubeconfig=None: minikube_answers and context == "minikube")
    monkeypatch.setattr(deploy, "context_exists", lambda context: context in contexts)
    monkeypatch.setattr(deploy, "minikube_installed", lambda: minikube_installed)
    monkeypatch.setattr(deploy, "install_sandbox", lambda *groups: clusters.calls.append(("toolchain", *groups)))
    monkeypatch.setattr(deploy, "real_node_prerequisites", lambda: real_node_blocker)
    return clusters


def started_clusters(clusters: FakeClusters) -> list[tuple[str, ...]]:
    return [call for call in clusters.calls if call[0] in ("up", "toolchain")]


def test_up_uses_the_dev_stacks_minikube_when_it_answers(deploy, monkeypatch):
    clusters = use(deploy, monkeypatch, FakeClusters(), minikube_answers=True, minikube_installed=True)
    assert deploy.choose("up") == ("dev", {})
    assert started_clusters(clusters) == []  # nothing built, nothing started


def test_up_with_minikube_installed_but_stopped_says_so_and_starts_nothing(deploy, monkeypatch):
    clusters = use(deploy, monkeypatch, FakeClusters(), minikube_answers=False, minikube_installed=True,
                   contexts=("minikube",))
    with pytest.raises(deploy.DeployError) as error:
        deploy.choose("up")
    assert str(error.value) == (
        "minikube is not running: `minikube start` (or use the embedded cluster: `make up STACK=real-node`)"
    )
    assert started_clusters(clusters) == []


def test_up_with_minikube_installed_but_never_started_says_so_too(deploy, monkeypatch):
    clusters = use(deploy, monkeypatch, FakeClusters(), minikube_answers=False, minikube_installed=True)
    with pytest.raises(deploy.DeployError, match="^minikube is not running: `minikube start`"):
        deploy.choose("up")
    assert started_clusters(clusters) == []


def test_up_without_minikube_announces_the_embedded_cluster_then_starts_the_real_node(deploy, monkeypatch, capsys):
    monkeypatch.setenv("PYTHON_SHOP_CACHE", "/srv/shop-cache")
    clusters = use(deploy, monkeypatch, FakeClusters(), minikube_answers=False)
    assert deploy.choose("up") == ("real-node", {"KUBECONFIG": "/cache/real.kubeconfig"})
    said = capsys.readouterr().err
    assert "no kube context 'minikube' answers and minikube is not installed" in said
    assert "about 25 minutes" in said and "`make down` removes" in said
    assert said.index("embedded cluster: a Kubernetes control plane") < said.index("sandbox/cluster up --real")
    assert "state in /srv/shop-cache. Its first start" in said  # where PYTHON_SHOP_CACHE puts it
    assert started_clusters(clusters) == [("toolchain", "kube"), ("up", "--real")]


def test_up_falls_back_to_simulated_pods_where_a_real_node_cannot_run(deploy, monkeypatch, capsys):
    clusters = use(deploy, monkeypatch, FakeClusters(), minikube_answers=False,
                   real_node_blocker="a real node needs root (containers, mounts, iptables)")
    assert deploy.choose("up") == ("simulated-node", {"KUBECONFIG": "/cache/simulated.kubeconfig"})
    assert "no real node: a real node needs root" in capsys.readouterr().err
    assert ("up", "--real") not in clusters.calls


def test_up_falls_back_to_simulated_pods_when_the_real_node_fails_to_start(deploy, monkeypatch, capsys):
    use(deploy, monkeypatch, FakeClusters(real_starts=False), minikube_answers=False)
    assert deploy.choose("up") == ("simulated-node", {"KUBECONFIG": "/cache/simulated.kubeconfig"})
    assert "no real node: it did not start" in capsys.readouterr().err


def test_up_fails_clearly_when_no_cluster_can_start(deploy, monkeypatch):
    use(deploy, monkeypatch, FakeClusters(real_starts=False, simulated_starts=False), minikube_answers=False)
    with pytest.raises(deploy.DeployError, match="the embedded cluster did not start"):
        deploy.choose("up")


def test_up_to_a_named_context_that_does_not_answer_is_an_error_not_a_fallback(deploy, monkeypatch):
    clusters = use(deploy, monkeypatch, FakeClusters(), minikube_answers=False, contexts=("production",))
    monkeypatch.setenv("STACK", "prod")
    with pytest.raises(deploy.DeployError, match="kube context 'production' of stack prod does not answer"):
        deploy.choose("up")
    assert started_clusters(clusters) == []


def test_preview_follows_make_up_to_the_running_embedded_cluster(deploy, monkeypatch):
    clusters = use(deploy, monkeypatch, FakeClusters(running={"real"}), minikube_answers=False)
    assert deploy.choose("preview") == ("real-node", {"KUBECONFIG": "/cache/real.kubeconfig"})
    assert started_clusters(clusters) == []  # preview never starts a cluster


def test_preview_with_nothing_to_reach_names_the_context_and_the_fix(deploy, monkeypatch):
    use(deploy, monkeypatch, FakeClusters(), minikube_answers=False)
    with pytest.raises(deploy.DeployError, match=r"'minikube'.*minikube start.*make up"):
        deploy.choose("preview")


def test_an_explicit_sandbox_stack_whose_cluster_is_down_is_an_error_for_preview(deploy, monkeypatch):
    use(deploy, monkeypatch, FakeClusters(), minikube_answers=False)
    monkeypatch.setenv("STACK", "real-node")
    with pytest.raises(deploy.DeployError, match="not running: `make up STACK=real-node` starts it"):
        deploy.choose("preview")


def test_a_sandbox_stack_asked_for_by_its_former_name_says_its_name_now_and_starts_nothing(deploy, monkeypatch):
    clusters = use(deploy, monkeypatch, FakeClusters(), minikube_answers=False)
    for old, new in (("simulated", "simulated-node"), ("embedded", "real-node")):
        monkeypatch.setenv("STACK", old)
        with pytest.raises(deploy.DeployError) as error:
            deploy.refuse_former_names()
        assert str(error.value) == f"stack {old} is what an earlier version called {new}: use STACK={new}"
    assert clusters.calls == []


def test_an_unknown_stack_lists_the_stacks_there_are(deploy, monkeypatch):
    use(deploy, monkeypatch, FakeClusters(), minikube_answers=True)
    monkeypatch.setenv("STACK", "staging")
    with pytest.raises(deploy.DeployError, match=r"no stack config Pulumi\.staging\.yaml.*dev, prod, real-node, simulated-node"):
        deploy.choose("up")


def test_down_with_nothing_deployed_anywhere_says_so(deploy, monkeypatch, capsys):
    clusters = use(deploy, monkeypatch, FakeClusters(), minikube_answers=False)
    deploy.down()
    assert "nothing to remove: no embedded cluster runs and there is no kube context 'minikube'" in capsys.readouterr().err
    assert started_clusters(clusters) == []


def test_down_with_minikube_stopped_says_so(deploy, monkeypatch):
    use(deploy, monkeypatch, FakeClusters(), minikube_answers=False, minikube_installed=True, contexts=("minikube",))
    with pytest.raises(deploy.DeployError, match="^minikube is not running"):
        deploy.down()


def test_guardrails_run_with_the_stacks_own_policy_config(deploy):
    assert deploy.guardrails("prod") == [
        "--policy-pack", str(ROOT / "policy"), "--policy-pack-config", str(ROOT / "policy" / "prod.json"),
    ]
    assert deploy.guardrails("dev")[:2] == ["--policy-pack", str(ROOT / "policy")]


def test_an_unknown_verb_prints_the_usage(deploy, capsys):
    assert deploy.main(["deploy-everything"]) == 2
    assert deploy.main(["destroy"]) == 2  # `make down` is the one removal verb
    assert "tools/deploy up" in capsys.readouterr().err


# --- images: what `make up` builds, and where ------------------------------------------------

@pytest.fixture
def fake_minikube(tmp_path, monkeypatch):
    """Installs the minikube stand-in (tests/support/minikube.py, after minikube's source) on PATH,
    holding the images given; returns its call log."""

    def install(*images: str) -> Path:
        log = tmp_path / "calls"
        install_minikube(tmp_path / "bin", log, images=images)
        monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:/usr/bin:/bin")
        return log

    return install


def test_up_builds_in_minikube_only_the_image_it_lacks(deploy, fake_minikube):
    backend, frontend = (subprocess.run([sys.executable, str(ROOT / "infra/app_images.py"), app], capture_output=True,
                                        text=True, check=True).stdout.strip() for app in ("backend", "frontend"))
    log = fake_minikube("registry.k8s.io/pause:3.10", backend)
    deploy.ensure_images("dev")
    builds = [line for line in log.read_text().splitlines() if " build " in line]
    assert builds == [f"--profile minikube image build -t {frontend} {ROOT}/frontend"]


def test_up_builds_nothing_when_minikube_has_both_images(deploy, fake_minikube):
    log = fake_minikube(*(deploy.app_images.reference(a) for a in ("backend", "frontend")))
    deploy.ensure_images("dev")
    assert [line for line in log.read_text().splitlines() if " build " in line] == []


def test_images_the_stack_names_are_never_built(deploy, fake_minikube, monkeypatch):
    log = fake_minikube()
    monkeypatch.setattr(deploy, "stack_config", lambda stack: {
        "kubernetes:context": "minikube",
        "python-shop:backendImage": "registry.example.com/shop/python-shop-backend:1.4.2",
        "python-shop:frontendImage": "registry.example.com/shop/python-shop-frontend:1.4.2",
    })
    deploy.ensure_images("dev")
    assert not log.exists() or " build " not in log.read_text()


def test_the_embedded_node_gets_its_images_from_tools_cluster_and_simulated_pods_none(deploy, monkeypatch):
    calls = []
    monkeypatch.setattr(deploy, "cluster", lambda *args, capture=False: calls.append(args) or
                        subprocess.CompletedProcess(args, 0, stdout=""))
    deploy.ensure_images("real-node")
    deploy.ensure_images("simulated-node")
    assert calls == [("images", "--real")]


def test_another_cluster_is_told_how_to_supply_the_images(deploy, monkeypatch, capsys):
    monkeypatch.setattr(deploy, "stack_config", lambda stack: {"kubernetes:context": "production"})
    monkeypatch.setattr(deploy, "minikube_installed", lambda: False)
    deploy.ensure_images("prod")
    said = capsys.readouterr().err
    assert "kube context 'production' is neither minikube (no minikube is installed) nor the embedded cluster" in said
    assert "set python-shop:backendImage / python-shop:frontendImage" in said


def test_up_carries_on_in_the_embedded_cluster_an_earlier_up_started_without_announcing_it(
        deploy, monkeypatch, capsys):
    clusters = use(deploy, monkeypatch, FakeClusters(running=("real",)), minikube_answers=False)
    assert deploy.choose("up") == ("real-node", {"KUBECONFIG": "/cache/real.kubeconfig"})
    assert started_clusters(clusters) == []
    assert "no kube context" not in capsys.readouterr().err


# --- stacks and clusters as an earlier version named them -------------------------------------

class FakeBackend:
    """`pulumi` as Pulumi (tools/deploy) calls it: a backend holding `stacks`."""

    def __init__(self, *stacks: str):
        self.stacks = set(stacks)
        self.calls: list[tuple[tuple[str, ...], str | None]] = []

    def __call__(self, *args: str, env, tools, check, timeout, stream=False) -> subprocess.CompletedProcess:
        self.calls.append((args, env.get("KUBECONFIG")))
        ok = True
        if args[:2] == ("stack", "select"):
            name = args[-1]
            ok = name in self.stacks or "--create" in args
            if ok:
                self.stacks.add(name)
        return subprocess.CompletedProcess(args, 0 if ok else 255, stdout="", stderr="" if ok else "no stack")


@pytest.fixture
def backend(deploy, monkeypatch):
    def use_backend(*stacks: str) -> FakeBackend:
        fake = FakeBackend(*stacks)
        monkeypatch.setattr(deploy, "pulumi", fake)
        monkeypatch.setattr(deploy, "find_tools", lambda install=True: deploy.Tools(Path("/usr/bin/pulumi"), False))
        monkeypatch.setenv("PULUMI_BACKEND_URL", "file:///nowhere")
        return fake
    return use_backend


def test_a_stack_left_under_its_former_name_is_named_with_the_commands_never_duplicated(deploy, backend):
    pulumi = backend("embedded", "dev")
    with pytest.raises(deploy.DeployError) as error:
        deploy.Pulumi(deploy.find_tools(), "real-node", {}).select()
    assert str(error.value) == (
        "stack embedded is what an earlier version called real-node: `pulumi stack rename real-node --stack embedded` "
        "keeps its state under the new name (or `pulumi stack rm --force embedded` drops it), then run this again")
    assert pulumi.stacks == {"embedded", "dev"}  # nothing created beside it, nothing renamed


def test_a_stack_with_neither_name_is_created_and_an_absent_one_is_not(deploy, backend):
    pulumi = backend("dev")
    assert deploy.Pulumi(deploy.find_tools(), "simulated-node", {}).select(create=False) is False
    assert pulumi.stacks == {"dev"}
    assert deploy.Pulumi(deploy.find_tools(), "simulated-node", {}).select() is True
    assert pulumi.stacks == {"dev", "simulated-node"}
    assert not [args for args, _ in pulumi.calls if args[1] == "rename"]


@pytest.fixture
def former_cluster(tmp_path, monkeypatch):
    """The cache of a machine where an earlier version's simulated cluster (python-shop) was left."""
    monkeypatch.setenv("PYTHON_SHOP_CACHE", str(tmp_path))
    monkeypatch.delenv("PYTHON_SHOP_CLUSTER", raising=False)
    state = tmp_path / "kwok" / "clusters" / "python-shop"
    state.mkdir(parents=True)
    (state / "kwok.yaml").write_text("kind: KwokctlConfiguration\n")
    return state


def test_the_former_simulated_cluster_is_named_with_the_commands_and_left_as_it_is(deploy, monkeypatch,
                                                                                     former_cluster):
    monkeypatch.setattr(deploy, "cluster", lambda *args, capture=False: pytest.fail(f"sandbox/cluster {args}"))
    with pytest.raises(deploy.DeployError) as error:
        deploy.refuse_former_names()
    assert str(error.value) == (
        "cluster python-shop is the sandbox's simulated cluster as an earlier version named it (its pods were "
        "simulated: nothing ran there): remove it with `sandbox/cluster down --name python-shop` and its stack with "
        "`pulumi stack rm --force simulated`, then run this again")
    assert (former_cluster / "kwok.yaml").exists()
    (former_cluster / "kwok.yaml").unlink()  # removed as it says: nothing more to say
    deploy.refuse_former_names()
