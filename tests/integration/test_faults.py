"""Faults, against the real server processes: a killed backend, a hung one, garbage answers."""

from __future__ import annotations

import contextlib
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.support.load import Load
from tests.support.net import wait_until
from tests.support.shop import start_shop
from tests.support.silent_backend import SilentBackend
from tools.procfile import WebProcess

READ_TIMEOUT = 1.0  # what start_shop configures the frontend with
CONNECT_TIMEOUT = 0.5


def test_backend_killed_under_load(shop, artifacts_dir):
    workers = shop.frontend.worker_pids()
    with contextlib.ExitStack() as cleanup:
        with Load(shop.frontend.url, duration=20, concurrency=8, timeout=10) as load:
            wait_until(lambda: load.count(lambda o: o.status == 200) >= 50, timeout=10, what="50 pages served")
            shop.backend.signal(signal.SIGKILL)
            shop.backend.proc.wait(5)
            wait_until(lambda: load.count(lambda o: o.status in (502, 503)) >= 20, timeout=10,
                       what="error pages while down")
            restarted = WebProcess("backend", shop.backend.port, log_path=artifacts_dir / "backend-restarted.log")
            cleanup.callback(restarted.stop)
            restarted.start()
            back_at = time.monotonic()
            # Then long enough to see the pages come back (the 20 s above is only the bound).
            wait_until(lambda: load.count(lambda o: o.started >= back_at + 1.0 and o.status is not None) >= 100,
                       timeout=10, what="100 pages asked for after the backend's return")
            load.stop()
        outcomes = load.snapshot()
        assert [o for o in outcomes if o.status is None] == [], "every request gets an answer: no resets, no hangs"
        assert {o.status for o in outcomes} <= {200, 502, 503}
        # Each request is bounded by the connect and read timeouts; 1 s more for a busy machine.
        assert max(o.finished - o.started for o in outcomes) < CONNECT_TIMEOUT + READ_TIMEOUT + 1
        down = [o for o in outcomes if o.status != 200]
        assert all("The inventory service" in o.text for o in down)
        after_recovery = [o for o in outcomes if o.started >= back_at + 1.0]
        assert after_recovery, "the load ran on after the backend came back"
        assert {o.status for o in after_recovery} == {200}, "pages served again within 1 s of the backend's return"
        assert shop.frontend.proc.poll() is None
        assert shop.frontend.worker_pids() == workers, "no frontend worker died"


def test_hung_backend_gives_504_in_time_and_healthz_stays_up(tmp_path, artifacts_dir):
    with SilentBackend() as silent:
        shop = start_shop(tmp_path, artifacts_dir)
        try:
            shop.point_at(silent.uri)

            def page():
                started = time.monotonic()
                response = requests.get(shop.frontend.url, timeout=10)
                return response.status_code, time.monotonic() - started, response.text

            with ThreadPoolExecutor(8) as pool:
                pages = [pool.submit(page) for _ in range(8)]
                wait_until(lambda: len(silent.connections) >= 8, timeout=5, what="8 calls hung on the backend")
                health_times = []
                while not all(p.done() for p in pages):  # bounded: each page ends by its read timeout
                    started = time.monotonic()
                    assert requests.get(shop.frontend.url + "/healthz", timeout=2).status_code == 200
                    health_times.append(time.monotonic() - started)
                results = [p.result() for p in pages]
            for status, elapsed, text in results:
                assert status == 504
                assert "too slow" in text
                assert elapsed < READ_TIMEOUT + 0.5  # the deadline plus a generous margin for a busy machine
            # /healthz answered while every hung page still held its thread (they end at READ_TIMEOUT):
            # threads stay free for it. Bounded by that, not by a speed, so a busy machine cannot break it.
            assert health_times and max(health_times) < READ_TIMEOUT, "frontend workers stay free for /healthz"
        finally:
            shop.frontend.stop()
            shop.backend.stop()


def test_sigterm_lets_the_pages_in_flight_finish_then_the_server_exits(tmp_path, artifacts_dir):
    """What a pod's shutdown relies on after its preStop sleep: SIGTERM stops new work, not current work."""
    with SilentBackend() as silent:
        shop = start_shop(tmp_path, artifacts_dir)
        try:
            shop.point_at(silent.uri)
            with ThreadPoolExecutor(4) as pool:
                pages = [pool.submit(requests.get, shop.frontend.url, timeout=10) for _ in range(4)]
                wait_until(lambda: len(silent.connections) >= 4, timeout=5, what="4 pages waiting on the backend")
                shop.frontend.signal(signal.SIGTERM)
                answers = [page.result() for page in pages]  # each ends at its read timeout
            assert [a.status_code for a in answers] == [504] * 4, "in-flight pages answered, not dropped"
            assert all("too slow" in a.text for a in answers)
            assert shop.frontend.started.wait(15) == 0, "the server exits cleanly once they are done"
        finally:
            shop.frontend.stop()
            shop.backend.stop()
