"""What the backend tells its operators: a log line per request, Prometheus metrics, its build.

Settings, from the environment at start-up (a bad value stops the worker, naming it):
  LOG_FORMAT                json (default): one JSON object per line, for a log pipeline;
                            text: one short human line (`make dev`)
  METRICS_PORT              serve /metrics on this port, never on the app's own; unset: no metrics
  METRICS_HOST              the address it binds (default 0.0.0.0, like the app's port in a pod)
  PROMETHEUS_MULTIPROC_DIR  required with METRICS_PORT: granian forks workers, and each keeps its
                            counts in files there (prometheus_client's multiprocess mode), so any
                            worker's /metrics answers for all of them, and a restarted worker's
                            counts stay counted
  SHOP_BUILD                the build this pod runs (the image tag): X-Shop-Build, shop_build_info
  SHOP_DRAIN_FILE           the pod's preStop hook creates it: from then on every answer carries
                            `Connection: close`, so pooled clients move to another pod before this
                            one stops listening

This file and its twin in frontend/shop_frontend/ are kept alike on purpose: each app stands alone.
"""

from __future__ import annotations

import logging
import math
import os
import re
import socketserver
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from flask import Flask, Response, g, has_request_context, request
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app, multiprocess
from pythonjsonlogger.json import JsonFormatter

APP = "backend"
REQUEST_ID_HEADER = "X-Request-ID"
BUILD_HEADER = "X-Shop-Build"
# A client's id is kept when it is a short token (what proxies and load balancers send);
# anything else (spaces, control characters, kilobytes) is replaced, never logged.
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_SANE_BUILD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds; the inventory answers in about a millisecond: the low buckets tell changes apart.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
QUIET_PATHS = frozenset({"/healthz"})  # the kubelet's probes: counted, not logged (one a second per pod)

# This app's own registry: the in-process counts tests read (with both apps imported in one
# process, the default registry would clash). Served, the counts come from the multiprocess files.
REGISTRY = CollectorRegistry()
REQUESTS = Counter("shop_http_requests", "Requests answered, by route, method and status.",
                   ["route", "method", "status"], registry=REGISTRY)
LATENCY = Histogram("shop_http_request_duration_seconds", "Time to answer a request, by route and method.",
                    ["route", "method"], buckets=LATENCY_BUCKETS, registry=REGISTRY)
BUILD_INFO = Gauge("shop_build_info", "Always 1: the build (image tag) this server runs.", ["build"],
                   multiprocess_mode="max", registry=REGISTRY)


class ObservabilityError(ValueError):
    """An observability setting the backend cannot use."""


@dataclass(frozen=True)
class Observability:
    log_format: str = "json"
    metrics_port: int | None = None
    metrics_host: str = "0.0.0.0"
    multiproc_dir: str | None = None
    build: str = "unknown"
    drain_file: str | None = None


def from_environ(environ: Mapping[str, str] | None = None) -> Observability:
    env = os.environ if environ is None else environ
    log_format = (env.get("LOG_FORMAT") or "json").strip()
    if log_format not in ("json", "text"):
        raise ObservabilityError(f"LOG_FORMAT={log_format!r} must be json or text")
    port_text = (env.get("METRICS_PORT") or "").strip()
    port = None
    if port_text:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ObservabilityError(f"METRICS_PORT={port_text!r} must be a port number from 1 to 65535")
        port = int(port_text)
    multiproc_dir = (env.get("PROMETHEUS_MULTIPROC_DIR") or "").strip() or None
    if port is not None and multiproc_dir is None:
        raise ObservabilityError("METRICS_PORT needs PROMETHEUS_MULTIPROC_DIR: a directory the server's "
                                 "worker processes share, so /metrics counts all of them")
    build = (env.get("SHOP_BUILD") or "unknown").strip()
    if not _SANE_BUILD.match(build):
        raise ObservabilityError(f"SHOP_BUILD={build!r} must be an image tag or digest (letters, digits, ._:@+-)")
    return Observability(log_format, port, (env.get("METRICS_HOST") or "0.0.0.0").strip(), multiproc_dir, build,
                         (env.get("SHOP_DRAIN_FILE") or "").strip() or None)


