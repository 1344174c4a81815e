"""A copy of the repository to run the README's verbs in, so the stack files they write stay there."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tools.toolset import ROOT


def copy_repo(target: Path) -> Path:
    """The working tree's files (tracked and new, not ignored), with their times; .venv shared, and
    the policy pack's venv when this checkout has made one (`make test` makes it first)."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    (target / ".venv").symlink_to(ROOT / ".venv")
    if (ROOT / "policy" / "venv").is_dir():
        (target / "policy" / "venv").symlink_to(ROOT / "policy" / "venv")
    return target
