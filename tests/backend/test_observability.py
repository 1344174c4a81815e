"""The backend's side of the operator's view: its JSON line, the request id it is given, its build."""

import io
import json
import os
import socket
import subprocess
import sys
import time

import pytest
import requests

from shop_backend import create_app, inventory, observability
from tests.support.net import free_port
from tools.procfile import ROOT


@pytest.fixture
def log_stream(app):
    stream = io.StringIO()
    (handler,) = app.logger.handlers
    handler.setStream(stream)
    return stream


def test_each_inventory_request_is_one_json_line(client, log_stream):
    client.get("/", headers={"X-Request-ID": "from-frontend-1"})
    (line,) = [json.loads(t) for t in log_stream.getvalue().splitlines()]
    assert set(line) == {"time", "level", "app", "message", "method", "path", "status", "duration_ms", "request_id"}
    assert (line["app"], line["message"], line["status"], line["request_id"]) == ("backend", "GET / 200", 200,
                                                                                  "from-frontend-1")


def test_the_request_id_is_returned_and_an_insane_one_replaced(client):
    assert client.get("/", headers={"X-Request-ID": "abc"}).headers["X-Request-ID"] == "abc"
    replaced = client.get("/", headers={"X-Request-ID": "a\tb"}).headers["X-Request-ID"]
    assert len(replaced) == 32 and replaced != "a\tb"


def test_healthz_is_not_logged(client, log_stream):
    client.get("/healthz")
    assert log_stream.getvalue() == ""


def test_the_answer_names_the_build(monkeypatch):
    monkeypatch.setenv("SHOP_BUILD", "src-1a2b3c4d5e6f")
    response = create_app().test_client().get("/")
    assert response.headers["X-Shop-Build"] == "src-1a2b3c4d5e6f"
    assert observability.REGISTRY.get_sample_value("shop_build_info", {"build": "src-1a2b3c4d5e6f"}) == 1


def test_answers_say_connection_close_once_draining(monkeypatch, tmp_path):
    drain = tmp_path / "shop-draining"
    monkeypatch.setenv("SHOP_DRAIN_FILE", str(drain))
    client = create_app().test_client()
    before = client.get("/")
    assert (before.status_code, "Connection" in before.headers) == (200, False)  # no file yet: served as ever
    drain.touch()
    assert client.get("/").headers["Connection"] == "close"


def test_a_drain_file_stamped_in_the_workers_first_second_is_a_drain(monkeypatch, tmp_path):
    # File systems keep whole seconds: a preStop 0.3 s after a worker started at ...000.5 stamps ...000,
    # and that is this pod's termination, not a file left from before.
    drain = tmp_path / "shop-draining"
    monkeypatch.setenv("SHOP_DRAIN_FILE", str(drain))
    with monkeypatch.context() as started:
        started.setattr(time, "time", lambda: 1_800_000_000.5)
        client = create_app().test_client()
    drain.touch()
    os.utime(drain, (1_800_000_000, 1_800_000_000))
    assert client.get("/").headers["Connection"] == "close"


@pytest.fixture
def clock(monkeypatch):
    """perf_counter as a request sees it: 100 s when it starts, 12.3456 ms later from then on."""
    readings = iter([100.0])
    monkeypatch.setattr(time, "perf_counter", lambda: next(readings, 100.0123456))


def test_the_duration_is_logged_in_milliseconds_to_two_decimals(client, log_stream, clock):
    client.get("/")
    (line,) = [json.loads(t) for t in log_stream.getvalue().splitlines()]
    assert line["duration_ms"] == 12.35  # 12.3456 ms, rounded: not seconds, not 12.346


def test_text_format_is_one_short_line(monkeypatch, clock):
    monkeypatch.setenv("LOG_FORMAT", "text")
    app = create_app()
    stream = io.StringIO()
    app.logger.handlers[0].setStream(stream)
    app.test_client().get("/", headers={"X-Request-ID": "r1"})
    (text,) = stream.getvalue().splitlines()
    stamp, rest = text.split(" ", 1)
    assert len(stamp) == 8 and stamp[2] == stamp[5] == ":"  # HH:MM:SS
    # App and level padded to columns, then the request's fields; none of the JSON line's others.
    assert rest == "backend  INFO    GET / 200  duration_ms=12.35 request_id=r1"


def test_a_line_logged_while_serving_names_its_request(client, log_stream, monkeypatch):
    # The inventory made unserialisable: Flask logs the exception from inside the request.
    monkeypatch.setattr(inventory, "ITEMS", (object(),))
    assert client.get("/", headers={"X-Request-ID": "report-9"}).status_code == 500
    error = next(json.loads(t) for t in log_stream.getvalue().splitlines() if json.loads(t)["level"] == "ERROR")
    assert (error["message"], error["request_id"], error["method"], error["path"]) == (
        "Exception on / [GET]", "report-9", "GET", "/")


