"""Up/down cycles: `make up`, a rollout under load, `make down`, ten times; nothing may be left behind.

    .venv/bin/python -m benchmarks.cycles [--rounds N]

The README's verbs in a copy of the repository, on a machine with no kube context and no minikube
(the main job's, as benchmarks/edit_loop.py plays it), on the embedded real node. Each round starts
from nothing: `make up` (the cluster starts, the images go in, the stack is created), a template edit
and `make up` again while four clients load the page (every request counted), then `make down`, after
which the host must hold nothing of the node: no process, mount, interface, iptables rule or chain
(empty ones too), ipset (sandbox/real_node.leftovers). A round that fails a request or leaves anything
is reported with what it was; the run ends with the counts per round and exits 1 on any.
Writes artifacts/bench/cycles.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from benchmarks.edit_loop import OUT, edit, machine, make, refuse_if_a_real_node_runs, shown
from sandbox import real_node
from tests.support.load import Load
from tests.support.repo import copy_repo


def cycle(repo: Path, env: dict[str, str], round_: int) -> dict:
    started = time.perf_counter()
    url = make(repo, env, "up").stdout.strip().splitlines()[-1].removeprefix("The shop: ")
    up = time.perf_counter() - started
    marker = f"cycle-{round_}-{time.time_ns()}"
    edit(repo, marker)
    with Load(url, duration=900, concurrency=4, timeout=10) as load:
        started = time.perf_counter()
        make(repo, env, "up")
        first_page_new = marker in requests.get(url, timeout=10).text
        rollout = shown(url, marker, started)
        load.stop()
    failures = [{"at_s": round(o.started - started, 2), "status": o.status, "error": o.error}
                for o in load.snapshot() if o.status != 200]
    started = time.perf_counter()
    make(repo, env, "down")
    down = time.perf_counter() - started
    return {"round": round_, "make up s": round(up, 1), "edit -> make up -> page s": round(rollout, 1),
            "make down s": round(down, 1), "requests": load.count(lambda o: True), "failed": len(failures),
            "failures": failures, "first page new": first_page_new, "left behind": real_node.leftovers()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    refuse_if_a_real_node_runs("benchmarks/cycles.py")
    before = real_node.leftovers()
    if before:
        raise SystemExit(f"benchmarks/cycles.py: the host holds the node's traces before the first round: {before}")
    rounds: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="cycles-") as tmp:
        env = machine(Path(tmp))
        repo = copy_repo(Path(tmp) / "repo")
        try:
            for round_ in range(1, args.rounds + 1):
                rounds.append(cycle(repo, env, round_))
                r = rounds[-1]
                print(f"round {round_}/{args.rounds}: up {r['make up s']} s, edit {r['edit -> make up -> page s']} s, "
                      f"down {r['make down s']} s; {r['failed']} of {r['requests']} requests failed; first page "
                      f"{'new' if r['first page new'] else 'OLD'}; left behind: {r['left behind'] or 'nothing'}",
                      flush=True)
        finally:  # a round cut short still removes what it deployed (after a whole round: nothing to do)
            subprocess.run(["make", "--no-print-directory", "down"], cwd=repo, env=env, capture_output=True,
                           timeout=600)
    bad = [r for r in rounds if r["failed"] or r["left behind"] or not r["first page new"]]
    print(f"\n{len(rounds)} up/rollout/down cycles on the embedded real node: "
          f"{sum(r['failed'] for r in rounds)} of {sum(r['requests'] for r in rounds)} requests failed, "
          f"{sum(bool(r['left behind']) for r in rounds)} rounds left something, "
          f"{sum(not r['first page new'] for r in rounds)} first pages old")
    print("  per round, failed/requests: " + "; ".join(f"{r['failed']}/{r['requests']}" for r in rounds))
    print(f"  goal (0 failed, nothing left, first page new, every round): {'met' if not bad else 'MISSED'}")
    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / "cycles.json"
    out.write_text(json.dumps({"rounds": rounds}, indent=2))
    print(f"wrote {out}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
