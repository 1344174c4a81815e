"""How the program's cost grows: N pairs of the shop's web services, `pulumi` against `kubectl`.

    .venv/bin/python -m benchmarks.growth [--sizes 1,5,25,50]

For each size N, a throwaway program (benchmarks/growth_program.py, written to a temporary
directory) deploys N backend + frontend pairs, 2N WebServices each with its own config ConfigMap,
built from the real infra/ modules. On a simulated cluster of its own (sandbox/cluster,
PYTHON_SHOP_CLUSTER=python-shop-bench-growth: a real control plane, kwok's pods: nothing pulled, no
container runs), side by side in one run:
  - the same program rendered (`renderDir`), then `kubectl apply` of those manifests into a fresh
    namespace, in dependency order, and `kubectl rollout status` of every Deployment (what `pulumi up`
    awaits: the Services are not awaited), then a no-op `kubectl diff` of them;
  - `pulumi up` of the program into another fresh namespace, then a no-op `pulumi preview`.
Each pulumi command's process tree (the CLI and engine, the language host and program, the provider) is
sampled every SAMPLE_SECONDS for the sum of its RSS (the peak) and each process's CPU time; the tree's
whole CPU time is getrusage(RUSAGE_CHILDREN)'s, and the cluster's own processes' CPU time is taken
around each command. Every command has a timeout that grows with N and fails the run loudly.
Prints a table, the ratios and the marginal cost per resource; writes artifacts/bench/growth.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import yaml

import sandbox
from benchmarks.growth_program import write_program
from sandbox.kube import Kube
from tests.support.stacks import Stack, changed
from tools.toolset import ROOT, pulumi

CLUSTER = "python-shop-bench-growth"  # a base name of its own: the user's and the other benchmarks' clusters are left alone
SIZES = (1, 5, 25, 50)  # pairs: 2, 10, 50 and 100 WebServices
# The stack it starts from: the sandbox's simulated cluster (its context replaced by ours below).
BASE_STACK = "simulated-node"
SAMPLE_SECONDS = 0.2  # how often the process tree is sampled: fine enough for runs of seconds, cheap on two cores
# Per command: a fixed allowance (startup, a cold plugin) plus a share per pair. At 50 pairs on two shared
# cores (load average 10: other jobs) a first `pulumi up` took ~28 s for one pair; 720 s at 50 pairs fails a
# run that has stalled, not a slow one.
TIMEOUT_BASE_SECONDS = 120
TIMEOUT_PER_PAIR_SECONDS = 12
OUT = ROOT / "artifacts" / "bench"
# The order `kubectl apply` gets the rendered files in: kubectl applies them as given, so a namespaced object
# before its Namespace fails, and a Deployment before its ServiceAccount has its pods refused until the account
# exists. Helm's install order (pkg/release/util/kind_sorter.go), for the kinds the program makes; others last.
INSTALL_ORDER = ("Namespace", "NetworkPolicy", "PodDisruptionBudget", "ServiceAccount", "ConfigMap", "Service",
                 "Deployment")


def timeout_for(pairs: int) -> float:
    return TIMEOUT_BASE_SECONDS + TIMEOUT_PER_PAIR_SECONDS * pairs


def apply_order(manifests: Iterable[tuple[Path, str]]) -> list[Path]:
    """Rendered files (path, kind) in INSTALL_ORDER, by path within a kind (a stable order run to run)."""
    rank = {kind: i for i, kind in enumerate(INSTALL_ORDER)}
    return [path for path, _ in sorted(manifests, key=lambda pk: (rank.get(pk[1], len(rank)), str(pk[0])))]


def rendered_files(directory: Path) -> list[tuple[Path, str]]:
    """Every manifest the provider rendered, with its kind (one object a file)."""
    found = []
    for path in sorted(directory.rglob("*.yaml")):
        documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
        if len(documents) != 1:
            raise SystemExit(f"{path}: expected one object, found {len(documents)}")
        found.append((path, documents[0]["kind"]))
    return found


# --- one command, measured ---------------------------------------------------------------------------------

ROLES = ("engine (CLI)", "language host + program", "provider", "other")


def role(process_name: str) -> str:
    """Which part of a pulumi run a process of the tree is (kubectl, and the `diff` kubectl diff runs: other)."""
    if process_name == "pulumi":
        return ROLES[0]
    if process_name.startswith("pulumi-resource"):  # Linux's 15 characters when psutil cannot read the full name
        return ROLES[2]
    if process_name.startswith(("pulumi-language-", "python")):
        return ROLES[1]  # the language host, the program's interpreter, the `pip list` it runs
    return ROLES[3]


@dataclass
class Measured:
    seconds: float
    peak_rss_mb: float  # the largest sum of RSS over the whole tree at one sample
    peak_rss_by_role_mb: dict[str, float]  # each role's share at that sample
    cpu_seconds: float  # the whole tree, exactly (getrusage of the children it waited for)
    cpu_by_role_seconds: dict[str, float]  # from the samples: a process's last seen CPU time (a short one may be missed)
    stdout: str = field(repr=False, default="")
    returncode: int = 0


def run_measured(argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
                 timeout: float, ok: tuple[int, ...] = (0,)) -> Measured:
    """Run argv to completion, sampling its process tree; fail loudly on another exit than `ok` or the timeout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, text=True)
        root = psutil.Process(proc.pid)
        peak, peak_roles = 0.0, {r: 0.0 for r in ROLES}
        cpu: dict[int, tuple[str, float]] = {}  # pid -> (role, user + system seconds last seen)
        while proc.poll() is None:
            if time.perf_counter() - started > timeout:
                _kill_tree(root)
                proc.wait()
                raise SystemExit(f"{' '.join(argv[:3])}... did not finish within {timeout:.0f} s (killed)")
            total, roles = 0.0, {r: 0.0 for r in ROLES}
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                tree = []
            for process in tree:
                try:
                    with process.oneshot():
                        part = role(process.name())
                        rss = process.memory_info().rss / 2**20
                        times = process.cpu_times()
                except psutil.NoSuchProcess:
                    continue
                total += rss
                roles[part] += rss
                cpu[process.pid] = (part, times.user + times.system)
            if total > peak:
                peak, peak_roles = total, roles
            time.sleep(SAMPLE_SECONDS)
        elapsed = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{stdout[-3000:]}\n{stderr[-3000:]}")
    by_role = {r: round(sum(t for p, t in cpu.values() if p == r), 2) for r in ROLES}
    return Measured(round(elapsed, 3), round(peak, 1), {r: round(v, 1) for r, v in peak_roles.items()},
                    round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2), by_role, stdout,
                    proc.returncode)


