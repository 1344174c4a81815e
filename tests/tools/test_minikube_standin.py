"""The minikube stand-in (tests/support/minikube.py) answers as minikube v1.38.1 does, and
tools/targets' minikube calls read those answers right.

The conformance table has one row per behaviour, each naming the upstream file (at tag v1.38.1)
whose code gives the answer; the row holds minikube's literal answer: stdout, exit code, and a line
of stderr where there is one. Earlier calls in a row set the scene (a build, then the list); the
last one is the answer checked. Hermetic: the stand-in script runs, nothing else (no cluster, no
network, no docker).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.minikube import (
    DEFAULT_SERVICE_URL,
    NO_PROFILE,
    NOT_IMPLEMENTED,
    STOPPED,
    install_minikube,
    platform,
    read_calls,
)
from tools import targets
from tools.toolset import ROOT

TAG = "python-shop-backend:0123456789abcdef"
HELD = ("registry.k8s.io/pause:3.10", "nginx:1.27", "kubernetesui/dashboard:v2.7.0", "localhost/mine:1",
        "gcr.io/k8s-minikube/storage-provisioner:v5")
HELD_LISTED = ("registry.k8s.io/pause:3.10\nlocalhost/mine:1\ngcr.io/k8s-minikube/storage-provisioner:v5\n"
               "docker.io/library/nginx:1.27\ndocker.io/kubernetesui/dashboard:v2.7.0\n")
RUNNING_STATUS = "minikube\ntype: Control Plane\nhost: Running\nkubelet: Running\napiserver: Running\nkubeconfig: Configured\n\n"
STOPPED_STATUS = "minikube\ntype: Control Plane\nhost: Stopped\nkubelet: Stopped\napiserver: Stopped\nkubeconfig: Stopped\n\n"
NOT_FOUND = 'Profile "minikube" not found. Run "minikube profile list" to view all profiles.'
TIP = '  To start a cluster, run: "minikube start"\n'
NO_SUCH_PROFILE = 'X Exiting due to MK_USAGE: loading profile: cluster "minikube" does not exist'
# The README's openCommand (infra/exports.py; tests/infra/test_resources.py pins it).
OPEN_COMMAND = ("service", "python-shop-frontend-service", "--namespace", "python-shop")
SHOP_TABLE = """\
┌─────────────┬──────────────────────────────┬─────────────┬───────────────────────────┐
│  NAMESPACE  │             NAME             │ TARGET PORT │            URL            │
├─────────────┼──────────────────────────────┼─────────────┼───────────────────────────┤
│ python-shop │ python-shop-frontend-service │ http/8080   │ http://192.168.49.2:30080 │
└─────────────┴──────────────────────────────┴─────────────┴───────────────────────────┘
"""
OPENING = ("* Opening service python-shop/python-shop-frontend-service in default browser...\n"
           "  http://192.168.49.2:30080\n")
# pkg/minikube/service/service_test.go: TestPrintServiceList, its expected table, verbatim.
UPSTREAM_TABLE = """\
┌───────────┬──────┬─────────────┬─────┐
│ NAMESPACE │ NAME │ TARGET PORT │ URL │
├───────────┼──────┼─────────────┼─────┤
│ foo       │ bar  │ baz         │ nah │
└───────────┴──────┴─────────────┴─────┘
"""


@dataclass(frozen=True)
class Row:
    upstream: str  # the file at v1.38.1 (and function) the answer follows
    calls: tuple[tuple[str, ...], ...]  # minikube's argv, call by call; the last one's answer is checked
    stdout: str
    code: int
    stderr: str | None = None  # a line its stderr holds; None: stderr is empty
    setup: dict = field(default_factory=dict)  # install_minikube's keyword arguments
    env: dict = field(default_factory=dict)


def row(name: str, upstream: str, *calls: str | tuple[str, ...], stdout: str, code: int = 0, stderr: str | None = None,
        env: dict | None = None, **setup) -> pytest.ParameterSet:
    argvs = tuple(tuple(call.split()) if isinstance(call, str) else call for call in calls)
    return pytest.param(Row(upstream, argvs, stdout, code, stderr, setup, env or {}), id=name)


CONFORMANCE = [
    # --- the global --profile ---------------------------------------------------------------------
    row("profile-defaults-to-minikube", "pkg/minikube/constants/constants.go: DefaultClusterName",
        "status", stdout=RUNNING_STATUS),
    row("profile-long-flag-before-the-command", "cmd/minikube/cmd/root.go: init (PersistentFlags StringP profile/p)",
        "--profile minikube image ls", stdout=HELD_LISTED, images=HELD),
    row("profile-short-flag-attached", "root.go: init (pflag: -pVALUE)", "-pdev status",
        stdout=RUNNING_STATUS.replace("minikube", "dev", 1), profile="dev"),
    row("profile-flag-after-the-command", "root.go: init (a persistent flag, anywhere)", "status --profile=dev",
        stdout=RUNNING_STATUS.replace("minikube", "dev", 1), profile="dev"),
    row("profile-from-MINIKUBE_PROFILE", "cmd/minikube/cmd/root.go: setupViper (SetEnvPrefix MINIKUBE, AutomaticEnv)",
        "status", stdout=RUNNING_STATUS.replace("minikube", "dev", 1), profile="dev", env={"MINIKUBE_PROFILE": "dev"}),
    row("profile-flag-beats-MINIKUBE_PROFILE", "root.go: viper.BindPFlags (a set flag before the environment)",
        "-p minikube status", stdout=RUNNING_STATUS, env={"MINIKUBE_PROFILE": "dev"}),
    # --- minikube status --------------------------------------------------------------------------
    row("status-running", "cmd/minikube/cmd/status.go: defaultStatusFormat, exitCode", "status",
        stdout=RUNNING_STATUS),
    row("status-stopped-exits-7", "status.go: exitCode (1|2|4); pkg/minikube/cluster/status.go: NodeStatus",
        "status", stdout=STOPPED_STATUS, code=7, state=STOPPED),
    row("status-docker-env-in-use", "cluster/status.go: NodeStatus (MINIKUBE_ACTIVE_DOCKERD)", "status",
        stdout=RUNNING_STATUS.replace("Configured\n", "Configured\ndocker-env: in-use\n"),
        env={"MINIKUBE_ACTIVE_DOCKERD": "minikube"}),
    row("status-no-profile-exits-85", "pkg/minikube/mustload/mustload.go: Partial, exitTip", "status",
        stdout=f"* {NOT_FOUND}\n{TIP}", code=85, state=NO_PROFILE),
    row("status-other-profile-tip-names-it", "mustload.go: ExampleCmd", "-p other status",
        stdout='* Profile "other" not found. Run "minikube profile list" to view all profiles.\n'
               '  To start a cluster, run: "minikube start -p other"\n', code=85),
    # --- minikube start ---------------------------------------------------------------------------
    row("start", "cmd/minikube/cmd/start.go: displayVersion, showKubectlInfo", "start",
        stdout=f"* minikube v1.38.1 on {platform()}\n"
               '* Done! kubectl is now configured to use "minikube" cluster and "default" namespace by default\n',
        state=NO_PROFILE),
    row("start-another-profile", "start.go: displayVersion (prefix [<profile>])", "-p dev start",
        stdout=f"* [dev] minikube v1.38.1 on {platform()}\n"
               '* Done! kubectl is now configured to use "dev" cluster and "default" namespace by default\n'),
    row("start-then-status-runs", "start.go: runStart", "start", "status", stdout=RUNNING_STATUS, state=STOPPED),
    row("start-creates-the-profile", "start.go: runStart", "start", "status", stdout=RUNNING_STATUS, state=NO_PROFILE),
    # --- minikube image ls ------------------------------------------------------------------------
    row("image-ls-one-a-line-reverse-sorted-docker-io",
        "pkg/minikube/machine/cache_images.go: ListImages (default); pkg/minikube/cruntime/docker.go: ListImages, "
        "AddDockerIO", "image ls", stdout=HELD_LISTED, images=HELD),
    row("image-list-is-ls", "cmd/minikube/cmd/image.go: listImageCmd (Aliases list)", "image list",
        stdout=HELD_LISTED, images=HELD),
    row("image-ls-format-short-is-the-default", "image.go: init (--format, default short)", "image ls --format short",
        stdout=HELD_LISTED, images=HELD),
    row("image-ls-unknown-format-is-short", "cache_images.go: ListImages (switch default)", "image ls --format=names",
        stdout=HELD_LISTED, images=HELD),
    row("image-ls-nothing-held-one-empty-line", "cache_images.go: ListImages (Printf %s\\n of an empty join)",
        "image ls", stdout="\n"),
    row("image-ls-stopped-lists-nothing-exit-0", "cache_images.go: ListImages (Running nodes only)", "image ls",
        stdout="\n", state=STOPPED, images=HELD),
    row("image-ls-no-profile-exits-14",
        "image.go: listImageCmd (exit.Error reason.Usage); pkg/minikube/config/config.go: LoadConfigFromFile",
        "image ls", stdout="\n\n", code=14, stderr=NO_SUCH_PROFILE, state=NO_PROFILE),
    # --- minikube image build ---------------------------------------------------------------------
    row("image-build-answers-nothing-exit-0", "pkg/minikube/machine/build_images.go: BuildImage",
        f"image build -t {TAG} {{ctx}}", stdout=""),
    row("image-build-then-ls-lists-the-tag", "build_images.go: BuildImage (ParseNormalizedNamed); cache_images.go: "
        "ListImages", f"image build -t {TAG} {{ctx}}", "image ls",
        stdout=f"registry.k8s.io/pause:3.10\ndocker.io/library/{TAG}\n", images=("registry.k8s.io/pause:3.10",)),
    row("image-build-long-tag-flag", "image.go: init (StringVarP tag/t)", f"image build --tag={TAG} {{ctx}}",
        "image ls", stdout=f"docker.io/library/{TAG}\n"),
    row("image-build-without-profile-flag-uses-minikube", "root.go: init (profile default minikube)",
        f"image build -t {TAG} {{ctx}}", "--profile minikube image ls", stdout=f"docker.io/library/{TAG}\n"),
    row("image-build-namespaced-tag", "build_images.go: BuildImage (ParseNormalizedNamed: docker.io/<user>/...)",
        "image build -t me/app:1 {ctx}", "image ls", stdout="docker.io/me/app:1\n"),
    row("image-build-registry-tag-kept", "build_images.go: BuildImage (a domain is kept)",
        "image build -t registry.example.com/shop/app:1 {ctx}", "image ls", stdout="registry.example.com/shop/app:1\n"),
    row("image-build-tagless-name-gets-latest", "build_images.go: BuildImage (docker tags it latest)",
        "image build -t app {ctx}", "image ls", stdout="docker.io/library/app:latest\n"),
    row("image-build-untagged-is-none", "image.go: buildImageCmd (--tag optional); docker.go: ListImages",
        "image build {ctx}", "image ls", stdout="docker.io/library/<none>:<none>\n"),
    row("image-build-retag-moves-the-tag", "docker.go: ListImages (one line per repo:tag)",
        f"image build -t {TAG} {{ctx}}", "image ls", stdout=f"docker.io/library/{TAG}\n", images=(TAG,)),
    row("image-build-stopped-builds-nothing-exit-0", "build_images.go: BuildImage (Running nodes only, returns nil)",
        f"image build -t {TAG} {{ctx}}", stdout="", state=STOPPED),
    row("image-build-stopped-then-start-lists-nothing", "build_images.go: BuildImage", f"image build -t {TAG} {{ctx}}",
        "start", "image ls", stdout="\n", state=STOPPED),
    row("image-build-missing-dir-exit-0-nothing-built", "build_images.go: transferAndBuildImage (os.Stat), BuildImage",
        f"image build -t {TAG} {{ctx}}/missing", "image ls", stdout="\n"),
    row("image-build-failing-exit-0", "build_images.go: BuildImage (failed nodes only logged; minikube#12556)",
        f"image build -t {TAG} {{ctx}}", stdout="", stderr="[minikube stand-in] docker build of", failing_builds=(TAG,)),
    row("image-build-failing-then-ls-lacks-it", "build_images.go: BuildImage", f"image build -t {TAG} {{ctx}}",
        "image ls", stdout="\n", failing_builds=(TAG,)),
    row("image-build-no-dockerfile-nothing-built", "build_images.go: BuildImage (docker build fails)",
        f"image build -t {TAG} {{empty}}", "image ls", stdout="\n"),
    row("image-build-no-path-exits-14", "image.go: buildImageCmd (exit.Message reason.Usage)", "image build -t x",
        stdout="\n\n", code=14, stderr="X Exiting due to MK_USAGE: Please provide a path or url to build"),
    row("image-build-no-profile-exits-14", "image.go: buildImageCmd (config.LoadProfile)",
        f"image build -t {TAG} {{ctx}}", stdout="\n\n", code=14, stderr=NO_SUCH_PROFILE, state=NO_PROFILE),
    row("image-build-invalid-tag-exits-80", "build_images.go: BuildImage; reason.go: GuestImageBuild",
        "image build -t Shop:1 {ctx}", stdout="\n\n", code=80,
        stderr="X Exiting due to GUEST_IMAGE_BUILD: Failed to build image: couldn't parse image reference \"Shop:1\": "
               "invalid reference format: repository name (library/Shop) must be lowercase"),
    # --- minikube service -------------------------------------------------------------------------
    row("service-the-readme-open-command", "cmd/minikube/cmd/service.go: serviceCmd, openURLs; "
        "pkg/minikube/service/service.go: WaitForService, PrintServiceList; pkg/minikube/browser/browser.go: OpenURL",
        OPEN_COMMAND, stdout=SHOP_TABLE + OPENING),
    row("service-short-namespace-flag", "service.go: init (StringVarP namespace/n)",
        "service python-shop-frontend-service -n python-shop", stdout=SHOP_TABLE + OPENING),
    row("service-url-prints-the-url-only", "service.go: serviceCmd (--url: out.Stringf of the URLs)",
        (*OPEN_COMMAND, "--url"), stdout=f"{DEFAULT_SERVICE_URL}\n"),
    row("service-upstream-table", "pkg/minikube/service/service_test.go: TestPrintServiceList", "service bar -n foo",
        stdout=UPSTREAM_TABLE + "* Opening service foo/bar in default browser...\n  nah\n",
        services={"foo/bar": "nah"}, target_port="baz"),
    row("service-namespace-defaults-to-default", "service.go: init (namespace default \"default\")",
        "service web --url", stdout="http://192.168.49.2:31000\n", services={"default/web": "http://192.168.49.2:31000"}),
    row("service-not-found-exits-115", "service.go: serviceCmd (reason.SvcNotFound)", "service web -n shop",
        stdout="\n\n", code=115, services={"default/web": DEFAULT_SERVICE_URL},
        stderr="X Exiting due to SVC_NOT_FOUND: Service 'web' was not found in 'shop' namespace."),
    row("service-stopped-exits-83", "pkg/minikube/mustload/mustload.go: running (host not running), exitTip",
        OPEN_COMMAND, stdout=f"* The control-plane node minikube host is not running: state=Stopped\n{TIP}", code=83,
        state=STOPPED),
    row("service-no-profile-exits-85", "mustload.go: Partial", OPEN_COMMAND, stdout=f"* {NOT_FOUND}\n{TIP}", code=85,
        state=NO_PROFILE),
    row("service-no-name-exits-14", "service.go: serviceCmd (You must specify service name(s) or --all)", "service",
        stdout="\n\n", code=14, stderr="X Exiting due to MK_USAGE: You must specify service name(s) or --all"),
    # --- what the stand-in does not implement -----------------------------------------------------
    row("not-implemented-command", "(stand-in) exit 64: pkg/minikube/reason/exitcodes.go reserves it", "version",
        stdout="", code=NOT_IMPLEMENTED, stderr="does not implement"),
    row("not-implemented-image-alone", "(stand-in)", "image", stdout="", code=NOT_IMPLEMENTED, stderr="does not implement"),
    row("not-implemented-flag", "(stand-in) image.go: init (-n of image build is --node)", "image build -n m2 {ctx}",
        stdout="", code=NOT_IMPLEMENTED, stderr="does not implement"),
    row("not-implemented-format-json", "(stand-in) cache_images.go: ListImages (json)", "image ls --format json",
        stdout="", code=NOT_IMPLEMENTED, stderr="does not implement"),
    row("not-implemented-status-output", "(stand-in) status.go: init (--output)", "status -o json", stdout="",
        code=NOT_IMPLEMENTED, stderr="does not implement"),
]


def standin_env(bin_dir: Path, tmp_path: Path, extra: dict | None = None) -> dict[str, str]:
    """A fixed environment: no MINIKUBE_* of the caller's, no colour terminal."""
    return {"PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin", "HOME": str(tmp_path), **(extra or {})}


