"""Run the real Pulumi CLI offline: our toolchain first on PATH, a local state backend,
no update checks and no plugin downloads. Used by tools/deploy (make up/preview/destroy)
and by the engine, cluster and pods tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import yaml  # noqa: E402

from toolchain_recipes.common import bin_dir  # noqa: E402

# The local dev stacks hold no secrets; the passphrase only satisfies the local
# backend's encryption. Set PULUMI_CONFIG_PASSPHRASE(_FILE) to use your own.
DEFAULT_PASSPHRASE = "python-shop-local"


def toolchain_bin() -> Path:
    return bin_dir()


def engine_env(state_dir: Path | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(toolchain_bin()), str(ROOT / ".venv" / "bin"), env.get("PATH", "")])
    if state_dir is not None:
        env["PULUMI_BACKEND_URL"] = f"file://{state_dir}"
    else:
        env.setdefault("PULUMI_BACKEND_URL", "file://~")  # what `pulumi login --local` uses
    if "PULUMI_CONFIG_PASSPHRASE_FILE" not in env:
        env.setdefault("PULUMI_CONFIG_PASSPHRASE", DEFAULT_PASSPHRASE)
    env.update(
        {
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            # Plugins come from our toolchain on PATH, never from the network.
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
            # The provider we can build (tools/toolchain_recipes/pulumi.py) predates the
            # `enablePatchForce` provider option the program sets; this variable is
            # the older spelling of the same switch, read by that provider itself.
            "PULUMI_K8S_ENABLE_PATCH_FORCE": "true",
        }
    )
    env.update(extra or {})
    return env


def pulumi(
    *args: str,
    env: dict[str, str],
    cwd: Path = ROOT,
    check: bool = True,
    timeout: float = 900,
) -> subprocess.CompletedProcess:
    """`pulumi <args> --non-interactive`, output captured; raise with its output on failure."""
    argv = [str(toolchain_bin() / "pulumi"), *args, "--non-interactive"]
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"pulumi {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def preview_steps(*args: str, env: dict[str, str], cwd: Path = ROOT) -> list[dict]:
    """The engine's planned steps (`pulumi preview --json`): op, urn, type, diffs."""
    proc = pulumi("preview", "--json", *args, env=env, cwd=cwd)
    return json.loads(proc.stdout).get("steps", [])


# --- throwaway stacks (tests, benchmarks) ------------------------------------------------
# State in a temporary file:// backend, config in a temporary file (`--config-file`):
# nothing touches the user's stacks or the repo.

ENGINE_TOOLS = ("pulumi", "pulumi-language-python", "pulumi-resource-kubernetes")


def require_engine() -> None:
    for tool in ENGINE_TOOLS:
        if not (toolchain_bin() / tool).exists():
            raise RuntimeError(f"{tool} is missing from {toolchain_bin()}: run `tools/toolchain install pulumi`")


class Stack:
    """One stack, its config starting from Pulumi.<base>.yaml with `changes` applied."""

    def __init__(self, tmp: Path, name: str, base: str = "dev", extra_env: dict[str, str] | None = None, **changes):
        require_engine()
        self.name = name
        self.state = tmp / "state"
        self.state.mkdir(parents=True)
        self.config_file = tmp / f"Pulumi.{name}.yaml"
        # TMPDIR: the provider leaves a copy of the kubeconfig in the temp dir; keep it in ours.
        self.env = engine_env(self.state, {"TMPDIR": str(tmp), **(extra_env or {})})
        self.config: dict = yaml.safe_load((ROOT / f"Pulumi.{base}.yaml").read_text())["config"]
        # `stack init` writes the stack's encryption salt to Pulumi.<name>.yaml in its
        # working directory: run it beside our config file, in a project of the same name.
        (tmp / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
        pulumi("stack", "init", name, env=self.env, cwd=tmp)
        written = yaml.safe_load(self.config_file.read_text()) if self.config_file.exists() else None
        self.salt = (written or {}).get("encryptionsalt")
        self.write_config(**changes)

    def write_config(self, **changes) -> None:
        """Set (or, with None, remove) config keys; a bare key is a `python-shop:` key."""
        for key, value in changes.items():
            full = key if ":" in key else f"python-shop:{key}"
            if value is None:
                self.config.pop(full, None)
            else:
                self.config[full] = value
        document = {"config": self.config, **({"encryptionsalt": self.salt} if self.salt else {})}
        self.config_file.write_text(yaml.safe_dump(document))

    def cli(self, *args: str, check: bool = True, timeout: float = 900):
        return pulumi(
            *args, "--stack", self.name, "--config-file", str(self.config_file),
            env=self.env, check=check, timeout=timeout,
        )

    def steps(self, *args: str) -> list[dict]:
        return preview_steps("--stack", self.name, "--config-file", str(self.config_file), *args, env=self.env)

    def up(self, *args: str):
        return self.cli("up", "--yes", "--skip-preview", *args)

    def destroy(self):
        return self.cli("destroy", "--yes", "--skip-preview")

    def outputs(self) -> dict:
        # `stack output` reads state only: it takes no --config-file.
        proc = pulumi("stack", "output", "--json", "--stack", self.name, env=self.env)
        return json.loads(proc.stdout)


def changed(steps: list[dict]) -> dict[str, str]:
    """{resource name: op} for every planned step that is not 'same'."""
    return {step["urn"].rsplit("::", 1)[-1]: step["op"] for step in steps if step["op"] != "same"}
