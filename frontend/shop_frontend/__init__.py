"""The shop's web frontend: asks the inventory service for the items and renders them."""

from flask import Flask

from . import backend_client, errors, observability, security, settings, views


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__)
    # Settings come from the environment (see settings.py); tests pass overrides.
    app.config.update(settings.from_environ())
    if overrides:
        app.config.update(overrides)
    # One pooled HTTP session per worker process, shared by its threads.
    app.extensions["backend_client"] = backend_client.BackendClient(
        connect_timeout=app.config["BACKEND_CONNECT_TIMEOUT"],
        read_timeout=app.config["BACKEND_READ_TIMEOUT"],
        max_response_bytes=app.config["BACKEND_MAX_RESPONSE_BYTES"],
        pool_size=app.config["BACKEND_POOL_SIZE"],
    )
    observability.init_app(app, observability.from_environ())
    app.register_blueprint(views.bp)
    errors.register(app)
    security.register(app)
    return app