def build_dirs(tmp_path: Path) -> dict[str, str]:
    ctx, empty = tmp_path / "app", tmp_path / "no-dockerfile"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM scratch\n")
    empty.mkdir()
    return {"ctx": str(ctx), "empty": str(empty)}


@pytest.mark.parametrize("case", CONFORMANCE)
def test_the_stand_in_answers_as_minikube(case: Row, tmp_path):
    bin_dir, log = tmp_path / "bin", tmp_path / "calls"
    install_minikube(bin_dir, log, **case.setup)
    dirs, env = build_dirs(tmp_path), standin_env(bin_dir, tmp_path, case.env)
    for argv in case.calls:
        answer = subprocess.run(["minikube", *(arg.format(**dirs) for arg in argv)], capture_output=True, text=True,
                                env=env, cwd=tmp_path, timeout=30, stdin=subprocess.DEVNULL)
    assert (answer.stdout, answer.returncode) == (case.stdout, case.code), answer.stderr
    if case.stderr is None:
        assert answer.stderr == ""
    else:
        assert case.stderr in answer.stderr, answer.stderr


def test_each_call_is_logged_as_its_argv(tmp_path):
    log = tmp_path / "calls"
    install_minikube(tmp_path / "bin", log, state=NO_PROFILE)
    env = standin_env(tmp_path / "bin", tmp_path)
    for argv in (["start"], ["image", "build", "-t", TAG, "backend"], list(OPEN_COMMAND), ["version"]):
        subprocess.run(["minikube", *argv], env=env, cwd=tmp_path, capture_output=True, timeout=30)
    # As a shell's "$*" shows them (what tests/e2e/test_user_machine.py compares), and as argv.
    assert log.read_text().splitlines() == [
        "start", f"image build -t {TAG} backend", "service python-shop-frontend-service --namespace python-shop",
        "version"]
    assert read_calls(log)[1] == ["image", "build", "-t", TAG, "backend"]


