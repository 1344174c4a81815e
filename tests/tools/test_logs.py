"""`make logs`: every pod's lines, prefixed by app and pod, pods that appear later included."""

from __future__ import annotations

import io
import json
import sys

from tools.logs import Follower


def pod(name: str, component: str, state: str = "running") -> dict:
    return {"metadata": {"name": name, "labels": {"app.kubernetes.io/component": component}},
            "status": {"containerStatuses": [{"state": {state: {}}}]}}


class FakeCluster:
    """A Target whose kubectl is a small Python script: the pods listed change between polls."""

    def __init__(self, listings: list[list[dict]]):
        self.listings, self.polls = listings, 0

    def kubectl(self, *args: str) -> list[str]:
        if args[0] == "get":
            listing = self.listings[min(self.polls, len(self.listings) - 1)]
            self.polls += 1
            return [sys.executable, "-c", f"print({json.dumps(json.dumps({'items': listing}))})"]
        name = args[-1].removeprefix("pod/")
        return [sys.executable, "-c", f"print('{{\"message\": \"hello from {name}\"}}')"]


def test_lines_are_prefixed_by_app_and_pod_and_new_pods_join():
    cluster = FakeCluster([
        [pod("python-shop-frontend-7d9f8c6b5-abcde", "frontend"), pod("python-shop-backend-5c4d-x1y2z", "backend"),
         pod("python-shop-frontend-7d9f8c6b5-pending", "frontend", state="waiting")],
        [pod("python-shop-frontend-7d9f8c6b5-abcde", "frontend"), pod("python-shop-frontend-66ffbb-newer", "frontend")],
    ])
    out = io.StringIO()
    follower = Follower(cluster, "python-shop", {}, out=out, poll_seconds=0.05)  # type: ignore[arg-type]
    follower.follow(until=lambda: cluster.polls >= 3)
    lines = sorted(out.getvalue().splitlines())
    assert lines == [
        'backend  5c4d-x1y2z | {"message": "hello from python-shop-backend-5c4d-x1y2z"}',
        'frontend 66ffbb-newer | {"message": "hello from python-shop-frontend-66ffbb-newer"}',
        'frontend 7d9f8c6b5-abcde | {"message": "hello from python-shop-frontend-7d9f8c6b5-abcde"}',
    ]  # the waiting pod has no logs yet: not followed until its container starts


class StubbornCluster(FakeCluster):
    """Its `kubectl logs` prints a line, then ignores SIGTERM and never ends (a stream stuck in the kernel)."""

    def kubectl(self, *args: str) -> list[str]:
        if args[0] == "get":
            return super().kubectl(*args)
        return [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                "print('{\"message\": \"stuck\"}', flush=True); time.sleep(600)"]


def test_stopping_ends_every_kubectl_even_one_that_ignores_sigterm():
    cluster = StubbornCluster([[pod("python-shop-backend-5c4d-x1y2z", "backend")]])
    out = io.StringIO()
    follower = Follower(cluster, "python-shop", {}, out=out, poll_seconds=0.05)  # type: ignore[arg-type]
    follower.follow(until=lambda: "stuck" in out.getvalue())  # returns: the kubectl was killed, not waited on
    assert [proc.returncode for proc in follower._procs] == [-9]  # SIGKILL, after SIGTERM was ignored
    assert out.getvalue() == 'backend  5c4d-x1y2z | {"message": "stuck"}\n'
