"""What an operator reads: one JSON line per request, the request id's round trip, the metrics, the build."""

import io
import json
import os
import socket
import subprocess
import sys
import time

import pytest
import requests

from shop_frontend import create_app, observability
from tests.support.net import free_port
from tests.support.stub_backend import Answer
from tools.procfile import ROOT

GOOD = Answer.json([{"id": 1, "name": "Apple", "price": 0.5, "count": 33}])


@pytest.fixture
def log_stream(app):
    """What the app writes to stdout, through its own handler and formatter."""
    stream = io.StringIO()
    (handler,) = app.logger.handlers
    handler.setStream(stream)
    return stream


def lines(stream) -> list[dict]:
    return [json.loads(text) for text in stream.getvalue().splitlines()]


def sample(name: str, **labels) -> float:
    return observability.REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_page_is_one_json_line_with_the_backend_call(client, answer, log_stream):
    answer(GOOD)
    client.get("/", headers={"X-Request-ID": "abc-123"})
    (line,) = lines(log_stream)
    assert set(line) == {"time", "level", "app", "message", "method", "path", "status", "duration_ms", "request_id",
                         "backend_outcome", "backend_duration_ms", "backend_build"}
    assert (line["level"], line["app"], line["message"]) == ("INFO", "frontend", "GET / 200")
    assert (line["method"], line["path"], line["status"], line["request_id"]) == ("GET", "/", 200, "abc-123")
    assert line["backend_outcome"] == "ok" and line["backend_build"] is None  # the stub names no build
    assert 0 <= line["backend_duration_ms"] <= line["duration_ms"] < 3000
    assert line["time"].endswith("+00:00") and line["time"][:4].isdigit()  # ISO 8601, UTC


def test_a_failed_page_logs_the_error_and_the_request_under_one_id(client, write_config, log_stream):
    write_config(f'BACKEND_URI = "http://127.0.0.1:{free_port()}"')
    response = client.get("/", headers={"X-Request-ID": "user-report-7"})
    error, request = lines(log_stream)
    assert (error["level"], error["request_id"], error["path"]) == ("WARNING", "user-report-7", "/")
    assert "connection refused" in error["message"]
    assert (request["status"], request["backend_outcome"], request["request_id"]) == (503, "unavailable", "user-report-7")
    # The page shows the id, so the user's report finds these lines.
    assert "request user-report-7" in response.get_data(as_text=True)


@pytest.mark.parametrize("sent", ["has spaces", "x" * 129, "-starts-with-a-dash", "semi;colon", "ünïcode"])
def test_an_insane_request_id_is_replaced(client, answer, stub_backend, sent):
    answer(GOOD)
    response = client.get("/", headers={"X-Request-ID": sent})
    new = response.headers["X-Request-ID"]
    assert new != sent and len(new) == 32 and int(new, 16) >= 0
    assert stub_backend.request_ids == [new]  # the backend gets the same one


def test_the_request_id_goes_to_the_backend_and_back(client, answer, stub_backend):
    answer(GOOD)
    response = client.get("/", headers={"X-Request-ID": "a.b:c_d-9"})
    assert response.headers["X-Request-ID"] == "a.b:c_d-9"
    assert stub_backend.request_ids == ["a.b:c_d-9"]
    generated = client.get("/").headers["X-Request-ID"]
    assert len(generated) == 32 and stub_backend.request_ids[-1] == generated


def test_healthz_is_counted_but_not_logged(client, log_stream):
    before = sample("shop_http_requests_total", route="/healthz", method="GET", status="200")
    client.get("/healthz")
    assert lines(log_stream) == []
    assert sample("shop_http_requests_total", route="/healthz", method="GET", status="200") == before + 1


