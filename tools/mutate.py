"""make mutate: mutation testing (cosmic-ray) of infra/, policy/ and both apps against the hermetic tier.

    python -m tools.mutate                      every module, one after another
    python -m tools.mutate policy/rules.py      one module (make mutate MODULE=policy/rules.py)
    python -m tools.mutate --changed main       the modules a branch touched since `main`
    python -m tools.mutate --jobs 3 ...         three mutants at once (make mutate JOBS=3)

Each mutant is one small slip applied to a copy of the repository (never this worktree): the
module's own hermetic tests run against it, stopping at the first failure. `--jobs N` (the
Makefile's JOBS, default 2) runs N mutants at once, each in a copy of its own: the apps' suites
spend most of their time waiting on deadlines (the frontend's: 19 s, of which 5 s on a CPU), so
two or three at once on two cores cut a module's time by about as much. A mutant the tests fail
on is killed; one they pass is a survivor, listed with its line. Mutants that cannot change
behaviour are listed, each with its reason, in tests/mutation-equivalents.toml and not run.

The operators are cosmic-ray's, with each binary and comparison operator replaced by its nearest
slip only (+ by -, < by <=, == by !=, is by is not), as mutmut does: cosmic-ray's every-operator-
by-every-other adds ten mutants per `+` that a TypeError kills at once, and minutes to each run.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENTS = ROOT / "tests" / "mutation-equivalents.toml"
SESSIONS = ROOT / "artifacts" / "mutate"
UNIT = "not engine and not cluster and not pods and not browser"  # the Makefile's hermetic tier
JOBS = 2  # mutants run at once: see the module's docstring

# Each module and the hermetic tests that exercise it (the fewer, the faster each mutant runs).
INFRA_TESTS = ("tests/infra",)
FRONTEND_TESTS = ("tests/frontend",)
MODULES: dict[str, tuple[str, ...]] = {
    "policy/rules.py": ("tests/policy",),
    "policy/__main__.py": ("tests/policy",),
    "infra/__main__.py": INFRA_TESTS,
    "infra/app_images.py": ("tests/infra/test_app_images.py", "tests/infra/test_resources.py"),
    "infra/exports.py": INFRA_TESTS,
    "infra/frontend_config.py": INFRA_TESTS,
    "infra/labels.py": INFRA_TESTS,
    "infra/namespace.py": INFRA_TESTS,
    "infra/provider.py": INFRA_TESTS,
    "infra/stack_settings.py": INFRA_TESTS,
    "infra/web_service.py": INFRA_TESTS,
    "backend/shop_backend/__init__.py": ("tests/backend",),
    "backend/shop_backend/health.py": ("tests/backend",),
    "backend/shop_backend/inventory.py": ("tests/backend",),
    "backend/shop_backend/observability.py": ("tests/backend",),
    "frontend/shop_frontend/__init__.py": FRONTEND_TESTS,
    "frontend/shop_frontend/backend_client.py": FRONTEND_TESTS,
    "frontend/shop_frontend/backend_config.py": FRONTEND_TESTS,
    "frontend/shop_frontend/errors.py": FRONTEND_TESTS,
    "frontend/shop_frontend/items.py": FRONTEND_TESTS,
    "frontend/shop_frontend/observability.py": FRONTEND_TESTS,
    "frontend/shop_frontend/security.py": FRONTEND_TESTS,
    "frontend/shop_frontend/settings.py": ("tests/frontend/test_config.py",),  # from_environ's tests are all there
    "frontend/shop_frontend/views.py": FRONTEND_TESTS,
}

# The nearest slip for each operator; every other cosmic-ray operator (numbers, booleans, and/or,
# `not`, exceptions, loops, decorators) is kept whole.
NEAREST = {
    "ReplaceBinaryOperator": {"Add_Sub", "Sub_Add", "Mul_Div", "Div_Mul", "FloorDiv_Div", "Mod_FloorDiv", "Pow_Mul",
                              "LShift_RShift", "RShift_LShift", "BitOr_BitAnd", "BitAnd_BitOr", "BitXor_BitOr"},
    "ReplaceComparisonOperator": {"Eq_NotEq", "NotEq_Eq", "Lt_LtE", "LtE_Lt", "Gt_GtE", "GtE_Gt", "Is_IsNot", "IsNot_Is"},
    "ReplaceUnaryOperator": {"USub_UAdd", "Delete_Not"},
}


def kept(operator: str) -> bool:
    family, _, pair = operator.removeprefix("core/").partition("_")
    return family not in NEAREST or pair in NEAREST[family]


@dataclass(frozen=True)
class Equivalent:
    module: str
    operator: str
    line: str  # the source line, stripped: survives edits elsewhere in the file
    reason: str
    to: str | None = None  # the mutated line, stripped, when only one of the line's mutants is meant


def annotation_spans(text: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where the annotations are, if the module never evaluates them (`from __future__ import annotations`):
    `str | None` made `str & None` there is equivalent, whatever the tests do."""
    tree = ast.parse(text)
    if not any(isinstance(n, ast.ImportFrom) and n.module == "__future__" and any(a.name == "annotations" for a in n.names)
               for n in tree.body):
        return []
    nodes = []
    for node in ast.walk(tree):
        if isinstance(node, ast.arg | ast.AnnAssign) and node.annotation is not None:
            nodes.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
            nodes.append(node.returns)
    return [((n.lineno, n.col_offset), (n.end_lineno or n.lineno, n.end_col_offset or 0)) for n in nodes]


