"""`make up` / `make preview` / `make down`: which target the verbs get, and what each target does.

The choice is what users meet first: their minikube when it answers; minikube installed but
stopped, a clear error and nothing started; no minikube and no usable context, the embedded
cluster (announced first) with a real node, else simulated pods. The machine is handed to
`detect` and the sandbox's targets as fakes (Places, a fake `sandbox/cluster`, a fake pulumi);
tests/e2e/test_user_machine.py and test_main_job.py run the real ones.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sandbox import targets as sandbox_targets
from tests.support.minikube import install_minikube
from tools import deploy, targets
from tools.targets import DeployError, Places, Target, detect
from tools.toolset import ROOT, Tools

VERB = "make up STACK=real-node"


@pytest.fixture(autouse=True)
def no_stack(monkeypatch):
    monkeypatch.delenv("STACK", raising=False)


class FakeClusters:
    """sandbox/cluster as the sandbox's targets call it: which clusters run, whether `up` works."""

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
        if args[0] in ("kubeconfig", "images"):
            return subprocess.CompletedProcess(args, 0, stdout=f"{kubeconfig}\n")
        if args[0] == "down":
            self.running.discard(which)
            return subprocess.CompletedProcess(args, 0, stdout="")
        raise AssertionError(f"unexpected sandbox/cluster {args}")

    def probe(self, stack: str) -> str | None:
        """sandbox/targets.answering's answer: the kubeconfig of the stack's cluster if it runs."""
        which = "real" if stack == "real-node" else "simulated"
        return f"/cache/{which}.kubeconfig" if which in self.running else None

    def started(self) -> list[tuple[str, ...]]:
        return [call for call in self.calls if call[0] in ("up", "toolchain")]


def machine(clusters: FakeClusters, minikube_answers: bool, minikube_installed: bool = False,
            contexts: tuple[str, ...] = (), real_node_blocker: str | None = None) -> Places:
    """The machine as detect() sees it: the sandbox's own running/start, over a fake sandbox/cluster."""
    def install(*groups: str) -> None:
        clusters.calls.append(("toolchain", *groups))

    return Places(
        reachable=lambda context: minikube_answers and context == "minikube",
        context_exists=lambda context: context in contexts,
        minikube_installed=lambda: minikube_installed,
        yours=lambda stack: Target(stack),
        sandbox_stacks=sandbox_targets.STACKS,
        running=lambda stack: sandbox_targets.running(stack, cluster=clusters, probe=clusters.probe),
        start=lambda stack: sandbox_targets.start(stack, cluster=clusters, install=install,
                                                  prerequisites=lambda: real_node_blocker),
        announce=sandbox_targets.announce,
    )


def where(target: Target) -> tuple[str, dict[str, str]]:
    return target.stack, target.env()


# --- detect: which target ------------------------------------------------------------------------

def test_up_uses_the_dev_stacks_minikube_when_it_answers():
    clusters = FakeClusters()
    assert where(detect("up", None, machine(clusters, minikube_answers=True, minikube_installed=True), VERB)) == ("dev", {})
    assert clusters.started() == []  # nothing built, nothing started


def test_up_with_minikube_installed_but_stopped_says_so_and_starts_nothing():
    clusters = FakeClusters()
    with pytest.raises(DeployError) as error:
        detect("up", None, machine(clusters, False, minikube_installed=True, contexts=("minikube",)), VERB)
    assert str(error.value) == (
        "minikube is not running: `minikube start` (or use the embedded cluster: `make up STACK=real-node`)"
    )
    assert clusters.started() == []


def test_up_with_minikube_installed_but_never_started_says_so_too():
    clusters = FakeClusters()
    with pytest.raises(DeployError, match="^minikube is not running: `minikube start`"):
        detect("up", None, machine(clusters, False, minikube_installed=True), VERB)
    assert clusters.started() == []