def test_the_not_implemented_message_says_it_is_the_stand_in(tmp_path):
    install_minikube(tmp_path / "bin", tmp_path / "calls")
    answer = subprocess.run(["minikube", "delete", "--all"], env=standin_env(tmp_path / "bin", tmp_path),
                            capture_output=True, text=True, timeout=30)
    assert answer.returncode == NOT_IMPLEMENTED
    assert answer.stderr.startswith("minikube stand-in (tests/support/minikube.py, after minikube v1.38.1) does not "
                                    "implement the flag --all")


def test_install_refuses_a_state_minikube_has_not(tmp_path):
    with pytest.raises(ValueError):
        install_minikube(tmp_path / "bin", tmp_path / "calls", state="Paused")
    with pytest.raises(ValueError):
        install_minikube(tmp_path / "bin", tmp_path / "calls", state=NO_PROFILE, images=(TAG,))


# --- tools/targets' minikube functions against the stand-in -----------------------------------

class MinikubeCalls:
    """tools/targets' minikube functions, as the verbs call them (the Minikube target for a stack)."""

    app_images = targets.app_images
    DeployError = targets.DeployError
    minikube_installed = staticmethod(targets.minikube_installed)
    minikube_images = staticmethod(targets.minikube_images)

    @staticmethod
    def ensure_images(stack: str) -> None:
        targets.Minikube(stack).put_images()

    @staticmethod
    def not_running(context: str, stack: str) -> targets.DeployError:
        return targets.not_running(context, stack, targets.Places(), "make up STACK=real-node")


