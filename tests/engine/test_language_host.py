"""The sandbox's Python language host against upstream's, row by row.

The sandbox builds its own `pulumi-language-python` (sandbox/recipes/pulumi_language_python/main.go)
because the module proxy refuses upstream's. Each test below is one row of the conformance table:
a behaviour that upstream's host has at the CLI's tag (pulumi/pulumi v3.259.0), named by the
upstream file and function it comes from (`@follows`), checked through the real CLI with the
sandbox's host, in a throwaway project, home and state backend. The expectations are upstream's,
read in its source; when the project disagrees with a row, the project changes, never the host.
sandbox/README.md ("The language host") lists the rows and what still differs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from sandbox import bin_dir
from sandbox.wheels import pip_env
from tools.toolset import ROOT, SANDBOX_ENV

pytestmark = pytest.mark.engine

TAG = "v3.259.0"  # pulumi/pulumi, the tag the sandbox's CLI is built from (sandbox/recipes/pulumi.py)
HOST = "sdk/python/cmd/pulumi-language-python/main.go"
PIP = "sdk/python/toolchain/pip.go"
EXEC = "sdk/python/cmd/pulumi-language-python-exec"
INSTALL = "pkg/cmd/pulumi/install/install.go"

ROWS: dict[str, str] = {}  # test name -> "upstream file: function" (the table, for the README check)


def follows(source: str) -> Callable:
    """Mark a test as one row of the table: the upstream file and function it follows."""

    def mark(test: Callable) -> Callable:
        ROWS[test.__name__] = source
        return test

    return mark


@dataclass
class Cli:
    """The sandbox's `pulumi` with its host beside it, nothing else on PATH but the system's."""

    env: dict[str, str]

    def __call__(self, *args: str, cwd: Path, env: dict[str, str] | None = None,
                 check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(["pulumi", *args, "--non-interactive"], cwd=cwd, env={**self.env, **(env or {})},
                              capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise AssertionError(f"pulumi {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc


@pytest.fixture(scope="module")
def cli(tmp_path_factory) -> Cli:
    tmp = tmp_path_factory.mktemp("host")
    (tmp / "state").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "VIRTUAL_ENV", "PYTHON"))}
    env.update(SANDBOX_ENV, PATH=f"{bin_dir()}{os.pathsep}/usr/bin{os.pathsep}/bin", PULUMI_HOME=str(tmp / "home"),
               PULUMI_BACKEND_URL=f"file://{tmp / 'state'}", PULUMI_CONFIG_PASSPHRASE="conformance")
    env.update(pip_env())  # pip's packages from the machine's wheel cache, not the slow index (sandbox/wheels.py)
    return Cli(env)


# The repo's virtualenv (make setup): the pulumi SDK and pulumi-policy, so rows that run a
# program or a pack need no install of their own.
REPO_VENV = str(ROOT / ".venv")

PROGRAM = """\
import os, sys
import pulumi
pulumi.export("cwd", os.getcwd())
pulumi.export("python", sys.executable)
pulumi.export("configInEnv", "PULUMI_CONFIG" in os.environ)
pulumi.export("greeting", pulumi.Config().get("greeting") or "(none)")
"""


def project(root: Path, options: dict | None = None, main: str | None = None, files: dict[str, str] | None = None,
            name: str | None = None) -> Path:
    """A project at `root`, named after the test's directory: the state backend is shared."""
    name = name or root.parent.name
    root.mkdir(parents=True, exist_ok=True)
    runtime: dict = {"name": "python", **({"options": options} if options is not None else {})}
    (root / "Pulumi.yaml").write_text(yaml.safe_dump({"name": name, "runtime": runtime, **({"main": main} if main else {})}))
    for path, text in (files or {}).items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def wheel(directory: Path, name: str) -> Path:
    """A one-module wheel, installable offline (no build step)."""
    path = directory / f"{name}-1.0-py3-none-any.whl"
    info = f"{name}-1.0.dist-info"
    files = {f"{name}/__init__.py": "", f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: conformance\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    files[f"{info}/RECORD"] = "".join(f"{f},,\n" for f in [*files, f"{info}/RECORD"])
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in files.items():
            archive.writestr(member, text)
    return path


def pip_list(venv: Path) -> set[str]:
    listed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format", "json"],
                            capture_output=True, text=True, check=True).stdout
    return {p["name"] for p in json.loads(listed)}


