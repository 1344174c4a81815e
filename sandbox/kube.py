"""kubectl against one of the sandbox's clusters (its own kubectl, an explicit kubeconfig and context)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from sandbox.recipes.common import bin_dir


class Kube:
    def __init__(self, kubeconfig: Path, context: str):
        self.kubeconfig = kubeconfig
        self.context = context

    def argv(self, *args: str) -> list[str]:
        return [str(bin_dir() / "kubectl"), "--kubeconfig", str(self.kubeconfig), "--context", self.context, *args]

    def run(self, *args: str, check: bool = True, timeout: float = 60, stdin: str | None = None):
        """kubectl's result; `check`: raise on failure. Unchecked, a timeout is a failed run (exit 124)."""
        try:
            proc = subprocess.run(self.argv(*args), capture_output=True, text=True, timeout=timeout, input=stdin)
        except subprocess.TimeoutExpired:
            if check:
                raise
            return subprocess.CompletedProcess(self.argv(*args), 124, "", f"kubectl {' '.join(args)}: timed out "
                                               f"after {timeout:.0f}s")
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc

    def get(self, kind: str, name: str | None = None, namespace: str | None = None, **selectors) -> dict:
        args = ["get", kind, *([name] if name else []), "-o", "json"]
        if namespace:
            args += ["--namespace", namespace]
        if selectors.get("selector"):
            args += ["--selector", selectors["selector"]]
        return json.loads(self.run(*args).stdout)

    def exists(self, kind: str, name: str, namespace: str | None = None) -> bool:
        args = ["get", kind, name, "--ignore-not-found", "-o", "name"] + (["--namespace", namespace] if namespace else [])
        return bool(self.run(*args).stdout.strip())

    def uid(self, kind: str, name: str, namespace: str) -> str:
        return self.get(kind, name, namespace)["metadata"]["uid"]
