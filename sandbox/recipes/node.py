"""A real node: kubelet and kube-proxy, containerd, CoreDNS and the pause binary.

kubelet and kube-proxy come from the same Kubernetes build as the control
plane (kube.kubernetes_component). containerd's go.mod has exclude lines, so
`go install` refuses it: we build inside a copy of the downloaded module, as
its Makefile does. CoreDNS is a plain module whose root package is the server.
pause is C: compiled from the build/pause/linux/pause.c that ships in the
Kubernetes module, static, as its Makefile does. kube-router's network policy
controller enforces NetworkPolicy with iptables and ipset (the bridge CNI
plugin enforces none); built inside a copy of its module, as containerd is.
Prometheus is no part of the node: the tests deploy it onto the node to scrape
the shop's pods (tests/support/prometheus.py). It is in this group because
`make test` installs the group anyway.
runc, the CNI plugins, iptables, ipset and conntrack come from the host
(python3 -m sandbox.system_packages node).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from sandbox.recipes import common
from sandbox.recipes.common import Component
from sandbox.recipes.kube import KUBERNETES_MODULE, KUBERNETES_VERSION, STRIP, kubernetes_component

CONTAINERD_MODULE = "github.com/containerd/containerd/v2"
CONTAINERD_VERSION = "v2.2.9"
COREDNS_MODULE = "github.com/coredns/coredns"
COREDNS_VERSION = "v1.14.7"
PAUSE_VERSION = "3.10.2"  # build/pause/Makefile's TAG in Kubernetes v1.36.3
KUBE_ROUTER_MODULE = "github.com/cloudnativelabs/kube-router/v2"
# The only release the module proxy serves here; advisories are reported against it, so it runs
# for the sandbox's one local node only, with its router and proxy off (sandbox/README.md).
KUBE_ROUTER_VERSION = "v2.1.0"

PROMETHEUS_MODULE = "github.com/prometheus/prometheus"
# Prometheus 3.x's module is tagged v0.3MM.P for release 3.MM.P: v0.316.0 is 3.16.0 (its VERSION
# file). The newest the module proxy served on 2026-12-01; its go.mod asks for Go 1.26.7.
PROMETHEUS_MODULE_VERSION = "v0.316.0"
PROMETHEUS_VERSION = "3.16.0"
# .promu.yml's tags minus builtinassets (the web UI's compiled assets: the tests use the HTTP API
# only), plus upstream's documented switches to build Kubernetes service discovery alone
# (its README, "Service discovery plugins"): no cloud provider's SDK, which nothing here uses.
PROMETHEUS_TAGS = "netgo,remove_all_sd,enable_kubernetes_sd"

# containerd's Makefile: no btrfs (needs its C headers); shims and daemon static.
CONTAINERD_TAGS = "no_btrfs"


def containerd_ldflags() -> str:
    return " ".join([
        f"-X {CONTAINERD_MODULE}/version.Version={CONTAINERD_VERSION}",
        f"-X {CONTAINERD_MODULE}/version.Package={CONTAINERD_MODULE}",
        STRIP,
    ])


def _build_containerd(component: Component, workdir: Path, outbin: Path) -> None:
    info = common.download_module(CONTAINERD_MODULE, CONTAINERD_VERSION, workdir)
    source = workdir / "containerd"
    shutil.copytree(info["Dir"], source, copy_function=shutil.copyfile)
    common.go_build(
        [(b, f"./cmd/{b}") for b in component.binaries],
        cwd=source,
        outbin=outbin,
        ldflags=containerd_ldflags(),
        tags=CONTAINERD_TAGS,
    )
    common.check_version(outbin / "containerd", CONTAINERD_VERSION)


def _build_coredns(component: Component, workdir: Path, outbin: Path) -> None:
    common.single_module_wrapper(workdir, "coredns", COREDNS_MODULE, COREDNS_VERSION)
    common.go_build([("coredns", COREDNS_MODULE)], cwd=workdir, outbin=outbin, ldflags=STRIP)
    common.check_version(outbin / "coredns", f"CoreDNS-{COREDNS_VERSION.lstrip('v')}")


def kube_router_ldflags() -> str:
    return f"-X {KUBE_ROUTER_MODULE}/pkg/version.Version={KUBE_ROUTER_VERSION} {STRIP}"


def _build_kube_router(component: Component, workdir: Path, outbin: Path) -> None:
    info = common.download_module(KUBE_ROUTER_MODULE, KUBE_ROUTER_VERSION, workdir)
    source = workdir / "kube-router"
    shutil.copytree(info["Dir"], source, copy_function=shutil.copyfile)
    common.go_build([("kube-router", "./cmd/kube-router")], cwd=source, outbin=outbin,
                    ldflags=kube_router_ldflags(), env={"CGO_ENABLED": "0"})
    common.check_version(outbin / "kube-router", KUBE_ROUTER_VERSION)


def prometheus_ldflags(build_date: str) -> str:
    """.promu.yml's -X flags. Revision stays unset: a module download carries no commit.
    Branch is what promu reads off a release's detached tag checkout; the date is the tag's
    (reproducible, promu's "20060102-15:04:05" layout) and the user a fixed name, not this host."""
    values = {
        "Version": PROMETHEUS_VERSION,
        "Branch": "HEAD",
        "BuildUser": "python-shop@toolchain",
        "BuildDate": build_date,
    }
    flags = [f"-X github.com/prometheus/common/version.{key}={value}" for key, value in values.items()]
    return " ".join(flags + [STRIP])


def _build_prometheus(component: Component, workdir: Path, outbin: Path) -> None:
    info = common.download_module(PROMETHEUS_MODULE, PROMETHEUS_MODULE_VERSION, workdir)
    stamp = json.loads(Path(info["Info"]).read_text())["Time"]  # e.g. 2026-11-05T15:06:51Z
    build_date = time.strftime("%Y%m%d-%H:%M:%S", time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S"))
    common.single_module_wrapper(workdir, "prometheus", PROMETHEUS_MODULE, PROMETHEUS_MODULE_VERSION)
    common.go_build([("prometheus", f"{PROMETHEUS_MODULE}/cmd/prometheus")], cwd=workdir, outbin=outbin,
                    ldflags=prometheus_ldflags(build_date), tags=PROMETHEUS_TAGS, env={"CGO_ENABLED": "0"})
    common.check_version(outbin / "prometheus", f"prometheus, version {PROMETHEUS_VERSION} (branch: HEAD")


def _build_pause(component: Component, workdir: Path, outbin: Path) -> None:
    info = common.download_module(KUBERNETES_MODULE, KUBERNETES_VERSION, workdir)
    source = Path(info["Dir"]) / "build" / "pause" / "linux" / "pause.c"
    if not shutil.which("gcc"):
        raise common.ToolchainError("gcc is needed to compile pause: apt-get install -y gcc libc6-dev")
    common.run(
        ["gcc", "-Os", "-Wall", "-Werror", "-static", f"-DVERSION=v{PAUSE_VERSION}", "-o", outbin / "pause", source],
        what="compile pause",
    )
    common.run(["strip", outbin / "pause"], what="strip pause")


COMPONENTS: list[Component] = [
    # kubelet needs cgo (as upstream builds it); kube-proxy is static.
    kubernetes_component("kubernetes-kubelet", ("kubelet",), env={"CGO_ENABLED": "1"}),
    kubernetes_component("kubernetes-kube-proxy", ("kube-proxy",)),
    Component(name="containerd", version=CONTAINERD_VERSION,
              binaries=("containerd", "containerd-shim-runc-v2", "ctr"), build=_build_containerd,
              recipe={"ldflags": containerd_ldflags(), "tags": CONTAINERD_TAGS}),
    Component(name="coredns", version=COREDNS_VERSION, binaries=("coredns",), build=_build_coredns,
              recipe={"ldflags": STRIP}),
    Component(name="kube-router", version=KUBE_ROUTER_VERSION, binaries=("kube-router",),
              build=_build_kube_router, recipe={"ldflags": kube_router_ldflags(), "cgo": "0"}),
    Component(name="pause", version=PAUSE_VERSION, binaries=("pause",), build=_build_pause,
              recipe={"cflags": "-Os -Wall -Werror -static"}),
    # Last: the node runs without it, and its build is the longest of the group's.
    Component(name="prometheus", version=PROMETHEUS_VERSION, binaries=("prometheus",), build=_build_prometheus,
              recipe={"module": PROMETHEUS_MODULE_VERSION, "tags": PROMETHEUS_TAGS, "cgo": "0",
                      "ldflags": prometheus_ldflags("<tag time>")}),
]