def load_equivalents(path: Path = EQUIVALENTS) -> list[Equivalent]:
    entries = tomllib.loads(path.read_text()).get("equivalent", []) if path.exists() else []
    return [Equivalent(e["module"], e["operator"], e["line"].strip(), e["reason"], e.get("to")) for e in entries]


def operator_of(mutation: Any) -> Any:
    """cosmic-ray's operator object for a mutation spec of its work database."""
    import cosmic_ray.plugins

    return cosmic_ray.plugins.get_operator(mutation.operator_name)(**(getattr(mutation, "operator_args", None) or {}))


def mutated_line(text: str, mutation: Any) -> str | None:
    """The line `mutation` makes of its source line, stripped (in memory: nothing is written)."""
    from cosmic_ray.mutating import mutate_code

    try:
        code = mutate_code(text, operator_of(mutation), mutation.occurrence)
    except Exception:  # cosmic-ray cannot write this one: run_mutant says so
        return None
    return code.splitlines()[mutation.start_pos[0] - 1].strip() if code else None


@dataclass
class Outcome:
    module: str
    total: int = 0
    killed: int = 0
    equivalent: int = 0
    survivors: list[str] = field(default_factory=list)
    unwritten: list[str] = field(default_factory=list)  # mutants cosmic-ray could not apply
    seconds: float = 0.0

    @property
    def score(self) -> float:
        judged = self.total - self.equivalent
        return 100.0 * self.killed / judged if judged else 100.0


def copy_repository(into: Path) -> None:
    """The tracked and new files (no caches, no .venv): mutants are written here, never to the worktree."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if name == ".venv" or name.startswith(".venv/") or not source.is_file():
            continue
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, into / name)


def test_command(tests: tuple[str, ...]) -> str:
    # -x: the first failing test kills the mutant; no cache: runs do not leak into each other.
    return (f"{sys.executable} -m pytest -x -q --no-header -p no:cacheprovider -m '{UNIT}' "
            f"-o addopts=--strict-markers {' '.join(tests)}")


def run_tests(command: str, tree: Path, timeout: float) -> tuple[bool, str]:
    """(killed, output) of the tests in `tree`; a run past `timeout` (a mutant that loops) is a kill,
    its whole process group ended. No .pyc: a cached one (mtime in whole seconds) could hide a
    same-size mutant written within the same second."""
    proc = subprocess.Popen(shlex.split(command), cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return True, "timeout"
    return proc.returncode != 0, output.decode(errors="replace")


def run_mutant(mutation: Any, module: str, tree: Path, command: str, timeout: float) -> Any:
    """One mutant, written into `tree`'s copy of the module for the length of its test run."""
    from cosmic_ray.mutating import use_mutation
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

    try:
        with use_mutation(tree / module, operator_of(mutation), mutation.occurrence) as (original, mutated):
            if mutated is None:
                return WorkResult(worker_outcome=WorkerOutcome.NO_TEST, output="no such mutation")
            killed, output = run_tests(command, tree, timeout)
    except Exception as error:  # cosmic-ray could not write this one (its own bug): no mutant, no score
        return WorkResult(worker_outcome=WorkerOutcome.EXCEPTION, output=f"{type(error).__name__}: {error}")
    diff = "\n".join(difflib.unified_diff(original.splitlines(), mutated.splitlines(), lineterm=""))
    return WorkResult(output=output[-3000:], diff=diff, worker_outcome=WorkerOutcome.NORMAL,
                      test_outcome=TestOutcome.KILLED if killed else TestOutcome.SURVIVED)


