#!/usr/bin/env python3
"""`make up` / `make preview` / `make down`: `pulumi` on the right stack and cluster.

    tools/deploy up        deploy; prints the stack outputs and how to reach the shop
    tools/deploy preview   `pulumi preview --diff` with the guardrails (policy/)
    tools/deploy down      remove what `make up` deployed, wherever it went (and the
                           sandbox clusters that run, whoever started them)

Tools: your `pulumi` and `kubectl` when PATH has them, else the sandbox's
(tools/toolset.py decides, in one place).

Which cluster: the stack's own kube context (Pulumi.dev.yaml: minikube) when it
answers. minikube installed but not answering: an error that says so, and
nothing is started. No minikube and no usable context: this project's embedded
cluster, announced first, with a real node running the shop's own images
(`sandbox/cluster up --real`, stack `real-node`), or where that cannot run, with a
simulated node (`sandbox/cluster up`, stack `simulated-node`). STACK=<name> picks a stack.
Those two stacks were called `embedded` and `simulated` before, and the simulated cluster
`python-shop`: met under an old name, each is named with the command that moves or removes
it, and nothing is done to it (they only ever held the sandbox's throwaway clusters).

State goes to the backend your `pulumi` is logged into; when it is logged in
nowhere, to the local one in ~/.pulumi, without changing your login. The
passphrase (for a backend that encrypts with one) is PULUMI_CONFIG_PASSPHRASE(_FILE),
else the one the README's walkthrough uses (tools/toolset.py: DEFAULT_PASSPHRASE); the stacks
whose files carry a committed salt (dev and the sandbox's) always use that one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

import sandbox
from infra import app_images
from tools.toolset import (
    DEFAULT_PASSPHRASE,
    POLICY_PACK,
    ROOT,
    Tools,
    ToolsError,
    find_kubectl,
    find_tools,
    install_policy_pack,
    install_sandbox,
    logged_in,
    pulumi,
)

DEFAULT_STACK = "dev"
REAL_NODE_STACK = "real-node"  # the embedded cluster with a real node: Pulumi.real-node.yaml
SIMULATED_NODE_STACK = "simulated-node"  # ... with kwok's simulated node: Pulumi.simulated-node.yaml
# What versions before 2026-12-01 called the sandbox's stacks (and its simulated cluster: the base
# name alone). Met, they are named with the command that moves or removes them; nothing of a user's
# own cluster is involved. Remove this and refuse_former_names after 2027-03-01.
FORMER_NAMES = {"embedded": REAL_NODE_STACK, "simulated": SIMULATED_NODE_STACK}
REAL_NODE_VERB = f"make up STACK={REAL_NODE_STACK}"
PAGE_DEADLINE = 60  # seconds for the page to answer once pulumi is done (it usually does at once)


class DeployError(RuntimeError):
    pass


def say(message: str) -> None:
    print(f"[deploy] {message}", file=sys.stderr, flush=True)


def stack_config(stack: str) -> dict:
    path = ROOT / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise DeployError(f"no stack config {path.name}: the stacks are {', '.join(stacks())}")
    return yaml.safe_load(path.read_text()).get("config") or {}


def stack_context(stack: str) -> str | None:
    return stack_config(stack).get("kubernetes:context")


def source_images(stack: str) -> dict[str, str]:
    """app -> the image built from its folder, for each app whose image the stack does not name."""
    config = stack_config(stack)
    return {app: app_images.reference(app) for app in app_images.APPS
            if f"python-shop:{app}Image" not in config}


def minikube_images(context: str | None) -> set[str] | None:
    """The images minikube profile `context` holds (minikube names its contexts after its profiles),
    or None when `context` is no such profile (`minikube image ls` exits 14, MK_USAGE).

    `minikube image ls` prints one reference a line, Docker Hub names in full (docker.io/library/...),
    so they are compared here without that prefix, as app_images names them. A profile that is not
    running lists nothing and exits 0 (minikube v1.38.1, pkg/minikube/machine/cache_images.go:
    ListImages asks running nodes only): an empty set, not None."""
    if not context or not minikube_installed():
        return None
    listed = subprocess.run(["minikube", "--profile", context, "image", "ls"], capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, timeout=120)
    if listed.returncode != 0:
        return None
    return {name.removeprefix("docker.io/library/") for name in listed.stdout.split()}


def ensure_images(stack: str) -> None:
    """Put the images built from source into the stack's cluster, building only those it lacks."""
    wanted = source_images(stack)
    if not wanted or stack == SIMULATED_NODE_STACK:  # simulated pods run no image
        return
    if stack == REAL_NODE_STACK:
        if cluster("images", "--real").returncode != 0:
            raise DeployError("the images could not be put into the embedded cluster's node (see above)")
        return
    context = stack_context(stack)
    present = minikube_images(context)
    if present is not None:
        built = {}
        for app, image in wanted.items():
            if image in present:
                continue
            say(f"building {image} from {app}/ in minikube (minikube image build)")
            build = subprocess.run(["minikube", "--profile", str(context), "image", "build", "-t", image,
                                    str(ROOT / app)], stdin=subprocess.DEVNULL)
            if build.returncode != 0:
                raise DeployError(f"`minikube image build -t {image} {app}` failed (see above)")
            built[app] = image
        # `minikube image build` exits 0 when its build fails, or when the profile is not running and
        # nothing is built (minikube v1.38.1, pkg/minikube/machine/build_images.go: BuildImage returns
        # nil either way; kubernetes/minikube#12556): only the image list says whether it worked.
        listed = minikube_images(context) if built else set()
        missing = [f"{image} (from {app}/)" for app, image in built.items() if image not in (listed or set())]
        if missing:
            raise DeployError(f"`minikube image build` exited 0 but minikube profile {context} does not have "
                              f"{', '.join(missing)}: the build failed (see its output above) or the profile is not "
                              f"running (`minikube --profile {context} status`)")
        return
    what = "no minikube is installed" if not minikube_installed() else "it is no minikube profile"
    say(
        f"kube context {context!r} is neither minikube ({what}) nor the embedded cluster, so `make up` cannot "
        "put the images "
        f"built from source ({', '.join(wanted.values())}) into it: push them to a registry it pulls from and set "
        "python-shop:backendImage / python-shop:frontendImage (docs/operations.md, Images); deploying as configured"
    )


