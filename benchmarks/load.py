"""Load benchmark: the backend alone and our shop under each server, and the original, side by side.

wrk drives each target on loopback at several concurrency levels, for a
bounded time each: the backend alone and the shop (frontend + backend) under
granian (the Procfiles' server) and under gunicorn (benchmarks/gunicorn.conf.py,
the apps' former setup), and the original's serving setup; then our shop's
memory is measured before and after a longer run at 32 connections. Prints a
table and the ratios, writes artifacts/bench/load.json and artifacts/bench/load.png.

    .venv/bin/python -m benchmarks.load [--duration 10] [--connections 1,8,32,64] [--memory-duration 60]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from infra.frontend_config import config_file
from tools.procfile import ROOT, WebProcess, free_port

OUT = ROOT / "artifacts" / "bench"
GOALS = {"vs_original_at_32": 3.0, "backend_vs_gunicorn_at_32": 2.5, "p99_over_p50": 4.0, "memory_growth": 0.10,
         "metrics_cost": 0.05}
CHOSEN = "granian"  # the server in the Procfiles and Dockerfiles

# server -> app -> (the web command, its environment); None: the app's own Procfile.
GUNICORN = f"gunicorn --config {ROOT / 'benchmarks' / 'gunicorn.conf.py'} --bind 127.0.0.1:$PORT"
SERVERS: dict[str, dict[str, tuple[str | None, dict[str, str]]]] = {
    "granian": {"backend": (None, {}), "frontend": (None, {})},
    "gunicorn": {
        "backend": (f"{GUNICORN} 'shop_backend:create_app()'",
                    {"WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "4", "GUNICORN_KEEPALIVE": "75"}),
        "frontend": (f"{GUNICORN} 'shop_frontend:create_app()'",
                     {"WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "16", "GUNICORN_KEEPALIVE": "5",
                      "BACKEND_POOL_SIZE": "16"}),
    },
}


@dataclass
class Point:
    target: str
    connections: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int  # socket errors + non-2xx answers
    requests: int


def app_process(server: str, app: str, log: Path, env: dict[str, str] | None = None) -> WebProcess:
    command, server_env = SERVERS[server][app]
    return WebProcess(app, free_port(), env={**server_env, **(env or {})}, log_path=log, command=command)


def backend_alone(server: str):
    @contextmanager
    def start(logs: Path) -> Iterator[tuple[str, list[WebProcess]]]:
        with app_process(server, "backend", logs / f"backend-alone-{server}.log") as backend:
            yield backend.url + "/", [backend]

    return start


def ours(server: str, metrics: str = "off"):
    """The shop's two apps; metrics "off" (none served), "prometheus" (what the cluster runs:
    prometheus_client's multiprocess files, /metrics on a port of its own) or "granian" (granian's
    own exporter: server figures only, no routes, statuses or backend outcomes)."""
    label = f"ours-{server}-{metrics}"

    @contextmanager
    def start(logs: Path) -> Iterator[tuple[str, list[WebProcess]]]:
        with ExitStack() as stack:
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory()))

            def env(app: str) -> dict[str, str]:
                if metrics == "prometheus":
                    return {"METRICS_PORT": str(free_port()), "METRICS_HOST": "127.0.0.1",
                            "PROMETHEUS_MULTIPROC_DIR": str(scratch / f"metrics-{app}")}
                if metrics == "granian":
                    return {"GRANIAN_METRICS_ENABLED": "true", "GRANIAN_METRICS_PORT": str(free_port())}
                return {}

            backend = stack.enter_context(app_process(server, "backend", logs / f"{label}-backend.log", env("backend")))
            config = scratch / "config.cfg"
            config.write_text(config_file(backend.url))
            frontend = stack.enter_context(app_process(server, "frontend", logs / f"{label}-frontend.log",
                                                       {"CONFIG_PATH": str(config), **env("frontend")}))
            yield frontend.url + "/", [frontend, backend]

    return start


@contextmanager
def original(logs: Path) -> Iterator[tuple[str, list[WebProcess]]]:
    base = "benchmarks/baseline"
    with ExitStack() as stack:
        backend = stack.enter_context(
            WebProcess(f"{base}/backend", free_port(), log_path=logs / "original-backend.log", ready_path="/")
        )
        config = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "config.cfg"
        config.write_text(config_file(backend.url))
        frontend = stack.enter_context(
            WebProcess(
                f"{base}/frontend",
                free_port(),
                env={"CONFIG_PATH": str(config)},
                log_path=logs / "original-frontend.log",
                ready_path="/",
            )
        )
        yield frontend.url + "/", [frontend, backend]


TARGETS = {
    **{f"backend-alone/{server}": backend_alone(server) for server in SERVERS},
    **{f"ours/{server}": ours(server) for server in SERVERS},
    # Metrics on, both ways, beside ours/granian (off) in the same run: their cost is the difference.
    "ours/granian+metrics": ours("granian", "prometheus"),
    "ours/granian+granian-metrics": ours("granian", "granian"),
    "original": original,
}
OURS = f"ours/{CHOSEN}"

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _found(match: re.Match[str] | None, what: str, out: str) -> re.Match[str]:
    """`match`, or an error naming what wrk's output lacked (a wrk of another format, a run that failed)."""
    if match is None:
        raise ValueError(f"no {what} in wrk's output:\n{out}")
    return match


