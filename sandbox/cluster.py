#!/usr/bin/env python3
"""Run the project's local Kubernetes cluster: a real control plane, simulated nodes (kwok).

    sandbox/cluster up [--real]          start (or resume) the cluster, print its kubeconfig path
    sandbox/cluster down [--real]        stop it and remove everything it started
    sandbox/cluster kubeconfig [--real]  print the kubeconfig path
    sandbox/cluster status [--real]      show components, API server health and nodes (exit 1 if down)
    sandbox/cluster images --real        the shop's images as its source is now, into the node (only those it lacks)

Two clusters, named after their node: python-shop-simulated (context
kwok-python-shop-simulated; stack simulated-node) and, with --real,
python-shop-real (context kwok-python-shop-real; stack real-node).
PYTHON_SHOP_CLUSTER=<base> replaces `python-shop` (the tests and benchmarks run
their own); --name <cluster> addresses one cluster by its exact name (e.g. an earlier
version's simulated cluster, named `python-shop`: `sandbox/cluster down --name python-shop`).

--real: the same control plane with a real node instead of the simulated one
(sandbox/real_node.py): containerd, kubelet, kube-proxy and CoreDNS run the
shop's own images, built from its Dockerfiles (sandbox/images) and loaded into
the node. Needs root and `sandbox/toolchain install node`.

kwokctl runs etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
the kwok controller as local processes (`--runtime binary`, listening on
127.0.0.1 only), all from `sandbox/toolchain install kube`: nothing is
downloaded. kwok's default stages make pods on the simulated node
(node-000000) Running and Ready with a pod IP, so Deployments become
Available and Services get ready endpoints; no container ever runs.
`up` is idempotent: it resumes stopped components and keeps the data; if a
component dies while starting it fails at once, shows the logs and stops
what it started. State (etcd data, certificates, logs, the kubeconfig) lives
in <cache>/kwok/clusters/<cluster> (cache: PYTHON_SHOP_CACHE, default
$XDG_CACHE_HOME/python-shop, i.e. ~/.cache/python-shop); ~/.kube/config is never touched:

    export KUBECONFIG=$(sandbox/cluster kubeconfig)
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import sandbox
from infra import app_images
from sandbox import real_node
from sandbox.kube import Kube
from sandbox.recipes import common

TOOLS = Path(__file__).resolve().parent
BASE = sandbox.base_name()
NODE_TIMEOUT = 300  # seconds for the real node: containerd, kubelet registration, images
NODES = 1
UP_TIMEOUT = 180  # seconds; a cold start on a busy 2-core machine takes ~10 s
# kube-apiserver's default (10.0.0.0/24) overlaps the pod IPs kwok hands out
# (the node's podCIDR, 10.0.0.0/24): move Services to kubeadm's default range.
SERVICE_CIDR = real_node.SERVICE_CIDR

# KwokctlConfiguration option -> binary from the kube toolchain group.
BINARY_OPTIONS = {
    "etcdBinary": "etcd",
    "kubeApiserverBinary": "kube-apiserver",
    "kubeControllerManagerBinary": "kube-controller-manager",
    "kubeSchedulerBinary": "kube-scheduler",
    "kwokControllerBinary": "kwok",
    "kubectlBinary": "kubectl",
}
NEEDED = ("kwokctl", *BINARY_OPTIONS.values())


class ClusterError(RuntimeError):
    """Something the user has to act on; the message says what."""


def log(message: str) -> None:
    common.say("cluster", message)


def kwok_workdir() -> Path:
    return common.cache_root() / "kwok"


def tool(name: str) -> Path:
    return common.bin_dir() / name


def check_toolchain() -> None:
    missing = [n for n in NEEDED if not tool(n).exists()]
    if missing:
        raise ClusterError(
            f"missing {', '.join(missing)} in {common.bin_dir()}: run `sandbox/toolchain install kube` first"
        )


def kwok_env() -> dict[str, str]:
    env = dict(os.environ)
    env["KWOK_WORKDIR"] = str(kwok_workdir())
    # kwokctl takes the first kubectl on PATH, else KWOK_KUBECTL_BINARY: make both ours.
    env["KWOK_KUBECTL_BINARY"] = str(tool("kubectl"))
    env["PATH"] = f"{common.bin_dir()}{os.pathsep}{env.get('PATH', '')}"
    env.pop("KUBECONFIG", None)
    return env


@contextlib.contextmanager
def locked():
    """One up/down at a time."""
    kwok_workdir().mkdir(parents=True, exist_ok=True)
    with open(kwok_workdir() / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def node_images() -> set[str]:
    """The image references the node's containerd holds, as the kubelet resolves them."""
    listed = real_node.ctr("images", "ls", "--quiet", text=True).stdout.split()
    return {name.removeprefix("docker.io/library/") for name in listed}