def _kill_tree(root: psutil.Process) -> None:
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for process in processes:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass


class ClusterCpu:
    """CPU seconds the cluster's own processes (etcd, the API server, the controllers, kwok) spend."""

    def __init__(self, cluster_name: str):
        pids = sandbox.cluster_dir(cluster_name) / "pids"
        self.processes = {f.stem: psutil.Process(int(f.read_text().strip())) for f in sorted(pids.glob("*.pid"))}
        if not self.processes:
            raise SystemExit(f"no pid files in {pids}: is cluster {cluster_name} running?")

    def now(self) -> dict[str, float]:
        return {name: sum(p.cpu_times()[:2]) for name, p in self.processes.items()}

    @staticmethod
    def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        return {name: round(after[name] - before[name], 2) for name in before}


# --- the figures ----------------------------------------------------------------------------------------------

KEYS = ("pulumi up", "pulumi preview", "kubectl apply + rollout", "kubectl diff")


def ratios(figures: dict[str, float]) -> dict[str, float]:
    """pulumi against kubectl, for one size."""
    return {"pulumi up / kubectl apply + rollout": figures["pulumi up"] / figures["kubectl apply + rollout"],
            "pulumi preview / kubectl diff": figures["pulumi preview"] / figures["kubectl diff"]}


def marginal_ms(objects: dict[int, int], seconds: dict[int, float]) -> dict[str, float]:
    """Milliseconds each extra Kubernetes object added between consecutive sizes: 'a→b' -> ms (sizes in pairs;
    the same denominator for both tools, though pulumi also tracks 3 components a pair)."""
    sizes = sorted(seconds)
    return {f"{a}→{b}": 1000 * (seconds[b] - seconds[a]) / (objects[b] - objects[a])
            for a, b in zip(sizes, sizes[1:], strict=False) if objects[b] != objects[a]}


