"""A bounded load loop for the fault tests: every request's start, end and result."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import requests


@dataclass(frozen=True)
class Outcome:
    started: float  # time.monotonic()
    finished: float
    status: int | None  # None: no HTTP answer at all
    error: str | None  # the exception, when there was no answer
    text: str


class Load:
    """`concurrency` clients requesting `url` until `duration` seconds have passed."""

    def __init__(self, url: str, *, duration: float, concurrency: int, timeout: float):
        self.url, self.duration, self.concurrency, self.timeout = url, duration, concurrency, timeout
        self.outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(concurrency)
        self._futures: list[Future[None]] = []

    def __enter__(self) -> Load:
        self.deadline = time.monotonic() + self.duration
        self._futures = [self._pool.submit(self._client) for _ in range(self.concurrency)]
        return self

    def __exit__(self, *exc) -> None:
        for future in self._futures:
            future.result()
        self._pool.shutdown()

    def _client(self) -> None:
        with requests.Session() as session:
            while time.monotonic() < self.deadline:
                started = time.monotonic()
                try:
                    response = session.get(self.url, timeout=self.timeout)
                    outcome = Outcome(started, time.monotonic(), response.status_code, None, response.text)
                except requests.RequestException as exc:
                    outcome = Outcome(started, time.monotonic(), None, repr(exc), "")
                with self._lock:
                    self.outcomes.append(outcome)

    def stop(self) -> None:
        """End the loop now rather than at its deadline (the clients finish their current request)."""
        self.deadline = time.monotonic()

    def count(self, predicate: Callable[[Outcome], bool]) -> int:
        with self._lock:
            return sum(1 for o in self.outcomes if predicate(o))

    def snapshot(self) -> list[Outcome]:
        with self._lock:
            return list(self.outcomes)
