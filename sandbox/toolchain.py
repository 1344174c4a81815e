#!/usr/bin/env python3
"""Build (or find) the pinned tools no registry ships as binaries, into a cache.

    sandbox/toolchain install [GROUP ...]   build what is missing (default: pulumi)
    sandbox/toolchain path                  print the directory holding every binary
    sandbox/toolchain list                  show each component, version and state

Groups: pulumi (CLI, Python language host, kubernetes provider),
kube (etcd, kube-apiserver, controller-manager, scheduler, kubectl, kwok),
node (kubelet, kube-proxy, containerd, CoreDNS, kube-router, pause: real pods; Prometheus, for the tests).
The cache lives outside the repo (PYTHON_SHOP_CACHE, default
$XDG_CACHE_HOME/python-shop, i.e. ~/.cache/python-shop) and is keyed by version, so warm runs cost seconds.
"""

from __future__ import annotations

import argparse
import fcntl
import importlib
import sys
import time

from sandbox.recipes import common

GROUPS = ("pulumi", "kube", "node")


def components(group: str) -> list[common.Component]:
    module = importlib.import_module(f"sandbox.recipes.{group}")
    return list(module.COMPONENTS)


def cmd_install(groups: list[str]) -> int:
    common.toolchain_root().mkdir(parents=True, exist_ok=True)
    # One build at a time per cache: a second caller waits instead of racing.
    with open(common.toolchain_root() / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        started = time.monotonic()
        common.log(f"go: {common.go_version()}; cache: {common.toolchain_root()}")
        for group in groups:
            for component in components(group):
                component.install()
        common.log(f"ready in {time.monotonic() - started:.0f}s: {common.bin_dir()}")
    print(common.bin_dir())
    return 0


def cmd_list(groups: list[str]) -> int:
    for group in groups:
        for c in components(group):
            state = "built" if c.is_built() else "missing"
            print(f"{group:7} {c.name:28} {c.version:40} {state}")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="sandbox/toolchain", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    install = sub.add_parser("install", help="build what is missing")
    install.add_argument("groups", nargs="*", metavar="GROUP", help=f"one of {', '.join(GROUPS)}")
    sub.add_parser("path", help="print the directory holding the binaries")
    listing = sub.add_parser("list", help="show components and whether they are built")
    listing.add_argument("groups", nargs="*", metavar="GROUP")
    args = parser.parse_args(argv)
    groups = getattr(args, "groups", None) or (["pulumi"] if args.command == "install" else list(GROUPS))
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        parser.error(f"unknown group {', '.join(unknown)}; groups are {', '.join(GROUPS)}")
    try:
        if args.command == "install":
            return cmd_install(groups)
        if args.command == "path":
            print(common.bin_dir())
            return 0
        return cmd_list(groups)
    except common.ToolchainError as exc:
        print(f"sandbox/toolchain: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