def up_outputs(cli: Cli, where: Path, stack: str = "s", env: dict[str, str] | None = None) -> dict:
    cli("stack", "init", stack, cwd=where)
    cli("up", "--yes", "--skip-preview", "--stack", stack, cwd=where, env=env)
    return json.loads(cli("stack", "output", "--json", "--stack", stack, cwd=where).stdout)


# --- where dependencies come from, where the virtualenv goes --------------------------------


@dataclass
class Installed:
    root: Path
    said: str  # what `pulumi install` printed
    python_calls: list[str]  # each call of the interpreter PULUMI_PYTHON_CMD named


@pytest.fixture(scope="module")
def installed(cli, tmp_path_factory) -> Installed:
    """One `pulumi install` (the rows below read it): `main: prog/`, a requirements.txt beside
    Pulumi.yaml and another beside the program, a relative virtualenv, PULUMI_PYTHON_CMD set."""
    tmp = tmp_path_factory.mktemp("installed")
    log, chosen = tmp / "calls", tmp / "bin" / "my-python"
    chosen.parent.mkdir()
    chosen.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec /usr/bin/python3 "$@"\n')
    chosen.chmod(0o755)
    root = project(tmp / "p", {"toolchain": "pip", "virtualenv": "envs/here"}, main="prog/",
                   files={"prog/__main__.py": PROGRAM}, name="installed")
    (root / "requirements.txt").write_text(f"{wheel(tmp, 'besidepulumiyaml')}\n")
    (root / "prog" / "requirements.txt").write_text(f"{wheel(tmp, 'besideprogram')}\n")
    said = cli("install", "--no-plugins", cwd=root, env={"PULUMI_PYTHON_CMD": str(chosen)})
    return Installed(root, said.stdout, log.read_text().splitlines())


@follows(f"{HOST}: InstallDependencies (req.Info.ProgramDirectory); {PIP}: InstallDependencies; "
         f"{INSTALL}: plugin.NewProgramInfo(root, pwd, main, ...)")
def test_install_reads_requirements_txt_from_the_program_directory_not_the_root(installed):
    packages = pip_list(installed.root / "envs" / "here")
    assert "besideprogram" in packages
    assert "besidepulumiyaml" not in packages
    for line in ("Installing dependencies...", "Creating virtual environment...",
                 "Updating pip, setuptools, and wheel in virtual environment...",
                 "Installing dependencies in virtual environment...", "Finished installing dependencies"):
        assert line in installed.said, (line, installed.said[-2000:])


@follows(f"{PIP}: resolveVirtualEnvironmentPath (relative to the project root)")
def test_the_virtualenv_is_resolved_against_the_project_root(installed):
    assert (installed.root / "envs" / "here" / "bin" / "python").exists()
    assert not (installed.root / "prog" / "envs").exists()


@follows(f"{PIP}: CommandPath (PULUMI_PYTHON_CMD), InstallDependencies (`python -m venv <absolute path>`)")
def test_pulumi_python_cmd_is_the_interpreter_that_makes_the_virtualenv(installed):
    assert installed.python_calls[0] == f"-m venv {installed.root / 'envs' / 'here'}"


@follows(f"{PIP}: InstallDependencies (\"If `requirements.txt` doesn't exist, exit early\")")
def test_install_without_requirements_txt_beside_the_program_makes_the_venv_and_installs_nothing(cli, tmp_path):
    root = project(tmp_path / "p", {"toolchain": "pip", "virtualenv": ".venv"}, main="prog/",
                   files={"prog/__main__.py": PROGRAM})
    (root / "requirements.txt").write_text("pulumi==3.259.0\n")  # beside Pulumi.yaml: not read
    said = cli("install", "--no-plugins", cwd=root)
    assert "Installing dependencies in virtual environment..." not in said.stdout
    assert "pulumi" not in pip_list(root / ".venv")


@follows(f"{HOST}: GetRequiredPackages (tc.EnsureVenv); {PIP}: EnsureVenv; "
         f"{EXEC}: the ImportError message; {HOST}: Run (\"program exited with non-zero exit code\")")
