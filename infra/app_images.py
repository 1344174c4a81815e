"""The image each app runs, named after its source: `python-shop-<app>:<digest of backend/ or frontend/>`.

The one place an image tag is computed. The program deploys these tags unless
the stack sets `backendImage`/`frontendImage`; `make up` builds the ones its
cluster lacks. The digest covers what `docker build <app>/` reads (the build
context, as the folder's .dockerignore leaves it, plus the Dockerfile), so any
edit that changes the image changes the tag and rolls the pods, and an edit
that cannot (a cache folder, a test) changes nothing. Skaffold's inputDigest
tagger works the same way.

Standard library only: `python3 infra/app_images.py backend` prints the
reference without a virtualenv (the README's minikube walkthrough uses it).
"""

from __future__ import annotations

import hashlib
import re
import stat
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = ("backend", "frontend")
DIGEST_LENGTH = 16  # hex characters: 64 bits, no collision between two edits of one app


def repository(app: str) -> str:
    return f"python-shop-{app}"


def reference(app: str, root: Path = ROOT) -> str:
    """The image reference of `app` as its folder is now, e.g. python-shop-backend:3f0c9a1e5b7d2c48."""
    return f"{repository(app)}:{digest(root / app)}"


def digest(context: Path) -> str:
    """sha256 over the path, the owner's executable bit and bytes of every file the build reads, in a fixed order."""
    if not (context / "Dockerfile").is_file():
        raise FileNotFoundError(f"{context}/Dockerfile: not an app folder")
    sha = hashlib.sha256()
    for relative in sorted(build_inputs(context)):
        path = context / relative
        # The owner's executable bit only, as git records a file's mode: the rest follows the umask.
        sha.update(f"{relative}\0{path.stat().st_mode & stat.S_IXUSR:o}\0{path.stat().st_size}\0".encode())
        sha.update(path.read_bytes())
    return sha.hexdigest()[:DIGEST_LENGTH]


def build_inputs(context: Path) -> list[str]:
    """Relative paths of the files `docker build` sends (the .dockerignore applied), and the Dockerfile."""
    ignore = context / ".dockerignore"
    patterns = [_pattern(line) for line in ignore.read_text().splitlines()] if ignore.exists() else []
    rules = [rule for rule in patterns if rule]
    files = []
    for path in context.rglob("*"):
        if path.is_file() or (path.is_symlink() and path.exists()):
            relative = path.relative_to(context).as_posix()
            if not _ignored(relative, rules) or relative == "Dockerfile":
                files.append(relative)
    return files


def _pattern(line: str) -> tuple[bool, re.Pattern[str]] | None:
    """One .dockerignore line as (negated, regex over the path from the context root); None for blanks and comments."""
    if line.startswith("#"):  # a comment only from column 1, as Docker reads it; " #x" is a pattern
        return None
    text = line.strip()
    if not text:
        return None
    negated = text.startswith("!")
    text = text.removeprefix("!").strip().strip("/")
    regex = ""
    index = 0
    while index < len(text):
        if text.startswith("**/", index):
            regex, index = regex + "(?:.*/)?", index + 3
        elif text.startswith("**", index):
            regex, index = regex + ".*", index + 2
        elif text[index] == "*":
            regex, index = regex + "[^/]*", index + 1
        elif text[index] == "?":
            regex, index = regex + "[^/]", index + 1
        else:
            regex, index = regex + re.escape(text[index]), index + 1
    # A pattern that names a directory leaves out everything below it.
    return negated, re.compile(f"{regex}(?:/.*)?")


def _ignored(relative: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    ignored = False
    for negated, regex in rules:  # the last matching line wins, as in Docker
        if regex.fullmatch(relative):
            ignored = not negated
    return ignored


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in APPS:
        sys.exit(f"usage: python3 infra/app_images.py {'|'.join(APPS)}")
    print(reference(sys.argv[1]))