def _ms(text: str) -> float:
    number, unit = _found(re.fullmatch(r"([\d.]+)(us|ms|s)", text), "latency with a unit", text).groups()
    return float(number) * _UNITS[unit]


def wrk(url: str, connections: int, duration: float) -> dict:
    argv = ["wrk", f"-t{min(connections, 2)}", f"-c{connections}", f"-d{duration:g}s", "--latency", "--timeout", "5s", url]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    percentiles = dict(re.findall(r"^\s+(\d+)%\s+([\d.]+(?:us|ms|s))\s*$", out, re.M))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests_per_s": float(_found(re.search(r"Requests/sec:\s+([\d.]+)", out), "Requests/sec", out).group(1)),
        "requests": int(_found(re.search(r"(\d+) requests in", out), "request count", out).group(1)),
        "p50_ms": _ms(percentiles["50"]),
        "p99_ms": _ms(percentiles["99"]),
        "errors": (sum(map(int, socket_errors.groups())) if socket_errors else 0) + (int(non_2xx.group(1)) if non_2xx else 0),
    }


def measure(levels: list[int], duration: float, logs: Path, targets: list[str]) -> list[Point]:
    points = []
    for target in targets:
        start = TARGETS[target]
        with start(logs) as (url, _):
            wrk(url, max(levels), 2)  # warm-up: workers started, connections pooled
            for connections in levels:
                figures = wrk(url, connections, duration)
                points.append(Point(target, connections, **figures))
                print(f"  {target:14} c={connections:<3} {figures['requests_per_s']:9.0f} req/s  "
                      f"p50 {figures['p50_ms']:7.2f} ms  p99 {figures['p99_ms']:7.2f} ms  errors {figures['errors']}",
                      flush=True)
    return points


def measure_memory(duration: float, logs: Path) -> dict:
    with TARGETS[OURS](logs) as (url, processes):
        wrk(url, 32, 2)
        before = sum(p.rss_bytes() for p in processes)
        figures = wrk(url, 32, duration)
        after = sum(p.rss_bytes() for p in processes)
    return {"rss_before_mib": before / 2**20, "rss_after_mib": after / 2**20, "growth": after / before - 1,
            "duration_s": duration, "requests": figures["requests"], "errors": figures["errors"]}


