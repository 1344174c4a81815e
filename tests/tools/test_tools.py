"""The seam between a user's own tools and the sandbox (tools/toolset.py), and the
system packages the verbs install (sandbox/system_packages.py): hermetic, with small
stand-in executables on a PATH of the test's own."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox import system_packages
from tools import toolset

# What the sandbox's CLI runs with (offline, its own provider) and a user's never does.
SANDBOX_SWITCHES = ("PULUMI_SKIP_UPDATE_CHECK", "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION",
                    "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK", "PULUMI_K8S_ENABLE_PATCH_FORCE")


def executable(directory: Path, name: str, script: str = "exit 0") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def sandbox_builds(monkeypatch, tmp_path):
    """No real build: record which sandbox groups would have been built."""
    monkeypatch.setenv("PYTHON_SHOP_CACHE", str(tmp_path / "cache"))
    for name in SANDBOX_SWITCHES:  # as on a laptop: none set in the shell
        monkeypatch.delenv(name, raising=False)
    built: list[tuple[str, ...]] = []
    monkeypatch.setattr(toolset, "install_sandbox", lambda *groups: built.append(groups))
    return built


def test_a_pulumi_on_path_newer_than_the_floor_is_used_as_installed(monkeypatch, tmp_path, sandbox_builds):
    user_pulumi = executable(tmp_path / "bin", "pulumi", "echo v3.274.1")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:/usr/bin:/bin")
    tools = toolset.find_tools()
    assert tools == toolset.Tools(user_pulumi, sandbox=False)
    assert sandbox_builds == []  # nothing built, Go never needed
    env = tools.env()
    assert env["PATH"] == f"{tmp_path / 'bin'}:/usr/bin:/bin"  # the user's PATH, untouched
    # Plugins as the user's CLI gets them: its cache, downloads allowed, no sandbox switches.
    for name in SANDBOX_SWITCHES:
        assert name not in env


def test_the_floor_is_the_pinned_sdk_release(monkeypatch, tmp_path, sandbox_builds):
    executable(tmp_path / "bin", "pulumi", "echo v3.259.0")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert toolset.find_tools().sandbox is False
    requirements = (toolset.ROOT / "infra" / "requirements.txt").read_text()
    assert "pulumi==3.259.0" in requirements.splitlines()


def test_a_pulumi_older_than_the_floor_is_refused_with_the_fix(monkeypatch, tmp_path, sandbox_builds):
    old = executable(tmp_path / "bin", "pulumi", "echo v3.258.9")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(toolset.ToolsError) as error:
        toolset.find_tools()
    assert str(error.value).startswith(f"{old} is pulumi v3.258.9; this project needs v3.259.0 or newer")
    assert "upgrade it" in str(error.value)
    assert sandbox_builds == []


def test_without_a_pulumi_on_path_the_sandbox_builds_one_and_runs_it_offline(monkeypatch, tmp_path, sandbox_builds):
    monkeypatch.setenv("PATH", "/nonexistent")
    tools = toolset.find_tools()
    assert tools == toolset.Tools(tmp_path / "cache" / "toolchain" / "bin" / "pulumi", sandbox=True)
    assert sandbox_builds == [("pulumi",)]
    env = tools.env()
    assert env["PATH"].split(os.pathsep)[0] == str(tmp_path / "cache" / "toolchain" / "bin")
    # Offline, the provider on PATH; and the sandbox's provider (4.25.0-alpha) predates the
    # enablePatchForce option: its own switch.
    assert {name: env.get(name) for name in SANDBOX_SWITCHES} == dict.fromkeys(SANDBOX_SWITCHES, "true")


def test_the_sandboxs_own_pulumi_on_path_is_not_taken_for_the_users(monkeypatch, tmp_path, sandbox_builds):
    ours = tmp_path / "cache" / "toolchain" / "bin"
    executable(ours, "pulumi", "echo v3.259.0")
    monkeypatch.setenv("PATH", str(ours))
    assert toolset.find_tools().sandbox is True


def test_kubectl_on_path_is_used_else_the_sandboxs(monkeypatch, tmp_path, sandbox_builds):
    user_kubectl = executable(tmp_path / "bin", "kubectl")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert toolset.find_kubectl() == user_kubectl
    monkeypatch.setenv("PATH", "/nonexistent")
    assert toolset.find_kubectl() == tmp_path / "cache" / "toolchain" / "bin" / "kubectl"
    assert sandbox_builds == [("kube",)]


def test_logged_in_follows_the_clis_own_login(tmp_path):
    home = tmp_path / "pulumi-home"
    env = {"PULUMI_HOME": str(home)}
    assert not toolset.logged_in(env)  # never logged in: make uses the local backend
    home.mkdir()
    (home / "credentials.json").write_text(json.dumps({"current": "https://api.example.test", "accessTokens": {}}))
    assert toolset.logged_in(env)
    (home / "credentials.json").write_text(json.dumps({"current": ""}))
    assert not toolset.logged_in(env)  # `pulumi logout`
    assert toolset.logged_in({**env, "PULUMI_BACKEND_URL": "s3://bucket"})
    assert toolset.logged_in({**env, "PULUMI_ACCESS_TOKEN": "pul-123"})


def test_the_passphrase_is_the_users_when_set(monkeypatch, tmp_path):
    tools = toolset.Tools(tmp_path / "pulumi", sandbox=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    assert tools.env()["PULUMI_CONFIG_PASSPHRASE"] == "python-shop-local"
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "mine")
    assert tools.env()["PULUMI_CONFIG_PASSPHRASE"] == "mine"
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE")
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE_FILE", "/secret")
    assert "PULUMI_CONFIG_PASSPHRASE" not in tools.env()


# --- system packages -----------------------------------------------------------------


@pytest.fixture
def fake_apt(monkeypatch, tmp_path):
    """An apt-get that logs its arguments; its dry run prints what `removes` says it would remove."""
    bin_dir = tmp_path / "bin"
    calls = tmp_path / "apt-calls"
    removes = tmp_path / "removes"
    executable(bin_dir, "apt-get", f'echo "$*" >> {calls}\n'
               f'case "$*" in *--simulate*) [ -f {removes} ] && /bin/cat {removes};; esac\nexit 0')
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(system_packages.os, "geteuid", lambda: 0)
    # Probes with absolute paths look at this machine: make the chromium one a file of ours.
    monkeypatch.setitem(system_packages.GROUPS, "browser", ("the browser tests", {"chromium": str(tmp_path / "chromium")}))

    class Apt:
        bin = bin_dir

        def calls(self) -> list[str]:
            return calls.read_text().splitlines() if calls.exists() else []

        def would_remove(self, *packages: str) -> None:
            removes.write_text("".join(f"Remv {p} [1.0]\n" for p in packages))

    return Apt()


def test_nothing_is_installed_when_everything_is_there(fake_apt, tmp_path, capsys):
    (tmp_path / "chromium").write_text("")
    assert system_packages.main(["browser"]) == 0
    assert fake_apt.calls() == []
    assert capsys.readouterr().err == ""


def test_what_is_missing_is_listed_then_installed_without_removing_anything(fake_apt, capsys):
    assert system_packages.main(["browser"]) == 0
    assert "installing chromium (for the browser tests) with apt-get" in capsys.readouterr().err
    assert fake_apt.calls() == [
        "--simulate install --yes --no-install-recommends chromium",
        "--no-remove install --yes --no-install-recommends chromium",
    ]


def test_a_package_that_would_remove_another_is_refused(fake_apt, capsys):
    fake_apt.would_remove("containerd.io")
    assert system_packages.main(["browser"]) == 1
    assert "not installing chromium: it would remove containerd.io" in capsys.readouterr().err
    assert not any("--no-remove" in call for call in fake_apt.calls())


def test_a_docker_that_is_there_is_used_not_replaced(fake_apt):
    for tool in ("runc", "iptables", "conntrack", "debootstrap", "gcc"):
        executable(fake_apt.bin, tool)
    executable(fake_apt.bin, "dockerd")  # Docker's own packages, say
    assert "docker.io" not in system_packages.missing(["node"])
    assert "runc" not in system_packages.missing(["node"])


def test_without_apt_the_message_names_what_to_install(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setitem(system_packages.GROUPS, "bench", ("make bench", {"wrk": "wrk"}))
    assert system_packages.main(["bench"]) == 1
    assert capsys.readouterr().err == (
        "system packages: this needs wrk (for make bench), and this system has no apt-get: "
        "install them with your package manager\n"
    )


@pytest.mark.skipif(sys.platform != "linux", reason="the sandbox is Linux-only: sandbox.recipes.common.running() "
                    "reads /proc/<pid>/stat, which macOS does not have")
def test_stop_process_kills_what_ignores_sigterm_and_returns_once_it_is_gone():
    from sandbox.recipes import common

    stubborn = subprocess.Popen([sys.executable, "-c", "import signal, sys, time\n"
                                 "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                                 "print('ready', flush=True)\n"
                                 "time.sleep(120)"], stdout=subprocess.PIPE, text=True)
    assert stubborn.stdout is not None  # stdout=PIPE
    try:
        assert stubborn.stdout.readline().strip() == "ready"  # its handler is in place
        common.stop_process(stubborn.pid, grace=0.5)
        assert not common.running(stubborn.pid)  # gone (a zombie until we reap it counts as gone)
        assert stubborn.wait(timeout=5) == -signal.SIGKILL
    finally:
        stubborn.kill()
