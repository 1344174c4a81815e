"""`make logs`: both apps' logs from wherever `make up` deployed, each line prefixed by app and pod.

It follows: pods that start later (a rollout's new ones) join as they appear, and a pod that
goes keeps its lines up to its end. `kubectl logs --follow --selector` alone would not do that
(it follows the pods that exist when it starts). Ctrl-C stops it.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from tools.targets import Target, shop_pods

POLL_SECONDS = 2.0  # how soon a new pod's lines start to show
TAIL = 20  # lines of each pod's past shown when it is first seen
STOP_SECONDS = 5.0  # for the followed kubectls to end on Ctrl-C before they are killed


@dataclass
class Follower:
    """One `kubectl logs --follow` per pod of the shop, their lines merged onto `out`."""

    target: Target
    namespace: str
    env: dict[str, str]
    out: TextIO = sys.stdout
    poll_seconds: float = POLL_SECONDS
    seen: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _procs: list[subprocess.Popen] = field(default_factory=list)
    _copiers: list[threading.Thread] = field(default_factory=list)

    def pods(self) -> list[tuple[str, str]]:
        """(pod, app) of each pod whose container has started: it has logs to follow."""
        found = []
        for pod in shop_pods(self.target, self.namespace, self.env):
            statuses = (pod.get("status") or {}).get("containerStatuses") or []
            if any("running" in (s.get("state") or {}) or "terminated" in (s.get("state") or {}) for s in statuses):
                app = pod["metadata"].get("labels", {}).get("app.kubernetes.io/component", "?")
                found.append((pod["metadata"]["name"], app))
        return found

    def follow(self, until: Callable[[], bool] = lambda: False) -> None:
        """Follow every pod until `until()` says stop (never, for `make logs`: Ctrl-C)."""
        try:
            while not until():
                for pod, app in self.pods():
                    if pod not in self.seen:
                        self.seen.add(pod)
                        self._start(pod, app)
                time.sleep(self.poll_seconds)
        finally:
            self._stop()

    def _stop(self) -> None:
        """Every kubectl ended within STOP_SECONDS all told (killed if it has not), and what each had
        read written out: Ctrl-C returns the prompt at once, however many pods were followed."""
        for proc in self._procs:
            proc.terminate()
        deadline = time.monotonic() + STOP_SECONDS
        for proc in self._procs:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for copier in self._copiers:
            copier.join(timeout=max(0.1, deadline - time.monotonic()))

    def _start(self, pod: str, app: str) -> None:
        proc = subprocess.Popen(self.target.kubectl("logs", "--follow", f"--tail={TAIL}", "--namespace",
                                                    self.namespace, f"pod/{pod}"),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.env,
                                stdin=subprocess.DEVNULL)
        self._procs.append(proc)
        prefix = f"{app:8} {'-'.join(pod.rsplit('-', 2)[-2:])} | "  # the ReplicaSet's hash and the pod's own
        copier = threading.Thread(target=self._copy, args=(proc, prefix), daemon=True)
        copier.start()
        self._copiers.append(copier)

    def _copy(self, proc: subprocess.Popen, prefix: str) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with self._lock:
                self.out.write(prefix + line)
                self.out.flush()
