"""Pulumi: the CLI with its Python language host, and the kubernetes provider.

No registry ships these as binaries (PyPI's `pulumi` and `pulumi-kubernetes` are
only the Python SDKs), so they are built from their Go modules:

* `pulumi` (CLI), `pulumi-language-python` and `pulumi-language-python-exec`,
  in one directory because the engine looks for its bundled language host next
  to the real `pulumi` binary (and warns when it has to take one from $PATH);
* `pulumi-resource-kubernetes`, which the engine finds on $PATH.

Modules whose go.mod has replace directives cannot be built with
`go install module@version`; we build inside a module of our own that carries
the non-local replaces over and turns local ones (`=> ../sdk`) into requires
of a published version.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from . import common

# --- Pinned versions -------------------------------------------------------

# The CLI and engine; PyPI `pulumi==3.259.0` is the matching Python SDK.
PULUMI_VERSION = "v3.259.0"
PULUMI_PKG = "github.com/pulumi/pulumi/pkg/v3"
PULUMI_SDK = "github.com/pulumi/pulumi/sdk/v3"
PULUMI_VERSION_VAR = "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version"

# The kubernetes provider. Its module (the repo's provider/ directory) has no
# tags of its own, only pseudo-versions, and the module mirror serves few of
# them: not the v4.32.0 commit (v4.0.0-20260609003240-45c441756ffb), so this is
# the newest one it serves: a commit 1.5 days before the v4.25.0 tag.
K8S_PROVIDER = "github.com/pulumi/pulumi-kubernetes/provider/v4"
K8S_PROVIDER_MODULE_VERSION = "v4.0.0-20260115033456-f47bc2d6f199"
# The checksum database behind the mirror has no record of that pseudo-version,
# so its hash is pinned here instead (`go mod download -json` reports it).
K8S_PROVIDER_SUM = "h1:j2bphCf7c2YhnBrhwht2f3TNRRgcMImltUlAgzxr9H4="
# What the binary reports to the engine: pulumictl's scheme for an untagged
# commit (next version, alpha.<commit unix time>, short hash).
K8S_PROVIDER_VERSION = "4.25.0-alpha.1768448096+f47bc2d6"
K8S_VERSION_VAR = "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version"
# Its go.mod replaces the kubernetes Go SDK with ../sdk (same commit); the
# nearest published SDK is v4.25.0, tagged 1.5 days later.
K8S_SDK = "github.com/pulumi/pulumi-kubernetes/sdk/v4"
K8S_SDK_VERSION = "v4.25.0"

# Our Python language host (see its header for why it is ours).
LANGUAGE_HOST_SOURCE = Path(__file__).resolve().parent / "pulumi_language_python" / "main.go"

# Symbols stripped (-s -w) to keep the binaries small; versions stamped with -X.
STRIP = "-s -w"


# --- Helpers ----------------------------------------------------------------


def is_local_path(target: str) -> bool:
    return target.startswith(("./", "../", "/"))


def split_replaces(gomod_text: str) -> tuple[list[str], list[str]]:
    """(modules replaced by a local directory, remote replace directives as text)."""
    local, remote = [], []
    for rep in common.parse_gomod(gomod_text)["replace"]:
        arrow = rep.index("=>")
        old, new = rep[:arrow], rep[arrow + 1 :]
        if is_local_path(new[0]):
            local.append(old[0])
        else:
            remote.append(" ".join(old) + " => " + " ".join(new))
    return local, remote


def writable_copy(src: Path, dst: Path) -> None:
    """Copy a module out of the (read-only) module cache so generated files can be added."""
    shutil.copytree(src, dst, copy_function=shutil.copyfile)
    for path in [dst, *dst.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)


def source_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


# --- pulumi CLI + Python language host -------------------------------------


def build_pulumi(component: common.Component, workdir: Path, outbin: Path) -> None:
    pkg_dir = common.module_dir(PULUMI_PKG, PULUMI_VERSION, workdir)
    sdk_dir = common.module_dir(PULUMI_SDK, PULUMI_VERSION, workdir)
    gomod = (pkg_dir / "go.mod").read_text()
    local, remote = split_replaces(gomod)
    # pkg/v3's local replace is `sdk/v3 => ../sdk`: the sdk of the same release.
    requires = {PULUMI_PKG: PULUMI_VERSION, **{m: PULUMI_VERSION for m in local}}
    common.write_wrapper_module(workdir, "pulumi", common.go_directive(gomod), requires, remote)
    # Upstream's go.sum: hashes it already checked, fewer checksum-database look-ups.
    shutil.copyfile(pkg_dir / "go.sum", workdir / "go.sum")

    host_dir = workdir / "cmd" / "pulumi-language-python"
    host_dir.mkdir(parents=True)
    shutil.copyfile(LANGUAGE_HOST_SOURCE, host_dir / "main.go")

    ldflags = f"{STRIP} -X {PULUMI_VERSION_VAR}={PULUMI_VERSION}"
    common.go_build(
        [("pulumi", f"{PULUMI_PKG}/cmd/pulumi"), ("pulumi-language-python", "./cmd/pulumi-language-python")],
        cwd=workdir,
        outbin=outbin,
        ldflags=ldflags,
    )
    # The script the language host runs programs with, from the same SDK release.
    exec_script = outbin / "pulumi-language-python-exec"
    shutil.copyfile(sdk_dir / "python" / "cmd" / "pulumi-language-python-exec", exec_script)
    exec_script.chmod(0o755)


def existing_pulumi(component: common.Component) -> Path | None:
    """A `pulumi` of the pinned version on PATH, with its Python host beside it (an official install)."""
    found = shutil.which("pulumi")
    if not found:
        return None
    real_dir = Path(found).resolve().parent
    if common.toolchain_root().resolve() in real_dir.parents:
        return None  # our own build, linked from the toolchain bin dir
    if not all((real_dir / b).exists() for b in component.binaries):
        return None
    try:
        out = subprocess.run([found, "version"], capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return real_dir if out == PULUMI_VERSION else None


# --- kubernetes provider -----------------------------------------------------


def build_kubernetes_provider(component: common.Component, workdir: Path, outbin: Path) -> None:
    src = common.module_dir(K8S_PROVIDER, K8S_PROVIDER_MODULE_VERSION, workdir, K8S_PROVIDER_SUM)
    # Build in a copy: the main package embeds files generated next to it.
    module = workdir / "provider"
    writable_copy(src, module)
    gomod = (module / "go.mod").read_text()
    local, _ = split_replaces(gomod)  # remote replaces stay: this copy is the main module
    published = {K8S_SDK: K8S_SDK_VERSION}
    unknown = [m for m in local if m not in published]
    if unknown:
        raise common.ToolchainError(f"{K8S_PROVIDER}: no published version chosen for {', '.join(unknown)}")
    edit = ["go", "mod", "edit"]
    for m in local:
        edit += [f"-dropreplace={m}", f"-require={m}@{published[m]}"]
    common.run(edit, cwd=module, env=common.go_env(), what="point the provider at published modules")

    # As the release build does: schema-embed.json and terraform-mapping-embed.json
    # from the committed schema.json (stamped with VERSION) and terraform-mapping.json.
    cmd_dir = module / "cmd" / "pulumi-resource-kubernetes"
    common.run(
        ["go", "generate", "."],
        cwd=cmd_dir,
        env=common.go_env({"VERSION": K8S_PROVIDER_VERSION}),
        what="generate the provider's embedded schema",
    )
    common.go_build(
        [("pulumi-resource-kubernetes", "./cmd/pulumi-resource-kubernetes")],
        cwd=module,
        outbin=outbin,
        ldflags=f"{STRIP} -X {K8S_VERSION_VAR}={K8S_PROVIDER_VERSION}",
    )


COMPONENTS: list[common.Component] = [
    common.Component(
        name="pulumi",
        version=PULUMI_VERSION,
        binaries=("pulumi", "pulumi-language-python", "pulumi-language-python-exec"),
        build=build_pulumi,
        recipe={"ldflags": STRIP, "language-host": source_digest(LANGUAGE_HOST_SOURCE)},
        find_existing=existing_pulumi,
    ),
    common.Component(
        name="pulumi-resource-kubernetes",
        version=K8S_PROVIDER_VERSION,
        binaries=("pulumi-resource-kubernetes",),
        build=build_kubernetes_provider,
        recipe={"module": K8S_PROVIDER_MODULE_VERSION, "sdk": K8S_SDK_VERSION, "ldflags": STRIP},
    ),
]