def test_up_without_minikube_announces_the_embedded_cluster_then_starts_the_real_node(monkeypatch, capsys):
    monkeypatch.setenv("PYTHON_SHOP_CACHE", "/srv/shop-cache")
    clusters = FakeClusters()
    target = detect("up", None, machine(clusters, False), VERB)
    assert where(target) == ("real-node", {"KUBECONFIG": "/cache/real.kubeconfig"})
    assert isinstance(target, sandbox_targets.RealNode)
    said = capsys.readouterr().err
    assert "no kube context 'minikube' answers and minikube is not installed" in said
    assert "about 25 minutes" in said and "`make down` removes" in said
    assert said.index("embedded cluster: a Kubernetes control plane") < said.index("sandbox/cluster up --real")
    assert "state in /srv/shop-cache. Its first start" in said  # where PYTHON_SHOP_CACHE puts it
    assert clusters.started() == [("toolchain", "kube"), ("up", "--real")]


def test_up_falls_back_to_simulated_pods_where_a_real_node_cannot_run(capsys):
    clusters = FakeClusters()
    places = machine(clusters, False, real_node_blocker="a real node needs root (containers, mounts, iptables)")
    target = detect("up", None, places, VERB)
    assert where(target) == ("simulated-node", {"KUBECONFIG": "/cache/simulated.kubeconfig"})
    assert isinstance(target, sandbox_targets.SimulatedNode)
    assert "no real node: a real node needs root" in capsys.readouterr().err
    assert ("up", "--real") not in clusters.calls


def test_up_falls_back_to_simulated_pods_when_the_real_node_fails_to_start(capsys):
    target = detect("up", None, machine(FakeClusters(real_starts=False), False), VERB)
    assert where(target) == ("simulated-node", {"KUBECONFIG": "/cache/simulated.kubeconfig"})
    assert "no real node: it did not start" in capsys.readouterr().err


def test_up_fails_clearly_when_no_cluster_can_start():
    with pytest.raises(DeployError, match="the embedded cluster did not start"):
        detect("up", None, machine(FakeClusters(real_starts=False, simulated_starts=False), False), VERB)


def test_up_to_a_named_context_that_does_not_answer_is_an_error_not_a_fallback():
    clusters = FakeClusters()
    with pytest.raises(DeployError, match="kube context 'production' of stack prod does not answer"):
        detect("up", "prod", machine(clusters, False, contexts=("production",)), VERB)
    assert clusters.started() == []


def test_up_carries_on_in_the_embedded_cluster_an_earlier_up_started_without_announcing_it(capsys):
    clusters = FakeClusters(running=("real",))
    assert where(detect("up", None, machine(clusters, False), VERB)) == ("real-node", {"KUBECONFIG": "/cache/real.kubeconfig"})
    assert clusters.started() == []
    assert "no kube context" not in capsys.readouterr().err


def test_an_explicit_simulated_stack_starts_simulated_pods_without_trying_a_real_node(capsys):
    clusters = FakeClusters()
    target = detect("up", "simulated-node", machine(clusters, False), VERB)
    assert where(target) == ("simulated-node", {"KUBECONFIG": "/cache/simulated.kubeconfig"})
    assert ("up", "--real") not in clusters.calls
    assert "no real node: the simulated stack was asked for" in capsys.readouterr().err


def test_preview_follows_make_up_to_the_running_embedded_cluster():
    clusters = FakeClusters(running={"real"})
    target = detect("preview", None, machine(clusters, False), VERB)
    assert where(target) == ("real-node", {"KUBECONFIG": "/cache/real.kubeconfig"})
    assert clusters.started() == []  # preview never starts a cluster


def test_preview_with_nothing_to_reach_names_the_context_and_the_fix():
    with pytest.raises(DeployError, match=r"'minikube'.*minikube start.*make up"):
        detect("preview", None, machine(FakeClusters(), False), VERB)


def test_an_explicit_sandbox_stack_whose_cluster_is_down_is_an_error_for_preview():
    with pytest.raises(DeployError, match="not running: `make up STACK=real-node` starts it"):
        detect("preview", "real-node", machine(FakeClusters(), False), VERB)


def test_an_unknown_stack_lists_the_stacks_there_are():
    with pytest.raises(DeployError, match=r"no stack config Pulumi\.staging\.yaml.*dev, prod, real-node, simulated-node"):
        detect("up", "staging", machine(FakeClusters(), True), VERB)


