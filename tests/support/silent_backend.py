"""A backend that accepts connections and never answers: the hung-backend fault."""

from __future__ import annotations

import socket
import threading


class SilentBackend:
    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.sock.settimeout(0.05)
        self.uri = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections.append(conn)  # held open, never read, never answered

    def __enter__(self) -> SilentBackend:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        for conn in self.connections:
            conn.close()
        self.sock.close()


class FullBacklog:
    """A port on loopback whose accept queue is full: a connect to it times out (the connect-timeout fault)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=1)
        address = self.sock.getsockname()
        self.uri = f"http://127.0.0.1:{address[1]}"
        # Connect until a connect hangs: the queue is full then and every further SYN is dropped.
        # How many it takes is the kernel's: Linux queues backlog + 1, macOS backlog (and reads a
        # backlog of 0 as its maximum, kern.ipc.somaxconn, hence 1 here).
        self.fillers: list[socket.socket] = []
        while True:
            filler = socket.socket()
            filler.settimeout(0.3)  # a loopback connect that the kernel queues completes at once
            try:
                filler.connect(address)
            except TimeoutError:
                filler.close()
                break
            self.fillers.append(filler)
            if len(self.fillers) > 16:
                self.__exit__()
                raise RuntimeError(f"{self.uri} kept accepting connections on a listen backlog of 1")

    def __enter__(self) -> FullBacklog:
        return self

    def __exit__(self, *exc) -> None:
        for conn in self.fillers:
            conn.close()
        self.sock.close()
