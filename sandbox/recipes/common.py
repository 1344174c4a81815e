"""Shared machinery for building pinned tools from Go modules into a cache.

Every tool the project needs but no registry ships as a binary (the Pulumi CLI,
the kubernetes provider, the Kubernetes control plane, ...) is built here from
its Go module, into ``<cache>/toolchain/<component>-<version>/bin``. A build is
idempotent: a ``.complete`` stamp holding the recipe key marks a finished build,
so a warm run costs a stat. Nothing is ever written inside the repository.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path


class ToolchainError(RuntimeError):
    """A build step failed; the message says which and what to do."""


def cache_root() -> Path:
    """Where builds live: outside the repo, shared by clones and CI runs."""
    explicit = os.environ.get("PYTHON_SHOP_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "python-shop"


def toolchain_root() -> Path:
    return cache_root() / "toolchain"


def bin_dir() -> Path:
    """The one directory `sandbox/toolchain path` prints: links to every built binary."""
    return toolchain_root() / "bin"


def say(who: str, message: str) -> None:
    """The sandbox's one progress line format, on stderr: [who HH:MM:SS] message."""
    print(f"[{who} {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def log(message: str) -> None:
    say("toolchain", message)


def running(pid: int) -> bool:
    """Is `pid` a live process? A zombie counts as gone (this VM's PID 1 never reaps them); one
    still exiting does not (its cmdline is already empty then, its cwd not yet released)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def stop_process(pid: int, grace: float) -> None:
    """SIGTERM, and SIGKILL if it is still running after `grace` seconds; return once it is gone
    (or 10 s after the SIGKILL: the caller checks)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        _wait_gone(pid, grace)
        if running(pid):
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 10)


def _wait_gone(pid: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while running(pid) and time.monotonic() < deadline:
        time.sleep(0.1)


def unmount_under(directory: Path) -> None:
    """Lazily unmount everything mounted below `directory`, deepest first."""
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    for target in sorted((m for m in mounts if m.startswith(str(directory))), key=len, reverse=True):
        subprocess.run(["umount", "--lazy", target], capture_output=True)


def go_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for every go command: the machine's own Go, module mode."""
    env = dict(os.environ)
    env.update(
        {
            "GOTOOLCHAIN": "local",  # never download another Go
            "GOFLAGS": "-mod=mod -buildvcs=false",
            "CGO_ENABLED": env.get("CGO_ENABLED", "0"),
            "GOWORK": "off",
        }
    )
    if extra:
        env.update(extra)
    return env


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    what: str,
    capture: bool = False,
) -> str:
    """Run one build step; on failure raise with the step's name and its output tail."""
    started = time.monotonic()
    log(f"{what}: {' '.join(str(a) for a in argv)}")
    proc = subprocess.run(
        [str(a) for a in argv],
        cwd=str(cwd) if cwd else None,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.strip().splitlines()[-40:])
        raise ToolchainError(f"{what} failed (exit {proc.returncode}) after {elapsed:.0f}s:\n{tail}")
    log(f"{what}: done in {elapsed:.0f}s")
    return proc.stdout if capture else ""


