"""What the verbs cost on top of the pulumi commands they run, side by side in one run.

    .venv/bin/python -m benchmarks.verbs [--rounds N]

In a copy of the repository, on a simulated cluster of its own (PYTHON_SHOP_CLUSTER=
python-shop-bench-verbs: a real control plane, kwok's pods), with state in a throwaway local
backend: the shop is deployed once with `make up STACK=simulated-node`; then each round times
  - `make preview` against the raw `pulumi preview --diff --policy-pack policy` it runs, and
  - a no-op `make up` against the raw commands it runs: `pulumi preview --policy-pack policy`,
    `pulumi up --yes --skip-preview --policy-pack policy` and `pulumi stack output --json`
    (on simulated pods `make up` has no rollout or page to wait for),
each raw command with the environment the verbs give it. Prints the medians, the overheads and
the ratio, with the goals (preview ≤ 0.4 s over raw; no-op up ≤ 1.3× raw); writes
artifacts/bench/verbs.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import sandbox
from tests.support.repo import copy_repo
from tools.toolset import DEFAULT_PASSPHRASE, ROOT, find_tools

BASE = "python-shop-bench-verbs"
STACK = "simulated-node"
OUT = ROOT / "artifacts" / "bench"
PREVIEW_GOAL_SECONDS = 0.4
UP_GOAL_RATIO = 1.3


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=600)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args(argv).rounds
    tools = find_tools()
    with tempfile.TemporaryDirectory() as tmp:
        repo, state = copy_repo(Path(tmp) / "repo"), Path(tmp) / "state"
        state.mkdir()
        # The copy's stack names the bench's own cluster, so a simulated cluster of yours is left alone.
        stack_file = repo / f"Pulumi.{STACK}.yaml"
        stack_file.write_text(stack_file.read_text().replace("kwok-python-shop-simulated", f"kwok-{BASE}-simulated"))
        env = {**os.environ, "PYTHON_SHOP_CLUSTER": BASE, "STACK": STACK, "PULUMI_BACKEND_URL": f"file://{state}",
               "PULUMI_CONFIG_PASSPHRASE": DEFAULT_PASSPHRASE}
        try:
            timed(["make", "--no-print-directory", "up"], repo, env)
            kubeconfig = sandbox.cluster("kubeconfig", name=BASE).stdout.strip()
            raw_env = {**tools.env(extra={"KUBECONFIG": kubeconfig}), "PULUMI_BACKEND_URL": f"file://{state}",
                       "PULUMI_CONFIG_PASSPHRASE": DEFAULT_PASSPHRASE}
            pulumi = [str(tools.pulumi)]
            pack = ["--policy-pack", str(repo / "policy"), "--stack", STACK]
            raw_preview = [*pulumi, "preview", "--diff", *pack]
            raw_up = [[*pulumi, "preview", *pack], [*pulumi, "up", "--yes", "--skip-preview", *pack],
                      [*pulumi, "stack", "output", "--json", "--stack", STACK]]
            figures: dict[str, list[float]] = {"make preview": [], "raw preview": [], "make up": [], "raw up": []}
            for round_ in range(1, rounds + 1):
                figures["make preview"].append(timed(["make", "--no-print-directory", "preview"], repo, env))
                figures["raw preview"].append(timed(raw_preview, repo, raw_env))
                figures["make up"].append(timed(["make", "--no-print-directory", "up"], repo, env))
                figures["raw up"].append(sum(timed(step, repo, raw_env) for step in raw_up))
                print(f"round {round_}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in figures.items()), flush=True)
        finally:
            subprocess.run(["make", "--no-print-directory", "down"], cwd=repo, env=env, capture_output=True,
                           stdin=subprocess.DEVNULL, timeout=600)
    medians = {k: statistics.median(v) for k, v in figures.items()}
    preview_over = medians["make preview"] - medians["raw preview"]
    up_ratio = medians["make up"] / medians["raw up"]
    verdict = "met" if preview_over <= PREVIEW_GOAL_SECONDS else "missed"
    print(f"make preview {medians['make preview']:.2f} s vs raw {medians['raw preview']:.2f} s: "
          f"+{preview_over:.2f} s (goal ≤ {PREVIEW_GOAL_SECONDS} s: {verdict})")
    print(f"no-op make up {medians['make up']:.2f} s vs raw {medians['raw up']:.2f} s: {up_ratio:.2f}× "
          f"(goal ≤ {UP_GOAL_RATIO}×: {'met' if up_ratio <= UP_GOAL_RATIO else 'missed'})")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "verbs.json").write_text(json.dumps({"rounds": figures, "medians": medians,
                                                "preview_overhead_s": preview_over, "up_ratio": up_ratio}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
