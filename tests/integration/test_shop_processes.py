"""Both apps as real server processes from their Procfiles (granian), wired by a config file."""

import time

import requests

from tests.support.net import free_port, wait_until
from tests.support.shop import request_lines
from tools.procfile import WebProcess

NAMES = ["Apple", "Banana", "Orange", "Potato", "Onion"]


def test_the_page_shows_all_five_items(shop):
    response = requests.get(shop.frontend.url, timeout=5)
    assert response.status_code == 200
    positions = [response.text.index(f"<td>{name}</td>") for name in NAMES]
    assert positions == sorted(positions)


def served(log_path, path="/", status=200) -> bool:
    return any(line["path"] == path and line["status"] == status for line in request_lines(log_path))


def test_procfile_serves_with_granian_and_a_json_line_per_request(shop, artifacts_dir):
    page = requests.get(shop.frontend.url, headers={"X-Request-ID": "trace-42"}, timeout=5)
    assert page.headers["X-Request-ID"] == "trace-42"
    assert requests.get(shop.frontend.url + "/healthz", timeout=5).headers["Server"] == "granian"
    assert len(shop.frontend.worker_pids()) >= 2
    wait_until(lambda: served(artifacts_dir / "frontend.log"), timeout=5, what="the frontend's request line")
    wait_until(lambda: served(artifacts_dir / "backend.log"), timeout=5, what="the backend's request line")
    # One id through both apps: the backend's line carries the id the client gave the frontend.
    assert [line["request_id"] for line in request_lines(artifacts_dir / "backend.log")] == ["trace-42"]
    assert [line["request_id"] for line in request_lines(artifacts_dir / "frontend.log")] == ["trace-42"]


def test_rewriting_the_config_switches_backends_without_a_restart(shop, artifacts_dir):
    workers_before = shop.frontend.worker_pids()
    with WebProcess("backend", free_port(), log_path=artifacts_dir / "backend-2.log") as second:
        requests.get(shop.frontend.url, timeout=5)
        shop.point_at(second.url)
        assert requests.get(shop.frontend.url, timeout=5).status_code == 200
        # The very next page came from the second backend: its access log has the call
        # (the server writes that line just after answering: poll for it briefly).
        wait_until(lambda: served(artifacts_dir / "backend-2.log"), timeout=5,
                   what="the second backend's request line")
        shop.backend.stop()  # and the first one is no longer needed
        assert requests.get(shop.frontend.url, timeout=5).status_code == 200
    assert shop.frontend.proc.poll() is None
    assert shop.frontend.worker_pids() == workers_before


def test_a_stopped_backend_gives_the_error_page_then_the_page_recovers(shop, artifacts_dir):
    assert requests.get(shop.frontend.url, timeout=5).status_code == 200
    port = shop.backend.port
    shop.backend.stop()
    started = time.monotonic()
    down = requests.get(shop.frontend.url, timeout=5)
    assert time.monotonic() - started < 1.5  # connect 0.5 s + read 1 s configured
    assert down.status_code == 503
    assert "The inventory service is unavailable" in down.text
    with WebProcess("backend", port, log_path=artifacts_dir / "backend-again.log"):
        back = requests.get(shop.frontend.url, timeout=5)
        assert back.status_code == 200 and "<td>Onion</td>" in back.text


def test_an_idle_keep_alive_connection_does_not_hold_up_a_stopping_server(artifacts_dir):
    import os
    import signal
    import socket

    log = artifacts_dir / "backend.log"
    with WebProcess("backend", free_port(), log_path=log) as backend:
        # Both workers up (one answering is enough for start()): a worker stopped while it boots
        # is killed at the timeout whatever its connections.
        wait_until(lambda: log.read_text().count("Started worker-") >= 2, timeout=20, what="both workers")
        idle = socket.create_connection(("127.0.0.1", backend.port))
        idle.sendall(b"GET / HTTP/1.1\r\nHost: shop\r\n\r\n")
        assert idle.recv(65536).startswith(b"HTTP/1.1 200")  # answered; the connection stays open, idle
        started = time.monotonic()
        os.kill(backend.started.pid, signal.SIGTERM)  # as the kubelet stops a container: its first process
        # Closed by the server's 5 s idle bound, so the workers stop on their own: before the 10 s
        # kill timeout (--workers-kill-timeout), which would log that a worker refused to stop.
        backend.started.wait(timeout=30)
        elapsed = time.monotonic() - started
        idle.close()
    assert elapsed < 9.5, f"the server took {elapsed:.1f} s to stop"
    assert "refused to gracefully stop" not in log.read_text()
