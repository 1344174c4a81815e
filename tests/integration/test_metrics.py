"""/metrics of a real server (granian, two worker processes): any worker answers for all of them."""

import os
import signal

import requests

from tests.support.net import free_port, wait_until
from tools.procfile import WebProcess

PAGES = 40


def counted(metrics_url: str) -> float:
    text = requests.get(metrics_url, timeout=5).text
    prefix = 'shop_http_requests_total{method="GET",route="/",status="200"} '
    values = [float(line[len(prefix):]) for line in text.splitlines() if line.startswith(prefix)]
    return values[0] if values else 0.0


def test_metrics_count_every_worker_and_survive_a_worker_restart(tmp_path, artifacts_dir):
    metrics_port = free_port()
    env = {"METRICS_PORT": str(metrics_port), "METRICS_HOST": "127.0.0.1",
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), "SHOP_BUILD": "test-build-1"}
    with WebProcess("backend", free_port(), env=env, log_path=artifacts_dir / "backend.log") as backend:
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        wait_until(lambda: _answers(metrics_url), timeout=10, what="the metrics port")
        for _ in range(PAGES):  # a new connection each: the kernel spreads them over both workers
            assert requests.get(backend.url, headers={"Connection": "close"}, timeout=5).status_code == 200
        # Every scrape, whichever worker takes it, counts all of them.
        assert [counted(metrics_url) for _ in range(10)] == [PAGES] * 10
        assert 'shop_build_info{build="test-build-1"} 1.0' in requests.get(metrics_url, timeout=5).text
        # Not on the app's own port.
        assert requests.get(backend.url + "/metrics", timeout=5).status_code == 404

        workers = backend.worker_pids()
        assert len(workers) == 2
        os.kill(workers[0], signal.SIGKILL)  # granian starts a new worker in its place
        wait_until(lambda: len(set(backend.worker_pids()) - set(workers)) == 1, timeout=20, what="a new worker")
        assert [counted(metrics_url) for _ in range(10)] == [PAGES] * 10  # nothing it reported is lost


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.ConnectionError:
        return False
