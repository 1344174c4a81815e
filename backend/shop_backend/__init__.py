"""The inventory service: the shop's items as JSON at `/`."""

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from . import health, inventory, observability


def create_app() -> Flask:
    app = Flask(__name__)
    assert isinstance(app.json, DefaultJSONProvider)  # Flask's own, which has sort_keys
    app.json.sort_keys = False  # keep each item's fields in the documented order
    observability.init_app(app, observability.from_environ())
    app.register_blueprint(inventory.bp)
    app.register_blueprint(health.bp)

    @app.after_request
    def no_sniffing(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    return app