def test_preview_makes_a_missing_virtualenv_and_a_missing_sdk_says_how_to_install_it(cli, tmp_path):
    root = project(tmp_path / "p", {"toolchain": "pip", "virtualenv": ".venv"}, main="prog/",
                   files={"prog/__main__.py": PROGRAM, "prog/requirements.txt": ""})
    cli("stack", "init", "s", cwd=root)
    said = cli("preview", "--stack", "s", cwd=root, check=False)
    out = said.stdout + said.stderr
    assert said.returncode != 0
    assert (root / ".venv" / "bin" / "python").exists()  # made by preview itself
    assert "It looks like the Pulumi SDK has not been installed. Have you run pip install?" in out
    assert "program exited with non-zero exit code: 1" in out


@follows(f"{HOST}: GetRequiredPackages (EnsureVenv leaves a non-empty folder; validateVersion; "
         f"listPulumiPackageInfos); {PIP}: EnsureVenv, ListPackages")
def test_a_virtualenv_folder_that_is_not_one_fails_the_preview_naming_its_missing_python(cli, tmp_path):
    root = project(tmp_path / "p", {"toolchain": "pip", "virtualenv": "notavenv"},
                   files={"__main__.py": PROGRAM, "notavenv/README": "a folder, not a virtualenv\n"})
    cli("stack", "init", "s", cwd=root)
    said = cli("preview", "--stack", "s", cwd=root, check=False)
    out = " ".join((said.stdout + said.stderr).split())
    python = root / "notavenv" / "bin" / "python"
    assert said.returncode != 0
    assert not python.exists()  # not made: the folder is not empty
    assert "Failed to resolve python version command" in out
    assert f"calling `{python} -m pip list --format json`: fork/exec {python}: no such file or directory" in out, out[-2000:]


# --- the options ------------------------------------------------------------------------------


@follows(f"{HOST}: parseOptions (toolchain: pip, poetry or uv; nothing else)")
@pytest.mark.parametrize("toolchain", ["auto", "conda"])
def test_an_unknown_toolchain_option_is_refused_by_name(cli, tmp_path, toolchain):
    root = project(tmp_path / "p", {"toolchain": toolchain, "virtualenv": REPO_VENV}, files={"__main__.py": PROGRAM})
    cli("stack", "init", "s", cwd=root)
    said = cli("preview", "--stack", "s", cwd=root, check=False)
    assert said.returncode != 0
    assert f"unsupported toolchain option: {toolchain}" in said.stdout + said.stderr


@follows(f"{HOST}: parseOptions (\"virtualenv option must be a string\")")
def test_a_virtualenv_option_that_is_not_a_string_is_refused(cli, tmp_path):
    root = project(tmp_path / "p", {"toolchain": "pip", "virtualenv": ["a", "list"]}, files={"__main__.py": PROGRAM})
    cli("stack", "init", "s", cwd=root)
    said = cli("preview", "--stack", "s", cwd=root, check=False)
    assert said.returncode != 0
    assert "virtualenv option must be a string" in said.stdout + said.stderr


# --- running the program --------------------------------------------------------------------


@follows(f"{HOST}: Run, constructArguments (--pwd, the entry point); {EXEC}: os.chdir(args.pwd)")
def test_the_program_runs_in_its_own_directory_with_the_virtualenvs_python(cli, tmp_path):
    root = project(tmp_path / "p", {"toolchain": "pip", "virtualenv": REPO_VENV}, main="prog/",
                   files={"prog/__main__.py": PROGRAM})
    outputs = up_outputs(cli, root)
    assert outputs["cwd"] == str(root / "prog")
    assert outputs["python"] == f"{REPO_VENV}/bin/python"


@follows(f"{HOST}: constructConfig (no PULUMI_CONFIG when the stack has no config)")
def test_a_stack_with_no_config_at_all_runs(cli, tmp_path):
    root = project(tmp_path / "p", {"toolchain": "pip", "virtualenv": REPO_VENV}, files={"__main__.py": PROGRAM})
    outputs = up_outputs(cli, root)
    assert outputs["greeting"] == "(none)"
    assert outputs["configInEnv"] is False


@follows(f"{HOST}: constructConfig (PULUMI_CONFIG, JSON of project:key)")
def test_stack_config_reaches_the_program(cli, tmp_path):
    root = project(tmp_path / "p", {"toolchain": "pip", "virtualenv": REPO_VENV}, files={"__main__.py": PROGRAM})
    cli("stack", "init", "s", cwd=root)
    cli("config", "set", "greeting", "hello", "--stack", "s", cwd=root)
    cli("up", "--yes", "--skip-preview", "--stack", "s", cwd=root)
    outputs = json.loads(cli("stack", "output", "--json", "--stack", "s", cwd=root).stdout)
    assert outputs["greeting"] == "hello"
    assert outputs["configInEnv"] is True