def init_app(app: Flask, settings: Observability) -> None:
    """Log every request, count it, name the build, and say `Connection: close` once draining."""
    if settings.multiproc_dir is not None:
        os.makedirs(settings.multiproc_dir, exist_ok=True)  # before the first count is written there
    _configure_logging(app, settings.log_format)
    access = logging.getLogger(f"{app.name}.access")
    BUILD_INFO.labels(settings.build).set(1)
    drain = _Drain(settings.drain_file)
    app.extensions["observability"] = settings
    if settings.metrics_port is not None:
        serve_metrics(settings)

    @app.before_request
    def start_request() -> None:
        g.started = time.perf_counter()
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex

    @app.after_request
    def finish_request(response: Response) -> Response:
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        method = request.method if request.method in _METHODS else "other"
        REQUESTS.labels(route, method, str(response.status_code)).inc()
        LATENCY.labels(route, method).observe(elapsed)
        response.headers[REQUEST_ID_HEADER] = request_id()
        response.headers[BUILD_HEADER] = settings.build
        if drain.started():
            response.headers["Connection"] = "close"
        if request.path not in QUIET_PATHS:
            access.info("%s %s %d", request.method, request.path, response.status_code, extra={
                "method": request.method, "path": request.path, "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 2), "request_id": request_id()})
        return response


def request_id() -> str:
    """This request's id: the client's when it sent a sane one, else a new one."""
    return g.get("request_id") or "-"


class _Drain:
    """Has this pod's termination begun? The preStop hook's file, newer than this worker's start
    (a file left by a container that restarted in the same pod is older: not ours)."""

    def __init__(self, path: str | None):
        self.path = path
        self.since = time.time()
        self.draining = False

    def started(self) -> bool:
        if self.draining or self.path is None:
            return self.draining
        try:
            self.draining = os.stat(self.path).st_mtime >= math.floor(self.since)
        except OSError:
            return False
        return self.draining


# --- logs -----------------------------------------------------------------------------------


class _TextFormatter(logging.Formatter):
    """`make dev`'s line: time, app, level, message, then the request's fields as key=value."""

    FIELDS = ("duration_ms", "request_id")

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        extra = " ".join(f"{k}={getattr(record, k)}" for k in self.FIELDS if getattr(record, k, None) is not None)
        return f"{stamp} {APP:8} {record.levelname:7} {record.getMessage()}" + (f"  {extra}" if extra else "")


class _RequestFields(logging.Filter):
    """Every line logged while a request is served names it, so an error line finds its request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            for key, value in (("request_id", request_id()), ("method", request.method), ("path", request.path)):
                if not hasattr(record, key):
                    setattr(record, key, value)
        return True


def _configure_logging(app: Flask, log_format: str) -> None:
    handler = logging.StreamHandler(sys.stdout)  # a container's logs are its stdout
    handler.addFilter(_RequestFields())
    if log_format == "json":
        handler.setFormatter(JsonFormatter("{levelname}{message}", style="{", timestamp="time",
                                           rename_fields={"levelname": "level"}, static_fields={"app": APP}))
    else:
        handler.setFormatter(_TextFormatter())
    app.logger.handlers[:] = [handler]  # replaces Flask's stderr handler; <app>.access propagates to it
    app.logger.setLevel(logging.INFO)


# --- metrics --------------------------------------------------------------------------------


class _MetricsServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_port = True  # every worker binds the port; whichever the kernel picks answers for all


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass  # scrapes every few seconds are not worth a log line


_server_lock = threading.Lock()
_server: WSGIServer | None = None


def serve_metrics(settings: Observability) -> WSGIServer:
    """Start this worker's /metrics server (once per process), in a daemon thread."""
    global _server
    with _server_lock:
        if _server is None:
            assert settings.metrics_port is not None and settings.multiproc_dir is not None
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=settings.multiproc_dir)
            server = make_server(settings.metrics_host, settings.metrics_port, make_wsgi_app(registry),
                                 server_class=_MetricsServer, handler_class=_Quiet)
            threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
            _server = server
        return _server