def stacks() -> list[str]:
    return sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))


def kubeconfig_files() -> list[Path]:
    listed = os.environ.get("KUBECONFIG")
    if listed:
        return [Path(p) for p in listed.split(os.pathsep) if p]
    return [Path.home() / ".kube" / "config"]


def context_exists(context: str | None) -> bool:
    """Is `context` in the kubeconfig kubectl would read? (Read directly: no kubectl needed to say no.)"""
    for path in kubeconfig_files():
        try:
            document = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError):
            continue
        if any(c.get("name") == context for c in document.get("contexts") or []):
            return True
    return False


def reachable(context: str | None, kubeconfig: str | None = None) -> bool:
    """Does the context exist and its API server answer /readyz within a few seconds?"""
    if kubeconfig is None and not context_exists(context):
        return False
    argv = [str(find_kubectl()), "get", "--raw", "/readyz", "--request-timeout=5s"]
    if context:
        argv += ["--context", context]
    if kubeconfig:
        argv += ["--kubeconfig", kubeconfig]
    try:
        # stdin closed: some kubectl builds prompt for a username when the server asks for one.
        return subprocess.run(argv, capture_output=True, timeout=15, stdin=subprocess.DEVNULL).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def minikube_installed() -> bool:
    return shutil.which("minikube") is not None


# The sandbox's stacks: name -> `sandbox/cluster` flags of the embedded cluster they deploy to.
SANDBOX_STACKS = {REAL_NODE_STACK: ["--real"], SIMULATED_NODE_STACK: []}


def cluster(*args: str, capture: bool = False) -> subprocess.CompletedProcess:
    return sandbox.cluster(*args, show_log=not capture)


def running_kubeconfig(stack: str) -> str | None:
    """The kubeconfig of the embedded stack's cluster, if that cluster is running."""
    flags = SANDBOX_STACKS[stack]
    if cluster("status", *flags, capture=True).returncode != 0:
        return None
    return cluster("kubeconfig", *flags, capture=True).stdout.strip()


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


def start_embedded(real: bool = True) -> tuple[str, str]:
    """Start the real-node cluster, or where that cannot run here, the simulated one."""
    install_sandbox("kube")
    blocker = real_node_prerequisites() if real else "the simulated stack was asked for"
    if blocker is None:
        say("starting the embedded cluster with a real node (sandbox/cluster up --real)")
        started = cluster("up", "--real")
        if started.returncode == 0:
            return REAL_NODE_STACK, started.stdout.strip().splitlines()[-1]
        blocker = "it did not start (see above)"
    say(f"no real node: {blocker}; the embedded cluster runs simulated pods instead (sandbox/cluster up)")
    simulated = cluster("up")
    if simulated.returncode != 0:
        raise DeployError("the embedded cluster did not start (see above)")
    return SIMULATED_NODE_STACK, simulated.stdout.strip().splitlines()[-1]


