"""Edit-loop benchmark: edit, `make up`, see it, on the embedded real node, against the same by hand.

    .venv/bin/python -m benchmarks.edit_loop [--rounds N]

Runs the README's verbs in a copy of the repository (the edits stay there), as the main
job does on a machine with no kube context and no minikube, state in a backend of its own.
Needs this machine's one real node free (it says so at once otherwise). Measures, side by side:
  - `make up` with nothing changed;
  - a one-line template edit, then `make up`, until the page shows it (image build included);
  - the same edit by hand: `docker build` + `docker save | ctr import` + `kubectl set image`
    + `kubectl rollout status`, until the page shows it;
with four clients loading the page throughout each edit, counting failed requests.
Prints medians and ratios; writes artifacts/bench/edit-loop.json.
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

import requests

from sandbox import real_node
from tests.support.load import Load
from tests.support.repo import copy_repo
from tools.toolset import ROOT, bin_dir

OUT = ROOT / "artifacts" / "bench"
NAMESPACE = "python-shop"
TEMPLATE = "frontend/shop_frontend/templates/base.html"
SHOWN_DEADLINE = 120  # seconds for an edit to reach the page before the round counts as failed


def refuse_if_a_real_node_runs(who: str) -> None:
    """At once, naming it: even make up's own cluster, which this run's `make up` and `make down` would take over."""
    running = [name for name in ("containerd", "kubelet") if real_node.alive(name)]
    if running:
        owner = real_node.owner_file().read_text().strip() if real_node.owner_file().exists() else "?"
        raise SystemExit(f"{who}: this machine's one real node runs ({', '.join(running)}; for {owner}): "
                         "stop it first (`make down`, or `make cluster-down REAL=1`)")


def machine(tmp: Path) -> dict[str, str]:
    """The main job's machine: no kube context, no minikube, state in a backend of our own."""
    (tmp / "state").mkdir()
    path = [d for d in os.environ["PATH"].split(os.pathsep) if d and not os.path.exists(os.path.join(d, "minikube"))]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "PYTHON_SHOP_CLUSTER"))}
    env.update(PATH=os.pathsep.join(path), KUBECONFIG=str(tmp / "no-kubeconfig"),
               PULUMI_BACKEND_URL=f"file://{tmp / 'state'}")
    return env