def test_your_own_context_is_a_minikube_target_only_where_minikube_is_installed(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert type(targets.yours("prod")) is Target
    install_minikube(tmp_path, tmp_path / "calls")
    assert type(targets.yours("prod")) is targets.Minikube
    assert targets.yours("dev").fixed_passphrase and not targets.yours("prod").fixed_passphrase


# --- the verbs over a target ---------------------------------------------------------------------

def test_down_with_nothing_deployed_anywhere_says_so(capsys):
    clusters = FakeClusters()
    deploy.down(machine(clusters, False))
    assert "nothing to remove: no embedded cluster runs and there is no kube context 'minikube'" in capsys.readouterr().err
    assert clusters.started() == []


def test_down_with_minikube_stopped_says_so():
    with pytest.raises(DeployError, match="^minikube is not running"):
        deploy.down(machine(FakeClusters(), False, minikube_installed=True, contexts=("minikube",)))


def test_guardrails_run_with_the_stacks_own_policy_config():
    assert deploy.guardrails("prod") == [
        "--policy-pack", str(ROOT / "policy"), "--policy-pack-config", str(ROOT / "policy" / "prod.json"),
    ]
    assert deploy.guardrails("dev")[:2] == ["--policy-pack", str(ROOT / "policy")]


def test_an_unknown_verb_prints_the_usage(capsys):
    assert deploy.main(["deploy-everything"]) == 2
    assert deploy.main(["destroy"]) == 2  # `make down` is the one removal verb
    assert "tools/deploy up" in capsys.readouterr().err


# --- images: what each target does with the images built from source --------------------------

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


def builds(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if " build " in line] if log.exists() else []


def test_minikube_builds_only_the_image_it_lacks(fake_minikube):
    backend, frontend = (subprocess.run([sys.executable, str(ROOT / "infra/app_images.py"), app], capture_output=True,
                                        text=True, check=True).stdout.strip() for app in ("backend", "frontend"))
    log = fake_minikube("registry.k8s.io/pause:3.10", backend)
    targets.Minikube("dev").put_images()
    assert builds(log) == [f"--profile minikube image build -t {frontend} {ROOT}/frontend"]


def test_minikube_builds_nothing_when_it_has_both_images(fake_minikube):
    log = fake_minikube(*(targets.app_images.reference(a) for a in ("backend", "frontend")))
    targets.Minikube("dev").put_images()
    assert builds(log) == []


def test_images_the_stack_names_are_never_built(fake_minikube):
    log = fake_minikube()
    targets.Minikube("prod").put_images()  # Pulumi.prod.yaml names both images
    assert builds(log) == []


def test_the_real_node_gets_its_images_from_sandbox_cluster_and_simulated_pods_none():
    clusters = FakeClusters()
    sandbox_targets.RealNode("real-node", "/k", run_cluster=clusters).put_images()
    sandbox_targets.SimulatedNode("simulated-node", "/k", run_cluster=clusters).put_images()
    assert clusters.calls == [("images", "--real")]


def test_another_cluster_is_told_how_to_supply_the_images(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no minikube
    Target("simulated-node").put_images()  # as your own cluster: a context that is no minikube
    said = capsys.readouterr().err
    assert ("kube context 'kwok-python-shop-simulated' is neither minikube (no minikube is installed) nor the "
            "embedded cluster") in said
    assert "set python-shop:backendImage / python-shop:frontendImage" in said


def test_an_embedded_target_stops_its_own_cluster_after_destroy():
    clusters = FakeClusters(running={"real", "simulated"})
    sandbox_targets.RealNode("real-node", "/k", run_cluster=clusters).after_destroy()
    assert clusters.running == {"simulated"}
    Target("dev").after_destroy()  # your cluster: nothing of it is stopped


# --- stacks and clusters as an earlier version named them -------------------------------------

def test_a_sandbox_stack_asked_for_by_its_former_name_says_its_name_now_and_starts_nothing(monkeypatch):
    for old, new in (("simulated", "simulated-node"), ("embedded", "real-node")):
        monkeypatch.setenv("STACK", old)
        with pytest.raises(DeployError) as error:
            sandbox_targets.places()
        assert str(error.value) == f"stack {old} is what an earlier version called {new}: use STACK={new}"


class FakeBackend:
    """`pulumi` as the verbs' Pulumi calls it: a backend holding `stacks`."""

    def __init__(self, *stacks: str):
        self.stacks = set(stacks)
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, *args: str, env, tools, check, timeout, stream=False) -> subprocess.CompletedProcess:
        self.calls.append(args)
        ok = True
        if args[:2] == ("stack", "select"):
            name = args[-1]
            ok = name in self.stacks or "--create" in args
            if ok:
                self.stacks.add(name)
        return subprocess.CompletedProcess(args, 0 if ok else 255, stdout="", stderr="" if ok else "no stack")


@pytest.fixture
def backend(monkeypatch):
    monkeypatch.setenv("PULUMI_BACKEND_URL", "file:///nowhere")

    def runner(*stacks: str) -> tuple[FakeBackend, Tools]:
        return FakeBackend(*stacks), Tools(Path("/usr/bin/pulumi"), False)
    return runner


def test_a_stack_left_under_its_former_name_is_named_with_the_commands_never_duplicated(backend):
    pulumi, tools = backend("embedded", "dev")
    with pytest.raises(DeployError) as error:
        deploy.Pulumi(tools, sandbox_targets.RealNode("real-node", "/k"), runner=pulumi).select()
    assert str(error.value) == (
        "stack embedded is what an earlier version called real-node: `pulumi stack rename real-node --stack embedded` "
        "keeps its state under the new name (or `pulumi stack rm --force embedded` drops it), then run this again")
    assert pulumi.stacks == {"embedded", "dev"}  # nothing created beside it, nothing renamed


def test_a_stack_with_neither_name_is_created_and_an_absent_one_is_not(backend):
    pulumi, tools = backend("dev")
    target = sandbox_targets.SimulatedNode("simulated-node", "/k")
    assert deploy.Pulumi(tools, target, runner=pulumi).select(create=False) is False
    assert pulumi.stacks == {"dev"}
    assert deploy.Pulumi(tools, target, runner=pulumi).select() is True
    assert pulumi.stacks == {"dev", "simulated-node"}


def test_the_fixed_passphrase_is_the_targets_call_not_the_users(backend, monkeypatch):
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "mine")
    pulumi, tools = backend()
    assert deploy.Pulumi(tools, targets.yours("dev"), runner=pulumi).env["PULUMI_CONFIG_PASSPHRASE"] == "python-shop-local"
    assert deploy.Pulumi(tools, Target("prod"), runner=pulumi).env["PULUMI_CONFIG_PASSPHRASE"] == "mine"