def announce_embedded(context: str | None) -> None:
    say(
        f"no kube context {context!r} answers and minikube is not installed, so this deploys to the project's "
        "embedded cluster: a Kubernetes control plane and one node run as processes on this machine, state in "
        f"{sandbox.cache_root()}. Its first start builds them from source with Go (about 25 minutes, once per "
        "machine); later starts take seconds. `make down` removes the shop and this cluster."
    )


def not_running(context: str | None, stack: str) -> DeployError:
    if context == "minikube" and minikube_installed():
        return DeployError(f"minikube is not running: `minikube start` (or use the embedded cluster: `{REAL_NODE_VERB}`)")
    return DeployError(
        f"kube context {context!r} of stack {stack} does not answer: start that cluster, "
        f"or use the embedded cluster: `{REAL_NODE_VERB}`"
    )


def refuse_former_names() -> None:
    """STACK= with a sandbox stack's former name, or the simulated cluster under its former name:
    an error that says what it is now and the command that removes it."""
    stack = os.environ.get("STACK")
    if stack in FORMER_NAMES:
        raise DeployError(f"stack {stack} is what an earlier version called {FORMER_NAMES[stack]}: use "
                          f"STACK={FORMER_NAMES[stack]}")
    name = sandbox.base_name()
    if sandbox.cluster_exists(name):
        raise DeployError(f"cluster {name} is the sandbox's simulated cluster as an earlier version named it (its "
                          f"pods were simulated: nothing ran there): remove it with `sandbox/cluster down --name {name}` "
                          "and its stack with `pulumi stack rm --force simulated`, then run this again")


def choose(action: str) -> tuple[str, dict[str, str]]:
    """The stack to act on and extra environment (the embedded cluster's KUBECONFIG)."""
    explicit = os.environ.get("STACK")
    stack = explicit or DEFAULT_STACK
    if stack in SANDBOX_STACKS:
        kubeconfig = running_kubeconfig(stack)
        if kubeconfig is None and action == "up":
            stack, kubeconfig = start_embedded(real=stack == REAL_NODE_STACK)
        if kubeconfig is None:
            raise DeployError(f"the cluster of stack {stack} is not running: `make up STACK={stack}` starts it")
        return stack, {"KUBECONFIG": kubeconfig}
    context = stack_context(stack)
    if reachable(context):
        return stack, {}
    minikube_down = context == "minikube" and minikube_installed()
    if action == "up":
        if explicit or minikube_down or (context_exists(context) and context != "minikube"):
            raise not_running(context, stack)
        for embedded in SANDBOX_STACKS:  # where an earlier `make up` went: carry on there, no announcement
            kubeconfig = running_kubeconfig(embedded)
            if kubeconfig:
                return embedded, {"KUBECONFIG": kubeconfig}
        announce_embedded(context)
        stack, kubeconfig = start_embedded()
        return stack, {"KUBECONFIG": kubeconfig}
    # preview follows where `make up` went: an embedded cluster, if one runs.
    for embedded in SANDBOX_STACKS:
        kubeconfig = running_kubeconfig(embedded)
        if kubeconfig and not explicit:
            return embedded, {"KUBECONFIG": kubeconfig}
    raise not_running(context, stack) if minikube_down or explicit else DeployError(
        f"kube context {context!r} of stack {stack} cannot be reached and no embedded cluster is running: "
        "start your cluster (minikube start) or run `make up`"
    )


def guardrails(stack: str) -> list[str]:
    """The policy pack, with the stack's own pack config (policy/<stack>.json) where there is one."""
    args = ["--policy-pack", str(POLICY_PACK)]
    config = POLICY_PACK / f"{stack}.json"
    return args + ["--policy-pack-config", str(config)] if config.exists() else args