def mutate_module(module: str, trees: list[Path], equivalents: list[Equivalent]) -> Outcome:
    from cosmic_ray.commands.init import init
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

    started = time.monotonic()
    command = test_command(MODULES[module])
    killed, output = run_tests(command, trees[0], timeout=3600)
    if killed:
        sys.exit(f"mutate: the tests of {module} fail unmutated; fix them first:\n{output[-3000:]}")
    # Generous, and more so with several at once: a mutant that hangs is a kill, not a stuck run.
    timeout = 3 * len(trees) * (time.monotonic() - started) + 10

    SESSIONS.mkdir(parents=True, exist_ok=True)
    session = SESSIONS / (re.sub(r"[^A-Za-z0-9]+", "-", module) + ".sqlite")
    session.unlink(missing_ok=True)
    text = (trees[0] / module).read_text()
    source = text.splitlines()
    annotations = annotation_spans(text)
    mine = [e for e in equivalents if e.module == module]
    outcome = Outcome(module)
    with use_db(str(session), WorkDB.Mode.create) as db:
        init([trees[0] / module], db, {})
        to_run = []
        for item in list(db.pending_work_items):
            (mutation,) = item.mutations
            line = source[mutation.start_pos[0] - 1].strip()
            if not kept(mutation.operator_name):
                db.set_result(item.job_id, WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output="not a nearest slip"))
                continue
            outcome.total += 1
            match = next((e.reason for e in mine if e.operator == mutation.operator_name and e.line == line
                          and (e.to is None or e.to == mutated_line(text, mutation))), None)
            start, end = tuple(mutation.start_pos), tuple(mutation.end_pos)
            if match is None and any(a <= start and end <= b for a, b in annotations):
                match = "an annotation, never evaluated (from __future__ import annotations)"
            if match:
                outcome.equivalent += 1
                db.set_result(item.job_id, WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output=f"equivalent: {match}"))
            else:
                to_run.append(item)
        print(f"mutate: {module}: {outcome.total} mutants ({outcome.equivalent} equivalent), "
              f"{len(trees)} at once, tests {' '.join(MODULES[module])}", flush=True)
        free: queue.Queue[Path] = queue.Queue()
        for tree in trees:
            free.put(tree)

        def on_a_free_tree(mutation: Any) -> Any:
            tree = free.get()
            try:
                return run_mutant(mutation, module, tree, command, timeout)
            finally:
                free.put(tree)

        with ThreadPoolExecutor(max_workers=len(trees)) as pool:  # results are written here, in this thread
            running = {pool.submit(on_a_free_tree, item.mutations[0]): item for item in to_run}
            for future in as_completed(running):
                db.set_result(running[future].job_id, future.result())
        for item, result in db.completed_work_items:
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                continue
            (mutation,) = item.mutations
            if result.worker_outcome in (WorkerOutcome.NO_TEST, WorkerOutcome.EXCEPTION):
                outcome.total -= 1  # never written, never tested: counted neither way, but said
                outcome.unwritten.append(f"{module}:{mutation.start_pos[0]}: {mutation.operator_name}: {result.output}")
                continue
            if result.test_outcome == TestOutcome.SURVIVED:
                row = mutation.start_pos[0]
                mutated = next((d[1:].strip() for d in (result.diff or "").splitlines()
                                if d.startswith("+") and not d.startswith("+++")), "(removed)")
                outcome.survivors.append(f"{module}:{row}: {mutation.operator_name.removeprefix('core/')}: "
                                         f"{source[row - 1].strip()}  ->  {mutated}")
            else:  # killed, or made the module fail to import or the tests time out: caught either way
                outcome.killed += 1
    outcome.seconds = time.monotonic() - started
    for line in sorted(outcome.survivors, key=lambda s: int(s.split(":")[1])):
        print(f"  survived {line}")
    for line in outcome.unwritten:
        print(f"  not written (not counted) {line}")
    unmatched = [e for e in mine if e.line not in {s.strip() for s in source}]
    for entry in unmatched:
        print(f"  stale equivalent (no such line any more): {entry.operator} {entry.line!r}")
    print(f"mutate: {module}: killed {outcome.killed} / {outcome.total - outcome.equivalent} "
          f"(+{outcome.equivalent} equivalent) = {outcome.score:.1f}% in {outcome.seconds:.0f} s", flush=True)
    return outcome


def changed_since(ref: str) -> list[str]:
    names = subprocess.run(["git", "diff", "--name-only", f"{ref}...HEAD"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split()
    return [m for m in MODULES if m in names]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("modules", nargs="*", help=f"modules to mutate (default: all {len(MODULES)})")
    parser.add_argument("--changed", metavar="REF", help="only the modules changed since REF")
    parser.add_argument("--jobs", type=int, default=JOBS, help=f"mutants run at once (default {JOBS})")
    args = parser.parse_args(argv)
    modules = changed_since(args.changed) if args.changed else (args.modules or list(MODULES))
    unknown = [m for m in modules if m not in MODULES]
    if unknown:
        parser.error(f"not a mutated module: {', '.join(unknown)}; the modules: {', '.join(MODULES)}")
    if not 1 <= args.jobs <= 16:
        parser.error(f"--jobs must be 1 to 16, not {args.jobs}")
    equivalents = load_equivalents()
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="python-shop-mutate-") as scratch:
        trees = [Path(scratch) / str(n) for n in range(args.jobs)]
        for tree in trees:
            copy_repository(tree)
        for module in modules:
            outcomes.append(mutate_module(module, trees, equivalents))
    killed = sum(o.killed for o in outcomes)
    equivalent = sum(o.equivalent for o in outcomes)
    judged = sum(o.total for o in outcomes) - equivalent
    score = 100.0 * killed / judged if judged else 100.0
    print(f"mutate: killed {killed} / {judged} non-equivalent mutants ({equivalent} equivalent, listed in "
          f"{EQUIVALENTS.relative_to(ROOT)}) = {score:.1f}% over {len(outcomes)} modules")
    for outcome in outcomes:
        for line in outcome.survivors:
            print(f"  survived {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