@pytest.fixture
def former_cluster(tmp_path, monkeypatch):
    """The cache of a machine where an earlier version's simulated cluster (python-shop) was left."""
    monkeypatch.setenv("PYTHON_SHOP_CACHE", str(tmp_path))
    monkeypatch.delenv("PYTHON_SHOP_CLUSTER", raising=False)
    state = tmp_path / "kwok" / "clusters" / "python-shop"
    state.mkdir(parents=True)
    (state / "kwok.yaml").write_text("kind: KwokctlConfiguration\n")
    return state


def test_the_former_simulated_cluster_is_named_with_the_commands_and_left_as_it_is(former_cluster):
    with pytest.raises(DeployError) as error:
        sandbox_targets.places()
    assert str(error.value) == (
        "cluster python-shop is the sandbox's simulated cluster as an earlier version named it (its pods were "
        "simulated: nothing ran there): remove it with `sandbox/cluster down --name python-shop` and its stack with "
        "`pulumi stack rm --force simulated`, then run this again")
    assert (former_cluster / "kwok.yaml").exists()
    (former_cluster / "kwok.yaml").unlink()  # removed as it says: nothing more to say
    sandbox_targets.places()


def test_a_sandbox_cluster_that_was_never_made_is_not_running(monkeypatch, tmp_path):
    monkeypatch.setenv("PYTHON_SHOP_CACHE", str(tmp_path))
    assert sandbox_targets.answering("real-node") is None
    assert sandbox_targets.answering("simulated-node") is None
    assert sandbox_targets.running("simulated-node") is None
