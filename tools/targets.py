"""The places the shop deploys to, behind one interface, and the one function that picks one.

A Target is what the verbs hold: the stack it deploys, the environment pulumi and kubectl run
with there, how the images built from source get into it, how to know the new code serves, how
to say where the shop is, and what removing it takes. Your own cluster lives here (any kube
context, and minikube, which can also build the images); the sandbox's embedded cluster, with a
real node or a simulated one, lives in sandbox/targets.py. `detect` picks one, in order: the
stack's context when it answers; minikube installed but stopped, a clear error; none, the
sandbox (as kind's DetectNodeProvider picks a node provider, and its verbs never ask which).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import yaml

from infra import app_images
from tools.toolset import ROOT, find_kubectl

DEFAULT_STACK = "dev"
PAGE_DEADLINE = 60  # seconds for the page to answer once pulumi is done (it usually does at once)


class DeployError(RuntimeError):
    pass


def say(message: str) -> None:
    print(f"[deploy] {message}", file=sys.stderr, flush=True)


# --- the stacks' files ---------------------------------------------------------------------------


def stacks() -> list[str]:
    return sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))


def stack_file(stack: str) -> dict:
    path = ROOT / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise DeployError(f"no stack config {path.name}: the stacks are {', '.join(stacks())}")
    return yaml.safe_load(path.read_text()) or {}


def stack_config(stack: str) -> dict:
    return stack_file(stack).get("config") or {}


def stack_context(stack: str) -> str | None:
    return stack_config(stack).get("kubernetes:context")


def source_images(stack: str) -> dict[str, str]:
    """app -> the image built from its folder, for each app whose image the stack does not name."""
    config = stack_config(stack)
    return {app: app_images.reference(app) for app in app_images.APPS
            if f"python-shop:{app}Image" not in config}


# --- probing your kube contexts --------------------------------------------------------------------


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


# --- a target ------------------------------------------------------------------------------------


@dataclass
class Target:
    """A place the shop deploys to: your kube context unless a subclass says otherwise."""

    stack: str
    kubeconfig: str | None = None  # None: the kubeconfig kubectl reads (yours)
    # The stack file carries a salt committed for the fixed local passphrase (tools/toolset.py).
    fixed_passphrase: bool = False
    # What an earlier version called this stack: met in the backend, named with the commands that
    # rename or drop it, never a second stack beside it. Yours never had another name.
    former_stack: ClassVar[str | None] = None

    @property
    def context(self) -> str | None:
        return stack_context(self.stack)

    def env(self) -> dict[str, str]:
        """What pulumi and kubectl run with here, on top of the tools' own environment."""
        return {"KUBECONFIG": self.kubeconfig} if self.kubeconfig else {}

    def kubectl(self, *args: str) -> list[str]:
        return [str(find_kubectl()), *args, *(["--context", self.context] if self.context else [])]

    def put_images(self) -> None:
        """Get the images built from source where the cluster runs them. Any cluster: it cannot."""
        wanted = source_images(self.stack)
        if not wanted:
            return
        what = "no minikube is installed" if not minikube_installed() else "it is no minikube profile"
        say(
            f"kube context {self.context!r} is neither minikube ({what}) nor the embedded cluster, so `make up` "
            "cannot put the images "
            f"built from source ({', '.join(wanted.values())}) into it: push them to a registry it pulls from and "
            "set python-shop:backendImage / python-shop:frontendImage (docs/operations.md, Images); deploying as "
            "configured"
        )

    def verify(self, outputs: dict, env: dict[str, str]) -> None:
        """Return when the new code serves: no old pod left, the page answering through the API server
    and naming the builds just deployed."""
        namespace = outputs.get("namespace")
        rolled_out(self, namespace, env)
        if not simulated_nodes(self, env):
            service = outputs.get("frontendServiceName")
            page_answers(proxied_page(self, namespace, service, env, outputs.get("builds")),
                         f"(service {namespace}/{service})")

    def describe(self, outputs: dict) -> None:
        where = outputs.get("frontendUrl") or outputs.get("openCommand")
        say(f"deployed to {self.context}; open the shop with: {where}")

    def after_destroy(self) -> None:
        """What removing the shop takes besides `pulumi destroy`. Your cluster: nothing, it is yours."""


