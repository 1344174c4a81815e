"""The sandbox's two targets for the verbs (tools/targets.py): its embedded cluster with a real
node, and with kwok's simulated one. Each has its own cluster, context and stack, named after it
(README.md here); the verbs hold them as Targets and never ask which one they hold."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import sandbox
from sandbox import real_node
from tools.targets import (
    DeployError,
    Places,
    Target,
    node_port_page,
    page_answers,
    reachable,
    rolled_out,
    say,
    source_images,
    yours,
)
from tools.toolset import ROOT, ToolsError, install_sandbox

REAL_NODE_STACK = "real-node"  # the embedded cluster with a real node: Pulumi.real-node.yaml
SIMULATED_NODE_STACK = "simulated-node"  # ... with kwok's simulated node: Pulumi.simulated-node.yaml
STACKS = (REAL_NODE_STACK, SIMULATED_NODE_STACK)
REAL_NODE_VERB = f"make up STACK={REAL_NODE_STACK}"


def cluster(*args: str, capture: bool = False) -> subprocess.CompletedProcess:
    return sandbox.cluster(*args, show_log=not capture)


Cluster = Callable[..., subprocess.CompletedProcess]  # `sandbox/cluster <args>`, as cluster() runs it


@dataclass
class Embedded(Target):
    """The embedded cluster of one of the sandbox's stacks; `flags`: its `sandbox/cluster` flags."""

    fixed_passphrase: bool = True  # throwaway stacks whose files carry the salt of the fixed passphrase
    run_cluster: Cluster = field(default=cluster, repr=False, compare=False)  # tests hand in a fake

    @property
    def flags(self) -> list[str]:
        return []

    def after_destroy(self) -> None:
        self.run_cluster("down", *self.flags)

    def inspect(self, namespace: str | None) -> str:
        return f"KUBECONFIG={self.kubeconfig} kubectl get all -n {namespace}"


class RealNode(Embedded):
    """A real node runs the shop's containers: its images are built and imported, its page answers."""

    former_stack = "embedded"  # its name before 2026-12-01 (FORMER_STACKS)

    @property
    def flags(self) -> list[str]:
        return ["--real"]

    def put_images(self) -> None:
        if source_images(self.stack) and self.run_cluster("images", "--real").returncode != 0:
            raise DeployError("the images could not be put into the embedded cluster's node (see above)")

    def verify(self, outputs: dict, env: dict[str, str]) -> None:
        rolled_out(self, outputs.get("namespace"), env)
        port = outputs.get("frontendNodePort")
        page_answers(node_port_page(f"http://127.0.0.1:{port}/", outputs.get("builds")), f"at http://127.0.0.1:{port}/")

    def describe(self, outputs: dict) -> None:
        say(f"deployed to the embedded cluster (real node, context {self.context}); inspect: "
            f"{self.inspect(outputs.get('namespace'))}")
        print(f"The shop: http://127.0.0.1:{outputs.get('frontendNodePort')}/")


class SimulatedNode(Embedded):
    """kwok simulates the node and its pods: no image is needed and no page can answer."""

    former_stack = "simulated"  # its name before 2026-12-01 (FORMER_STACKS)

    def put_images(self) -> None:
        pass

    def verify(self, outputs: dict, env: dict[str, str]) -> None:
        pass

    def describe(self, outputs: dict) -> None:
        say(
            f"deployed to the embedded cluster (context {self.context}): the API server, scheduler and "
            "controllers are real, the node and its pods are simulated by kwok, so no container runs and "
            f"NodePort {outputs.get('frontendNodePort')} serves nothing. Inspect: "
            f"{self.inspect(outputs.get('namespace'))}; browse the shop itself with `make dev`."
        )


def target(stack: str, kubeconfig: str, cluster: Cluster = cluster) -> Embedded:
    return (RealNode if stack == REAL_NODE_STACK else SimulatedNode)(stack, kubeconfig, run_cluster=cluster)