def test_latency_is_counted_in_the_documented_buckets(client, clock):
    client.get("/")
    buckets = {sample.labels["le"]: sample.value for metric in observability.REGISTRY.collect()
               if metric.name == "shop_http_request_duration_seconds"
               for sample in metric.samples if sample.name.endswith("_bucket") and sample.labels["route"] == "/"}
    # Dashboards and alerts name these bounds (le="0.5"); a build with other bounds breaks a quantile
    # over a rollout's mixed pods. The inventory answers in about a millisecond: the low ones tell changes apart.
    assert list(buckets) == ["0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0",
                             "2.5", "5.0", "10.0", "+Inf"]
    # 12.3 ms: above the 10 ms bound, within 25 ms.
    assert buckets["0.025"] - buckets["0.01"] >= 1


def test_requests_are_counted(client):
    before = observability.REGISTRY.get_sample_value(
        "shop_http_requests_total", {"route": "/", "method": "GET", "status": "200"}) or 0
    client.get("/")
    assert observability.REGISTRY.get_sample_value(
        "shop_http_requests_total", {"route": "/", "method": "GET", "status": "200"}) == before + 1


def test_a_bad_setting_names_the_variable():
    with pytest.raises(observability.ObservabilityError, match=r"^LOG_FORMAT='yaml' must be json or text$"):
        observability.from_environ({"LOG_FORMAT": "yaml"})


@pytest.mark.parametrize("port", ["1", "9464", "65535"])  # the lowest and highest TCP ports, and the shop's
def test_a_metrics_port_from_1_to_65535_is_taken(port):
    settings = observability.from_environ({"METRICS_PORT": port, "PROMETHEUS_MULTIPROC_DIR": "/tmp/m"})
    assert (settings.metrics_port, settings.multiproc_dir) == (int(port), "/tmp/m")


@pytest.mark.parametrize("port", ["0", "65536", "nine", "-1", "9464.0"])
def test_a_metrics_port_that_is_no_tcp_port_stops_the_worker(port):
    with pytest.raises(observability.ObservabilityError) as raised:
        observability.from_environ({"METRICS_PORT": port, "PROMETHEUS_MULTIPROC_DIR": "/tmp/m"})
    assert str(raised.value) == f"METRICS_PORT={port!r} must be a port number from 1 to 65535"


def test_a_metrics_port_without_a_shared_directory_stops_the_worker():
    with pytest.raises(observability.ObservabilityError) as raised:
        observability.from_environ({"METRICS_PORT": "9464"})
    assert str(raised.value) == ("METRICS_PORT needs PROMETHEUS_MULTIPROC_DIR: a directory the server's worker "
                                 "processes share, so /metrics counts all of them")


@pytest.fixture
def metrics_env(monkeypatch, tmp_path):
    """A metrics port on loopback and its directory, already there (as the pod's emptyDir is)."""
    port = free_port()
    (tmp_path / "metrics").mkdir()
    monkeypatch.setenv("METRICS_PORT", str(port))
    monkeypatch.setenv("METRICS_HOST", "127.0.0.1")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    monkeypatch.setattr(observability, "_server", None)  # this process's server is this test's
    yield port
    if observability._server is not None:
        observability._server.shutdown()
        observability._server.server_close()


def test_metrics_are_served_on_their_own_port_which_every_worker_binds(metrics_env):
    create_app()
    create_app()  # a second app in the same worker: the one server it has
    response = requests.get(f"http://127.0.0.1:{metrics_env}/metrics", timeout=5)
    assert (response.status_code, response.headers["Content-Type"].split(";")[0]) == (200, "text/plain")
    with socket.socket() as next_worker:  # what granian's other worker does: bind the same port too
        next_worker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        next_worker.bind(("127.0.0.1", metrics_env))


STUCK_SCRAPE = """
import os, socket, threading, time
from shop_backend import create_app
create_app()
serving = threading.active_count()
stuck = socket.create_connection(("127.0.0.1", int(os.environ["METRICS_PORT"])))  # sends nothing, ever
deadline = time.monotonic() + 5
while threading.active_count() == serving and time.monotonic() < deadline:
    time.sleep(0.01)
print("handling" if threading.active_count() > serving else "no handler")
"""


def test_a_stuck_scrape_does_not_keep_a_worker_from_exiting(metrics_env):
    # granian stops and restarts workers; a scraper that hangs on its connection must not hold one up.
    done = subprocess.run([sys.executable, "-c", STUCK_SCRAPE], cwd=ROOT, env={**os.environ, "PYTHONPATH": "backend"},
                          capture_output=True, text=True, timeout=10)  # hung: a TimeoutExpired, the test failed
    assert (done.returncode, done.stdout.strip()) == (0, "handling"), done.stderr
