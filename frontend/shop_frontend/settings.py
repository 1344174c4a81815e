"""Frontend settings, read once from the environment at start-up.

A bad value stops the worker from booting with a message naming the variable,
rather than serving with a surprise default.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

DEFAULT_CONFIG_PATH = "/config/config.cfg"

# name: (default, minimum, maximum)
_SECONDS = {
    "BACKEND_CONNECT_TIMEOUT": (1.0, 0.01, 60.0),
    "BACKEND_READ_TIMEOUT": (3.0, 0.01, 300.0),
}
_INTEGERS = {
    # Larger backend answers are cut off rather than read into memory.
    "BACKEND_MAX_RESPONSE_BYTES": (1_048_576, 1_024, 64 * 1_048_576),
}
# BACKEND_POOL_SIZE, the connections kept open to the backend: (minimum, maximum). Unset, one per
# thread: the Procfile gives each worker WEB_THREADS threads (its default: 16), in the same range.
_POOL_RANGE = (1, 1_024)
_WEB_THREADS_DEFAULT = 16


class SettingsError(ValueError):
    """An environment variable holds a value the frontend cannot use."""


def from_environ(environ: Mapping[str, str] | None = None) -> dict:
    env = os.environ if environ is None else environ
    values: dict = {"SHOP_CONFIG_PATH": env.get("CONFIG_PATH") or DEFAULT_CONFIG_PATH}
    for name, (default, low, high) in _SECONDS.items():
        values[name] = _number(env, name, default, low, high, float)
    for name, (default, low, high) in _INTEGERS.items():
        values[name] = _number(env, name, default, low, high, int)
    if (env.get("BACKEND_POOL_SIZE") or "").strip():
        values["BACKEND_POOL_SIZE"] = _number(env, "BACKEND_POOL_SIZE", None, *_POOL_RANGE, int)
    else:
        values["BACKEND_POOL_SIZE"] = _number(env, "WEB_THREADS", _WEB_THREADS_DEFAULT, *_POOL_RANGE, int)
    return values


def _number(env, name, default, low, high, kind):
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a valid {kind.__name__}") from None
    if not (math.isfinite(value) and low <= value <= high):
        raise SettingsError(f"{name}={raw!r} must be between {low} and {high}")
    return value
