"""`make logs`: every pod's lines, prefixed by app and pod, pods that appear later included."""

from __future__ import annotations

import io
import itertools
import json
import sys
import time

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
        return [sys.executable, "-c", f"print('2026-12-01T18:20:01.000000001Z {{\"message\": \"hello from {name}\"}}')"]


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
                "print('2026-12-01T18:20:01.000000001Z {\"message\": \"stuck\"}', flush=True); time.sleep(600)"]


def test_stopping_ends_every_kubectl_even_one_that_ignores_sigterm():
    cluster = StubbornCluster([[pod("python-shop-backend-5c4d-x1y2z", "backend")]])
    out = io.StringIO()
    follower = Follower(cluster, "python-shop", {}, out=out, poll_seconds=0.05)  # type: ignore[arg-type]
    follower.follow(until=lambda: "stuck" in out.getvalue())  # returns: the kubectl was killed, not waited on
    assert [proc.returncode for proc in follower._procs] == [-9]  # SIGKILL, after SIGTERM was ignored
    assert out.getvalue() == 'backend  5c4d-x1y2z | {"message": "stuck"}\n'


class RestartingCluster(FakeCluster):
    """Each `kubectl logs` call prints the next of `streams` and ends, as kubectl does when the
    container it follows exits or its connection to the kubelet drops; the calls are recorded."""

    def __init__(self, listings: list[list[dict]], streams: list[list[str]]):
        super().__init__(listings)
        self.streams = streams
        self.calls: list[tuple[str, ...]] = []
        self.times: list[float] = []

    def kubectl(self, *args: str) -> list[str]:
        if args[0] == "get":
            return super().kubectl(*args)
        self.calls.append(args)
        self.times.append(time.monotonic())
        lines = self.streams[min(len(self.calls), len(self.streams)) - 1]
        return [sys.executable, "-c", f"print({json.dumps(chr(10).join(lines))})"]


def test_a_stream_that_ends_while_its_pod_runs_is_followed_again_from_its_last_line():
    cluster = RestartingCluster(
        [[pod("python-shop-backend-5c4d-x1y2z", "backend")]],
        [["2026-12-01T18:20:01.100000000Z one", "2026-12-01T18:20:01.200000000Z two"],
         # kubectl's --since-time reaches the API in whole seconds, and the kubelet keeps the lines
         # at or after it: the second's earlier lines come again, and must not be shown twice.
         ["2026-12-01T18:20:01.100000000Z one", "2026-12-01T18:20:01.200000000Z two",
          "2026-12-01T18:20:01.300000000Z three", "2026-12-01T18:20:05.000000000Z four"],
         []])
    out = io.StringIO()
    follower = Follower(cluster, "python-shop", {}, out=out, poll_seconds=0.05)  # type: ignore[arg-type]
    follower.follow(until=lambda: "four" in out.getvalue() or cluster.polls > 400)
    assert out.getvalue().splitlines() == ["backend  5c4d-x1y2z | one", "backend  5c4d-x1y2z | two",
                                           "backend  5c4d-x1y2z | three", "backend  5c4d-x1y2z | four"]
    assert cluster.calls[0][:4] == ("logs", "--follow", "--timestamps", "--tail=20")
    assert cluster.calls[1][:4] == ("logs", "--follow", "--timestamps", "--since-time=2026-12-01T18:20:01.200000000Z")


def test_a_pod_whose_container_has_ended_is_followed_once():
    cluster = RestartingCluster([[pod("python-shop-backend-5c4d-x1y2z", "backend", state="terminated")]],
                                [["2026-12-01T18:20:01.100000000Z bye"]])
    out = io.StringIO()
    follower = Follower(cluster, "python-shop", {}, out=out, poll_seconds=0.01)  # type: ignore[arg-type]
    follower.follow(until=lambda: cluster.polls >= 10)
    assert out.getvalue() == "backend  5c4d-x1y2z | bye\n"
    assert len(cluster.calls) == 1


def test_a_stream_that_keeps_ending_with_nothing_new_is_retried_less_and_less_often():
    cluster = RestartingCluster([[pod("python-shop-backend-5c4d-x1y2z", "backend")]],
                                [["Error from server: the kubelet is not answering"]])
    out = io.StringIO()
    follower = Follower(cluster, "python-shop", {}, out=out, poll_seconds=0.01)  # type: ignore[arg-type]
    follower.follow(until=lambda: len(cluster.calls) >= 5 or cluster.polls > 2000)
    # After each empty stream the wait doubles: 0.02, 0.04, 0.08, 0.16 s at a 0.01 s poll (the gaps
    # also hold the stream's own run, so they are at least that).
    gaps = [later - earlier for earlier, later in itertools.pairwise(cluster.times)]
    assert len(gaps) == 4
    assert [gap >= 0.01 * 2 ** (n + 1) for n, gap in enumerate(gaps)] == [True] * 4, gaps
    assert set(out.getvalue().splitlines()) == {"backend  5c4d-x1y2z | Error from server: the kubelet is not answering"}