def answering(stack: str) -> str | None:
    """The kubeconfig of `stack`'s cluster if it runs: its API server answers and, for the real
    node, the node's processes are alive. In this process (one kubectl call), not by asking
    `sandbox/cluster status`: the verbs ask this on every run."""
    real = stack == REAL_NODE_STACK
    name = f"{sandbox.base_name()}-{'real' if real else 'simulated'}"
    kubeconfig = sandbox.kubeconfig_path(name)
    if not kubeconfig.exists() or (real and not all(real_node.alive(p) for p in real_node.NODE_PROCESSES)):
        return None
    return str(kubeconfig) if reachable(None, str(kubeconfig)) else None


def running(stack: str, cluster: Cluster = cluster,
            probe: Callable[[str], str | None] = answering) -> Embedded | None:
    """The target of `stack` if its cluster runs (`probe`: its kubeconfig then, else None)."""
    kubeconfig = probe(stack)
    return target(stack, kubeconfig, cluster) if kubeconfig else None


def real_node_prerequisites() -> str | None:
    """Install what the real node needs; None when it can run, else why not."""
    if os.geteuid() != 0:
        return "a real node needs root (containers, mounts, iptables)"
    packages = subprocess.run([sys.executable, "-m", "sandbox.system_packages", "node"], cwd=ROOT)
    if packages.returncode != 0:
        return "its system packages could not be installed (see above)"
    try:
        install_sandbox("node")
    except ToolsError as exc:
        return str(exc)
    return None


def start(stack: str | None, cluster: Cluster = cluster,
          prerequisites: Callable[[], str | None] = real_node_prerequisites,
          install: Callable[..., None] = install_sandbox) -> Embedded:
    """Start the real-node cluster (unless the simulated stack was asked for), or where that
    cannot run here, the simulated one. The sandbox's build (`install`), the real node's needs and
    `sandbox/cluster` itself are parameters: the unit tests hand in fakes."""
    install("kube")
    blocker = prerequisites() if stack != SIMULATED_NODE_STACK else "the simulated stack was asked for"
    if blocker is None:
        say("starting the embedded cluster with a real node (sandbox/cluster up --real)")
        started = cluster("up", "--real")
        if started.returncode == 0:
            return target(REAL_NODE_STACK, started.stdout.strip().splitlines()[-1], cluster)
        blocker = "it did not start (see above)"
    say(f"no real node: {blocker}; the embedded cluster runs simulated pods instead (sandbox/cluster up)")
    simulated = cluster("up")
    if simulated.returncode != 0:
        raise DeployError("the embedded cluster did not start (see above)")
    return target(SIMULATED_NODE_STACK, simulated.stdout.strip().splitlines()[-1], cluster)


def announce(context: str | None) -> None:
    say(
        f"no kube context {context!r} answers and minikube is not installed, so this deploys to the project's "
        "embedded cluster: a Kubernetes control plane and one node run as processes on this machine, state in "
        f"{sandbox.cache_root()}. Its first start builds them from source with Go (about 25 minutes, once per "
        "machine); later starts take seconds. `make down` removes the shop and this cluster."
    )


# What versions before 2026-12-01 called the sandbox's stacks (the targets' former_stack) and its
# simulated cluster (the base name alone). Met, they are named with the command that moves or removes
# them; nothing of a user's own cluster is involved. Remove these after 2027-03-01.
FORMER_STACKS = {RealNode.former_stack: REAL_NODE_STACK, SimulatedNode.former_stack: SIMULATED_NODE_STACK}


def refuse_former_names(stack: str | None) -> None:
    """STACK= with a sandbox stack's former name, or the simulated cluster under its former name:
    an error that says what it is now and the command that removes it."""
    if stack in FORMER_STACKS:
        raise DeployError(f"stack {stack} is what an earlier version called {FORMER_STACKS[stack]}: use "
                          f"STACK={FORMER_STACKS[stack]}")
    name = sandbox.base_name()
    if sandbox.cluster_exists(name):
        raise DeployError(f"cluster {name} is the sandbox's simulated cluster as an earlier version named it (its "
                          f"pods were simulated: nothing ran there): remove it with `sandbox/cluster down --name {name}` "
                          "and its stack with `pulumi stack rm --force simulated`, then run this again")


def places() -> Places:
    """The machine as the verbs see it: your contexts first, then this sandbox (which first names
    what an earlier version of it left under a former name)."""
    refuse_former_names(os.environ.get("STACK"))
    return Places(yours=yours, sandbox_stacks=STACKS, running=running, start=start, announce=announce)
