#!/usr/bin/env python3
"""`make dev`: the shop on this machine, wired exactly as in the cluster.

The backend serves on 127.0.0.1:8082 and the frontend on 127.0.0.1:8080, both
under granian from their Procfiles. The frontend finds the backend through a
config.cfg file (what the ConfigMap mounts at /config in the cluster), here
.dev/config/config.cfg: edit it and the next page uses the new address.
Ctrl-C stops both.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sys
import threading
from pathlib import Path

from infra.frontend_config import config_file
from tools.procfile import ROOT, WebProcess

BACKEND_PORT = int(os.environ.get("BACKEND_PORT", "8082"))
FRONTEND_PORT = int(os.environ.get("FRONTEND_PORT", "8080"))
# /metrics of each app, on a port of its own as in the cluster (there both use 9464, one per pod).
FRONTEND_METRICS_PORT = int(os.environ.get("FRONTEND_METRICS_PORT", "9464"))
BACKEND_METRICS_PORT = int(os.environ.get("BACKEND_METRICS_PORT", "9465"))


def observability_env(metrics_port: int, multiproc_dir: Path) -> dict[str, str]:
    """Human log lines, each labelled with its app; metrics on loopback; counts in a fresh dir."""
    shutil.rmtree(multiproc_dir, ignore_errors=True)  # counts start at zero with each `make dev`
    return {"LOG_FORMAT": "text", "METRICS_PORT": str(metrics_port), "METRICS_HOST": "127.0.0.1",
            "PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir), "SHOP_BUILD": "dev"}


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def main() -> int:
    busy = [p for p in (BACKEND_PORT, FRONTEND_PORT, BACKEND_METRICS_PORT, FRONTEND_METRICS_PORT) if port_in_use(p)]
    if busy:
        print(f"make dev: port {', '.join(map(str, busy))} is already in use on 127.0.0.1; stop what is using it "
              "or set BACKEND_PORT / FRONTEND_PORT (BACKEND_METRICS_PORT / FRONTEND_METRICS_PORT)", file=sys.stderr)
        return 1
    config_path = ROOT / ".dev" / "config" / "config.cfg"
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(config_file(f"http://127.0.0.1:{BACKEND_PORT}"))  # as the ConfigMap holds it

    stopping = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    state = ROOT / ".dev"
    backend = WebProcess("backend", BACKEND_PORT, env=observability_env(BACKEND_METRICS_PORT, state / "metrics-backend"))
    frontend = WebProcess("frontend", FRONTEND_PORT, env={
        "CONFIG_PATH": str(config_path), **observability_env(FRONTEND_METRICS_PORT, state / "metrics-frontend")})
    try:
        backend.start()
        frontend.start()
        print(f"\nPython Shop: http://127.0.0.1:{FRONTEND_PORT}  (backend http://127.0.0.1:{BACKEND_PORT}, "
              f"config {config_path.relative_to(ROOT)}; metrics http://127.0.0.1:{FRONTEND_METRICS_PORT}/metrics, "
              f"http://127.0.0.1:{BACKEND_METRICS_PORT}/metrics). Ctrl-C stops both.\n", flush=True)
        while not stopping.wait(0.5):  # also watch for either app dying
            for process in (backend, frontend):
                if process.started.poll() is not None:
                    print(f"make dev: {process.app_dir.name} exited with {process.started.returncode}", file=sys.stderr)
                    return 1
        return 0
    except RuntimeError as exc:
        print(f"make dev: {exc}", file=sys.stderr)
        return 1
    finally:
        frontend.stop()
        backend.stop()
        print("make dev: stopped the frontend and the backend.", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
