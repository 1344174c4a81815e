"""Talking to the inventory service: pooled, time-bounded, size-bounded, validated.

Every way the call can fail becomes a BackendError carrying the HTTP status the
frontend answers with (503 unreachable, 504 too slow, 502 a bad answer).
"""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass

import requests
import urllib3
from requests.adapters import HTTPAdapter

from .items import InvalidItems, Item, parse_items


class BackendError(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


CLOSED = "connection closed by the backend"


@dataclass(frozen=True)
class Inventory:
    items: list[Item]
    build: str | None  # the backend's X-Shop-Build: which build answered


class _ClosedBeforeAnswering(Exception):
    """The backend closed the connection before answering: worth one more try."""


class BackendClient:
    def __init__(self, *, connect_timeout: float, read_timeout: float, max_response_bytes: int, pool_size: int):
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_response_bytes = max_response_bytes
        self.session = requests.Session()
        # Up to pool_size connections kept open to the backend. No retries (requests' default): a
        # retry would double the wait on a hung backend, and a read timeout comes as a ReadTimeout.
        adapter = HTTPAdapter(pool_maxsize=pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["Accept"] = "application/json"
        # A call between two pods of the shop: no *_PROXY variables, no .netrc.
        # (Reading them costs a scan of the environment on every request.)
        self.session.trust_env = False

    def fetch_items(self, uri: str, request_id: str | None = None) -> Inventory:
        """The backend's items; request_id goes along as X-Request-ID, so both apps' lines share it."""
        body, build = self._get(uri, {"X-Request-ID": request_id} if request_id else {})
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError) as exc:  # bad UTF-8 is a ValueError too
            raise BackendError(502, f"the backend's answer is not valid JSON ({_short(exc)})") from None
        try:
            return Inventory(parse_items(payload), build)
        except InvalidItems as exc:
            raise BackendError(502, f"the backend's items are malformed: {exc}") from None

    def _get(self, uri: str, headers: dict[str, str]) -> tuple[bytes, str | None]:
        # The read timeout bounds the whole answer, not just each socket read:
        # a backend that trickles bytes is as slow as one that never answers.
        deadline = time.monotonic() + self.read_timeout
        try:
            return self._attempt(uri, headers, deadline, last=False)
        except _ClosedBeforeAnswering:
            # A pooled keep-alive connection the backend closed just as we reused it
            # (a backend pod shutting down in a rollout does this). GET is idempotent
            # and nothing was answered: once more, on a new connection.
            return self._attempt(uri, headers, deadline, last=True)

    def _attempt(self, uri: str, headers: dict[str, str], deadline: float, *, last: bool) -> tuple[bytes, str | None]:
        # A retry gets what is left of the deadline, not a fresh read timeout.
        timeout = (self.connect_timeout, max(0.001, min(self.read_timeout, deadline - time.monotonic())))
        try:
            with self.session.get(uri, headers=headers, stream=True, timeout=timeout) as response:
                if not 200 <= response.status_code < 300:
                    raise BackendError(502, f"the backend answered HTTP {response.status_code} {response.reason or ''}".rstrip())
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > self.max_response_bytes:
                    raise BackendError(502, self._too_large())
                return self._read_body(response.raw, deadline), response.headers.get("X-Shop-Build")
        except urllib3.exceptions.ReadTimeoutError:
            raise BackendError(504, f"the backend did not answer within {self.read_timeout:g}s") from None
        except urllib3.exceptions.HTTPError as exc:  # the body broke off: a truncated chunk, a reset
            raise BackendError(502, f"the backend call failed ({_reason(exc)})") from None
        except requests.exceptions.ConnectTimeout:
            raise BackendError(504, f"the backend did not accept a connection within {self.connect_timeout:g}s") from None
        except (requests.exceptions.ReadTimeout, requests.exceptions.Timeout):
            raise BackendError(504, f"the backend did not answer within {self.read_timeout:g}s") from None
        except requests.exceptions.ConnectionError as exc:
            reason = _reason(exc)
            if reason == CLOSED and not last and time.monotonic() < deadline:
                raise _ClosedBeforeAnswering from None
            raise BackendError(503, f"the backend is unreachable ({reason})") from None
        except requests.exceptions.RequestException as exc:
            raise BackendError(502, f"the backend call failed ({_reason(exc)})") from None

    def _read_body(self, raw: urllib3.HTTPResponse, deadline: float) -> bytes:
        """Read what has arrived, as it arrives, each wait cut to what is left of the deadline:
        a backend trickling bytes is stopped at the deadline, not one read timeout past it."""
        chunks: list[bytes] = []
        size = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise urllib3.exceptions.ReadTimeoutError(None, None, "deadline")  # type: ignore[arg-type]
            if raw.connection is not None and raw.connection.sock is not None:
                raw.connection.sock.settimeout(remaining)
            chunk = raw.read1(65_536)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > self.max_response_bytes:
                raise BackendError(502, self._too_large())
            chunks.append(chunk)

    def _too_large(self) -> str:
        return f"the backend's answer is larger than the {self.max_response_bytes}-byte limit"


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def _reason(exc: BaseException) -> str:
    """The innermost cause of a requests error, e.g. 'Connection refused'."""
    while exc.__context__ is not None and exc.__context__ is not exc:
        exc = exc.__context__
    text = str(exc)
    if "Connection refused" in text:
        return "connection refused"
    if "Name or service not known" in text or "Temporary failure in name resolution" in text or "NameResolutionError" in text:
        return "name not resolved"
    if isinstance(exc, (http.client.RemoteDisconnected, ConnectionResetError)) or any(
        marker in text for marker in ("RemoteDisconnected", "Connection aborted", "reset by peer", "closed connection")
    ):
        return CLOSED
    return _short(exc)
