"""The README's verbs on a user's own machine: their pulumi, kubectl and minikube, no Go.

A PATH that plays a laptop: a `pulumi` installed outside the sandbox's cache, laid out
as the official installer does (~/.pulumi/bin: the CLI with its Python language host
beside it), reporting another version than the sandbox's pin (a small wrapper that also
logs each call); a `kubectl`; no `go`. The kubernetes provider sits in that pulumi's own
plugin cache, put there the way a user's is (`pulumi plugin install resource kubernetes
<version> --file ...`), and it is logged in to a local backend of its own (`pulumi login
file://...`; the CLI finds its home through the password database, not $HOME, so
PULUMI_HOME and that login keep everything inside the test's directory). The kube context
`minikube` answers: it is the test session's embedded API server under that name.
`make up`, `make preview` and `make down` run in a copy of the repository (whatever a
stack file gets, it gets there, not here).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from sandbox.wheels import pip_env
from tests.support.minikube import STOPPED, install_minikube
from tests.support.net import free_port, wait_until
from tests.support.repo import copy_repo
from tools.toolset import ROOT, bin_dir

pytestmark = pytest.mark.cluster

USER_PULUMI_VERSION = "v3.274.1"  # what the user's CLI says it is: not the sandbox's v3.259.0
NAMESPACE = "python-shop"


@dataclass
class Laptop:
    repo: Path
    home: Path
    env: dict[str, str]
    state: Path  # the local backend the user's pulumi is logged into
    calls: Path  # one line per call of the user's pulumi
    cache: Path  # PYTHON_SHOP_CACHE: where the sandbox would build or start anything

    def make(self, verb: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run(["make", "--no-print-directory", verb], cwd=self.repo, env=self.env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def pulumi_calls(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []


def laptop_env(home: Path, user_bin: Path, kubeconfig: Path, cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "KUBECONFIG", "PYTHON_SHOP_"))}
    env.update(
        HOME=str(home),
        PULUMI_HOME=str(home / ".pulumi"),
        PATH=os.pathsep.join([str(home / ".pulumi" / "bin"), str(user_bin), "/usr/bin", "/bin"]),
        KUBECONFIG=str(kubeconfig),
        PYTHON_SHOP_CACHE=str(cache),
    )
    # Their pip finds the pins as a warm cache or a mirror would serve them: from this machine's wheel
    # cache (sandbox/wheels.py; outside the laptop's own cache, which must stay empty).
    env.update(pip_env())
    return env


def install_user_pulumi(home: Path, calls: Path) -> Path:
    """~/.pulumi/bin as the installer leaves it, the CLI behind a wrapper that logs and lies about its version."""
    pulumi_bin = home / ".pulumi" / "bin"
    pulumi_bin.mkdir(parents=True)
    for name in ("pulumi-language-python", "pulumi-language-python-exec"):
        shutil.copy2(bin_dir() / name, pulumi_bin / name)
    shutil.copy2(bin_dir() / "pulumi", pulumi_bin / "pulumi-cli")
    wrapper = pulumi_bin / "pulumi"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {calls}\n'
        f'if [ "$1" = version ]; then echo {USER_PULUMI_VERSION}; exit 0; fi\n'
        f'exec {pulumi_bin / "pulumi-cli"} "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper


def kubeconfig_named(source: Path, context: str, target: Path, server: str | None = None) -> Path:
    """A copy of `source` whose only context is called `context` (optionally pointing at `server`)."""
    config = yaml.safe_load(source.read_text())
    config["contexts"] = [{**config["contexts"][0], "name": context}]
    config["current-context"] = context
    if server:
        config["clusters"][0]["cluster"]["server"] = server
    target.write_text(yaml.safe_dump(config))
    target.chmod(0o600)
    return target


@pytest.fixture(scope="module")
def laptop(kwok_cluster, tmp_path_factory) -> Laptop:
    tmp = tmp_path_factory.mktemp("laptop")
    home, user_bin, calls, cache = tmp / "home", tmp / "bin", tmp / "pulumi-calls", tmp / "no-sandbox-here"
    home.mkdir()
    user_bin.mkdir()
    install_user_pulumi(home, calls)
    shutil.copy2(bin_dir() / "kubectl", user_bin / "kubectl")
    kubeconfig = kubeconfig_named(kwok_cluster.kubeconfig, "minikube", tmp / "kubeconfig")
    env = laptop_env(home, user_bin, kubeconfig, cache)
    assert shutil.which("go", path=env["PATH"]) is None, "the laptop must have no Go"
    # The provider the pinned SDK asks for, in the user's plugin cache (no download here).
    sdk_version = importlib.metadata.version("pulumi-kubernetes")
    subprocess.run(["pulumi", "plugin", "install", "resource", "kubernetes", sdk_version,
                    "--file", str(bin_dir() / "pulumi-resource-kubernetes")],
                   env=env, check=True, capture_output=True, timeout=120)
    (tmp / "state").mkdir()
    subprocess.run(["pulumi", "login", f"file://{tmp / 'state'}"], env=env, check=True, capture_output=True, timeout=60)
    calls.unlink()  # from here on, only what the verbs run
    return Laptop(copy_repo(tmp / "repo"), home, env, tmp / "state", calls, cache)


def test_make_up_preview_down_use_the_users_own_pulumi_and_build_nothing(laptop, kwok_cluster):
    kube = kwok_cluster.kube

    up = laptop.make("up")
    said = up.stdout + up.stderr
    assert up.returncode == 0, said[-6000:]
    assert "logged in nowhere" not in said
    assert ("deployed to minikube; open the shop with: "
            "minikube service python-shop-frontend-service --namespace python-shop") in said
    for app in ("python-shop-backend", "python-shop-frontend"):
        assert kube.get("deployment", app, NAMESPACE)["status"].get("availableReplicas") == 1
    config = kube.get("configmap", "python-shop-frontend-config", NAMESPACE)["data"]["config.cfg"]
    assert config == 'BACKEND_URI = "http://python-shop-backend-service.python-shop.svc:8080"\n'
    # State in the backend the user's pulumi is logged into, and that login unchanged.
    assert (laptop.state / ".pulumi" / "stacks" / "python-shop" / "dev.json").exists()
    assert json.loads((laptop.home / ".pulumi" / "credentials.json").read_text())["current"] == f"file://{laptop.state}"

    preview = laptop.make("preview")
    said = preview.stdout + preview.stderr
    assert preview.returncode == 0, said[-6000:]
    assert "python-shop-guardrails" in said  # the policy pack ran against the live cluster
    assert " unchanged" in said
    for change in ("to create", "to update", "to delete", "to replace"):
        assert change not in said, said[-3000:]

    down = laptop.make("down")
    assert down.returncode == 0, (down.stdout + down.stderr)[-6000:]
    wait_until(lambda: not kube.exists("namespace", NAMESPACE), timeout=60, what="the namespace to be gone")

    verbs = [call.split()[0] for call in laptop.pulumi_calls()]
    assert {"up", "preview", "destroy"} <= set(verbs), laptop.pulumi_calls()
    # Nothing of the sandbox: no build, no cluster, not even its cache directory.
    assert not laptop.cache.exists()


def readme_block(heading: str) -> str:
    """The first ```sh block after `heading` in README.md, as a user would paste it."""
    text = (ROOT / "README.md").read_text().split(heading, 1)[1]
    return text.split("```sh\n", 1)[1].split("```", 1)[0]


# Each shell as it comes: an interactive session with no rc files. zsh's defaults are macOS's
# Terminal: `#` at the prompt is no comment there (INTERACTIVE_COMMENTS is off). Before the paste:
# errexit, so the session stops at the first failing command as a reader would, and empty
# prompts (display only), so what the commands print can be read.
SHELLS = {
    "bash": (["bash", "--norc", "--noprofile", "-i"], "PS1= PS2=; set -e"),
    "zsh": (["zsh", "-f", "-i"], "PS1= PS2= RPS1=; unsetopt prompt_sp prompt_cr; setopt err_exit"),
}
DONE = "__pasted__"