@follows(f"{HOST}: Run (exit code 32: the program already showed its error; any other: non-zero exit code)")
@pytest.mark.parametrize(("code", "said"), [(32, None), (3, "program exited with non-zero exit code: 3")])
def test_the_programs_exit_code(cli, tmp_path, code, said):
    root = project(tmp_path / "p", {"toolchain": "pip", "virtualenv": REPO_VENV},
                   files={"__main__.py": f"import sys\nprint('exiting on purpose')\nsys.exit({code})\n"})
    cli("stack", "init", "s", cwd=root)
    proc = cli("preview", "--stack", "s", cwd=root, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "exiting on purpose" in out
    if said is None:
        assert "program exited with non-zero exit code" not in out
    else:
        assert said in out


# --- policy packs -----------------------------------------------------------------------------

PACK = """\
import os
from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy

def report(args, report_violation):
    report_violation("cwd=" + os.getcwd() + " stack=" + os.environ.get("PULUMI_STACK", "-")
                     + " project=" + os.environ.get("PULUMI_PROJECT", "-")
                     + " greeting=" + ("hello" in os.environ.get("PULUMI_CONFIG", "")).__str__())

PolicyPack("conformance", enforcement_level=EnforcementLevel.ADVISORY,
           policies=[ResourceValidationPolicy(name="where", description="where the pack runs", validate=report)])
"""


@follows(f"{HOST}: RunPlugin (a policy pack: `python -u -m pulumi.policy <args> <pack dir>` in the pack's "
         "directory, PULUMI_PROJECT/PULUMI_STACK/PULUMI_CONFIG from sdk/policy_proxy.go)")
def test_a_policy_pack_runs_in_its_own_directory_with_the_stack_in_its_environment(cli, tmp_path):
    root = project(tmp_path / "p", {"toolchain": "pip", "virtualenv": REPO_VENV},
                   files={"__main__.py": "import pulumi\npulumi.export('x', 1)\n"}, name="packed")
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text(yaml.safe_dump(
        {"runtime": {"name": "python", "options": {"toolchain": "pip", "virtualenv": REPO_VENV}}}))
    (pack / "__main__.py").write_text(PACK)
    cli("stack", "init", "s", cwd=root)
    cli("config", "set", "greeting", "hello", "--stack", "s", cwd=root)
    proc = cli("preview", "--stack", "s", "--policy-pack", str(pack), cwd=root, check=False)
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode == 0, out[-3000:]
    assert f"cwd={pack} stack=s project=packed greeting=True" in out, out[-3000:]


@follows(f"{HOST}: parseOptions (a plugin with no virtualenv option gets `venv`); "
         f"{INSTALL}: shouldInstallPolicyPackDependencies (a pack inside a project)")
def test_pulumi_install_in_a_policy_pack_makes_its_own_venv(cli, tmp_path):
    root = project(tmp_path / "p", {"toolchain": "pip", "virtualenv": REPO_VENV}, files={"__main__.py": PROGRAM})
    pack = root / "pack"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text(yaml.safe_dump({"runtime": "python"}))
    (pack / "__main__.py").write_text(PACK)
    (pack / "requirements.txt").write_text(f"{wheel(tmp_path, 'packdependency')}\n")
    cli("install", "--cwd", "pack", cwd=root)
    assert "packdependency" in pip_list(pack / "venv")


def test_every_row_names_its_upstream_source_and_is_in_the_sandbox_readme():
    readme = " ".join((ROOT / "sandbox" / "README.md").read_text().split())
    this = "test_every_row_names_its_upstream_source_and_is_in_the_sandbox_readme"
    tests = {name for name in globals() if name.startswith("test_") and name != this}
    assert tests == set(ROWS)
    for name, source in ROWS.items():
        assert source.split(":")[0].startswith(("sdk/", "pkg/")), (name, source)
        assert f"`{name.removeprefix('test_')}`" in readme, f"sandbox/README.md's table lacks the row {name}"
    assert shutil.which("pulumi-language-python", path=str(bin_dir())) is not None
