"""The local control plane: etcd, Kubernetes' control plane binaries and kwok.

Everything is built from Go modules (no release downloads). Kubernetes itself
is not `go install`-able: its go.mod points the staging modules (k8s.io/api,
k8s.io/client-go, ...) at ./staging/src, which the published module does not
contain. So we generate a small wrapper module that requires k8s.io/kubernetes
and maps every staging module to its published v0.<minor>.<patch> tag; the
`node` group reuses it (kubernetes_component) for kubelet, kube-proxy, ...
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from sandbox.recipes import common
from sandbox.recipes.common import Component

# Kubernetes 1.37 needs Go 1.27; the machine has Go 1.26.
KUBERNETES_VERSION = "v1.36.3"
# Staging modules are tagged v0.<minor>.<patch> for Kubernetes v1.<minor>.<patch>.
KUBERNETES_STAGING_VERSION = "v0" + KUBERNETES_VERSION[2:]
ETCD_VERSION = "v3.6.16"  # the etcd line Kubernetes 1.36 is tested with (Debian's 3.4 is too old)
KWOK_VERSION = "v0.8.0"

KUBERNETES_MODULE = "k8s.io/kubernetes"
ETCD_MODULE = "go.etcd.io/etcd/server/v3"  # its root package is etcd's `main`
KWOK_MODULE = "sigs.k8s.io/kwok"

# What Kubernetes' release build passes (hack/lib/golang.sh, non-debug):
# -trimpath, -s -w, and these tags (grpcnotrace drops x/net/trace).
KUBERNETES_TAGS = "selinux,notest,grpcnotrace"
STRIP = "-s -w"


def _release_time(info: dict) -> str:
    """The tag's commit time from the proxy's .info: a reproducible buildDate."""
    stamp = json.loads(Path(info["Info"]).read_text())["Time"]  # e.g. 2026-07-22T18:07:38Z
    return re.sub(r"(\.\d+)?(Z|[+-]\d\d:\d\d)$", "Z", stamp)


# --- Kubernetes -------------------------------------------------------------


def kubernetes_wrapper(workdir: Path) -> str:
    """Write a wrapper module for k8s.io/kubernetes into workdir; return its buildDate.

    Its go.mod carries over every require of Kubernetes' own go.mod (so the
    versions are the ones Kubernetes tested), with each staging module that
    Kubernetes replaces by a local ./staging path mapped to its published tag.
    """
    info = common.download_module(KUBERNETES_MODULE, KUBERNETES_VERSION, workdir)
    text = Path(info["GoMod"]).read_text()
    gomod = common.parse_gomod(text)
    staging = {
        entry[0]
        for entry in gomod["replace"]
        if len(entry) >= 3 and entry[-2] == "=>" and entry[-1].startswith("./staging/")
    }
    if "k8s.io/client-go" not in staging:
        raise common.ToolchainError(
            f"{KUBERNETES_MODULE} {KUBERNETES_VERSION}: go.mod no longer replaces staging modules as expected"
        )
    requires = {entry[0]: entry[1] for entry in gomod["require"]}
    requires.update({mod: KUBERNETES_STAGING_VERSION for mod in staging if mod in requires})
    requires[KUBERNETES_MODULE] = KUBERNETES_VERSION
    # Staging modules nothing requires (sample-cli-plugin, ...) need no mapping: not all are published.
    replaces = {mod: KUBERNETES_STAGING_VERSION for mod in staging if mod in requires}
    go_line = common.go_directive(text)
    godebug = re.findall(r"^godebug .+$", text, re.M)  # Kubernetes' runtime defaults, kept as built upstream
    common.write_wrapper_module(workdir, "kubernetes", go_line, requires,
                                [f"{mod} => {mod} {ver}" for mod, ver in sorted(replaces.items())], godebug)
    return _release_time(info)


def kubernetes_ldflags(build_date: str) -> str:
    """hack/lib/version.sh's -X flags: kwokctl reads each binary's --version."""
    major, minor = KUBERNETES_VERSION.lstrip("v").split(".")[:2]
    values = {
        "gitVersion": KUBERNETES_VERSION,
        "gitMajor": major,
        "gitMinor": minor,
        "gitTreeState": "clean",  # a published module: exactly the tagged tree
        "buildDate": build_date,
    }
    flags = [
        f"-X {pkg}.{key}={value}"
        for key, value in values.items()
        for pkg in ("k8s.io/client-go/pkg/version", "k8s.io/component-base/version")
    ]
    return " ".join(flags + [STRIP])


def kubernetes_component(name: str, binaries: tuple[str, ...], env: dict[str, str] | None = None) -> Component:
    """Binaries from k8s.io/kubernetes/cmd/<binary>, built as Kubernetes' release does.

    Static (CGO_ENABLED=0) by default, like upstream's KUBE_STATIC_BINARIES;
    upstream builds kubelet with cgo: pass env={"CGO_ENABLED": "1"} for it.
    """

    def build(component: Component, workdir: Path, outbin: Path) -> None:
        build_date = kubernetes_wrapper(workdir)
        common.go_build(
            [(b, f"{KUBERNETES_MODULE}/cmd/{b}") for b in component.binaries],
            cwd=workdir,
            outbin=outbin,
            ldflags=kubernetes_ldflags(build_date),
            tags=KUBERNETES_TAGS,
            env=env,
        )
        common.check_version(outbin / component.binaries[0], f"Kubernetes {KUBERNETES_VERSION}")

    return Component(
        name=name,
        version=KUBERNETES_VERSION,
        binaries=binaries,
        build=build,
        # "wrapper": bump when kubernetes_wrapper() changes what it generates.
        recipe={"staging": KUBERNETES_STAGING_VERSION, "tags": KUBERNETES_TAGS, "env": env or {},
                "ldflags": kubernetes_ldflags("<release time>"), "wrapper": 1},
    )


# --- etcd -------------------------------------------------------------------


def _build_etcd(component: Component, workdir: Path, outbin: Path) -> None:
    # go.etcd.io/etcd/v3 (the root module) is not served; the server module's
    # root package is the same `main` (etcdmain.Main). The version it prints
    # is a constant in go.etcd.io/etcd/api/v3/version; only GitSHA is an
    # ldflag, and a module download has no commit, so it stays unset.
    common.single_module_wrapper(workdir, "etcd", ETCD_MODULE, ETCD_VERSION)
    common.go_build([("etcd", ETCD_MODULE)], cwd=workdir, outbin=outbin, ldflags=STRIP)
    common.check_version(outbin / "etcd", f"etcd Version: {ETCD_VERSION.lstrip('v')}")


# --- kwok -------------------------------------------------------------------


def kwok_ldflags() -> str:
    # As its Makefile (hack/releases.sh) does; KubeVersion is the Kubernetes
    # kwokctl assumes by default: ours, not kwok's latest supported release.
    return " ".join([
        f"-X sigs.k8s.io/kwok/pkg/consts.Version={KWOK_VERSION}",
        f"-X sigs.k8s.io/kwok/pkg/consts.KubeVersion={KUBERNETES_VERSION}",
        STRIP,
    ])


def _build_kwok(component: Component, workdir: Path, outbin: Path) -> None:
    common.single_module_wrapper(workdir, "kwok", KWOK_MODULE, KWOK_VERSION)
    common.go_build(
        [(b, f"{KWOK_MODULE}/cmd/{b}") for b in component.binaries],
        cwd=workdir,
        outbin=outbin,
        ldflags=kwok_ldflags(),
    )
    common.check_version(outbin / "kwokctl", KWOK_VERSION)


# kube-apiserver first: its --version is the build's check.
CONTROL_PLANE = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")

COMPONENTS: list[Component] = [
    Component(name="etcd", version=ETCD_VERSION, binaries=("etcd",), build=_build_etcd,
              recipe={"ldflags": STRIP}),
    kubernetes_component("kubernetes-control-plane", CONTROL_PLANE),
    Component(name="kwok", version=KWOK_VERSION, binaries=("kwok", "kwokctl"), build=_build_kwok,
              recipe={"ldflags": kwok_ldflags()}),
]
