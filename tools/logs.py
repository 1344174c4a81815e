"""`make logs`: both apps' logs from wherever `make up` deployed, each line prefixed by app and pod.

It follows: pods that start later (a rollout's new ones) join as they appear, a pod that goes
keeps its lines up to its end, and a stream that ends while its pod still runs (its container
restarted, or the connection to the kubelet dropped) is picked up again from its last line.
`kubectl logs --follow --selector` alone would do none of that (it follows the containers that
exist when it starts, and ends with them). Ctrl-C stops it.
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
RETRY_CAP_SECONDS = 60.0  # the longest wait before following again a pod whose streams bring nothing


def stamp(line: str) -> tuple[str, str] | None:
    """(timestamp, line) of a `kubectl logs --timestamps` line, or None for one kubectl wrote itself.

    The kubelet writes each timestamp fixed-width, to the nanosecond, in the zone the runtime wrote
    it in (k8s.io/cri-client pkg/logs/logs.go, `RFC3339NanoFixed`): two from one container compare
    as strings."""
    head, sep, rest = line.partition(" ")
    if sep and len(head) in (30, 35) and head[4] == "-" and head[10] == "T" and head[19] == ".":  # Z or +hh:mm
        return head, rest
    return None


@dataclass
class Stream:
    """One pod's `kubectl logs --follow`, and where it got to."""

    app: str
    proc: subprocess.Popen
    last: str | None = None  # the timestamp of the newest line written out
    quiet: int = 0  # streams in a row that ended with nothing new: each waits twice as long to retry
    retry_at: float = 0.0
    copier: threading.Thread | None = None

    def ended(self) -> bool:
        return self.copier is not None and not self.copier.is_alive() and self.proc.poll() is not None


@dataclass
class Follower:
    """One `kubectl logs --follow` per pod of the shop, their lines merged onto `out`."""

    target: Target
    namespace: str
    env: dict[str, str]
    out: TextIO = sys.stdout
    poll_seconds: float = POLL_SECONDS
    streams: dict[str, Stream] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _procs: list[subprocess.Popen] = field(default_factory=list)

    def pods(self) -> list[tuple[str, str, bool]]:
        """(pod, app, running) of each pod whose container has started: it has logs to follow."""
        found = []
        for pod in shop_pods(self.target, self.namespace, self.env):
            states = [s.get("state") or {} for s in (pod.get("status") or {}).get("containerStatuses") or []]
            running = any("running" in s for s in states)
            if running or any("terminated" in s for s in states):
                app = pod["metadata"].get("labels", {}).get("app.kubernetes.io/component", "?")
                found.append((pod["metadata"]["name"], app, running))
        return found

    def follow(self, until: Callable[[], bool] = lambda: False) -> None:
        """Follow every pod until `until()` says stop (never, for `make logs`: Ctrl-C)."""
        try:
            while not until():
                for pod, app, running in self.pods():
                    stream = self.streams.get(pod)
                    if stream is None:
                        self._start(pod, app)
                    elif running and stream.ended() and time.monotonic() >= stream.retry_at:
                        self._start(pod, app, after=stream)
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
        for stream in self.streams.values():
            assert stream.copier is not None
            stream.copier.join(timeout=max(0.1, deadline - time.monotonic()))

    def _start(self, pod: str, app: str, after: Stream | None = None) -> None:
        # Again after an ended stream: from its last line's second (the API takes whole seconds:
        # apimachinery's metav1.Time), the lines already written skipped by their timestamps.
        since = [f"--since-time={after.last}"] if after and after.last else [f"--tail={TAIL}"]
        proc = subprocess.Popen(self.target.kubectl("logs", "--follow", "--timestamps", *since, "--namespace",
                                                    self.namespace, f"pod/{pod}"),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.env,
                                stdin=subprocess.DEVNULL)
        self._procs.append(proc)
        stream = Stream(app, proc, last=after.last if after else None, quiet=after.quiet if after else 0)
        prefix = f"{app:8} {'-'.join(pod.rsplit('-', 2)[-2:])} | "  # the ReplicaSet's hash and the pod's own
        stream.copier = threading.Thread(target=self._copy, args=(stream, prefix), daemon=True)
        self.streams[pod] = stream
        stream.copier.start()

    def _copy(self, stream: Stream, prefix: str) -> None:
        assert stream.proc.stdout is not None
        new = False
        for line in stream.proc.stdout:
            stamped = stamp(line)
            if stamped:
                at, line = stamped
                if stream.last is not None and at <= stream.last:
                    continue  # written out by the stream before this one
                stream.last, new = at, True
            with self._lock:
                self.out.write(prefix + line)
                self.out.flush()
        stream.quiet = 0 if new else stream.quiet + 1
        stream.retry_at = time.monotonic() + min(self.poll_seconds * 2 ** stream.quiet, RETRY_CAP_SECONDS)
