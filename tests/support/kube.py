"""kubectl against one cluster (our toolchain's kubectl, an explicit kubeconfig and context)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Callable, TypeVar

from tools.engine import toolchain_bin

T = TypeVar("T")


class Kube:
    def __init__(self, kubeconfig: Path, context: str):
        self.kubeconfig = kubeconfig
        self.context = context

    def argv(self, *args: str) -> list[str]:
        return [str(toolchain_bin() / "kubectl"), "--kubeconfig", str(self.kubeconfig), "--context", self.context, *args]

    def run(self, *args: str, check: bool = True, timeout: float = 60, stdin: str | None = None):
        proc = subprocess.run(self.argv(*args), capture_output=True, text=True, timeout=timeout, input=stdin)
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


def eventually(probe: Callable[[], T], what: str, timeout: float = 60, interval: float = 0.5) -> T:
    """Poll probe until it returns something truthy, or fail after timeout saying what was awaited."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")
