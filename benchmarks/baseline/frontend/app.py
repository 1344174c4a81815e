import os

import requests
from flask import Flask, render_template

app = Flask(__name__)
CONFIG_PATH = os.environ.get("CONFIG_PATH", "/config/config.cfg")


def getBackendURI():  # noqa: N802 - the original's name
    if os.path.exists(CONFIG_PATH):
        app.config.from_pyfile(CONFIG_PATH)
        return app.config["BACKEND_URI"]
    return "http://localhost:8082"


@app.route("/")
def index():
    # A new connection per page, no timeout, no error handling: as the original.
    items = requests.get(getBackendURI()).json()
    return render_template("index.html", items=items)
