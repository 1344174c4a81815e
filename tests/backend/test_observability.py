"""The backend's side of the operator's view: its JSON line, the request id it is given, its build."""

import io
import json

import pytest

from shop_backend import create_app, observability


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
    assert "Connection" not in client.get("/").headers
    drain.touch()
    assert client.get("/").headers["Connection"] == "close"


def test_requests_are_counted(client):
    before = observability.REGISTRY.get_sample_value(
        "shop_http_requests_total", {"route": "/", "method": "GET", "status": "200"}) or 0
    client.get("/")
    assert observability.REGISTRY.get_sample_value(
        "shop_http_requests_total", {"route": "/", "method": "GET", "status": "200"}) == before + 1


def test_a_bad_setting_names_the_variable():
    with pytest.raises(observability.ObservabilityError, match=r"^LOG_FORMAT='yaml' must be json or text$"):
        observability.from_environ({"LOG_FORMAT": "yaml"})
