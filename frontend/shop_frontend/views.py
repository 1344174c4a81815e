"""The shop page and the health endpoint."""

import time

from flask import Blueprint, current_app, render_template, request

from . import observability
from .backend_client import BackendError
from .backend_config import getBackendURI

bp = Blueprint("shop", __name__)
BACKEND_BUILD_HEADER = "X-Shop-Backend-Build"


@bp.get("/")
def index():
    backend_uri = getBackendURI()
    request.environ["shop.backend_uri"] = backend_uri  # for the error log line
    started = time.perf_counter()
    try:
        inventory = current_app.extensions["backend_client"].fetch_items(backend_uri, observability.request_id())
    except BackendError as error:
        observability.backend_call(observability.OUTCOMES[error.status], time.perf_counter() - started, None)
        raise
    observability.backend_call("ok", time.perf_counter() - started, inventory.build)
    # Which builds answered: in a header (with X-Shop-Build, this frontend's) and in the page's
    # <meta name="shop-builds">, which `make up` reads through the API server's proxy.
    builds = {"frontend": current_app.extensions["observability"].build, "backend": inventory.build or "unknown"}
    page = render_template("index.html", items=inventory.items, builds=builds)
    return page, 200, {BACKEND_BUILD_HEADER: builds["backend"]}


@bp.get("/healthz")
def healthz():
    # Deliberately no backend call: a backend outage must not take the
    # frontend out of its Service (users then get a clear error page).
    return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
