"""Loopback helpers: free ports and polling with a deadline (never bare sleeps)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal, TypeVar

from tools.procfile import free_port

__all__ = ["free_port", "wait_until"]

T = TypeVar("T")


def wait_until(check: Callable[[], T | Literal[False] | None], *, timeout: float, interval: float = 0.05,
               what: str = "condition") -> T:
    """Call `check` until it returns something truthy; fail with `what` after `timeout` seconds.

    So `lambda: (r := get()).ok and r` gives the answer itself: never the False or None it polled past."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # noqa: BLE001 - keep polling, report the last one
            last_error = exc
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout}s (last error: {last_error!r})")
        time.sleep(interval)