def table(rows: dict[int, dict]) -> str:
    """The printed table: one line a size."""
    head = (f"{'pairs':>5} {'resources':>9} {'objects':>7} | {'pulumi up':>9} {'kubectl apply':>13} {'ratio':>6} | "
            f"{'preview':>7} {'kubectl diff':>12} {'ratio':>6} | {'peak MB up':>10} {'preview':>7} {'render':>6}")
    lines = [head, "-" * len(head)]
    for pairs, row in sorted(rows.items()):
        s, r = row["seconds"], ratios(row["seconds"])
        lines.append(
            f"{pairs:>5} {row['resources']:>9} {row['objects']:>7} | {s['pulumi up']:>8.2f}s "
            f"{s['kubectl apply + rollout']:>12.2f}s {r['pulumi up / kubectl apply + rollout']:>5.1f}x | "
            f"{s['pulumi preview']:>6.2f}s {s['kubectl diff']:>11.2f}s {r['pulumi preview / kubectl diff']:>5.1f}x | "
            f"{row['peak_rss_mb']['pulumi up']:>10.0f} {row['peak_rss_mb']['pulumi preview']:>7.0f} "
            f"{row['seconds']['pulumi up (render)']:>5.2f}s")
    return "\n".join(lines)


# --- the run --------------------------------------------------------------------------------------------------

def cluster(*args: str) -> str:
    proc = sandbox.cluster(*args, name=CLUSTER, show_log=True, timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"sandbox/cluster {' '.join(args)} failed")
    return proc.stdout.strip()


def pulumi_argv(stack: Stack, *args: str) -> list[str]:
    """As Stack.cli runs it, for run_measured to watch."""
    return [str(stack.tools.pulumi), *args, "--stack", stack.name, "--config-file", str(stack.config_file),
            "--non-interactive"]