class Pulumi:
    """The chosen `pulumi` on one stack, with its backend and passphrase settled."""

    def __init__(self, tools: Tools, stack: str, extra: dict[str, str]):
        self.tools, self.stack = tools, stack
        self.env = tools.env(extra=extra)
        if not logged_in(self.env):
            self.env["PULUMI_BACKEND_URL"] = "file://~"
            say("your pulumi is logged in nowhere: state goes to the local backend (~/.pulumi); your login is unchanged")
        if stack == DEFAULT_STACK or stack in SANDBOX_STACKS:
            # Stacks with no secrets: always the fixed local passphrase, which matches the
            # encryption salt committed in their Pulumi.<stack>.yaml (so selecting one writes nothing).
            self.env.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
            self.env["PULUMI_CONFIG_PASSPHRASE"] = DEFAULT_PASSPHRASE

    def __call__(self, *args: str, capture: bool = False) -> subprocess.CompletedProcess:
        """Shown as it goes (preview, up, destroy), or with `capture` read by us (stack output)."""
        proc = pulumi(*args, "--stack", self.stack, env=self.env, tools=self.tools, check=False, timeout=None,
                      stream=not capture)
        if proc.returncode != 0:
            said = (proc.stderr or "").strip()[-2000:] if capture else "see above"
            raise DeployError(f"`pulumi {' '.join(args)} --stack {self.stack}` failed (exit {proc.returncode}): {said}")
        return proc

    def select(self, create: bool = True) -> bool:
        """Select the stack (created the first time; its config is Pulumi.<stack>.yaml). False: absent.
        Absent, but there under its former name: an error with the commands, never a second stack."""
        if self._pulumi("stack", "select", self.stack).returncode == 0:
            return True
        former = next((old for old, new in FORMER_NAMES.items() if new == self.stack), None)
        if former and self._pulumi("stack", "select", former).returncode == 0:
            raise DeployError(f"stack {former} is what an earlier version called {self.stack}: `pulumi stack rename "
                              f"{self.stack} --stack {former}` keeps its state under the new name (or `pulumi stack rm "
                              f"--force {former}` drops it), then run this again")
        if not create:
            return False
        proc = self._pulumi("stack", "select", "--create", self.stack)
        if proc.returncode != 0:
            raise DeployError(f"`pulumi stack select --create {self.stack}` failed: {proc.stderr.strip()}")
        return True

    def _pulumi(self, *args: str) -> subprocess.CompletedProcess:
        return pulumi(*args, env=self.env, tools=self.tools, check=False, timeout=None)


def page_answers(probe, what: str) -> None:
    """Poll until the shop's page answers 200 (the pods are ready; this proves the path to them)."""
    deadline = time.monotonic() + PAGE_DEADLINE
    last = "no answer yet"
    while True:
        ok, last = probe()
        if ok:
            return
        if time.monotonic() > deadline:
            raise DeployError(f"pulumi is done but the shop's page {what} did not answer within {PAGE_DEADLINE} s: "
                              f"{last}")
        time.sleep(0.5)


def node_port_page(url: str):
    def probe() -> tuple[bool, str]:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return answer.status == 200, f"HTTP {answer.status}"
        except (OSError, urllib.error.URLError) as exc:
            return False, str(exc)
    return probe


def proxied_page(run: Pulumi, namespace: str, service: str):
    """The page through the frontend Service, via the API server's proxy: any cluster, no port-forward."""
    argv = kubectl_argv(run, "get", "--raw", f"/api/v1/namespaces/{namespace}/services/{service}:http/proxy/",
                        "--request-timeout=5s")

    def probe() -> tuple[bool, str]:
        proc = subprocess.run(argv, capture_output=True, text=True, env=run.env, stdin=subprocess.DEVNULL)
        return proc.returncode == 0, proc.stderr.strip()[-300:]
    return probe


def kubectl_argv(run: Pulumi, *args: str) -> list[str]:
    context = stack_context(run.stack)
    return [str(find_kubectl()), *args, *(["--context", context] if context else [])]