class Minikube(Target):
    """Your minikube: the images are built straight into it, only those it lacks."""

    def put_images(self) -> None:
        wanted = source_images(self.stack)
        if not wanted:
            return
        present = minikube_images(self.context)
        if present is None:  # the context is no minikube profile: as any cluster
            return super().put_images()
        built = {}
        for app, image in wanted.items():
            if image in present:
                continue
            say(f"building {image} from {app}/ in minikube (minikube image build)")
            build = subprocess.run(["minikube", "--profile", str(self.context), "image", "build", "-t", image,
                                    str(ROOT / app)], stdin=subprocess.DEVNULL)
            if build.returncode != 0:
                raise DeployError(f"`minikube image build -t {image} {app}` failed (see above)")
            built[app] = image
        # `minikube image build` exits 0 when its build fails, or when the profile is not running and
        # nothing is built (minikube v1.38.1, pkg/minikube/machine/build_images.go: BuildImage returns
        # nil either way; kubernetes/minikube#12556): only the image list says whether it worked.
        listed = minikube_images(self.context) if built else set()
        missing = [f"{image} (from {app}/)" for app, image in built.items() if image not in (listed or set())]
        if missing:
            raise DeployError(f"`minikube image build` exited 0 but minikube profile {self.context} does not have "
                              f"{', '.join(missing)}: the build failed (see its output above) or the profile is not "
                              f"running (`minikube --profile {self.context} status`)")


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


def yours(stack: str) -> Target:
    """The stack's own context; with minikube installed, a Minikube (which builds the images into
    its profile when the context is one, and otherwise does as any cluster)."""
    fixed = stack == DEFAULT_STACK
    return Minikube(stack, fixed_passphrase=fixed) if minikube_installed() else Target(stack, fixed_passphrase=fixed)


# --- knowing the new code serves ---------------------------------------------------------------


def page_answers(probe: Callable[[], tuple[bool, str]], what: str) -> None:
    """Poll until the shop's page answers 200 naming the new builds (the pods are ready; this proves
    the path to them, and that nothing old answers)."""
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


_BUILDS = re.compile(r'<meta name="shop-builds" content="frontend=(?P<frontend>\S+) backend=(?P<backend>\S+)">')


def new_builds(html: str, builds: dict | None) -> tuple[bool, str]:
    """Does the page name the builds just deployed (the stack's `builds` output)? Stacks from
    before builds were exported have none: any page then does."""
    if not builds:
        return True, ""
    found = _BUILDS.search(html)
    named = found.groupdict() if found else {}
    if named == {"frontend": builds.get("frontend"), "backend": builds.get("backend")}:
        return True, ""
    return False, f"the page names builds {named or 'none'}, not the new {builds}"


def node_port_page(url: str, builds: dict | None = None) -> Callable[[], tuple[bool, str]]:
    def probe() -> tuple[bool, str]:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers={"Connection": "close"}),
                                        timeout=5) as answer:
                if answer.status != 200:
                    return False, f"HTTP {answer.status}"
                return new_builds(answer.read().decode("utf-8", "replace"), builds)
        except (OSError, urllib.error.URLError) as exc:
            return False, str(exc)
    return probe


def proxied_page(target: Target, namespace: str | None, service: str | None,
                 env: dict[str, str], builds: dict | None = None) -> Callable[[], tuple[bool, str]]:
    """The page through the frontend Service, via the API server's proxy: any cluster, no port-forward."""
    argv = target.kubectl("get", "--raw", f"/api/v1/namespaces/{namespace}/services/{service}:http/proxy/",
                          "--request-timeout=5s")

    def probe() -> tuple[bool, str]:
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            return False, proc.stderr.strip()[-300:]
        return new_builds(proc.stdout, builds)
    return probe