def test_requests_are_counted_by_route_method_and_status(client, answer):
    answer(GOOD)
    ok = sample("shop_http_requests_total", route="/", method="GET", status="200")
    missing = sample("shop_http_requests_total", route="unmatched", method="GET", status="404")
    timed = sample("shop_http_request_duration_seconds_count", route="/", method="GET")
    client.get("/")
    client.get("/no/such/page")  # an unmatched path is one series, not one per path
    assert sample("shop_http_requests_total", route="/", method="GET", status="200") == ok + 1
    assert sample("shop_http_requests_total", route="unmatched", method="GET", status="404") == missing + 1
    assert sample("shop_http_request_duration_seconds_count", route="/", method="GET") == timed + 1


@pytest.mark.parametrize(("backend", "outcome", "status"), [
    (Answer.json([{"id": 1}]), "bad_answer", 502),
    (Answer(hang=True), "timeout", 504),
    (GOOD, "ok", 200),
])
def test_each_backend_call_is_counted_by_outcome(client, answer, backend, outcome, status):
    answer(backend)
    before = sample("shop_backend_calls_total", outcome=outcome)
    timed = sample("shop_backend_call_duration_seconds_count", outcome=outcome)
    assert client.get("/").status_code == status  # a hung stub is released when it stops
    assert sample("shop_backend_calls_total", outcome=outcome) == before + 1
    assert sample("shop_backend_call_duration_seconds_count", outcome=outcome) == timed + 1


def test_an_unreachable_backend_is_counted_unavailable(client, write_config):
    write_config(f'BACKEND_URI = "http://127.0.0.1:{free_port()}"')
    before = sample("shop_backend_calls_total", outcome="unavailable")
    assert client.get("/").status_code == 503
    assert sample("shop_backend_calls_total", outcome="unavailable") == before + 1


def test_config_reloads_are_counted_once_per_change(client, answer, write_config, stub_backend):
    answer(GOOD)
    client.get("/")  # the fixture's file, loaded once
    ok = sample("shop_config_reloads_total", result="ok")
    errors = sample("shop_config_reloads_total", result="error")
    client.get("/")
    assert sample("shop_config_reloads_total", result="ok") == ok  # unchanged: not read again
    write_config(f'BACKEND_URI = "{stub_backend.uri}/"\n')
    client.get("/")
    write_config("BACKEND_URI = (\n")
    client.get("/")
    client.get("/")
    assert sample("shop_config_reloads_total", result="ok") == ok + 1
    assert sample("shop_config_reloads_total", result="error") == errors + 1


