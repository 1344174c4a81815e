#!/usr/bin/env python3
"""Build the shop's images from its own Dockerfiles, without a registry.

    sandbox/images build [APP...]            base image, then the apps (default both) under the tags
                                            infra/app_images.py names after their source (prints them)
    sandbox/images save TAG...                docker-archive tarball of TAG... on stdout
    sandbox/images pause BINARY TAG           an image holding only BINARY as /pause (the pod sandbox)
    sandbox/images tag SOURCE TARGET          another tag for an image (e.g. a new version to roll out)
    sandbox/images stop                       stop the Docker daemon this script started

No registry is reachable, so the Dockerfiles' `FROM python:3.11-slim` cannot be
pulled. We make that base ourselves: Debian bookworm from the machine's own apt
mirror (debootstrap, minbase + python3 + python3-venv, whose python3 is 3.11)
plus the machine's CA bundle and pip settings so `pip install` inside the build
reaches the package index the way the host does; `docker import` tags it
`python:3.11-slim`. The Dockerfiles are unchanged: they build a venv with
`python3 -m venv`, which works on both bases.

Docker: a daemon of our own (own socket, data root, no iptables changes, no
bridge: builds use the host network), started from the `dockerd` this machine
has (Docker's own packages or Debian's docker.io, installed only when there is
none), so a Docker you run yourself and its images are left alone.
State: <cache>/images.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from infra import app_images
from sandbox.recipes import common

ROOT = Path(__file__).resolve().parents[1]
BASE_TAG = "python:3.11-slim"  # the Dockerfiles' FROM
BASE_SUITE = "bookworm"  # Debian 12: python3 is 3.11
BASE_PACKAGES = "python3,python3-venv,ca-certificates"
BASE_VERSION = 1  # bump when the base recipe changes: the cached rootfs is keyed by it
APPS = app_images.APPS


class ImagesError(RuntimeError):
    pass


def log(message: str) -> None:
    common.say("images", message)


def state_dir() -> Path:
    return common.cache_root() / "images"


def docker_dir() -> Path:
    return state_dir() / "docker"


def docker_env() -> dict[str, str]:
    return {**os.environ, "DOCKER_HOST": f"unix://{docker_dir() / 'docker.sock'}"}


def run(argv: list[str], what: str, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, env=docker_env(), text=True, capture_output=True, **kwargs)
    if proc.returncode != 0:
        raise ImagesError(f"{what} failed (exit {proc.returncode}): {(proc.stderr or proc.stdout).strip()[-2000:]}")
    return proc


def ensure_packages() -> None:
    subprocess.run([sys.executable, "-m", "sandbox.system_packages", "node"], cwd=ROOT, check=True)


def docker_running() -> bool:
    return subprocess.run(["docker", "info"], env=docker_env(), capture_output=True).returncode == 0


def ensure_docker() -> None:
    if docker_running():
        return
    directory = docker_dir()
    directory.mkdir(parents=True, exist_ok=True)
    argv = [
        "dockerd",
        "--host", f"unix://{directory / 'docker.sock'}",
        "--data-root", str(directory / "data"),
        "--exec-root", str(directory / "exec"),
        "--pidfile", str(directory / "dockerd.pid"),
        # Builds use the host network: no bridge, no iptables rules, no forwarding changes.
        "--bridge=none", "--iptables=false", "--ip-forward=false", "--ip-masq=false",
    ]
    log("starting a Docker daemon of our own")
    with open(directory / "dockerd.log", "ab") as out:
        subprocess.Popen(argv, stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while not docker_running():
        if time.monotonic() > deadline:
            tail = (directory / "dockerd.log").read_text(errors="replace").splitlines()[-15:]
            raise ImagesError("dockerd did not start within 60 s:\n" + "\n".join(tail))
        time.sleep(0.5)


def apt_mirror() -> str:
    """The Debian mirror apt on this machine uses (debootstrap fetches from the same)."""
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in sources:
        if not path.is_file():
            continue
        for line in path.read_text(errors="replace").splitlines():
            words = line.split()
            uri = None
            if words[:1] == ["deb"]:
                uri = next((w for w in words[1:] if "://" in w), None)
            elif words[:1] == ["URIs:"] and len(words) > 1:
                uri = words[1]
            if uri and uri.rstrip("/").endswith("/debian"):
                return uri
    raise ImagesError("no Debian mirror found in /etc/apt/sources.list*: debootstrap needs one")


def base_tarball() -> Path:
    """A bookworm rootfs tarball with python3, cached by recipe version."""
    tarball = state_dir() / f"base-{BASE_SUITE}-v{BASE_VERSION}.tar"
    if tarball.exists():
        return tarball
    rootfs = state_dir() / "rootfs.partial"
    shutil.rmtree(rootfs, ignore_errors=True)
    started = time.monotonic()
    mirror = apt_mirror()
    log(f"debootstrap {BASE_SUITE} ({BASE_PACKAGES}) from {mirror}")
    proc = subprocess.run(
        ["debootstrap", "--variant=minbase", f"--include={BASE_PACKAGES}", BASE_SUITE, str(rootfs), mirror],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        raise ImagesError(f"debootstrap failed: {(proc.stdout + proc.stderr).strip()[-2000:]}")
    # Trust what the host trusts, and give pip the host's settings: builds then
    # reach the package index exactly as `pip install` on this machine does.
    shutil.copyfile("/etc/ssl/certs/ca-certificates.crt", rootfs / "etc/ssl/certs/ca-certificates.crt")
    (rootfs / "etc/pip.conf").write_text("[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n")
    for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for path in (rootfs / leftover).glob("*"):
            if path.is_file():
                path.unlink()
    partial = tarball.with_suffix(".partial")
    subprocess.run(["tar", "-C", str(rootfs), "-cf", str(partial), "."], check=True)
    partial.rename(tarball)
    shutil.rmtree(rootfs)
    log(f"base rootfs ready in {time.monotonic() - started:.0f}s: {tarball}")
    return tarball


def image_exists(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], env=docker_env(), capture_output=True).returncode == 0


def ensure_base() -> None:
    if image_exists(BASE_TAG):
        return
    tarball = base_tarball()
    with open(tarball, "rb") as data:
        run(
            ["docker", "import",
             "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "--change", 'CMD ["python3"]', "-", BASE_TAG],
            "docker import of the base image", stdin=data,
        )
    log(f"base image {BASE_TAG} imported")


def build(apps: tuple[str, ...] = APPS, root: Path = ROOT) -> list[str]:
    """Each app's image under its source-named tag; one already built is not built again."""
    tags = [app_images.reference(app, root) for app in apps]
    missing = [(app, tag) for app, tag in zip(apps, tags, strict=True)
               if not (docker_running() and image_exists(tag))]
    if missing:
        ensure_packages()
        ensure_docker()
        ensure_base()
    for app, tag in missing:
        started = time.monotonic()
        run(["docker", "build", "--quiet", "--network", "host", "--tag", tag, str(root / app)], f"docker build {app}")
        log(f"{tag} built from {app}/Dockerfile in {time.monotonic() - started:.1f}s")
    return tags