def simulated_nodes(target: Target, env: dict[str, str]) -> bool:
    """Are all the cluster's nodes kwok's simulated ones (pods scheduled, no container running)?"""
    proc = subprocess.run(target.kubectl("get", "nodes", "--output", "json", "--request-timeout=10s"),
                          capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        return False
    nodes = json.loads(proc.stdout)["items"]
    return bool(nodes) and all(
        (n["metadata"].get("annotations") or {}).get("kwok.x-k8s.io/node") == "fake" for n in nodes)


def rolled_out(target: Target, namespace: str | None, env: dict[str, str]) -> None:
    """Wait until no old pod is left (the provider's await ends when the new ones are ready, while
    the old ones may still serve): after this, every new request gets the new code."""
    argv = target.kubectl("rollout", "status", "deployment", "--namespace", str(namespace),
                          "--selector", SHOP_PODS, f"--timeout={PAGE_DEADLINE}s")
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise DeployError(f"the rollout did not finish within {PAGE_DEADLINE} s: {proc.stderr.strip()[-500:]}")
    # `rollout status` is done while the old pods still terminate: each serves on through its
    # preStop (answering `Connection: close`), and a client's pooled connection may still reach it.
    deadline = time.monotonic() + PAGE_DEADLINE
    while leaving := terminating_pods(target, namespace, env):
        if time.monotonic() > deadline:
            raise DeployError(f"old pods still terminating after {PAGE_DEADLINE} s: {', '.join(leaving)}")
        time.sleep(0.5)


SHOP_PODS = "app.kubernetes.io/part-of=python-shop"  # every pod of the shop (infra/labels.py PART_OF_SHOP)


def shop_pods(target: Target, namespace: str | None, env: dict[str, str]) -> list[dict]:
    """The shop's pods in `namespace`, as the API server lists them."""
    proc = subprocess.run(target.kubectl("get", "pods", "--namespace", str(namespace), "--selector", SHOP_PODS,
                                         "--output", "json", "--request-timeout=10s"),
                          capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise DeployError(f"kubectl get pods failed: {proc.stderr.strip()[-300:]}")
    return json.loads(proc.stdout)["items"]


def terminating_pods(target: Target, namespace: str | None, env: dict[str, str]) -> list[str]:
    """The shop's pods on their way out (deleted, still running their preStop or shutdown)."""
    return [p["metadata"]["name"] for p in shop_pods(target, namespace, env) if p["metadata"].get("deletionTimestamp")]


# --- picking one ---------------------------------------------------------------------------------


@dataclass
class Places:
    """What `detect` asks of the machine; tests hand it fakes."""

    reachable: Callable[[str | None], bool] = reachable
    context_exists: Callable[[str | None], bool] = context_exists
    minikube_installed: Callable[[], bool] = minikube_installed
    yours: Callable[[str], Target] = yours
    # The sandbox (sandbox/targets.py): its stacks, the target of one whose cluster runs (None:
    # it does not), and starting one (a real node where it can run, else simulated).
    sandbox_stacks: tuple[str, ...] = ()
    running: Callable[[str], Target | None] = lambda stack: None
    start: Callable[[str | None], Target] = lambda stack: _no_sandbox()
    announce: Callable[[str | None], None] = lambda context: None


def _no_sandbox() -> Target:
    raise DeployError("no embedded cluster can be started here")


def not_running(context: str | None, stack: str, places: Places, real_node_verb: str) -> DeployError:
    if context == "minikube" and places.minikube_installed():
        return DeployError(f"minikube is not running: `minikube start` (or use the embedded cluster: `{real_node_verb}`)")
    return DeployError(
        f"kube context {context!r} of stack {stack} does not answer: start that cluster, "
        f"or use the embedded cluster: `{real_node_verb}`"
    )


def detect(action: str, explicit: str | None, places: Places, real_node_verb: str) -> Target:
    """The target `make up` (or preview) acts on: STACK= when given, else the dev stack's context
    when it answers, else where an earlier `make up` went, else (up only) the sandbox, announced."""
    stack = explicit or DEFAULT_STACK
    if stack in places.sandbox_stacks:
        target = places.running(stack)
        if target is None and action == "up":
            target = places.start(stack)
        if target is None:
            raise DeployError(f"the cluster of stack {stack} is not running: `make up STACK={stack}` starts it")
        return target
    context = stack_context(stack)
    if places.reachable(context):
        return places.yours(stack)
    minikube_down = context == "minikube" and places.minikube_installed()
    if action == "up" and (explicit or minikube_down or (places.context_exists(context) and context != "minikube")):
        raise not_running(context, stack, places, real_node_verb)
    if not explicit:
        for embedded in places.sandbox_stacks:  # where an earlier `make up` went: carry on there, no announcement
            target = places.running(embedded)
            if target is not None:
                return target
    if action == "up":
        places.announce(context)
        return places.start(None)
    raise not_running(context, stack, places, real_node_verb) if minikube_down or explicit else DeployError(
        f"kube context {context!r} of stack {stack} cannot be reached and no embedded cluster is running: "
        "start your cluster (minikube start) or run `make up`"
    )