def app_with(monkeypatch, config_path, **env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return create_app({"SHOP_CONFIG_PATH": str(config_path)})


def test_the_page_names_both_builds(monkeypatch, config_path, write_config, stub_backend):
    stub_backend.answer = Answer.json([{"id": 1, "name": "Apple", "price": 0.5, "count": 33}])
    stub_backend.answer.headers = {"X-Shop-Build": "backend-0a1b2c"}
    write_config(f'BACKEND_URI = "{stub_backend.uri}"')
    app = app_with(monkeypatch, config_path, SHOP_BUILD="frontend-9f8e7d")
    response = app.test_client().get("/")
    assert response.headers["X-Shop-Build"] == "frontend-9f8e7d"
    assert response.headers["X-Shop-Backend-Build"] == "backend-0a1b2c"
    assert '<meta name="shop-builds" content="frontend=frontend-9f8e7d backend=backend-0a1b2c">' in response.get_data(
        as_text=True)
    assert observability.REGISTRY.get_sample_value("shop_build_info", {"build": "frontend-9f8e7d"}) == 1
    assert app.test_client().get("/healthz").headers["X-Shop-Build"] == "frontend-9f8e7d"


def test_without_a_build_the_headers_say_unknown(client, answer):
    answer(GOOD)
    response = client.get("/")
    assert (response.headers["X-Shop-Build"], response.headers["X-Shop-Backend-Build"]) == ("unknown", "unknown")


def test_answers_say_connection_close_from_the_moment_the_drain_file_appears(monkeypatch, tmp_path, config_path,
                                                                            write_config, stub_backend):
    stub_backend.answer = GOOD
    write_config(f'BACKEND_URI = "{stub_backend.uri}"')
    drain = tmp_path / "shop-draining"
    client = app_with(monkeypatch, config_path, SHOP_DRAIN_FILE=str(drain)).test_client()
    before = client.get("/")
    assert (before.status_code, "Connection" in before.headers) == (200, False)  # no file yet: served as ever
    drain.touch()  # what the preStop hook does
    assert client.get("/").headers["Connection"] == "close"
    assert client.get("/healthz").headers["Connection"] == "close"
    drain.unlink()
    assert client.get("/").headers["Connection"] == "close"  # termination, once begun, is not undone


def test_a_drain_file_older_than_the_worker_is_not_a_drain(monkeypatch, tmp_path, config_path, write_config,
                                                          stub_backend):
    # Left in the pod's /tmp by a container that restarted (its preStop ran, the pod stayed).
    stub_backend.answer = GOOD
    write_config(f'BACKEND_URI = "{stub_backend.uri}"')
    drain = tmp_path / "shop-draining"
    drain.touch()
    hour_ago = time.time() - 3600
    os.utime(drain, (hour_ago, hour_ago))
    client = app_with(monkeypatch, config_path, SHOP_DRAIN_FILE=str(drain)).test_client()
    assert "Connection" not in client.get("/").headers


def test_a_drain_file_stamped_in_the_workers_first_second_is_a_drain(monkeypatch, tmp_path, config_path,
                                                                     write_config, stub_backend):
    # File systems keep whole seconds: a preStop 0.3 s after a worker started at ...000.5 stamps ...000,
    # and that is this pod's termination, not a file left from before.
    stub_backend.answer = GOOD
    write_config(f'BACKEND_URI = "{stub_backend.uri}"')
    drain = tmp_path / "shop-draining"
    with monkeypatch.context() as started:
        started.setattr(time, "time", lambda: 1_800_000_000.5)
        client = app_with(monkeypatch, config_path, SHOP_DRAIN_FILE=str(drain)).test_client()
    drain.touch()
    os.utime(drain, (1_800_000_000, 1_800_000_000))
    assert client.get("/").headers["Connection"] == "close"


@pytest.fixture
def clock(monkeypatch):
    """perf_counter as a page sees it: the request starts at 100 s, the backend is asked 1 ms later and
    answers 10.3456 ms after that; the page is done 12.3456 ms after it started."""
    readings = iter([100.0, 100.001, 100.0113456])
    monkeypatch.setattr(time, "perf_counter", lambda: next(readings, 100.0123456))


def test_durations_are_logged_in_milliseconds_to_two_decimals(client, answer, log_stream, clock):
    answer(GOOD)
    client.get("/")
    (line,) = lines(log_stream)
    # 12.3456 and 10.3456 ms, rounded: not seconds, not three decimals.
    assert (line["duration_ms"], line["backend_duration_ms"]) == (12.35, 10.35)


def test_a_failed_backend_calls_duration_is_logged_too(client, answer, log_stream, clock):
    answer(Answer(status=500))  # the page a 502: how long the backend took to fail is what an operator asks
    client.get("/")
    request = lines(log_stream)[-1]
    assert (request["status"], request["backend_outcome"], request["backend_duration_ms"]) == (502, "bad_answer", 10.35)


def test_text_format_is_one_short_line(monkeypatch, config_path, write_config, stub_backend, clock):
    stub_backend.answer = GOOD
    write_config(f'BACKEND_URI = "{stub_backend.uri}"')
    app = app_with(monkeypatch, config_path, LOG_FORMAT="text")
    stream = io.StringIO()
    app.logger.handlers[0].setStream(stream)
    app.test_client().get("/", headers={"X-Request-ID": "r1"})
    (text,) = stream.getvalue().splitlines()
    stamp, rest = text.split(" ", 1)
    assert len(stamp) == 8 and stamp[2] == stamp[5] == ":"  # HH:MM:SS
    # App and level padded to columns, then the request's fields (a build the stub does not name: left out).
    assert rest == ("frontend INFO    GET / 200  duration_ms=12.35 request_id=r1 backend_outcome=ok "
                    "backend_duration_ms=10.35")


def test_latency_is_counted_in_the_documented_buckets(client, answer, clock):
    answer(GOOD)
    client.get("/")
    buckets = {s.labels["le"]: s.value for metric in observability.REGISTRY.collect()
               if metric.name == "shop_http_request_duration_seconds"
               for s in metric.samples if s.name.endswith("_bucket") and s.labels["route"] == "/"}
    # Dashboards and alerts name these bounds (docs/observability.md's p99 query); a build with other
    # bounds breaks a quantile over a rollout's mixed pods. Up to 10 s: past the 3 s read timeout.
    assert list(buckets) == ["0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0",
                             "2.5", "5.0", "10.0", "+Inf"]
    # 12.3 ms: above the 10 ms bound, within 25 ms.
    assert buckets["0.025"] - buckets["0.01"] >= 1


@pytest.mark.parametrize(("env", "message"), [
    ({"LOG_FORMAT": "xml"}, "LOG_FORMAT='xml' must be json or text"),
    ({"METRICS_PORT": "70000", "PROMETHEUS_MULTIPROC_DIR": "/tmp/m"},
     "METRICS_PORT='70000' must be a port number from 1 to 65535"),
    ({"METRICS_PORT": "nine"}, "METRICS_PORT='nine' must be a port number from 1 to 65535"),
    ({"METRICS_PORT": "9464"}, "METRICS_PORT needs PROMETHEUS_MULTIPROC_DIR: a directory the server's worker "
                               "processes share, so /metrics counts all of them"),
    ({"SHOP_BUILD": "a b"}, "SHOP_BUILD='a b' must be an image tag or digest (letters, digits, ._:@+-)"),
])
def test_bad_observability_settings_stop_the_worker_naming_the_variable(env, message):
    with pytest.raises(observability.ObservabilityError) as raised:
        observability.from_environ(env)
    assert str(raised.value) == message


@pytest.mark.parametrize("port", ["1", "9464", "65535"])  # the lowest and highest TCP ports, and the shop's
def test_a_metrics_port_from_1_to_65535_is_taken(port):
    settings = observability.from_environ({"METRICS_PORT": port, "PROMETHEUS_MULTIPROC_DIR": "/tmp/m"})
    assert (settings.metrics_port, settings.multiproc_dir) == (int(port), "/tmp/m")


@pytest.mark.parametrize("port", ["0", "65536", "-1", "9464.0"])
def test_a_metrics_port_that_is_no_tcp_port_stops_the_worker(port):
    with pytest.raises(observability.ObservabilityError) as raised:
        observability.from_environ({"METRICS_PORT": port, "PROMETHEUS_MULTIPROC_DIR": "/tmp/m"})
    assert str(raised.value) == f"METRICS_PORT={port!r} must be a port number from 1 to 65535"


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


def test_metrics_are_served_on_their_own_port_which_every_worker_binds(metrics_env, config_path):
    create_app({"SHOP_CONFIG_PATH": str(config_path)})
    create_app({"SHOP_CONFIG_PATH": str(config_path)})  # a second app in the same worker: the one server it has
    response = requests.get(f"http://127.0.0.1:{metrics_env}/metrics", timeout=5)
    assert (response.status_code, response.headers["Content-Type"].split(";")[0]) == (200, "text/plain")
    with socket.socket() as next_worker:  # what granian's other worker does: bind the same port too
        next_worker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        next_worker.bind(("127.0.0.1", metrics_env))


STUCK_SCRAPE = """
import os, socket, threading, time
from shop_frontend import create_app
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
    done = subprocess.run([sys.executable, "-c", STUCK_SCRAPE], cwd=ROOT, env={**os.environ, "PYTHONPATH": "frontend"},
                          capture_output=True, text=True, timeout=10)  # hung: a TimeoutExpired, the test failed
    assert (done.returncode, done.stdout.strip()) == (0, "handling"), done.stderr


def test_unset_settings_are_the_documented_defaults():
    assert observability.from_environ({}) == observability.Observability(
        log_format="json", metrics_port=None, metrics_host="0.0.0.0", multiproc_dir=None, build="unknown",
        drain_file=None)
