"""A stub inventory service on loopback, answering however a test tells it to.

It is a real HTTP server, so the frontend's real client code (pooling,
timeouts, size limits) runs against it.
"""

from __future__ import annotations

import http.server
import json
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"[]"
    content_type: str = "application/json"
    delay: float = 0.0  # seconds before answering
    hang: bool = False  # accept, read the request, never answer (until the stub stops)
    close_first: int = 0  # close the connection without answering this many requests first
    close_after: float = 0.0  # ...each after this many seconds (a slow first try)
    headers: dict = field(default_factory=dict)
    # A body produced chunk by chunk (chunked encoding): for answers too big to build.
    stream: Callable[[], Iterator[bytes]] | None = None
    trickle: float = 0.0  # send `body` (with its Content-Length) one byte every this many seconds

    @classmethod
    def json(cls, payload, status: int = 200) -> Answer:
        return cls(status=status, body=json.dumps(payload).encode())


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that drops its connection (the frontend refusing an oversized
        # answer) is part of the tests, not an error to print.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class StubBackend:
    def __init__(self) -> None:
        self.answer = Answer()
        self.requests = 0
        self.request_ids: list[str | None] = []  # the X-Request-ID of each request, in order
        self.closed = 0
        self.bytes_streamed = 0
        self._released = threading.Event()
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes

            def do_GET(self):  # noqa: N802
                stub.requests += 1
                stub.request_ids.append(self.headers.get("X-Request-ID"))
                answer = stub.answer
                if stub.closed < answer.close_first:
                    stub.closed += 1
                    if answer.close_after:
                        stub._released.wait(answer.close_after)
                    self.close_connection = True  # as a server shutting down drops a keep-alive connection
                    return
                if answer.hang:
                    stub._released.wait()
                    return
                if answer.delay:
                    stub._released.wait(answer.delay)
                if answer.stream:
                    self._send_stream(answer)
                    return
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                if "Transfer-Encoding" not in answer.headers:
                    self.send_header("Content-Length", str(len(answer.body)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if not answer.trickle:
                    self.wfile.write(answer.body)
                    return
                for i in range(len(answer.body)):
                    if stub._released.wait(answer.trickle):  # the stub is stopping
                        return
                    try:
                        self.wfile.write(answer.body[i : i + 1])
                    except (BrokenPipeError, ConnectionResetError):
                        self.close_connection = True  # the client gave up: what a deadline does
                        return

            def _send_stream(self, answer):
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    for chunk in answer.stream():
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        stub.bytes_streamed += len(chunk)
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client stopped reading: what a size cap does

            def log_message(self, *args):
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.uri = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self) -> StubBackend:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._released.set()
        self.server.shutdown()
        self.server.server_close()
