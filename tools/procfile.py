"""Run an app folder's Procfile `web` command as a real process on loopback.

Used by `make dev`, the tests and the benchmarks. The command runs exactly as
written, with $PORT set, except that the bind host 0.0.0.0 becomes 127.0.0.1:
local runs and tests listen on loopback only. The benchmarks pass another
server's command instead (`command=`), to compare it side by side.

Portable (Linux and macOS, any user): each server starts in a session of its own
and is signalled as a process group (os.killpg); its workers and their memory
are read through psutil, not /proc.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A port nothing listens on now, on loopback (the kernel picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def web_command(app_dir: Path) -> str:
    for line in (app_dir / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{app_dir}/Procfile has no web process")


class WebProcess:
    def __init__(
        self,
        app: str,
        port: int,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        ready_path: str = "/healthz",
        command: str | None = None,
    ):
        self.app_dir = ROOT / app  # an app folder: backend, frontend, benchmarks/baseline/...
        self.ready_path = ready_path
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.command = re.sub(r"\b0\.0\.0\.0\b", "127.0.0.1", command or web_command(self.app_dir))
        self.env = {**os.environ, **(env or {}), "PORT": str(port)}
        # The venv's server first, as a buildpack's PATH would have it.
        self.env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{self.env.get('PATH', '')}"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 20) -> WebProcess:
        log = open(self.log_path, "ab") if self.log_path else None  # None: inherit the terminal
        self.proc = subprocess.Popen(
            ["/bin/sh", "-c", f"exec env {self.command}"],
            cwd=self.app_dir,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not self._healthy():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.app_dir.name} exited with {self.proc.returncode}; see {self.log_path or 'its output'}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.app_dir.name} not healthy on {self.url} within {timeout}s")
            time.sleep(0.05)
        return self

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}{self.ready_path}", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    @property
    def started(self) -> subprocess.Popen:
        """The server's main process (start() first)."""
        if self.proc is None:
            raise RuntimeError(f"{self.app_dir.name} was not started")
        return self.proc

    def signal(self, signum: int) -> None:
        """Send `signum` to the server and its workers: its process group."""
        try:
            os.killpg(self.started.pid, signum)
        except ProcessLookupError:
            pass  # the group is gone: nothing left to signal
        except PermissionError:
            # macOS answers EPERM for a group whose members have all exited but are not yet
            # reaped (Linux signals those zombies, to no effect). Only then is it not an error.
            if self.started.poll() is None:
                raise

    def stop(self, timeout: float = 15) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.proc.wait(5)

    def worker_pids(self) -> list[int]:
        """The server's workers: children of its main process (none once it has exited)."""
        try:
            return sorted(child.pid for child in psutil.Process(self.started.pid).children())
        except psutil.NoSuchProcess:
            return []

    def rss_bytes(self) -> int:
        """Resident memory of the master and its workers."""
        master = psutil.Process(self.started.pid)
        total = 0
        for process in [master, *master.children()]:
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:  # a worker that ended meanwhile holds no memory
                pass
        return total

    def __enter__(self) -> WebProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
