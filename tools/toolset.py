"""Which `pulumi` and `kubectl` run, and with what environment: the one seam between
a user's own tools and the sandbox's.

- A `pulumi` on PATH (outside the sandbox's cache), at least PULUMI_FLOOR, is used as
  installed: its own language host, its plugin cache, plugin acquisition on, so the
  kubernetes provider is the released one the pinned SDK asks for.
- Only when there is no `pulumi` on PATH: the sandbox's source-built CLI
  (`sandbox/toolchain install pulumi`, the one step that needs Go), run offline.
- `kubectl` likewise: the one on PATH, else the sandbox's (`sandbox/toolchain install kube`).

Used by tools/deploy (make up/preview/down), the engine, cluster and pods tests, and
the benchmarks; their throwaway stacks are tests/support/stacks.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sandbox import bin_dir, toolchain_root

ROOT = Path(__file__).resolve().parents[1]

# The oldest CLI this project runs: the release of its pinned Python SDK (pulumi==3.259.0).
# The SDK and the engine speak gRPC to each other, and an SDK may ask for engine features
# that older CLIs lack; Pulumi's own advice is a CLI at least as new as the SDKs it runs.
PULUMI_FLOOR = (3, 259, 0)

# These stacks hold no secrets: on a backend that encrypts with a passphrase (the local
# one), this is it, unless PULUMI_CONFIG_PASSPHRASE(_FILE) says otherwise. The README's
# walkthrough exports the same value, so `make` and plain `pulumi` open the same stacks.
DEFAULT_PASSPHRASE = "python-shop-local"

# Only for the sandbox's own build: offline, and the provider it can build (4.25.0-alpha,
# sandbox/recipes/pulumi.py) predates the `enablePatchForce` provider option the
# program sets; this variable is that provider's own spelling of the same switch.
SANDBOX_ENV = {
    "PULUMI_SKIP_UPDATE_CHECK": "true",
    "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
    "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
    "PULUMI_K8S_ENABLE_PATCH_FORCE": "true",
}


class ToolsError(RuntimeError):
    """The tools cannot run as they are; the message says what to do."""


@dataclass(frozen=True)
class Tools:
    pulumi: Path
    sandbox: bool  # True: the sandbox's source-built CLI, run offline

    def env(self, state_dir: Path | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The environment every `pulumi` command runs in; `state_dir`: a throwaway file:// backend."""
        env = dict(os.environ)
        if self.sandbox:
            env["PATH"] = os.pathsep.join([str(bin_dir()), str(ROOT / ".venv" / "bin"), env.get("PATH", "")])
            env.update(SANDBOX_ENV)
        if state_dir is not None:
            env["PULUMI_BACKEND_URL"] = f"file://{state_dir}"
        if "PULUMI_CONFIG_PASSPHRASE_FILE" not in env:
            env.setdefault("PULUMI_CONFIG_PASSPHRASE", DEFAULT_PASSPHRASE)
        env.update(extra or {})
        return env


def _outside_sandbox(name: str) -> Path | None:
    """`name` as PATH finds it, skipping the sandbox's own bin directory."""
    sandbox = toolchain_root().resolve()
    dirs = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d]
    for directory in dirs:
        found = shutil.which(name, path=directory)
        if found and sandbox not in Path(found).resolve().parents:
            return Path(found)
    return None


