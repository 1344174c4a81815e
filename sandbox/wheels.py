"""The sandbox's wheel cache: every pinned requirement of the repo as a wheel, for virtualenvs made offline.

    python -m sandbox.wheels            fill it (the package index only for what it lacks); print its path
    python -m sandbox.wheels --env      the pip environment that installs from it alone (KEY=VALUE lines)

Why: on this project's CI machines the package index answers slowly (a fresh `.venv` of
requirements-dev.txt took 5 min 10 s on 2026-12-01; the same from these wheels, `--no-index`, 5 s),
and pip's HTTP cache keeps nothing of it (the index sends no caching headers). `make test` fills
the cache once per machine and requirement set; `make setup` then installs from it when it holds
everything, and the tests that make virtualenvs the way a user's `pulumi install` does (the language
host's rows, the README walkthrough) get `pip_env()`, as a user's warm pip cache or a company mirror
would serve them. A machine that never ran `make test` has no cache, and pip works as it always does.

The cache lives with the toolchain (`<cache>/wheels`, outside the repo, shared by clones and CI runs);
wheels accumulate (a changed pin adds its wheel beside the old one), `rm -r` of the folder resets it.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
from pathlib import Path

from sandbox.recipes.common import cache_root

ROOT = Path(__file__).resolve().parents[1]
# requirements-dev.txt names the program's, the pack's and both apps' files (-r): everything pinned.
REQUIREMENTS = ROOT / "requirements-dev.txt"
# What a new virtualenv is upgraded to before its requirements go in (the Python language host's
# pip toolchain does so, upstream and the sandbox's): unpinned, as there.
VENV_TOOLS = ("pip", "setuptools", "wheel")


def wheels_dir() -> Path:
    return cache_root() / "wheels"


def pip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL)


def requirement_set() -> str:
    """A digest of every requirement file's text: the cache holds a set once its marker says so."""
    digest = hashlib.sha256(" ".join(VENV_TOOLS).encode())
    for path in [REQUIREMENTS, *sorted(ROOT.glob("*/requirements.txt"))]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def marker(wheels: Path) -> Path:
    return wheels / f"complete-{requirement_set()}"


def holds_everything(wheels: Path) -> bool:
    """Did a fill of this very requirement set succeed here? (pip's own no-index check takes ~9 s.)"""
    return marker(wheels).exists()


def fill(wheels: Path | None = None) -> Path:
    """Download what the cache lacks from the package index, check pip finds it all there with no
    index, and mark the set as held; return the cache's path."""
    wheels = wheels or wheels_dir()
    if holds_everything(wheels):
        return wheels
    wheels.mkdir(parents=True, exist_ok=True)
    offline = ["--no-index", "--find-links", str(wheels)]
    if pip("download", "--quiet", *offline, "--dest", str(wheels), "-r", str(REQUIREMENTS), *VENV_TOOLS).returncode:
        print(f"sandbox/wheels: downloading the pinned requirements into {wheels} (once per requirement set)",
              file=sys.stderr)
        proc = pip("download", "--quiet", "--dest", str(wheels), "-r", str(REQUIREMENTS), *VENV_TOOLS)
        if proc.returncode != 0:
            raise SystemExit(f"sandbox/wheels: pip download failed:\n{proc.stderr[-3000:]}")
    marker(wheels).touch()
    return wheels


def pip_env() -> dict[str, str]:
    """pip's environment for installing from the cache alone, when it holds everything; else nothing
    (pip then asks the index, as it always does)."""
    wheels = wheels_dir()
    if not holds_everything(wheels):
        return {}
    return {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", action="store_true", help="print the pip environment that installs from the cache")
    args = parser.parse_args(argv)
    if args.env:
        print("\n".join(f"{key}={value}" for key, value in pip_env().items()))
    else:
        print(fill())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