def go_version() -> str:
    try:
        out = subprocess.run(["go", "env", "GOVERSION"], env=go_env(), capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise ToolchainError("Go is needed to build the toolchain: install Go 1.26 and put `go` on PATH") from exc
    return out.stdout.strip()


def download_module(module: str, version: str, workdir: Path, pinned_sum: str | None = None) -> dict:
    """`go mod download -json` of one module version (Dir, GoMod, Info, Sum, ...). With
    `pinned_sum`, for a version the checksum database lacks: GONOSUMDB skips it for this
    module only, and the pinned hash is checked instead."""
    out = run(
        ["go", "mod", "download", "-json", f"{module}@{version}"],
        cwd=workdir,
        env=go_env({"GONOSUMDB": module} if pinned_sum else None),
        what=f"download {module}@{version}",
        capture=True,
    )
    info = json.loads(out)
    if info.get("Error"):
        raise ToolchainError(f"cannot download {module}@{version}: {info['Error']}")
    if pinned_sum and info.get("Sum") != pinned_sum:
        raise ToolchainError(f"{module}@{version}: checksum {info.get('Sum')} does not match the pinned {pinned_sum}")
    return info


def module_dir(module: str, version: str, workdir: Path, pinned_sum: str | None = None) -> Path:
    """Download one module version and return its directory in the module cache."""
    return Path(download_module(module, version, workdir, pinned_sum)["Dir"])


def go_directive(gomod_text: str) -> str:
    """The `go 1.xx` line of a go.mod."""
    return next(line for line in gomod_text.splitlines() if line.startswith("go "))


def write_wrapper_module(workdir: Path, name: str, go_line: str, requires: dict[str, str],
                         replaces: Iterable[str] = (), extra: Iterable[str] = ()) -> None:
    """A go.mod in `workdir` whose only job is to build published modules at pinned versions:
    `requires` (module -> version), `replaces` (whole directives, `old => new version`)."""
    lines = [f"module python-shop.local/toolchain/{name}", "", go_line, *extra, "", "require ("]
    lines += [f"\t{mod} {ver}" for mod, ver in sorted(requires.items())]
    lines.append(")")
    replaces = list(replaces)
    if replaces:
        lines += ["", "replace (", *[f"\t{r}" for r in replaces], ")"]
    (workdir / "go.mod").write_text("\n".join(lines) + "\n")


def single_module_wrapper(workdir: Path, name: str, module: str, version: str) -> None:
    """A wrapper requiring just `module`: MVS then picks exactly its own versions.

    A dependency's replace directives are ignored by Go; local ones (etcd's
    ../api, ...) are harmless when the require already names the published
    version, but a module-to-module replace would change what gets built.
    """
    info = download_module(module, version, workdir)
    text = Path(info["GoMod"]).read_text()
    remote = [r for r in parse_gomod(text)["replace"] if not r[-1].startswith(".")]
    if remote:
        raise ToolchainError(f"{module} {version} replaces {remote}: carry them into its wrapper module")
    write_wrapper_module(workdir, name, go_directive(text), {module: version})


def check_version(binary: Path, expected: str) -> None:
    """The built binary says it is the version we pinned."""
    out = run([binary, "--version"], what=f"{binary.name} --version", capture=True)
    if expected not in out:
        raise ToolchainError(f"{binary.name} --version printed {out.strip()!r}, expected {expected!r}")


def parse_gomod(text: str) -> dict[str, list[tuple[str, ...]]]:
    """Parse a go.mod's require/replace/exclude directives (enough for wrapper modules)."""
    directives: dict[str, list[tuple[str, ...]]] = {"require": [], "replace": [], "exclude": []}
    block: str | None = None
    for raw in text.splitlines():
        line = raw.split("//", 1)[0].strip()
        if not line:
            continue
        if block:
            if line == ")":
                block = None
                continue
            directives[block].append(tuple(line.replace("=>", " => ").split()))
            continue
        word, _, rest = line.partition(" ")
        if word in directives:
            rest = rest.strip()
            if rest == "(":
                block = word
            else:
                directives[word].append(tuple(rest.replace("=>", " => ").split()))
    return directives


@dataclasses.dataclass
class Component:
    """One pinned tool (or family of binaries built from one module)."""

    name: str
    version: str
    binaries: tuple[str, ...]
    build: Callable[[Component, Path, Path], None]  # (component, workdir, outbin)
    # Anything else that changes the result (ldflags, patches): part of the cache key.
    recipe: dict = dataclasses.field(default_factory=dict)
    # Optional: a directory already on this machine holding matching binaries
    # (e.g. a `pulumi` of the same version on PATH); used instead of building.
    find_existing: Callable[[Component], Path | None] | None = None

    @property
    def key(self) -> str:
        blob = json.dumps({"v": self.version, "r": self.recipe, "bins": self.binaries}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    @property
    def home(self) -> Path:
        return toolchain_root() / f"{self.name}-{self.version}"

    @property
    def bin(self) -> Path:
        return self.home / "bin"

    def is_built(self) -> bool:
        stamp = self.home / ".complete"
        return (
            stamp.exists()
            and stamp.read_text().strip() == self.key
            and all((self.bin / b).exists() for b in self.binaries)
        )

    def install(self) -> None:
        existing = self.find_existing(self) if self.find_existing else None
        if existing is not None:
            log(f"{self.name} {self.version}: using the matching one found in {existing}")
            link_binaries(self, existing)
            return
        if self.is_built():
            log(f"{self.name} {self.version}: cached in {self.bin}")
        else:
            log(f"{self.name} {self.version}: building (cold builds take minutes; progress follows)")
            started = time.monotonic()
            workdir = toolchain_root() / "work" / f"{self.name}-{self.version}"
            shutil.rmtree(workdir, ignore_errors=True)
            workdir.mkdir(parents=True)
            staging = self.home.with_name(self.home.name + ".partial")
            shutil.rmtree(staging, ignore_errors=True)
            (staging / "bin").mkdir(parents=True)
            self.build(self, workdir, staging / "bin")
            missing = [b for b in self.binaries if not (staging / "bin" / b).exists()]
            if missing:
                raise ToolchainError(f"{self.name}: build finished without {', '.join(missing)}")
            (staging / ".complete").write_text(self.key + "\n")
            shutil.rmtree(self.home, ignore_errors=True)
            staging.rename(self.home)
            shutil.rmtree(workdir, ignore_errors=True)
            log(f"{self.name} {self.version}: built in {time.monotonic() - started:.0f}s")
        link_binaries(self)


def link_binaries(component: Component, source: Path | None = None) -> None:
    target = bin_dir()
    target.mkdir(parents=True, exist_ok=True)
    for name in component.binaries:
        link = target / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to((source or component.bin) / name)


def go_build(
    packages: Iterable[tuple[str, str]],
    *,
    cwd: Path,
    outbin: Path,
    ldflags: str = "",
    tags: str = "",
    env: dict[str, str] | None = None,
) -> None:
    """`go build -o outbin/<name> <pkg>` for each (name, package)."""
    for name, package in packages:
        argv = ["go", "build", "-trimpath", "-o", str(outbin / name)]
        if ldflags:
            argv += ["-ldflags", ldflags]
        if tags:
            argv += ["-tags", tags]
        argv.append(package)
        run(argv, cwd=cwd, env=go_env(env), what=f"build {name}")