def report(points: list[Point], memory: dict | None) -> dict:
    by = {(p.target, p.connections): p for p in points}
    levels = sorted({p.connections for p in points})
    print(f"\n{'target':22} " + " ".join(f"{'c=' + str(c):>24}" for c in levels))
    for target in TARGETS:
        cells = [by[(target, c)] for c in levels]
        row = " ".join(f"{p.requests_per_s:7.0f}/s {p.p50_ms:5.1f}/{p.p99_ms:5.1f}ms e{p.errors}" for p in cells)
        print(f"{target:22} {row}")
    print("(req/s, p50/p99 latency, errors)")
    ratios = {}
    for c in levels:
        def rps(target: str, c: int = c) -> float:
            return by[(target, c)].requests_per_s

        ratios[c] = {
            "ours_over_original": rps(OURS) / max(rps("original"), 1e-9),
            "ours_over_backend_alone": rps(OURS) / rps(f"backend-alone/{CHOSEN}"),
            "page_granian_over_gunicorn": rps("ours/granian") / rps("ours/gunicorn"),
            "backend_granian_over_gunicorn": rps("backend-alone/granian") / rps("backend-alone/gunicorn"),
            "metrics_cost": 1 - rps("ours/granian+metrics") / rps(OURS),
            "granian_metrics_cost": 1 - rps("ours/granian+granian-metrics") / rps(OURS),
        }
    print(f"\n{'conns':>5} | ours/original | ours/backend alone | page granian/gunicorn | backend granian/gunicorn"
          " | metrics cost (prometheus_client) | (granian's exporter)")
    for c in levels:
        r = ratios[c]
        print(f"{c:>5} | {r['ours_over_original']:12.1f}x | {r['ours_over_backend_alone']:17.2f}x | "
              f"{r['page_granian_over_gunicorn']:20.2f}x | {r['backend_granian_over_gunicorn']:23.2f}x | "
              f"{r['metrics_cost']:31.1%} | {r['granian_metrics_cost']:19.1%}")
    goals = {}
    if 32 in levels:
        ours32 = by[(OURS, 32)]
        goals = {
            f"page ({CHOSEN}) >= 3x the original at 32": (
                ratios[32]["ours_over_original"], ratios[32]["ours_over_original"] >= GOALS["vs_original_at_32"]),
            "backend alone (granian) >= 2.5x gunicorn at 32": (
                ratios[32]["backend_granian_over_gunicorn"],
                ratios[32]["backend_granian_over_gunicorn"] >= GOALS["backend_vs_gunicorn_at_32"]),
            f"ours ({CHOSEN}): zero errors at every level": (
                sum(by[(OURS, c)].errors for c in levels), all(by[(OURS, c)].errors == 0 for c in levels)),
            "page throughput with metrics on >= 95% of off at 32": (
                1 - ratios[32]["metrics_cost"], ratios[32]["metrics_cost"] <= GOALS["metrics_cost"]),
            f"ours ({CHOSEN}) p99 <= 4x p50 at 32": (
                ours32.p99_ms / ours32.p50_ms, ours32.p99_ms <= GOALS["p99_over_p50"] * ours32.p50_ms),
        }
    if memory:
        print(f"\nmemory ({OURS}, every server process): {memory['rss_before_mib']:.1f} MiB before, "
              f"{memory['rss_after_mib']:.1f} MiB after {memory['duration_s']:g} s at 32 connections "
              f"({memory['requests']} requests): {memory['growth']:+.1%}")
        goals[f"ours ({CHOSEN}) memory growth < 10% over the long run"] = (
            memory["growth"], memory["growth"] < GOALS["memory_growth"])
    print(f"\nchosen server: {CHOSEN} (the Procfiles, the Dockerfiles, make dev)")
    print("goals:")
    for name, (value, met) in goals.items():
        print(f"  {'met ' if met else 'MISSED'} {name}: {value:.2f}")
    return {"points": [asdict(p) for p in points], "ratios": ratios, "memory": memory, "chosen": CHOSEN,
            "goals": {k: {"value": v, "met": m} for k, (v, m) in goals.items()}}


def plot(points: list[Point], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for target in TARGETS:
        series = sorted((p.connections, p.requests_per_s, p.p99_ms) for p in points if p.target == target)
        xs = [s[0] for s in series]
        left.plot(xs, [s[1] for s in series], marker="o", label=target)
        right.plot(xs, [s[2] for s in series], marker="o", label=target)
    left.set(title="Throughput", xlabel="connections", ylabel="requests/s", xscale="log")
    right.set(title="p99 latency", xlabel="connections", ylabel="ms", xscale="log", yscale="log")
    for axis in (left, right):
        axis.grid(True, alpha=0.3)
        axis.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--connections", default="1,8,32,64")
    parser.add_argument("--memory-duration", type=float, default=60.0, help="0 skips the memory run")
    parser.add_argument("--only", default="", help="comma-separated targets (exploring; the report needs all)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("benchmarks/load.py: wrk is missing; `make bench` installs it (python3 -m sandbox.system_packages bench)",
              file=sys.stderr)
        return 1
    levels = [int(c) for c in args.connections.split(",")]
    OUT.mkdir(parents=True, exist_ok=True)
    logs = Path(tempfile.mkdtemp(prefix="bench-logs-"))
    started = time.monotonic()
    print(f"load: {', '.join(TARGETS)} at {levels} connections, {args.duration:g} s each (logs in {logs})", flush=True)
    if args.only:
        measure(levels, args.duration, logs, args.only.split(","))
        return 0
    points = measure(levels, args.duration, logs, list(TARGETS))
    memory = measure_memory(args.memory_duration, logs) if args.memory_duration > 0 else None
    results = report(points, memory)
    results["duration_s"] = time.monotonic() - started
    (OUT / "load.json").write_text(json.dumps(results, indent=2))
    plot(points, OUT / "load.png")
    print(f"\nwrote {OUT / 'load.json'} and {OUT / 'load.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
