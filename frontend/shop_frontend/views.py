"""The shop page and the health endpoint."""

from flask import Blueprint, current_app, render_template, request

from .backend_config import getBackendURI

bp = Blueprint("shop", __name__)


@bp.get("/")
def index():
    backend_uri = getBackendURI()
    request.environ["shop.backend_uri"] = backend_uri  # for the error log line
    items = current_app.extensions["backend_client"].fetch_items(backend_uri)
    return render_template("index.html", items=items)


@bp.get("/healthz")
def healthz():
    # Deliberately no backend call: a backend outage must not take the
    # frontend out of its Service (users then get a clear error page).
    return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