@pytest.fixture
def deploy(monkeypatch):
    monkeypatch.delenv("STACK", raising=False)
    return MinikubeCalls


@pytest.fixture
def minikube(tmp_path, monkeypatch):
    """install(**kwargs): the stand-in on PATH (nothing else changed); returns its call log."""
    def install(**kwargs) -> Path:
        log = tmp_path / "minikube-calls"
        install_minikube(tmp_path / "bin", log, **kwargs)
        monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}/usr/bin:/bin")
        return log
    for variable in ("MINIKUBE_PROFILE", "MINIKUBE_IN_STYLE", "MINIKUBE_ACTIVE_DOCKERD"):
        monkeypatch.delenv(variable, raising=False)
    return install


def source_tags(deploy) -> tuple[str, str]:
    return deploy.app_images.reference("backend"), deploy.app_images.reference("frontend")


def test_minikube_installed_is_a_minikube_on_path(deploy, minikube, monkeypatch, tmp_path):
    minikube()
    assert deploy.minikube_installed()
    monkeypatch.setenv("PATH", f"{tmp_path / 'nowhere'}")
    assert not deploy.minikube_installed()


def test_minikube_images_are_those_image_ls_lists_as_app_images_names_them(deploy, minikube):
    log = minikube(images=(TAG, "registry.k8s.io/pause:3.10", "kubernetesui/dashboard:v2.7.0"))
    assert deploy.minikube_images("minikube") == {TAG, "registry.k8s.io/pause:3.10", "docker.io/kubernetesui/dashboard:v2.7.0"}
    assert read_calls(log) == [["--profile", "minikube", "image", "ls"]]