class Session:
    """One interactive shell, fed lines as a terminal would be; its output read as it comes."""

    def __init__(self, shell: str, cwd: Path, env: dict[str, str]):
        argv, errexit = SHELLS[shell]
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.said: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.paste(errexit)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def paste(self, text: str, timeout: float = 900) -> str:
        """Type `text`, then wait until the shell has run it (or has exited): what it printed."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + f"\necho {DONE}\n")
        self.proc.stdin.flush()
        start, deadline = len(self.said), time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.proc.kill()
                raise AssertionError(f"the paste did not finish in {timeout:.0f}s:\n{''.join(self.said)[-4000:]}") from None
            if line is None:
                raise AssertionError(f"the shell exited (errexit: a command failed):\n{''.join(self.said)[-6000:]}")
            if line.rstrip("\n").endswith(DONE) and "echo" not in line:
                return "".join(self.said[start:])
            self.said.append(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write("exit\n")
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@localhost", *args], cwd=repo,
                          capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_the_readmes_plain_pulumi_walkthrough_runs_as_written(laptop, kwok_cluster, tmp_path, shell):
    """The quick start's first block, pasted into an interactive bash or zsh on the laptop: their
    pulumi with its language host (the sandbox's, which follows upstream's row by row:
    tests/engine/test_language_host.py), a clone with no virtualenvs, so `pulumi install` makes
    them. minikube is the stand-in that answers as minikube's source does (tests/support/minikube.py);
    the cluster its context names is the session's. `pulumi up` and `destroy` ask for confirmation on
    a terminal; a script says yes the documented way (PULUMI_SKIP_CONFIRMATIONS)."""
    if shutil.which(shell) is None:
        pytest.fail(f"{shell} is missing: `make test` installs it (python3 -m sandbox.system_packages shells)")
    kube = kwok_cluster.kube
    user_bin, log = tmp_path / "bin", tmp_path / "minikube-calls"
    install_minikube(user_bin, log)
    env = {**laptop.env, "PATH": f"{user_bin}{os.pathsep}{laptop.env['PATH']}", "PULUMI_SKIP_CONFIRMATIONS": "true"}
    # A clone of its own, as fresh as theirs (no .venv, no policy/venv), its files committed so that
    # `git status` can say what the walkthrough changed.
    repo = copy_repo(tmp_path / "repo")
    (repo / ".venv").unlink()
    if (repo / "policy" / "venv").is_symlink():
        (repo / "policy" / "venv").unlink()
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "the clone")
    deploy, change = readme_block("### With your own minikube and Pulumi CLI").split("\n\n", 1)

    session = Session(shell, repo, env)
    try:
        if shell == "zsh":  # the shell is in the mode the README writes for: a `#` would be an argument
            assert session.paste("echo one # two").splitlines()[-1] == "one # two"
        deployed = session.paste(deploy)
        tags = {app: subprocess.run(["python3", "infra/app_images.py", app], cwd=repo, capture_output=True,
                                    text=True, check=True).stdout.strip() for app in ("backend", "frontend")}
        assert log.read_text().splitlines() == [
            "start",
            f"image build -t {tags['backend']} backend",
            f"image build -t {tags['frontend']} frontend",
            "service python-shop-frontend-service --namespace python-shop",
        ]
        assert "http://192.168.49.2:30080" in deployed
        # `pulumi install` filled .venv with the program's pins, and policy/venv with the pack's.
        for venv, module in ((repo / ".venv", "pulumi_kubernetes"), (repo / "policy" / "venv", "pulumi_policy")):
            assert subprocess.run([str(venv / "bin" / "python"), "-c", f"import {module}"]).returncode == 0, venv
        for app in ("backend", "frontend"):
            deployment = kube.get("deployment", f"python-shop-{app}", NAMESPACE)
            assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == tags[app]
            assert deployment["status"].get("availableReplicas") == 1

        changed = " ".join(session.paste(change).split())
    finally:
        session.close()
    # `preview --diff`: the port reaches the Service and the frontend's config, both in place,
    # with the guardrails pack run by the user's CLI from its own virtualenv.
    for line in ("~ port: 8080 => 9090",
                 '- BACKEND_URI = "http://python-shop-backend-service.python-shop.svc:8080"',
                 '+ BACKEND_URI = "http://python-shop-backend-service.python-shop.svc:9090"',
                 "python-shop-guardrails", "~ 2 to update", "14 unchanged", "- 16 deleted"):
        assert line in changed, (line, changed[-4000:])
    wait_until(lambda: not kube.exists("namespace", NAMESPACE), timeout=60, what="the namespace to be gone")
    assert git(repo, "status", "--porcelain") == ""  # the clone as it was: no salt written, no port left set
    assert not laptop.cache.exists()  # their tools did it all: no sandbox


def test_make_up_with_minikube_stopped_says_so_within_seconds_and_starts_nothing(laptop, tmp_path):
    user_bin = tmp_path / "bin"
    user_bin.mkdir()
    install_minikube(user_bin, tmp_path / "minikube-calls", state=STOPPED)
    closed = f"https://127.0.0.1:{free_port()}"  # nothing listens: a stopped minikube's API server
    kubeconfig = kubeconfig_named(Path(laptop.env["KUBECONFIG"]), "minikube", tmp_path / "kubeconfig", closed)
    env = {**laptop.env, "PATH": f"{user_bin}{os.pathsep}{laptop.env['PATH']}", "KUBECONFIG": str(kubeconfig)}

    started = time.monotonic()
    up = subprocess.run(["make", "--no-print-directory", "up"], cwd=laptop.repo, env=env, capture_output=True, text=True,
                        timeout=120, stdin=subprocess.DEVNULL)
    elapsed = time.monotonic() - started
    assert up.returncode != 0
    assert ("tools/deploy: minikube is not running: `minikube start` "
            "(or use the embedded cluster: `make up STACK=real-node`)") in up.stderr
    # The promise is "within seconds" (about 2 s here: make, Python, one refused connection);
    # 10 s leaves room for a busy machine.
    assert elapsed < 10, f"took {elapsed:.1f}s"
    assert not laptop.cache.exists()  # no cluster started, nothing built
