"""Install the Debian packages one verb needs, only adding, never replacing.

    python3 -m sandbox.system_packages GROUP...      groups: browser, shells, bench, node

Each package is skipped when what it provides is already on this machine, from any
source: a Docker you installed (docker-ce, containerd.io with its runc) is used as it
is, never replaced by Debian's. What is missing is listed before anything is installed;
apt-get runs with --no-remove and a dry run first, so a package that would remove
another is refused with a message instead. Without apt-get (macOS, Fedora, ...), the
message names what to install with your own package manager.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

# group -> (what it is for, {Debian package: what shows it is already there}).
# A name without "/" is a command looked up on PATH (and the sbin directories).
GROUPS: dict[str, tuple[str, dict[str, str]]] = {
    "browser": ("the browser tests", {"chromium": "/usr/bin/chromium"}),
    "shells": ("the README's quick start, run in zsh (macOS's shell) as well as bash", {"zsh": "zsh"}),
    "bench": ("make bench", {"wrk": "wrk"}),
    "node": (
        "the embedded cluster's real node",
        {
            "runc": "runc",
            "containernetworking-plugins": "/usr/lib/cni/bridge",
            "iptables": "iptables",
            "conntrack": "conntrack",
            "ipset": "ipset",  # kube-router's network policy controller
            "docker.io": "dockerd",
            "debootstrap": "debootstrap",
            "gcc": "gcc",
            "libc6-dev": "/usr/include/stdio.h",
        },
    ),
}


class PackagesError(RuntimeError):
    pass


def present(probe: str) -> bool:
    if "/" in probe:
        return Path(probe).exists()
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])
    return shutil.which(probe, path=search) is not None


def missing(groups: list[str]) -> dict[str, str]:
    """{package: what it is for} for every package of `groups` whose probe finds nothing."""
    wanted: dict[str, str] = {}
    for group in groups:
        purpose, packages = GROUPS[group]
        for package, probe in packages.items():
            if not present(probe):
                wanted.setdefault(package, purpose)
    return wanted


def log_path() -> Path:
    return Path(os.environ.get("TMPDIR", "/tmp")) / "python-shop-apt.log"


def apt(argv: list[str], sudo: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    proc = subprocess.run([*sudo, "apt-get", *argv], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    with log_path().open("a") as log:
        log.write(f"$ apt-get {' '.join(argv)}\n{proc.stdout}{proc.stderr}")
    return proc


def install(groups: list[str]) -> None:
    wanted = missing(groups)
    if not wanted:
        return
    names = sorted(wanted)
    listing = "; ".join(f"{p} (for {wanted[p]})" for p in names)
    if shutil.which("apt-get") is None:
        raise PackagesError(
            f"this needs {listing}, and this system has no apt-get: install them with your package manager"
        )
    sudo: list[str] = []
    if os.geteuid() != 0:
        if shutil.which("sudo") is None:
            raise PackagesError(f"this needs {listing}; as root: apt-get install {' '.join(names)}")
        sudo = ["sudo"]
    print(f"system packages: installing {listing} with apt-get (log: {log_path()})", file=sys.stderr, flush=True)
    install_args = ["install", "--yes", "--no-install-recommends", *names]
    # A dry run first: refuse, naming them, anything apt would remove to make room.
    dry = apt(["--simulate", *install_args], sudo)
    if dry.returncode != 0:
        apt(["update"], sudo)  # a fresh machine may have no package lists yet
        dry = apt(["--simulate", *install_args], sudo)
    removals = [line.split()[1] for line in dry.stdout.splitlines() if line.startswith("Remv ")]
    if removals or dry.returncode != 0:
        why = f"it would remove {', '.join(removals)}" if removals else dry.stderr.strip()[-1500:]
        raise PackagesError(f"not installing {' '.join(names)}: {why}")
    if apt(["--no-remove", *install_args], sudo).returncode != 0:
        raise PackagesError(f"apt-get install {' '.join(names)} failed; see {log_path()}")


def main(argv: list[str]) -> int:
    unknown = [g for g in argv if g not in GROUPS]
    if not argv or unknown:
        print(f"usage: python3 -m sandbox.system_packages GROUP...  (groups: {', '.join(GROUPS)})", file=sys.stderr)
        return 2
    try:
        install(argv)
    except PackagesError as exc:
        print(f"system packages: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