def simulated_nodes(run: Pulumi) -> bool:
    """Are all the cluster's nodes kwok's simulated ones (pods scheduled, no container running)?"""
    proc = subprocess.run(kubectl_argv(run, "get", "nodes", "--output", "json", "--request-timeout=10s"),
                          capture_output=True, text=True, env=run.env, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        return False
    nodes = json.loads(proc.stdout)["items"]
    return bool(nodes) and all(
        (n["metadata"].get("annotations") or {}).get("kwok.x-k8s.io/node") == "fake" for n in nodes)


def rolled_out(run: Pulumi, namespace: str) -> None:
    """Wait until no old pod is left (the provider's await ends when the new ones are ready, while
    the old ones may still serve): after this, every new request gets the new code."""
    argv = kubectl_argv(run, "rollout", "status", "deployment", "--namespace", namespace,
                        "--selector", "app.kubernetes.io/part-of=python-shop", f"--timeout={PAGE_DEADLINE}s")
    proc = subprocess.run(argv, capture_output=True, text=True, env=run.env, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise DeployError(f"the rollout did not finish within {PAGE_DEADLINE} s: {proc.stderr.strip()[-500:]}")


def report(run: Pulumi, extra: dict[str, str]) -> None:
    outputs = json.loads(run("stack", "output", "--json", capture=True).stdout)
    namespace, node_port = outputs.get("namespace"), outputs.get("frontendNodePort")
    if run.stack != SIMULATED_NODE_STACK:
        rolled_out(run, namespace)
    if run.stack == REAL_NODE_STACK:
        page_answers(node_port_page(f"http://127.0.0.1:{node_port}/"), f"at http://127.0.0.1:{node_port}/")
    elif run.stack != SIMULATED_NODE_STACK and not simulated_nodes(run):
        service = outputs.get("frontendServiceName")
        page_answers(proxied_page(run, namespace, service), f"(service {namespace}/{service})")
    inspect = f"KUBECONFIG={extra.get('KUBECONFIG')} kubectl get all -n {namespace}"
    if run.stack == REAL_NODE_STACK:
        say(f"deployed to the embedded cluster (real node, context {stack_context(run.stack)}); inspect: {inspect}")
        print(f"The shop: http://127.0.0.1:{node_port}/")
    elif run.stack == SIMULATED_NODE_STACK:
        say(
            f"deployed to the embedded cluster (context {stack_context(run.stack)}): the API server, scheduler and "
            "controllers are real, the node and its pods are simulated by kwok, so no container runs and "
            f"NodePort {node_port} serves nothing. Inspect: {inspect}; browse the shop itself with `make dev`."
        )
    else:
        where = outputs.get("frontendUrl") or outputs.get("openCommand")
        say(f"deployed to {stack_context(run.stack)}; open the shop with: {where}")


def down() -> None:
    """Destroy what `make up` deployed, wherever it went: the stacks of running embedded
    clusters (then those clusters stop) and the stack of a context that answers."""
    explicit = os.environ.get("STACK")
    removed = False
    for stack, flags in SANDBOX_STACKS.items():
        if explicit not in (None, stack):
            continue
        kubeconfig = running_kubeconfig(stack)
        if kubeconfig:
            run = Pulumi(find_tools(), stack, {"KUBECONFIG": kubeconfig})
            run.select()
            run("destroy", "--yes")
            cluster("down", *flags)
            removed = True
    if explicit in SANDBOX_STACKS:
        if not removed:
            say(f"the cluster of stack {explicit} is not running: nothing to remove")
        return
    stack = explicit or DEFAULT_STACK
    context = stack_context(stack)
    if reachable(context):
        run = Pulumi(find_tools(), stack, {})
        if run.select(create=False):
            run("destroy", "--yes")
        else:
            say(f"stack {stack} does not exist in this backend: nothing to remove there")
    elif not removed:
        if explicit or context_exists(context) or (context == "minikube" and minikube_installed()):
            raise not_running(context, stack)
        say(f"nothing to remove: no embedded cluster runs and there is no kube context {context!r}")


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in ("up", "preview", "down"):
        print(__doc__, file=sys.stderr)
        return 2
    action = argv[0]
    try:
        refuse_former_names()
        if action == "down":
            down()
            return 0
        tools = find_tools(install=False)  # a user's pulumi older than the floor stops us before any start or build
        stack, extra = choose(action)
        run = Pulumi(find_tools() if tools.sandbox else tools, stack, extra)  # the sandbox's: built now if need be
        run.select()
        say(f"{action}: stack {stack}, kube context {stack_context(stack)}, {run.tools.pulumi}")
        install_policy_pack(run.tools, run.env)
        if action == "up":
            # The plan and the guardrails' verdict need only the source (the image tags are
            # digests of it), so the preview runs while the images are built; the update
            # then skips a second preview.
            with ThreadPoolExecutor(1) as pool:
                images = pool.submit(ensure_images, stack)
                try:
                    run("preview", *guardrails(stack))
                finally:
                    images.result()
            run("up", "--yes", "--skip-preview", *guardrails(stack))
            report(run, extra)
        else:
            run("preview", "--diff", *guardrails(stack))
    except (DeployError, ToolsError) as exc:
        print(f"tools/deploy: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