@dataclass(frozen=True)
class Cluster:
    """One embedded cluster: kwokctl's control plane, with kwok's simulated node or (real) a real one."""

    name: str  # <base>-simulated or <base>-real, or exactly what --name says
    real: bool = False  # a real node (sandbox/real_node.py) instead of kwok's simulated one

    @property
    def context(self) -> str:
        return f"kwok-{self.name}"  # kwokctl names the context (and cluster, user) kwok-<name>

    def cluster_dir(self) -> Path:
        return sandbox.cluster_dir(self.name)

    def kubeconfig_path(self) -> Path:
        # Ours, self-contained (`kwokctl get kubeconfig`); the components use kwokctl's kubeconfig.yaml.
        return sandbox.kubeconfig_path(self.name)

    def config_path(self) -> Path:
        return kwok_workdir() / f"{self.name}.kwokctl.yaml"

    def write_config(self) -> None:
        """The cluster's definition, read by `kwokctl create cluster` (an existing cluster keeps its own)."""
        options = "".join(f"  {key}: {tool(name)}\n" for key, name in BINARY_OPTIONS.items())
        self.config_path().write_text(
            "# Generated by sandbox/cluster at every `up`; edits are overwritten.\n"
            "apiVersion: config.kwok.x-k8s.io/v1alpha1\n"
            "kind: KwokctlConfiguration\n"
            "options:\n"
            "  runtime: binary\n"
            f"{options}"
            "  bindAddress: 127.0.0.1  # kwokctl's default is 0.0.0.0, and etcd has no auth\n"
            "  kubeAdmission: true  # the default admission plugins, Pod Security Admission among them\n"
            # In-cluster clients dial the `kubernetes` Service's IP: its name must be in the certificate.
            f"  kubeApiserverCertSANs: [{real_node.API_SERVICE_IP}]\n"
            "componentsPatches:\n"
            "- name: kube-apiserver\n"
            "  extraArgs:\n"
            "  - key: service-cluster-ip-range\n"
            f"    value: {SERVICE_CIDR}\n"
            + (self.real_node_apiserver_args() if self.real else "")
        )

    def real_node_apiserver_args(self) -> str:
        """For `kubectl exec/logs` on a real node: reach the kubelet by IP, with a client certificate."""
        pki = self.cluster_dir() / "pki"
        args = {
            "kubelet-preferred-address-types": "InternalIP",
            "kubelet-client-certificate": pki / "admin.crt",
            "kubelet-client-key": pki / "admin.key",
        }
        return "".join(f"  - key: {key}\n    value: {value}\n" for key, value in args.items())

    def kwokctl_argv(self, *args: str) -> list[str]:
        # kwokctl logs JSON lines when not on a terminal: keep to warnings, we log the steps.
        return [str(tool("kwokctl")), "--name", self.name, "-v", os.environ.get("KWOK_LOG_LEVEL", "WARN"), *args]

    def kwokctl(self, *args: str, check: bool = True, capture: bool = False) -> subprocess.CompletedProcess:
        proc = subprocess.run(self.kwokctl_argv(*args), env=kwok_env(), text=True, capture_output=capture)
        if check and proc.returncode != 0:
            detail = f":\n{proc.stderr.strip()}" if capture else ""
            raise ClusterError(f"`kwokctl {' '.join(args)}` failed (exit {proc.returncode}){detail}")
        return proc

    def kubectl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """kubectl on this cluster, never raising: a probe's answer (a timeout is exit 124)."""
        return Kube(self.kubeconfig_path(), self.context).run(*args, check=False, timeout=timeout)

    def exists(self) -> bool:
        return sandbox.cluster_exists(self.name)

    def component_pids(self) -> dict[str, int]:
        """The processes kwokctl started for this cluster (from its pid files)."""
        pids = {}
        for pid_file in sorted((self.cluster_dir() / "pids").glob("*.pid")):
            with contextlib.suppress(ValueError, OSError):
                pids[pid_file.stem] = int(pid_file.read_text().strip())
        return pids

    def ours(self, pid: int) -> bool:
        """Is pid alive and one of this cluster's processes (not a recycled pid)?"""
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            return False
        return str(self.cluster_dir()) in cwd or str(self.cluster_dir()) in cmdline

    def wait_for(self, what: str, probe, deadline: float) -> None:
        last = ""
        while True:
            proc = probe()
            if proc.returncode == 0:
                return
            last = (proc.stderr or proc.stdout).strip()
            if time.monotonic() > deadline:
                raise ClusterError(f"timed out waiting for {what}: {last}\n{self.log_tails()}")
            time.sleep(1)

    def log_tails(self, lines: int = 8) -> str:
        parts = []
        for path in sorted((self.cluster_dir() / "logs").glob("*.log")):
            tail = path.read_text(errors="replace").strip().splitlines()[-lines:]
            if tail:
                parts.append(f"--- {path} (last {len(tail)} lines)\n" + "\n".join(tail))
        return "\n".join(parts)

    def start_components(self, deadline: float) -> None:
        """`kwokctl create cluster`, watched: a component that dies fails the start at once
        (kwokctl itself would wait minutes for an API server that is gone)."""
        argv = self.kwokctl_argv(
            "--config", str(self.config_path()),
            "create", "cluster",
            "--kubeconfig=",  # add no context to ~/.kube/config
            "--wait", f"{UP_TIMEOUT}s", "--timeout", f"{UP_TIMEOUT}s",
            # A real node's pods are the kubelet's: kwok would fake their status too.
            *(["--disable", "kwok-controller"] if self.real else []),
        )
        proc = subprocess.Popen(argv, env=kwok_env())
        try:
            while proc.poll() is None:
                dead = [name for name, pid in self.component_pids().items() if not self.ours(pid)]
                if dead:
                    raise ClusterError(f"{', '.join(dead)} exited while the cluster was starting\n{self.log_tails()}")
                if time.monotonic() > deadline:
                    raise ClusterError(f"the cluster did not start within {UP_TIMEOUT}s\n{self.log_tails()}")
                time.sleep(0.5)
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait()
        if proc.returncode != 0:
            raise ClusterError(f"`kwokctl create cluster` failed (exit {proc.returncode})\n{self.log_tails()}")

    def cmd_up(self) -> int:
        check_toolchain()
        if self.real:
            real_node.check_free(self.kubeconfig_path())  # before anything starts, so nothing of theirs is stopped
        started = time.monotonic()
        deadline = started + UP_TIMEOUT
        with locked():
            fresh = not self.exists()
            log(f"cluster {self.name}: {'creating' if fresh else 'exists, starting whatever is stopped'} in {self.cluster_dir()}")
            self.write_config()
            try:
                # An existing cluster keeps the configuration it was created with;
                # kwokctl only restarts whatever component is not running.
                self.start_components(deadline)
                kubeconfig = self.kwokctl("get", "kubeconfig", capture=True).stdout
                partial = self.kubeconfig_path().with_suffix(".partial")
                # 0600 from the start: it holds the cluster-admin key.
                with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
                    out.write(kubeconfig)
                partial.replace(self.kubeconfig_path())
                self.wait_for("the API server", lambda: self.kubectl("get", "--raw", "/readyz"), deadline)
                if self.real:
                    real_node.start_node(self.kubeconfig_path(), self.cluster_dir() / "pki" / "ca.crt", self.kubectl,
                                           time.monotonic() + NODE_TIMEOUT)
                    self.load_images()
                else:
                    # One simulated node (node-000000); scaling to the same count is a no-op.
                    self.kwokctl("scale", "node", "--replicas", str(NODES))
                    self.wait_for("the node to be Ready",
                             lambda: self.kubectl("wait", "node", "--all", "--for=condition=Ready", "--timeout=10s"), deadline)
                # Pods are admitted only once the controller-manager made the namespace's service account.
                self.wait_for("the default service account", lambda: self.kubectl("get", "serviceaccount", "default"), deadline)
            except (ClusterError, real_node.NodeError) as exc:
                # Leave no process behind; a cluster that existed before keeps its data.
                log(f"cluster {self.name}: start failed, {'removing it' if fresh else 'stopping it (data kept)'}")
                self.teardown(remove=fresh)
                raise ClusterError(str(exc)) from None
        log(f"cluster {self.name}: up in {time.monotonic() - started:.0f}s; context {self.context}")
        print(self.kubeconfig_path())
        return 0

    def load_images(self) -> None:
        """The shop's images as its source is now, and the pause image, into the node's containerd.

        Only what the node lacks is built (sandbox/images: its Docker cache makes a one-file
        edit a few seconds) and imported; an unchanged source costs one `ctr images ls`."""
        started = time.monotonic()
        present = node_images()
        lacking = {app: ref for app in app_images.APPS if (ref := app_images.reference(app)) not in present}
        missing = list(lacking.values())
        if real_node.SANDBOX_IMAGE.removeprefix("docker.io/library/") not in present:
            subprocess.run([str(TOOLS / "images"), "pause", str(tool("pause")), real_node.SANDBOX_IMAGE], check=True)
            missing.append(real_node.SANDBOX_IMAGE)
        if not missing:
            return
        if lacking and subprocess.run([str(TOOLS / "images"), "build", *lacking], stdout=subprocess.DEVNULL).returncode != 0:
            raise ClusterError("building the shop's images failed (see above)")
        try:
            real_node.import_saved([str(TOOLS / "images"), "save", *missing])
        except real_node.NodeError as exc:
            raise ClusterError(str(exc)) from None
        log(f"{', '.join(missing)} loaded into the node in {time.monotonic() - started:.1f}s")

    def cmd_images(self) -> int:
        if not self.real:
            raise ClusterError("images run on the real node only (--real): the simulated node runs no container")
        if real_node.alive("containerd") is None:
            raise ClusterError(f"the real node of cluster {self.name} is not running: `sandbox/cluster up --real` starts it")
        self.load_images()
        return 0

    def teardown(self, remove: bool) -> list[str]:
        """Stop every component (and remove the cluster's state if remove); return their names."""
        stopped_node = real_node.stop_node() if self.real else []
        if self.real:
            subprocess.run([str(TOOLS / "images"), "stop"], check=False)
        if self.real and remove:
            real_node.forget_state()
        pids = self.component_pids()
        if self.exists():
            # kwokctl stops each component by its pid file (delete also removes the cluster's directory).
            if remove:
                self.kwokctl("delete", "cluster", f"--kubeconfig={self.kubeconfig_path()}", check=False)
            else:
                self.kwokctl("stop", "cluster", check=False)
        # Whatever survived (or a half-created cluster kwokctl cannot load): stop it by pid.
        for pid in [pid for pid in pids.values() if self.ours(pid)]:
            common.stop_process(pid, grace=10)
        survivors = [pid for pid in pids.values() if self.ours(pid)]
        if survivors:
            raise ClusterError(f"processes {survivors} of cluster {self.name} would not stop")
        if remove and self.cluster_dir().exists():
            shutil.rmtree(self.cluster_dir())
        return sorted(pids) + stopped_node

    def cmd_down(self) -> int:
        with locked():
            if not self.cluster_dir().exists():
                self.config_path().unlink(missing_ok=True)
                log(f"cluster {self.name}: absent, nothing to remove")
                return 0
            stopped = self.teardown(remove=True)
            self.config_path().unlink(missing_ok=True)
        log(f"cluster {self.name}: removed (stopped {', '.join(stopped) or 'nothing'})")
        return 0

    def cmd_kubeconfig(self) -> int:
        if not self.kubeconfig_path().exists():
            raise ClusterError(f"no cluster {self.name}: run `sandbox/cluster up{' --real' if self.real else ''}` first")
        print(self.kubeconfig_path())
        return 0

    def cmd_status(self) -> int:
        if not self.exists():
            print(f"cluster {self.name}: absent")
            return 1
        print(f"cluster {self.name}: {self.cluster_dir()}")
        healthy = True
        for name, pid in self.component_pids().items():
            alive = self.ours(pid)
            healthy &= alive
            print(f"  {name:26} pid {pid:<8} {'running' if alive else 'STOPPED'}")
        if self.real:
            for name in reversed(real_node.NODE_PROCESSES):
                node_pid = real_node.alive(name)
                healthy &= bool(node_pid)
                print(f"  {name:26} pid {node_pid or '-':<8} {'running' if node_pid else 'STOPPED'}")
        ready = self.kubectl("get", "--raw", "/readyz", timeout=10)
        healthy &= ready.returncode == 0
        print(f"  api server /readyz: {ready.stdout.strip() if ready.returncode == 0 else 'unreachable'}")
        if ready.returncode == 0:
            print(self.kubectl("get", "nodes", "-o", "wide", timeout=10).stdout.rstrip())
        print(f"kubeconfig: {self.kubeconfig_path()} (context {self.context})")
        return 0 if healthy else 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="sandbox/cluster", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("up", "start (or resume) the cluster"), ("down", "stop the cluster and remove its state"),
                       ("kubeconfig", "print the kubeconfig path"), ("status", "show the cluster's state"),
                       ("images", "the shop's images as its source is now, into the real node")):
        command = sub.add_parser(name, help=text)
        command.add_argument("--real", action="store_true",
                             help="a real node running containers instead of a simulated one")
        command.add_argument("--name", help="the cluster with exactly this name (default: <base>-simulated or -real)")
    args = parser.parse_args(argv)
    cluster = Cluster(args.name or f"{BASE}-{'real' if args.real else 'simulated'}", real=args.real)
    commands = {"up": cluster.cmd_up, "down": cluster.cmd_down, "kubeconfig": cluster.cmd_kubeconfig,
                "status": cluster.cmd_status, "images": cluster.cmd_images}
    try:
        return commands[args.command]()
    except (ClusterError, real_node.NodeError) as exc:
        print(f"sandbox/cluster: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
