"""Where the backend is: the original `getBackendURI()` contract.

If the config file exists it is loaded as a Flask pyfile and its BACKEND_URI is
used, else http://localhost:8082. The file is looked at on every request, so an
updated ConfigMap takes effect on the next request without a restart. A file
that exists but is broken is an error, never a silent fallback to localhost.

Looking is a stat; compiling the file as Python happens only when its identity
(device, inode, size, mtime) changed since the last load. The kubelet updates a
ConfigMap volume by swapping a symlink to a new file (a new inode), and editors
write a new mtime, so every real change is seen.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from flask import Config, current_app

from .observability import CONFIG_RELOADS

DEFAULT_BACKEND_URI = "http://localhost:8082"


class ConfigError(Exception):
    """The config file exists but does not name a usable backend."""


def getBackendURI() -> str:  # noqa: N802 - the name the original code and docs use
    return load_backend_uri(current_app.config["SHOP_CONFIG_PATH"])


# path -> (the file's identity, what loading it gave: a URI or the ConfigError it raised).
_loaded: dict[str, tuple[tuple[int, int, int, int], str | ConfigError]] = {}


def load_backend_uri(path: str) -> str:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return DEFAULT_BACKEND_URI
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror or exc}") from None
    identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    cached = _loaded.get(path)
    if cached is None or cached[0] != identity:
        try:
            result: str | ConfigError = _load(path)
            CONFIG_RELOADS.labels("ok").inc()
        except ConfigError as exc:
            result = exc
            CONFIG_RELOADS.labels("error").inc()
        cached = _loaded[path] = (identity, result)
    if isinstance(cached[1], ConfigError):
        raise ConfigError(str(cached[1]))
    return cached[1]


def _load(path: str) -> str:
    # A fresh Config each time: a key removed from the file must not linger. Its root is what a
    # relative CONFIG_PATH is relative to: the working directory, as for the stat above (the
    # file's own directory would be joined to a path that already names it).
    config = Config(".")
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
