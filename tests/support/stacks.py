"""Throwaway stacks for the tests and benchmarks: the real CLI (tools/toolset.py picks which) on
the project, state in a temporary file:// backend, config in a temporary file (`--config-file`):
nothing touches the user's stacks or the repo."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tools.toolset import ROOT, Tools, find_tools, pulumi


def preview_steps(*args: str, env: dict[str, str], tools: Tools, cwd: Path = ROOT) -> list[dict]:
    """The engine's planned steps (`pulumi preview --json`): op, urn, type, diffs."""
    proc = pulumi("preview", "--json", *args, env=env, tools=tools, cwd=cwd)
    return json.loads(proc.stdout).get("steps", [])




class Stack:
    """One stack, its config starting from Pulumi.<base>.yaml with `changes` applied."""

    def __init__(self, tmp: Path, name: str, base: str = "dev", extra_env: dict[str, str] | None = None, **changes):
        # Built beforehand (`make test`, `make bench`): a test never waits on a build.
        self.tools = find_tools(install=False)
        if not self.tools.pulumi.exists():
            raise RuntimeError(f"{self.tools.pulumi} is missing: run `sandbox/toolchain install pulumi`")
        self.name = name
        self.state = tmp / "state"
        self.state.mkdir(parents=True)
        self.config_file = tmp / f"Pulumi.{name}.yaml"
        # TMPDIR: the provider leaves a copy of the kubeconfig in the temp dir; keep it in ours.
        self.env = self.tools.env(self.state, {"TMPDIR": str(tmp), **(extra_env or {})})
        self.config: dict = yaml.safe_load((ROOT / f"Pulumi.{base}.yaml").read_text())["config"]
        # `stack init` writes the stack's encryption salt to Pulumi.<name>.yaml in its
        # working directory: run it beside our config file, in a project of the same name.
        (tmp / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
        pulumi("stack", "init", name, env=self.env, tools=self.tools, cwd=tmp)
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

    def cli(self, *args: str, check: bool = True, timeout: float = 900, cwd: Path = ROOT):
        return pulumi(
            *args, "--stack", self.name, "--config-file", str(self.config_file),
            env=self.env, tools=self.tools, cwd=cwd, check=check, timeout=timeout,
        )

    def steps(self, *args: str) -> list[dict]:
        return preview_steps("--stack", self.name, "--config-file", str(self.config_file), *args,
                             env=self.env, tools=self.tools)

    def up(self, *args: str):
        return self.cli("up", "--yes", "--skip-preview", *args)

    def destroy(self):
        return self.cli("destroy", "--yes", "--skip-preview")

    def outputs(self) -> dict:
        # `stack output` reads state only: it takes no --config-file.
        proc = pulumi("stack", "output", "--json", "--stack", self.name, env=self.env, tools=self.tools)
        return json.loads(proc.stdout)


def changed(steps: list[dict]) -> dict[str, str]:
    """{resource name: op} for every planned step that is not 'same'."""
    return {step["urn"].rsplit("::", 1)[-1]: step["op"] for step in steps if step["op"] != "same"}