def tag(source: str, target: str) -> None:
    run(["docker", "tag", source, target], f"docker tag {source} {target}")


def save(tags: list[str], out) -> None:
    proc = subprocess.run(["docker", "save", *tags], env=docker_env(), stdout=out, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        raise ImagesError(f"docker save {' '.join(tags)} failed: {proc.stderr.decode(errors='replace').strip()}")


def import_binary(binary: Path, tag_name: str, *, path: str, user: str) -> None:
    """An image holding only one static binary, at `path`, its entrypoint, run as `user` (uid:gid).

    No base image: a static build needs no libc, shell or package manager; pods mount what else it
    reads (configuration, service account, resolv.conf)."""
    ensure_docker()
    if image_exists(tag_name):
        return
    staging = state_dir() / "binary-rootfs"
    shutil.rmtree(staging, ignore_errors=True)
    target = staging / path.lstrip("/")
    target.parent.mkdir(parents=True)
    shutil.copyfile(binary, target)
    target.chmod(0o755)
    tarball = state_dir() / "binary.tar"
    subprocess.run(["tar", "-C", str(staging), "-cf", str(tarball), "."], check=True)
    with open(tarball, "rb") as data:
        run(["docker", "import", "--change", f'ENTRYPOINT ["{path}"]', "--change", f"USER {user}", "-", tag_name],
            f"docker import of {tag_name}", stdin=data)
    shutil.rmtree(staging)
    tarball.unlink()


def import_pause(pause_binary: Path, tag_name: str) -> None:
    """An image holding only the static pause binary (the pod sandbox), from our toolchain build."""
    import_binary(pause_binary, tag_name, path="/pause", user="65535:65535")


def stop() -> None:
    pid_file = docker_dir() / "dockerd.pid"
    with contextlib.suppress(FileNotFoundError, ValueError):
        common.stop_process(int(pid_file.read_text().strip()), grace=20)
        log("Docker daemon stopped")
    common.unmount_under(docker_dir())  # dockerd leaves its network namespace mount under the exec root


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="sandbox/images", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("apps", nargs="*", metavar="APP", help=f"{' or '.join(APPS)} (default: both)")
    s = sub.add_parser("save")
    s.add_argument("tags", nargs="+")
    retag = sub.add_parser("tag")
    retag.add_argument("source")
    retag.add_argument("target")
    pause = sub.add_parser("pause")
    pause.add_argument("binary", type=Path)
    pause.add_argument("tag")
    sub.add_parser("stop")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            unknown = set(args.apps) - set(APPS)
            if unknown:
                parser.error(f"no app {', '.join(sorted(unknown))}: the apps are {', '.join(APPS)}")
            print("\n".join(build(tuple(args.apps) or APPS)))
        elif args.command == "save":
            save(args.tags, sys.stdout.buffer)
        elif args.command == "tag":
            ensure_docker()
            tag(args.source, args.target)
        elif args.command == "pause":
            import_pause(args.binary, args.tag)
        else:
            stop()
    except ImagesError as exc:
        print(f"sandbox/images: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
