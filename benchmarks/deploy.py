"""Deploy benchmark: the original's way against the Pulumi program, on one fresh cluster.

    .venv/bin/python -m benchmarks.deploy [--rounds N] [--real]

On a cluster of its own (sandbox/cluster, PYTHON_SHOP_CLUSTER=python-shop-bench:
real control plane, kwok-simulated pods; with --real, a real node running the
shop's images, and the original's deploy.yaml with those images substituted),
each round measures side by side:
  - `kubectl apply -f deploy.yaml` + `kubectl rollout status` of both Deployments
    (the article's way) against `pulumi up` (which awaits the Deployments the same
    way, and plans, checks and records every object), each into a fresh namespace;
  - a no-op `kubectl diff -f deploy.yaml` against a no-op `pulumi preview`.
With --real it also measures how long a ConfigMap change takes to reach the
running frontend's /config/config.cfg after `pulumi up` returns.
Prints the median of each and the ratios; writes artifacts/bench/deploy[-real].json.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sandbox
from infra import app_images
from sandbox.kube import Kube
from tests.support.stacks import Stack, changed
from tools.toolset import ROOT

CLUSTER = "python-shop-bench"
ORIGINAL = ROOT / "docs" / "original" / "deploy.yaml"
OUT = ROOT / "artifacts" / "bench"


def cluster(*args: str) -> str:
    proc = sandbox.cluster(*args, name=CLUSTER, show_log=True)
    if proc.returncode != 0:
        raise SystemExit(f"sandbox/cluster {' '.join(args)} failed")
    return proc.stdout.strip()


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def run_kubectl(kube: Kube, *args: str) -> str:
    """kubectl's output; `kubectl diff` exits 1 when it finds differences, which is no failure here."""
    proc = kube.run(*args, check=False, timeout=300)
    if proc.returncode != 0 and not (proc.returncode == 1 and args[0] == "diff"):
        raise SystemExit(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def original_manifest(real: bool, directory: Path) -> Path:
    """The article's deploy.yaml; on a real node with our images, which need no registry."""
    if not real:
        return ORIGINAL
    text = ORIGINAL.read_text()
    for app in ("backend", "frontend"):
        text = text.replace(f"brianmmcclain/python-shop-{app}:latest", app_images.reference(app))
    path = directory / "original-our-images.yaml"
    path.write_text(text.replace("imagePullPolicy: Always", "imagePullPolicy: Never"))
    return path


def original_apply(kubectl: Callable[..., str], namespace: str, manifest: Path) -> None:
    kubectl("apply", "--namespace", namespace, "-f", str(manifest))
    for deployment in ("python-shop-backend", "python-shop-frontend"):
        kubectl("rollout", "status", "--namespace", namespace, f"deployment/{deployment}", "--timeout=300s")


def config_propagation(kubectl: Callable[..., str], stack: Stack, namespace: str) -> float:
    """Seconds from `pulumi up` (backendPort 9090) returning to the file changing in the running pod."""
    pod = kubectl("get", "pods", "--namespace", namespace, "--selector", "app=python-shop-frontend",
                  "-o", "jsonpath={.items[0].metadata.name}").strip()
    stack.write_config(backendPort=9090)
    stack.up()
    applied = time.perf_counter()
    deadline = applied + 120
    while time.perf_counter() < deadline:
        if ":9090" in kubectl("exec", "--namespace", namespace, pod, "--", "cat", "/config/config.cfg"):
            return time.perf_counter() - applied
        time.sleep(0.1)
    raise SystemExit("the ConfigMap change did not reach the pod within 120 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--real", action="store_true", help="a real node running the shop's containers")
    args = parser.parse_args()
    flags = ["--real"] if args.real else []
    groups = ["pulumi", "kube", *(["node"] if args.real else [])]
    subprocess.run([str(ROOT / "sandbox" / "toolchain"), "install", *groups], check=True, stdout=subprocess.DEVNULL)

    kubeconfig = cluster("up", *flags).splitlines()[-1]
    context = f"kwok-{CLUSTER}-" + ("real" if args.real else "simulated")
    kubectl = functools.partial(run_kubectl, Kube(Path(kubeconfig), context))
    times: dict[str, list[float]] = {"kubectl apply + rollout": [], "pulumi up": [], "kubectl diff": [], "pulumi preview": []}
    propagation = None
    try:
        with tempfile.TemporaryDirectory(prefix="deploy-bench-") as tmp:
            manifest = original_manifest(args.real, Path(tmp))
            for round_ in range(args.rounds):
                namespace = f"original-{round_}"
                kubectl("create", "namespace", namespace)
                times["kubectl apply + rollout"].append(timed(lambda ns=namespace: original_apply(kubectl, ns, manifest)))
                times["kubectl diff"].append(timed(lambda ns=namespace: kubectl("diff", "--namespace", ns, "-f", str(manifest))))
                kubectl("delete", "namespace", namespace, "--wait=false")  # free the node for the next one

                stack = Stack(
                    Path(tmp) / f"round-{round_}", f"bench-{round_}",
                    extra_env={"KUBECONFIG": kubeconfig},
                    namespace=f"python-shop-{round_}",
                    **{"kubernetes:context": context},
                )
                times["pulumi up"].append(timed(stack.up))
                steps: list[dict] = []
                times["pulumi preview"].append(timed(lambda steps=steps, stack=stack: steps.extend(stack.steps())))
                if changed(steps):
                    raise SystemExit(f"the no-op preview planned changes: {changed(steps)}")
                print(f"round {round_ + 1}/{args.rounds}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items()))
            if args.real:
                propagation = config_propagation(kubectl, stack, f"python-shop-{args.rounds - 1}")
    finally:
        cluster("down", *flags)

    medians = {k: statistics.median(v) for k, v in times.items()}
    ratios = {
        "pulumi up / kubectl apply + rollout": medians["pulumi up"] / medians["kubectl apply + rollout"],
        "pulumi preview / kubectl diff": medians["pulumi preview"] / medians["kubectl diff"],
    }
    kind = "a real node, the shop's containers" if args.real else "simulated pods"
    print(f"\ndeploy benchmark, median of {args.rounds} rounds on a fresh local cluster ({kind})")
    for name, value in medians.items():
        print(f"  {name:26} {value:6.2f} s")
    for name, value in ratios.items():
        print(f"  {name:38} {value:5.1f}x")
    if propagation is not None:
        print(f"  ConfigMap change in the running frontend's /config/config.cfg: {propagation:.1f} s after `pulumi up`")
    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / ("deploy-real.json" if args.real else "deploy.json")
    out.write_text(json.dumps({"rounds": args.rounds, "seconds": times, "median": medians, "ratios": ratios,
                               "config_propagation_s": propagation}, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
