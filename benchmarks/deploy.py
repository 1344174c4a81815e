"""Deploy benchmark: the original's way against the Pulumi program, on one fresh cluster.

    .venv/bin/python benchmarks/deploy.py [--rounds N]

On a cluster of its own (tools/cluster, PYTHON_SHOP_CLUSTER=python-shop-bench:
real control plane, kwok-simulated pods), each round measures side by side:
  - `kubectl apply -f deploy.yaml` + `kubectl rollout status` of both Deployments
    (the article's way) against `pulumi up` (which awaits the same and more:
    Services with endpoints), each into a fresh namespace;
  - a no-op `kubectl diff -f deploy.yaml` against a no-op `pulumi preview`.
Prints the median of each and the ratios; writes artifacts/bench/deploy.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.engine import ROOT, Stack, changed, toolchain_bin  # noqa: E402

CLUSTER = "python-shop-bench"
CONTEXT = f"kwok-{CLUSTER}"
ORIGINAL = ROOT / "tests" / "e2e" / "fixtures" / "original-deploy.yaml"
OUT = ROOT / "artifacts" / "bench"


def cluster(*args: str) -> str:
    env = {**os.environ, "PYTHON_SHOP_CLUSTER": CLUSTER}
    proc = subprocess.run([str(ROOT / "tools" / "cluster"), *args], env=env, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"tools/cluster {' '.join(args)} failed")
    return proc.stdout.strip()


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


class Kubectl:
    def __init__(self, kubeconfig: str):
        self.base = [str(toolchain_bin() / "kubectl"), "--kubeconfig", kubeconfig, "--context", CONTEXT]

    def __call__(self, *args: str, ok_codes: tuple[int, ...] = (0,)) -> None:
        proc = subprocess.run([*self.base, *args], capture_output=True, text=True, timeout=300)
        if proc.returncode not in ok_codes:
            raise SystemExit(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")


def original_apply(kubectl: Kubectl, namespace: str) -> None:
    kubectl("apply", "--namespace", namespace, "-f", str(ORIGINAL))
    for deployment in ("python-shop-backend", "python-shop-frontend"):
        kubectl("rollout", "status", "--namespace", namespace, f"deployment/{deployment}", "--timeout=300s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    subprocess.run([str(ROOT / "tools" / "toolchain"), "install", "pulumi", "kube"], check=True, stdout=subprocess.DEVNULL)

    kubeconfig = cluster("up").splitlines()[-1]
    kubectl = Kubectl(kubeconfig)
    times: dict[str, list[float]] = {"kubectl apply + rollout": [], "pulumi up": [], "kubectl diff": [], "pulumi preview": []}
    try:
        with tempfile.TemporaryDirectory(prefix="deploy-bench-") as tmp:
            for round_ in range(args.rounds):
                namespace = f"original-{round_}"
                kubectl("create", "namespace", namespace)
                times["kubectl apply + rollout"].append(timed(lambda: original_apply(kubectl, namespace)))
                # kubectl diff exits 1 when it finds differences, 0 when there are none.
                times["kubectl diff"].append(
                    timed(lambda: kubectl("diff", "--namespace", namespace, "-f", str(ORIGINAL)))
                )

                stack = Stack(
                    Path(tmp) / f"round-{round_}", f"bench-{round_}",
                    extra_env={"KUBECONFIG": kubeconfig},
                    namespace=f"python-shop-{round_}",
                    **{"kubernetes:context": CONTEXT},
                )
                times["pulumi up"].append(timed(stack.up))
                steps: list[dict] = []
                times["pulumi preview"].append(timed(lambda: steps.extend(stack.steps())))
                if changed(steps):
                    raise SystemExit(f"the no-op preview planned changes: {changed(steps)}")
                print(f"round {round_ + 1}/{args.rounds}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items()))
    finally:
        cluster("down")

    medians = {k: statistics.median(v) for k, v in times.items()}
    ratios = {
        "pulumi up / kubectl apply + rollout": medians["pulumi up"] / medians["kubectl apply + rollout"],
        "pulumi preview / kubectl diff": medians["pulumi preview"] / medians["kubectl diff"],
    }
    print(f"\ndeploy benchmark, median of {args.rounds} rounds on a fresh local cluster (simulated pods)")
    for name, value in medians.items():
        print(f"  {name:26} {value:6.2f} s")
    for name, value in ratios.items():
        print(f"  {name:38} {value:5.1f}x")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "deploy.json").write_text(json.dumps({"rounds": args.rounds, "seconds": times, "median": medians, "ratios": ratios}, indent=2))
    print(f"wrote {OUT / 'deploy.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