def parse_version(text: str) -> tuple[int, int, int] | None:
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", text)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def install_sandbox(*groups: str) -> None:
    """Build (or find in the cache) the sandbox's tools: the only place Go is needed."""
    proc = subprocess.run([str(ROOT / "sandbox" / "toolchain"), "install", *groups], stdout=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise ToolsError(f"`sandbox/toolchain install {' '.join(groups)}` failed (see above)")


def find_tools(install: bool = True) -> Tools:
    """The user's `pulumi` when PATH has one, else the sandbox's (built first when `install`)."""
    user = _outside_sandbox("pulumi")
    if user is not None:
        try:
            out = subprocess.run([str(user), "version"], capture_output=True, text=True, timeout=60,
                                 stdin=subprocess.DEVNULL).stdout.strip()
        except (OSError, subprocess.SubprocessError) as exc:
            raise ToolsError(f"{user} does not run (`pulumi version`: {exc})") from None
        version = parse_version(out)
        floor = "v" + ".".join(map(str, PULUMI_FLOOR))
        if version is None or version < PULUMI_FLOOR:
            raise ToolsError(
                f"{user} is pulumi {out or '(no version)'}; this project needs {floor} or newer (its Pulumi SDK "
                f"is pulumi=={floor[1:]}): upgrade it (https://www.pulumi.com/docs/install/), or take it off PATH "
                "to use the sandbox's build"
            )
        return Tools(user, sandbox=False)
    if install and not (bin_dir() / "pulumi").exists():
        print("[toolset] no pulumi on PATH: building the sandbox's from source with Go, once per machine "
              "(about 10 minutes); install your own (https://www.pulumi.com/docs/install/) to skip this",
              file=sys.stderr, flush=True)
    if install:
        install_sandbox("pulumi")
    return Tools(bin_dir() / "pulumi", sandbox=True)


def find_kubectl(install: bool = True) -> Path:
    """The user's `kubectl` when PATH has one, else the sandbox's."""
    user = _outside_sandbox("kubectl")
    if user is not None:
        return user
    if install:
        install_sandbox("kube")
    return bin_dir() / "kubectl"


def logged_in(env: dict[str, str]) -> bool:
    """Is the CLI logged in to some backend? (PULUMI_BACKEND_URL, an access token, or a stored login.)

    Read from the CLI's credentials file rather than `pulumi whoami`, which needs the network
    for a cloud backend: an offline laptop must not be mistaken for one logged in nowhere."""
    if env.get("PULUMI_BACKEND_URL") or env.get("PULUMI_ACCESS_TOKEN"):
        return True
    home = Path(env.get("PULUMI_HOME") or Path(env.get("HOME", str(Path.home()))) / ".pulumi")
    try:
        return bool(json.loads((home / "credentials.json").read_text()).get("current"))
    except (OSError, ValueError, AttributeError):
        return False


def pulumi(
    *args: str,
    env: dict[str, str],
    tools: Tools,
    cwd: Path = ROOT,
    check: bool = True,
    timeout: float | None = 900,
    stream: bool = False,
) -> subprocess.CompletedProcess:
    """`pulumi <args> --non-interactive` with its output captured, for code to read; or, with
    `stream`, its own display shown as it goes, for a person to watch. `check`: raise with the
    output on failure."""
    argv = [str(tools.pulumi), *args, *([] if stream else ["--non-interactive"])]
    pipe = None if stream else subprocess.PIPE
    proc = subprocess.run(argv, cwd=cwd, env=env, text=True, timeout=timeout, stdin=subprocess.DEVNULL, stdout=pipe,
                          stderr=pipe)
    if check and proc.returncode != 0:
        raise RuntimeError(f"pulumi {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


# --- the guardrails pack's own virtualenv ---------------------------------------------------

POLICY_PACK = ROOT / "policy"
# What policy/venv was made from: its requirements and the SDK pin they take (-c).
POLICY_REQUIREMENTS = (POLICY_PACK / "requirements.txt", ROOT / "infra" / "requirements.txt")


def install_policy_pack(tools: Tools, env: dict[str, str]) -> None:
    """policy/venv (PulumiPolicy.yaml's virtualenv), made as a user makes it: `pulumi install` in
    policy/, by the same CLI. Once; again only when the requirements it was made from change."""
    stamp = POLICY_PACK / "venv" / ".python-shop-requirements"
    wanted = "".join(path.read_text() for path in POLICY_REQUIREMENTS)
    if (POLICY_PACK / "venv" / "bin" / "python").exists() and stamp.exists() and stamp.read_text() == wanted:
        return
    print("[toolset] the guardrails pack's virtualenv: `pulumi install` in policy/ (policy/venv, once)",
          file=sys.stderr, flush=True)
    proc = pulumi("install", env=env, tools=tools, cwd=POLICY_PACK, check=False)
    if proc.returncode != 0:
        raise ToolsError(f"`pulumi install` in policy/ failed ({proc.returncode}): {(proc.stdout + proc.stderr)[-2000:]}")
    stamp.write_text(wanted)


def main(argv: list[str]) -> int:
    """`python -m tools.toolset policy-pack`: make policy/venv with the pulumi `make up` would run
    (`make test` does, so the tests' copies of the repository share it)."""
    if argv != ["policy-pack"]:
        print(main.__doc__, file=sys.stderr)
        return 2
    tools = find_tools(install=False)
    try:
        install_policy_pack(tools, tools.env())
    except ToolsError as exc:
        print(f"tools/toolset: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