def test_minikube_images_of_no_such_profile_are_none(deploy, minikube):
    minikube(state=NO_PROFILE)
    assert deploy.minikube_images("minikube") is None
    minikube()
    assert deploy.minikube_images("production") is None  # a context that is no minikube profile
    assert deploy.minikube_images(None) is None


def test_minikube_images_of_a_stopped_profile_are_an_empty_set(deploy, minikube):
    minikube(state=STOPPED, images=(TAG,))
    assert deploy.minikube_images("minikube") == set()  # upstream lists nothing and exits 0


def test_up_builds_only_the_image_minikube_lacks_and_then_minikube_has_both(deploy, minikube):
    backend, frontend = source_tags(deploy)
    log = minikube(images=("registry.k8s.io/pause:3.10", backend))
    deploy.ensure_images("dev")
    assert read_calls(log) == [
        ["--profile", "minikube", "image", "ls"],
        ["--profile", "minikube", "image", "build", "-t", frontend, str(ROOT / "frontend")],
        ["--profile", "minikube", "image", "ls"],  # the build's exit code proves nothing: the list does
    ]
    assert deploy.minikube_images("minikube") >= {backend, frontend}


def test_up_builds_nothing_when_minikube_has_both_images(deploy, minikube):
    log = minikube(images=source_tags(deploy))
    deploy.ensure_images("dev")
    assert read_calls(log) == [["--profile", "minikube", "image", "ls"]]