def one_size(pairs: int, tmp: Path, kube: Kube, kubeconfig: str, context: str, cpu: ClusterCpu) -> dict:
    limit = timeout_for(pairs)
    program = write_program(tmp / "program", pairs)
    row: dict = {"seconds": {}, "peak_rss_mb": {}, "peak_rss_by_role_mb": {}, "cpu_seconds": {},
                 "cpu_by_role_seconds": {}, "cluster_cpu_seconds": {}, "load_average_before": os.getloadavg()}

    def record(name: str, measured: Measured, cluster_before: dict[str, float]) -> None:
        row["seconds"][name] = measured.seconds
        row["peak_rss_mb"][name] = measured.peak_rss_mb
        row["peak_rss_by_role_mb"][name] = measured.peak_rss_by_role_mb
        row["cpu_seconds"][name] = measured.cpu_seconds
        row["cpu_by_role_seconds"][name] = measured.cpu_by_role_seconds
        row["cluster_cpu_seconds"][name] = ClusterCpu.spent(cluster_before, cpu.now())

    def kubectl(*args: str) -> Measured:
        return run_measured(kube.argv(*args), timeout=limit)

    # The manifests: the same program, rendered (no cluster touched), into a namespace of their own.
    rendered = tmp / "rendered"
    render = Stack(tmp / "render", f"render-{pairs}", base=BASE_STACK, namespace=f"kubectl-{pairs}",
                   renderDir=str(rendered))
    started = cpu.now()
    record("pulumi up (render)", run_measured(pulumi_argv(render, "up", "--yes", "--skip-preview"), env=render.env,
                                              cwd=program, timeout=limit), started)
    files = rendered_files(rendered)
    row["objects"] = len(files)
    ordered = [arg for path in apply_order(files) for arg in ("-f", str(path))]

    namespace = f"kubectl-{pairs}"
    started = cpu.now()
    applied = kubectl("apply", *ordered)
    rolled = kubectl("rollout", "status", "deployment", "--namespace", namespace,
                     "--selector", "app.kubernetes.io/part-of=python-shop", f"--timeout={limit:.0f}s")
    record("kubectl apply + rollout", Measured(
        applied.seconds + rolled.seconds, max(applied.peak_rss_mb, rolled.peak_rss_mb), {},
        applied.cpu_seconds + rolled.cpu_seconds, {}), started)
    deployments = rolled.stdout.count("successfully rolled out")
    if deployments != 2 * pairs:
        raise SystemExit(f"kubectl rollout status saw {deployments} Deployments roll out, not {2 * pairs}")
    started = cpu.now()
    # Exit 1 is "differences found": a no-op is what is measured, so it is reported (and the diff kept).
    diff = run_measured(kube.argv("diff", *ordered), timeout=limit, ok=(0, 1))
    record("kubectl diff", diff, started)
    row["kubectl diff differs"] = diff.stdout[-5000:] if diff.returncode == 1 else ""
    # Free the node for pulumi's pods (its room is counted in pods).
    kube.run("delete", "namespace", namespace, f"--timeout={limit:.0f}s", timeout=limit + 30)

    stack = Stack(tmp / "up", f"growth-{pairs}", base=BASE_STACK, extra_env={"KUBECONFIG": kubeconfig},
                  namespace=f"pulumi-{pairs}", **{"kubernetes:context": context})
    started = cpu.now()
    record("pulumi up", run_measured(pulumi_argv(stack, "up", "--yes", "--skip-preview"), env=stack.env, cwd=program,
                                     timeout=limit), started)
    started = cpu.now()
    preview = run_measured(pulumi_argv(stack, "preview", "--json"), env=stack.env, cwd=program, timeout=limit)
    record("pulumi preview", preview, started)
    steps = json.loads(preview.stdout).get("steps", [])
    if changed(steps):
        raise SystemExit(f"the no-op preview planned changes: {changed(steps)}")
    state = pulumi("stack", "export", "--stack", stack.name, env=stack.env, tools=stack.tools, cwd=program)
    row["resources"] = len(json.loads(state.stdout)["deployment"]["resources"])  # the stack, provider, components too
    kube.run("delete", "namespace", f"pulumi-{pairs}", f"--timeout={limit:.0f}s", timeout=limit + 30)
    return row


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sizes takes numbers of pairs separated by commas, e.g. 1,5; not {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"--sizes takes at least one number of pairs, each 1 or more; not {text!r}")
    return sorted(set(sizes))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=parse_sizes, default=list(SIZES),
                        help=f"numbers of pairs, comma-separated (default {','.join(map(str, SIZES))})")
    sizes = parser.parse_args(argv).sizes
    subprocess.run([str(ROOT / "sandbox" / "toolchain"), "install", "pulumi", "kube"], check=True,
                   stdout=subprocess.DEVNULL)
    kubeconfig = cluster("up").splitlines()[-1]
    context = f"kwok-{CLUSTER}-simulated"
    kube = Kube(Path(kubeconfig), context)
    rows: dict[int, dict] = {}
    try:
        cpu = ClusterCpu(f"{CLUSTER}-simulated")
        with tempfile.TemporaryDirectory(prefix="growth-bench-") as tmp:
            for pairs in sizes:
                rows[pairs] = one_size(pairs, Path(tmp) / f"pairs-{pairs}", kube, kubeconfig, context, cpu)
                s = rows[pairs]["seconds"]
                print(f"{pairs} pairs: " + ", ".join(f"{k} {s[k]:.2f} s" for k in KEYS), flush=True)
    finally:
        cluster("down")

    print(f"\nhow the cost grows, pairs of web services on simulated pods ({os.cpu_count()} cores, shared)")
    print(table(rows))
    objects = {n: r["objects"] for n, r in rows.items()}
    marginal = {k: marginal_ms(objects, {n: r["seconds"][k] for n, r in rows.items()})
                for k in (*KEYS, "pulumi up (render)")}
    marginal_cpu = {k: marginal_ms(objects, {n: r["cpu_seconds"][k] for n, r in rows.items()})
                    for k in (*KEYS, "pulumi up (render)")}
    for name, steps in marginal.items():
        print(f"  {name:24} ms per extra object, wall: " + ", ".join(f"{k} {v:.0f}" for k, v in steps.items())
              + "; CPU: " + ", ".join(f"{k} {v:.0f}" for k, v in marginal_cpu[name].items()))
    largest = rows[max(rows)]
    print(f"  at {max(rows)} pairs, CPU seconds of pulumi up by part: {largest['cpu_by_role_seconds']['pulumi up']}"
          f" (whole tree {largest['cpu_seconds']['pulumi up']}); the cluster's: {largest['cluster_cpu_seconds']['pulumi up']}")
    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / "growth.json"
    out.write_text(json.dumps({
        "sizes": sizes, "cores": os.cpu_count(), "sample_seconds": SAMPLE_SECONDS,
        "runs": rows, "ratios": {n: ratios(r["seconds"]) for n, r in rows.items()}, "marginal_ms_per_object": marginal,
        "marginal_cpu_ms_per_object": marginal_cpu,
        "median_ratio": {k: statistics.median(ratios(r["seconds"])[k] for r in rows.values())
                         for k in ratios(next(iter(rows.values()))["seconds"])},
    }, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
