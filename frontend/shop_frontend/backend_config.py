"""Where the backend is: the original `getBackendURI()` contract.

If the config file exists it is loaded as a Flask pyfile and its BACKEND_URI is
used, else http://localhost:8082. The file is read on every request, so an
updated ConfigMap takes effect on the next request without a restart. A file
that exists but is broken is an error, never a silent fallback to localhost.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from flask import Config, current_app

DEFAULT_BACKEND_URI = "http://localhost:8082"


class ConfigError(Exception):
    """The config file exists but does not name a usable backend."""


def getBackendURI() -> str:  # noqa: N802 - the name the original code and docs use
    return load_backend_uri(current_app.config["SHOP_CONFIG_PATH"])


def load_backend_uri(path: str) -> str:
    if not os.path.exists(path):
        return DEFAULT_BACKEND_URI
    # A fresh Config each time: a key removed from the file must not linger.
    config = Config(os.path.dirname(path) or ".")
    try:
        config.from_pyfile(path)
    except FileNotFoundError:
        return DEFAULT_BACKEND_URI  # removed between the check and the read
    except SyntaxError as exc:
        raise ConfigError(f"config file {path} has a syntax error on line {exc.lineno}: {exc.msg}") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror or exc}") from None
    except Exception as exc:  # the file is Python: anything can go wrong in it
        raise ConfigError(f"config file {path} failed to load: {type(exc).__name__}: {exc}") from None
    if "BACKEND_URI" not in config:
        raise ConfigError(f"config file {path} does not set BACKEND_URI")
    return validate_backend_uri(config["BACKEND_URI"], path)


def validate_backend_uri(uri: object, path: str) -> str:
    if not isinstance(uri, str):
        raise ConfigError(f"BACKEND_URI in {path} must be a string, not {type(uri).__name__}")
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError as exc:
        raise ConfigError(f"BACKEND_URI in {path} is not a valid URL ({exc}): {uri!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in uri):
        raise ConfigError(f"BACKEND_URI in {path} must be an http:// or https:// URL with a host, not {uri!r}")
    return uri