def test_a_failed_build_stops_up_though_minikube_exits_0(deploy, minikube):
    backend, frontend = source_tags(deploy)
    minikube(images=(backend,), failing_builds=(frontend,))
    with pytest.raises(deploy.DeployError) as error:
        deploy.ensure_images("dev")
    assert str(error.value) == (
        f"`minikube image build` exited 0 but minikube profile minikube does not have {frontend} (from frontend/): the build "
        "failed (see its output above) or the profile is not running (`minikube --profile minikube status`)")


def test_a_stopped_profile_stops_up_instead_of_deploying_images_it_lacks(deploy, minikube):
    backend, frontend = source_tags(deploy)
    minikube(state=STOPPED, images=(backend, frontend))
    with pytest.raises(deploy.DeployError, match=f"does not have {backend} .from backend/., {frontend} .from frontend/."):
        deploy.ensure_images("dev")


def test_a_context_that_is_no_minikube_profile_is_told_how_to_supply_the_images(deploy, minikube, monkeypatch, capsys):
    log = minikube()
    monkeypatch.setattr(targets, "stack_config", lambda stack: {"kubernetes:context": "production"})
    deploy.ensure_images("prod")
    assert "kube context 'production' is neither minikube (it is no minikube profile)" in capsys.readouterr().err
    assert read_calls(log) == [["--profile", "production", "image", "ls"]]  # nothing built


def test_the_not_running_advice_is_minikubes_own(deploy, minikube, tmp_path):
    minikube(state=STOPPED)
    status = subprocess.run(["minikube", "status"], capture_output=True, text=True, timeout=30)
    service = subprocess.run(["minikube", *OPEN_COMMAND], capture_output=True, text=True, timeout=30)
    assert status.returncode & 1  # status.go: the host bit
    assert service.stdout.splitlines()[-1] == '  To start a cluster, run: "minikube start"'
    assert str(deploy.not_running("minikube", "dev")).startswith("minikube is not running: `minikube start`")
