"""make mutate: mutation testing (cosmic-ray) of infra/, policy/ and both apps against the hermetic tier.

    python -m tools.mutate                      every module, one after another
    python -m tools.mutate policy/rules.py      one module (make mutate MODULE=policy/rules.py)
    python -m tools.mutate --changed main       the modules a branch touched since `main`

Each mutant is one small slip applied to a copy of the repository (never this worktree): the
module's own hermetic tests run against it, stopping at the first failure, one mutant at a time
(one test process: the machine's other core is someone else's). A mutant the tests fail on is
killed; one they pass is a survivor, listed with its line. Mutants that cannot change behaviour
are listed, each with its reason, in tests/mutation-equivalents.toml and not run.

The operators are cosmic-ray's, with each binary and comparison operator replaced by its nearest
slip only (+ by -, < by <=, == by !=, is by is not), as mutmut does: cosmic-ray's every-operator-
by-every-other adds ten mutants per `+` that a TypeError kills at once, and minutes to each run.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENTS = ROOT / "tests" / "mutation-equivalents.toml"
SESSIONS = ROOT / "artifacts" / "mutate"
UNIT = "not engine and not cluster and not pods and not browser"  # the Makefile's hermetic tier

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
    return [Equivalent(e["module"], e["operator"], e["line"].strip(), e["reason"]) for e in entries]


@dataclass
class Outcome:
    module: str
    total: int = 0
    killed: int = 0
    equivalent: int = 0
    survivors: list[str] = field(default_factory=list)
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


def mutate_module(module: str, tree: Path, equivalents: list[Equivalent]) -> Outcome:
    from cosmic_ray.commands.execute import execute
    from cosmic_ray.commands.init import init
    from cosmic_ray.config import ConfigDict
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

    started = time.monotonic()
    command = test_command(MODULES[module])
    # No .pyc, as cosmic-ray runs each mutant: a cached one (mtime in whole seconds) could hide a
    # same-size mutant written within the same second.
    baseline = subprocess.run(command, shell=True, cwd=tree, capture_output=True, text=True,
                              env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    if baseline.returncode != 0:
        sys.exit(f"mutate: the tests of {module} fail unmutated; fix them first:\n{baseline.stdout[-3000:]}")
    # Generous: a mutant that hangs (a loop that never ends) is a kill, not a stuck run.
    timeout = 3 * (time.monotonic() - started) + 10

    SESSIONS.mkdir(parents=True, exist_ok=True)
    session = SESSIONS / (re.sub(r"[^A-Za-z0-9]+", "-", module) + ".sqlite")
    session.unlink(missing_ok=True)
    text = (tree / module).read_text()
    source = text.splitlines()
    annotations = annotation_spans(text)
    mine = [e for e in equivalents if e.module == module]
    outcome = Outcome(module)
    with use_db(str(session), WorkDB.Mode.create) as db:
        init([tree / module], db, {})
        for item in list(db.pending_work_items):
            (mutation,) = item.mutations
            line = source[mutation.start_pos[0] - 1].strip()
            if not kept(mutation.operator_name):
                db.set_result(item.job_id, WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output="not a nearest slip"))
                continue
            outcome.total += 1
            match = next((e.reason for e in mine if e.operator == mutation.operator_name and e.line == line), None)
            start, end = tuple(mutation.start_pos), tuple(mutation.end_pos)
            if match is None and any(a <= start and end <= b for a, b in annotations):
                match = "an annotation, never evaluated (from __future__ import annotations)"
            if match:
                outcome.equivalent += 1
                db.set_result(item.job_id, WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output=f"equivalent: {match}"))
        print(f"mutate: {module}: {outcome.total} mutants ({outcome.equivalent} equivalent), "
              f"tests {' '.join(MODULES[module])}", flush=True)
        config = ConfigDict({"test-command": command, "timeout": timeout, "distributor": {"name": "local"}})
        here = os.getcwd()
        os.chdir(tree)  # cosmic-ray writes each mutant into the module path, relative to here
        try:
            execute(db, config)
        finally:
            os.chdir(here)
        for item, result in db.completed_work_items:
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                continue
            (mutation,) = item.mutations
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
    args = parser.parse_args(argv)
    modules = changed_since(args.changed) if args.changed else (args.modules or list(MODULES))
    unknown = [m for m in modules if m not in MODULES]
    if unknown:
        parser.error(f"not a mutated module: {', '.join(unknown)}; the modules: {', '.join(MODULES)}")
    equivalents = load_equivalents()
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="python-shop-mutate-") as scratch:
        tree = Path(scratch)
        copy_repository(tree)
        for module in modules:
            outcomes.append(mutate_module(module, tree, equivalents))
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
