"""Error pages: every failure is a clear page with the right status and one log line."""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from werkzeug.exceptions import HTTPException

from . import observability
from .backend_client import BackendError
from .backend_config import ConfigError

TITLES = {
    500: "The shop is misconfigured",
    502: "The inventory service gave a bad answer",
    503: "The inventory service is unavailable",
    504: "The inventory service is too slow",
}


def error_page(status: int, title: str, detail: str):
    # The request id on the page: a user's report then finds its log lines.
    page = render_template("error.html", status=status, title=title, detail=detail,
                           request_id=observability.request_id())
    return page, status, {"Cache-Control": "no-store"}


def register(app: Flask) -> None:
    @app.errorhandler(BackendError)
    def backend_failed(error: BackendError):
        current_app.logger.warning(
            "backend %s: %s (answered %d)", request.environ.get("shop.backend_uri"), error.detail, error.status
        )
        return error_page(error.status, TITLES[error.status], error.detail)

    @app.errorhandler(ConfigError)
    def config_broken(error: ConfigError):
        current_app.logger.error("%s (answered 500)", error)
        return error_page(500, TITLES[500], str(error))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return error_page(error.code or 500, f"{error.code} {error.name}", error.description or "")

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        # One line, no traceback page: the type and message say what broke.
        current_app.logger.error("unexpected %s on %s: %s", type(error).__name__, request.path, error)
        return error_page(500, "Something went wrong", "The shop hit an unexpected error; it has been logged.")