def make(repo: Path, env: dict[str, str], verb: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(["make", "--no-print-directory", verb], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=900, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise SystemExit(f"make {verb} failed:\n{(proc.stdout + proc.stderr)[-4000:]}")
    return proc


def edit(repo: Path, marker: str) -> None:
    template = repo / TEMPLATE
    lines = [line for line in template.read_text().splitlines() if "edit-loop" not in line]
    at = next(i for i, line in enumerate(lines) if "<h1>" in line)
    lines.insert(at + 1, f"    <p class=\"edit-loop\">{marker}</p>")
    template.write_text("\n".join(lines) + "\n")


def shown(url: str, marker: str, started: float) -> float:
    """Seconds from `started` until a fresh request to the page shows `marker`."""
    deadline = time.perf_counter() + SHOWN_DEADLINE
    while time.perf_counter() < deadline:
        if marker in requests.get(url, timeout=10).text:
            return time.perf_counter() - started
        time.sleep(0.05)
    raise SystemExit(f"the edit {marker!r} did not reach {url} within {SHOWN_DEADLINE} s")


def describe(outcome, how: str, started: float) -> dict:
    return {"during": how, "at_s": round(outcome.started - started, 2), "status": outcome.status,
            "error": outcome.error, "body": outcome.text[:200]}


def by_hand(repo: Path, kubeconfig: str, image: str) -> None:
    """What a user would type without `make up`: build, load into the node, set the image, wait."""
    docker = {**os.environ, "DOCKER_HOST": f"unix://{real_node.common.cache_root() / 'images/docker/docker.sock'}"}
    subprocess.run(["docker", "build", "--quiet", "--network", "host", "--tag", image, str(repo / "frontend")],
                   env=docker, check=True, capture_output=True)
    save = subprocess.Popen(["docker", "save", image], env=docker, stdout=subprocess.PIPE)
    real_node.ctr("images", "import", "--no-unpack", "-", stdin=save.stdout)
    if save.wait() != 0:
        raise SystemExit(f"docker save {image} failed")
    kubectl = [str(bin_dir() / "kubectl"), "--kubeconfig", kubeconfig, "--namespace", NAMESPACE]
    subprocess.run([*kubectl, "set", "image", "deployment/python-shop-frontend", f"python-shop-frontend={image}"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*kubectl, "rollout", "status", "deployment/python-shop-frontend", "--timeout=300s"],
                   check=True, stdout=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    refuse_if_a_real_node_runs("benchmarks/edit_loop.py")
    times: dict[str, list[float]] = {"make up, nothing changed": [], "edit -> make up -> page": [],
                                     "edit -> by hand -> page": []}
    failed: dict[str, int] = {"edit -> make up -> page": 0, "edit -> by hand -> page": 0}
    requests_seen: dict[str, int] = {"edit -> make up -> page": 0, "edit -> by hand -> page": 0}
    failures: list[dict] = []
    per_round: list[dict] = []  # make up's rounds: failed requests, and whether the first page showed the edit
    first_page: list[bool] = []
    with tempfile.TemporaryDirectory(prefix="edit-loop-") as tmp:
        env = machine(Path(tmp))
        repo = copy_repo(Path(tmp) / "repo")
        try:
            url = make(repo, env, "up").stdout.strip().splitlines()[-1].removeprefix("The shop: ")
            kubeconfig = str(real_node.common.cache_root()
                             / "kwok/clusters/python-shop-real/python-shop-real.kubeconfig")
            for round_ in range(args.rounds):
                marker = f"make-up-{round_}-{time.time_ns()}"
                edit(repo, marker)
                with Load(url, duration=900, concurrency=4, timeout=10) as load:
                    started = time.perf_counter()
                    make(repo, env, "up")
                    # make up's promise: the first page fetched after it returns shows the edit.
                    first_page.append(marker in requests.get(url, timeout=10).text)
                    times["edit -> make up -> page"].append(shown(url, marker, started))
                    load.stop()
                failures.extend(describe(o, "make up", started) for o in load.snapshot() if o.status != 200)
                round_failed = load.count(lambda o: o.status != 200)
                per_round.append({"round": round_ + 1, "failed": round_failed, "requests": load.count(lambda o: True),
                                  "first page shows the edit": first_page[-1]})
                failed["edit -> make up -> page"] += round_failed
                requests_seen["edit -> make up -> page"] += load.count(lambda o: True)

                started = time.perf_counter()  # the edit above is deployed: this one has nothing to do
                make(repo, env, "up")
                times["make up, nothing changed"].append(time.perf_counter() - started)

                marker = f"by-hand-{round_}-{time.time_ns()}"
                edit(repo, marker)
                with Load(url, duration=900, concurrency=4, timeout=10) as load:
                    started = time.perf_counter()
                    by_hand(repo, kubeconfig, f"python-shop-frontend:by-hand-{round_}")
                    times["edit -> by hand -> page"].append(shown(url, marker, started))
                    load.stop()
                failures.extend(describe(o, "by hand", started) for o in load.snapshot() if o.status != 200)
                failed["edit -> by hand -> page"] += load.count(lambda o: o.status != 200)
                requests_seen["edit -> by hand -> page"] += load.count(lambda o: True)
                print(f"round {round_ + 1}/{args.rounds}: " + ", ".join(f"{k} {v[-1]:.1f}s" for k, v in times.items())
                      + f"; make up: {per_round[-1]['failed']} of {per_round[-1]['requests']} requests failed, first "
                      f"page {'showed' if first_page[-1] else 'did NOT show'} the edit", flush=True)
        finally:
            subprocess.run(["make", "--no-print-directory", "down"], cwd=repo, env=env, capture_output=True,
                           timeout=600)

    medians = {k: statistics.median(v) for k, v in times.items()}
    ratio = medians["edit -> make up -> page"] / medians["edit -> by hand -> page"]
    print(f"\nedit-loop benchmark, median of {args.rounds} rounds on the embedded real node")
    for failure in failures:
        print(f"  failed request: {failure}")
    for name, value in medians.items():
        extra = f"  ({failed[name]} of {requests_seen[name]} requests failed)" if name in failed else ""
        print(f"  {name:28} {value:6.1f} s{extra}")
    print(f"  edit via make up / by hand {ratio:13.2f}x")
    print("  make up, per round: " + "; ".join(
        f"{r['failed']}/{r['requests']} failed, first page {'new' if r['first page shows the edit'] else 'OLD'}"
        for r in per_round))
    print(f"  goal: 0 failed in every round and the first page new: "
          f"{'met' if all(r['failed'] == 0 and r['first page shows the edit'] for r in per_round) else 'MISSED'}")
    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / "edit-loop.json"
    out.write_text(json.dumps({"rounds": args.rounds, "seconds": times, "median": medians,
                               "make up / by hand": ratio, "failed": failed, "requests": requests_seen,
                               "failures": failures, "make up rounds": per_round}, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
