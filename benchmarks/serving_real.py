"""Serving on the embedded real node: the page through the frontend Service, granian against gunicorn.

    .venv/bin/python -m benchmarks.serving_real [--duration 10] [--connections 1,8,32]

Where the shop actually runs: its pods on the real node, CPU limits included (500m a
container, WebService's default), the page fetched by `wrk` at the frontend's NodePort.
Two copies of the repository share one stack and one state backend: the shop as it is
(granian, the Procfiles'), and a variant whose Procfiles and requirements run gunicorn with
the settings granian replaced (benchmarks/gunicorn.conf.py, here as flags: the images copy
only the Procfile). `make up` in one copy, then the other, rolls the same Deployments
between the two servers' images; each is measured at each level, twice, alternating, best run kept.
Needs this machine's one real node free (it says so at once otherwise).
Prints requests/s and the ratio; writes artifacts/bench/serving-real.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.edit_loop import machine, make, refuse_if_a_real_node_runs
from benchmarks.load import wrk
from tests.support.repo import copy_repo
from tools.toolset import ROOT

OUT = ROOT / "artifacts" / "bench"
GUNICORN_VERSION = "27.0.1"  # requirements-dev.txt's, the one benchmarks/load.py measures
# benchmarks/gunicorn.conf.py as flags, per app: (threads, keep-alive seconds).
GUNICORN_APPS = {"backend": (4, 75), "frontend": (16, 5)}


def gunicorn_variant(repo: Path) -> None:
    """Turn a copy of the repository into the same apps served by gunicorn."""
    for app, (threads, keepalive) in GUNICORN_APPS.items():
        folder = repo / app
        requirements = folder / "requirements.txt"
        stamp = requirements.stat()
        with open(requirements, "a") as out:
            out.write(f"gunicorn=={GUNICORN_VERSION}\n")
        # Its old time: `make setup` must not take the image's extra package for a change to .venv.
        os.utime(requirements, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
        (folder / "Procfile").write_text(
            "web: gunicorn --bind 0.0.0.0:$PORT --workers ${WEB_CONCURRENCY:-2} --worker-class gthread "
            f"--threads {threads} --keep-alive {keepalive} --timeout 30 --graceful-timeout 10 "
            "--access-logfile - --error-logfile - --worker-tmp-dir /dev/shm --no-control-socket "
            f"'shop_{app}:create_app()'\n"
        )


def measure(url: str, levels: list[int], duration: float) -> dict[int, dict]:
    wrk(url, max(levels), 2)  # warm-up: workers started, connections pooled
    return {connections: wrk(url, connections, duration) for connections in levels}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--connections", default="1,8,32")
    args = parser.parse_args()
    levels = [int(c) for c in args.connections.split(",")]
    if not shutil.which("wrk"):
        raise SystemExit("benchmarks/serving_real.py: wrk is missing; `make bench` installs it")
    refuse_if_a_real_node_runs("benchmarks/serving_real.py")
    results: dict[str, list[dict[int, dict]]] = {"granian": [], "gunicorn": []}
    with tempfile.TemporaryDirectory(prefix="serving-real-") as tmp:
        env = machine(Path(tmp))
        repos = {"granian": copy_repo(Path(tmp) / "granian"), "gunicorn": copy_repo(Path(tmp) / "gunicorn")}
        gunicorn_variant(repos["gunicorn"])
        try:
            for server in ("granian", "gunicorn", "granian", "gunicorn"):  # alternated: drift hits both
                url = make(repos[server], env, "up").stdout.strip().splitlines()[-1].removeprefix("The shop: ")
                results[server].append(measure(url, levels, args.duration))
                print(f"{server}: " + ", ".join(f"{c} conns {f['requests_per_s']:.0f} req/s"
                                                for c, f in results[server][-1].items()), flush=True)
        finally:
            make(repos["granian"], env, "down")

    def best(server: str, connections: int) -> dict:
        return max((run[connections] for run in results[server]), key=lambda f: f["requests_per_s"])

    print("\nthe page on the embedded real node (frontend Service, CPU limits 500m a container), req/s")
    print(f"{'conns':>5} | {'granian':>8} | {'gunicorn':>8} | granian/gunicorn | errors | p99/p50 granian")
    table = {}
    for connections in levels:
        g, u = best("granian", connections), best("gunicorn", connections)
        ratio = g["requests_per_s"] / u["requests_per_s"]
        table[connections] = {"granian": g, "gunicorn": u, "ratio": ratio}
        print(f"{connections:5} | {g['requests_per_s']:8.0f} | {u['requests_per_s']:8.0f} | {ratio:15.2f}x | "
              f"{g['errors'] + u['errors']:6} | {g['p99_ms'] / g['p50_ms']:.1f}")
    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / "serving-real.json"
    out.write_text(json.dumps({"runs": results, "best": table}, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
