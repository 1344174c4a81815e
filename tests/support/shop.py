"""The real shop on loopback: both apps started from their Procfiles, wired by a config.cfg file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from infra.frontend_config import config_file
from tests.support.net import free_port
from tools.procfile import WebProcess


@dataclass
class Shop:
    backend: WebProcess
    frontend: WebProcess
    config_path: Path

    def point_at(self, backend_uri: str) -> None:
        """Rewrite the frontend's config.cfg, as a ConfigMap update would."""
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(config_file(backend_uri))
        tmp.replace(self.config_path)  # atomic, like the kubelet's symlink swap


def start_shop(tmp_path: Path, log_dir: Path, frontend_env: dict[str, str] | None = None) -> Shop:
    backend = WebProcess("backend", free_port(), log_path=log_dir / "backend.log").start()
    config_path = tmp_path / "config" / "config.cfg"
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(config_file(backend.url))
    env = {"CONFIG_PATH": str(config_path), "BACKEND_CONNECT_TIMEOUT": "0.5", "BACKEND_READ_TIMEOUT": "1", **(frontend_env or {})}
    try:
        frontend = WebProcess("frontend", free_port(), env=env, log_path=log_dir / "frontend.log").start()
    except BaseException:
        backend.stop()
        raise
    return Shop(backend, frontend, config_path)


def request_lines(log_path: Path) -> list[dict]:
    """The app's JSON request lines in a server's log (granian's own lines are not JSON)."""
    lines = []
    for text in log_path.read_text().splitlines():
        if text.startswith("{"):
            record = json.loads(text)
            if "status" in record:
                lines.append(record)
    return lines
