"""A stand-in for the user's `minikube` CLI, each of its answers taken from minikube's source.

Pinned to kubernetes/minikube at tag v1.38.1 (the newest release tag; `git show v1.38.1:<path>`
in a clone). Every behaviour below cites the file and function it follows, paths at that tag.

    script = install_minikube(bin_dir, log, state=RUNNING, images=("registry.k8s.io/pause:3.10",))
    # put bin_dir first on PATH; each call appends its argv to `log` (read_calls(log) reads it back)

It models one machine: Linux, the docker driver (rootful, so `driver.NeedsPortForward` is false and
`minikube service` needs no tunnel), minikube's default container runtime there (docker), one node,
no `xdg-open` on PATH (a headless machine), output not to a colour terminal (minikube's 7-bit
"low" prefixes) unless `out.wantsColor` would say otherwise. State (the profiles, their images)
lives in a JSON file beside the script, so `minikube start` and `minikube image build` change what
later calls answer. It answers only what this project runs: `start`, `status`,
`image ls`, `image build -t TAG DIR`, `service NAME [--namespace NS] [--url]`, with the global
`--profile`/`-p` (and MINIKUBE_PROFILE); anything else exits NOT_IMPLEMENTED (64, a code minikube
reserves and never uses: pkg/minikube/reason/exitcodes.go) saying so. It never touches a
kubeconfig or a cluster: tests supply those.

This file is both the installer and the program: install_minikube copies it, with a shebang, as
`<bin_dir>/minikube`, so it must import nothing but the standard library.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import urlparse

MINIKUBE_VERSION = "v1.38.1"
RUNNING, STOPPED, NO_PROFILE = "Running", "Stopped", "NoProfile"  # the states a test can give a profile
DEFAULT_PROFILE = "minikube"  # pkg/minikube/constants/constants.go: DefaultClusterName
DEFAULT_SERVICE_URL = "http://192.168.49.2:30080"  # the docker driver's first node IP, a NodePort
DEFAULT_TARGET_PORT = "http/8080"  # the frontend Service's port as the URL table names it: <name>/<port>
NOT_IMPLEMENTED = 64  # pkg/minikube/reason/exitcodes.go: "Reserve 64 for the moment as it used to be usage"
STATE_FILE = "minikube.state.json"

# pkg/minikube/reason/exitcodes.go and reason.go: the exit codes met here.
EX_PROGRAM_USAGE = 14  # reason.Usage (MK_USAGE); also cobra's unknown command (cmd/minikube/cmd/root.go: Execute)
EX_GUEST_ERROR = 80  # reason.GuestImageBuild (GUEST_IMAGE_BUILD)
EX_GUEST_NOT_RUNNING = 83  # mustload.running: "host is not running"
EX_GUEST_NOT_FOUND = 85  # mustload.Partial: `Profile "<p>" not found`
EX_SVC_NOT_FOUND = 115  # reason.SvcNotFound (SVC_NOT_FOUND)
# cmd/minikube/cmd/status.go: the exit code's bits, right to left.
MINIKUBE_NOT_RUNNING, CLUSTER_NOT_RUNNING, K8S_NOT_RUNNING = 1 << 0, 1 << 1, 1 << 2


def install_minikube(bin_dir: Path, log: Path, *, state: str = RUNNING, images: Iterable[str] = (),
                     service_url: str = DEFAULT_SERVICE_URL, services: Mapping[str, str] | None = None,
                     target_port: str = DEFAULT_TARGET_PORT, profile: str = DEFAULT_PROFILE,
                     failing_builds: Iterable[str] = ()) -> Path:
    """Write an executable `minikube` into `bin_dir` and return its path.

    state: profile `profile` is RUNNING or STOPPED, or NO_PROFILE (no profile at all; `minikube
        start` creates it). Other profiles do not exist until `minikube --profile <p> start`.
    images: what that profile's container runtime holds, as `docker images` names them
        (repository:tag); `image ls` shows them the way minikube does (docker.io/library/...).
    service_url, target_port: the URL and "TARGET PORT" of any service `minikube service` is asked
        for, or with `services` ({"<namespace>/<name>": url}) of those services only.
    failing_builds: tags whose `docker build` fails inside minikube (minikube still exits 0).
    log: each call's argv (without "minikube") is appended to it, one shell-quoted line a call.
    """
    if state not in (RUNNING, STOPPED, NO_PROFILE):
        raise ValueError(f"state is {RUNNING!r}, {STOPPED!r} or {NO_PROFILE!r}, not {state!r}")
    images = list(images)
    if state == NO_PROFILE and images:
        raise ValueError("images need a profile to hold them")
    broken = [normalized_named(tag) for tag in failing_builds]
    if None in broken:
        raise ValueError(f"failing_builds holds an invalid image reference: {list(failing_builds)}")
    bin_dir.mkdir(parents=True, exist_ok=True)
    config = {
        "log": str(Path(log).absolute()),
        "profiles": {} if state == NO_PROFILE else {profile: {"state": state, "images": images}},
        "service_url": service_url,
        "services": None if services is None else dict(services),
        "target_port": target_port,
        "failing_builds": [with_default_tag(name) for name in broken if name],
    }
    (bin_dir / STATE_FILE).write_text(json.dumps(config, indent=1) + "\n")
    script = bin_dir / "minikube"
    # -I: no PYTHON* variables, no user site, so it behaves the same in any test's environment;
    # -S: no site-packages either (the standard library is all it needs), a faster start.
    script.write_text(f"#!{sys.executable} -IS\n" + Path(__file__).read_text())
    script.chmod(0o755)
    return script


def read_calls(log: Path) -> list[list[str]]:
    """The argv of each call the stand-in logged, in order."""
    return [shlex.split(line) for line in log.read_text().splitlines()] if log.exists() else []


# --- image references -----------------------------------------------------------------------

# github.com/distribution/reference (regexp.go), the grammar minikube parses `image build -t` with.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*" \
          r"(?::[0-9]+)?"
_REFERENCE = re.compile(rf"(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::[\w][\w.-]{{0,127}})?"
                        r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?")


def parse_normalized_named(tag: str) -> tuple[str | None, str]:
    """(the name, "") or (None, why not). pkg/minikube/machine/build_images.go: BuildImage normalises
    `-t` with dockerref.ParseNormalizedNamed(tag).String() (github.com/distribution/reference, normalize.go):
    a Docker Hub name gains docker.io/ (and library/ when it has no namespace)."""
    if re.fullmatch(r"[a-f0-9]{64}", tag):
        return None, f"invalid repository name ({tag}), cannot specify 64-byte hexadecimal strings"
    first, slash, rest = tag.partition("/")  # normalize.go: splitDockerDomain
    if not slash or ("." not in first and ":" not in first and first != "localhost" and first.lower() == first):
        domain, remainder = "docker.io", tag
    else:
        domain, remainder = first, rest
    if domain == "index.docker.io":
        domain = "docker.io"
    if domain == "docker.io" and "/" not in remainder:
        remainder = "library/" + remainder
    remote = remainder.split(":", 1)[0]
    if remote.lower() != remote:
        return None, f"invalid reference format: repository name ({remote}) must be lowercase"
    named = f"{domain}/{remainder}"
    return (named, "") if _REFERENCE.fullmatch(named) else (None, "invalid reference format")


def normalized_named(tag: str) -> str | None:
    return parse_normalized_named(tag)[0]


def with_default_tag(named: str) -> str:
    """What `docker images` lists for an image built with `-t <named>`: Docker tags it `latest`
    when the reference names no tag (or digest)."""
    last = named.rsplit("/", 1)[-1]
    return named if ":" in last or "@" in last else f"{named}:latest"


def add_docker_io(name: str) -> str:
    """pkg/minikube/cruntime/docker.go: AddDockerIO (addRegistryPreix), applied by Docker.ListImages
    to each `docker images` Repository:Tag: a name without a registry gains docker.io/ (and library/)."""
    parts = name.split("/", 1)
    if len(parts) > 1 and (any(c in parts[0] for c in ".:") or "localhost" in parts[0]):
        return name
    return f"docker.io/{name}" if len(parts) > 1 else f"docker.io/library/{name}"


# --- output, as pkg/minikube/out prints it ----------------------------------------------------

# pkg/minikube/style/style.go: Config, (Prefix, LowPrefix) of the styles used here.
STYLES = {
    "Happy": ("😄  ", ""), "Ready": ("🏄  ", ""), "Shrug": ("🤷  ", ""), "Celebrate": ("🎉  ", ""),
    "Sad": ("😿  ", ""), "Workaround": ("👉  ", "  "), "URL": ("👉  ", "  "), "Failure": ("❌  ", "X "),
    "Empty": ("", ""),
}


def wants_color() -> bool:
    """pkg/minikube/out/out.go: wantsColor, for stderr (main.go calls SetErrFile last, which sets useColor)."""
    override = os.environ.get("MINIKUBE_IN_STYLE", "")
    if override in ("1", "t", "T", "TRUE", "true", "True"):  # strconv.ParseBool
        return True
    if override in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    if os.environ.get("WT_SESSION"):
        return True
    term, colorterm = os.environ.get("TERM", ""), os.environ.get("COLORTERM", "")
    if "color" not in term and not any(word in colorterm for word in ("truecolor", "24bit", "yes")):
        return False
    return os.isatty(2)


def styled(style: str, text: str) -> str:
    """pkg/minikube/out/out_style.go: applyStyle: the style's prefix (style.LowPrefix without
    colour: its LowPrefix, else "  " for an indented prefix, else "* "), the text, a newline."""
    prefix, low = STYLES[style]
    if not wants_color():
        prefix = low or ("  " if prefix.startswith("  ") else "* ")
    return f"{prefix}{text}\n"


def say(style: str, text: str) -> None:
    """out.Styled / out.Step: to stdout."""
    sys.stdout.write(styled(style, text))


class Exit(Exception):
    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


class NotImplementedHere(Exception):
    pass


def exit_message(kind_id: str, code: int, message: str, issue_link: bool = False) -> Exit:
    """pkg/minikube/exit/exit.go: Message (and Error, which adds the new-issue link), printed by
    pkg/minikube/out/out_reason.go: displayText: an empty line on stdout, "Exiting due to <ID>: <msg>"
    in the Failure style on stderr, an empty line on stdout. The GitHub-issue box that Error adds
    after an Empty-style line (out.displayGitHubIssueMessage) names a log file the stand-in does not
    write, so it is left out."""
    sys.stdout.write("\n")
    sys.stderr.write(styled("Failure", f"Exiting due to {kind_id}: {message}"))
    if issue_link:
        sys.stderr.write(styled("Empty", ""))
    sys.stdout.write("\n")
    return Exit(code)


def example_command(profile: str, action: str) -> str:
    """pkg/minikube/mustload/mustload.go: ExampleCmd."""
    return f"minikube {action}" if profile == DEFAULT_PROFILE else f"minikube {action} -p {profile}"


def exit_tip(profile: str, code: int) -> Exit:
    """pkg/minikube/mustload/mustload.go: exitTip("start", ...): the Workaround line on stdout, then the code."""
    say("Workaround", f'To start a cluster, run: "{example_command(profile, "start")}"')
    return Exit(code)


def service_table(rows: list[list[str]]) -> str:
    """pkg/minikube/service/service.go: PrintServiceList: tablewriter (v1.1.3, go.mod) with its
    defaults and WithHeaderAutoFormat: upper-case headers centred (the odd space on the right:
    cmd/minikube/cmd/config/addons_list_test.go), cells left-aligned, one space of padding."""
    header = ["NAMESPACE", "NAME", "TARGET PORT", "URL"]
    widths = [max([len(title)] + [len(row[i]) for row in rows]) for i, title in enumerate(header)]

    def rule(left: str, middle: str, right: str) -> str:
        return left + middle.join("─" * (width + 2) for width in widths) + right

    def centred(text: str, width: int) -> str:
        left = (width - len(text)) // 2
        return " " * left + text + " " * (width - len(text) - left)

    lines = [rule("┌", "┬", "┐"), "│" + "│".join(f" {centred(t, w)} " for t, w in zip(header, widths, strict=True)) + "│",
             rule("├", "┼", "┤")]
    lines += ["│" + "│".join(f" {cell.ljust(w)} " for cell, w in zip(row, widths, strict=True)) + "│" for row in rows]
    lines.append(rule("└", "┴", "┘"))
    return "\n".join(lines) + "\n"


# --- the command line, as cobra and pflag read it -------------------------------------------

# Each flag the stand-in knows: name -> (shorthand, takes a value).
FLAGS = {
    "profile": ("p", True),  # cmd/minikube/cmd/root.go: init: RootCmd.PersistentFlags().StringP(config.ProfileName, "p", ...)
    "format": ("", True),  # cmd/minikube/cmd/image.go: init: listImageCmd.Flags().StringVar(&format, "format", "short", ...)
    "tag": ("t", True),  # image.go: init: buildImageCmd.Flags().StringVarP(&tag, "tag", "t", "", ...)
    "file": ("f", True),  # image.go: init: buildImageCmd.Flags().StringVarP(&dockerFile, "file", "f", "", ...)
    "namespace": ("n", True),  # cmd/minikube/cmd/service.go: init: StringVarP(&namespace, "namespace", "n", "default", ...)
    "url": ("", False),  # service.go: init: BoolVar(&serviceURLMode, "url", false, ...)
}
SHORTHANDS = {short: name for name, (short, _) in FLAGS.items() if short}
# The commands answered, with the flags each takes besides the global --profile. (`-n` of
# `image build` is --node upstream, `-f` of `status` is --format: both refused as not implemented.)
COMMANDS: dict[tuple[str, ...], set[str]] = {
    ("start",): set(), ("status",): set(), ("image", "ls"): {"format"}, ("image", "build"): {"tag", "file"},
    ("service",): {"namespace", "url"},
}
IMAGE_ALIASES = {"list": "ls"}  # image.go: listImageCmd Aliases


def parse(argv: list[str]) -> tuple[tuple[str, ...], dict[str, str], list[str]]:
    """(command, flag values, arguments). pflag's forms: --name value, --name=value, -x value, -xvalue,
    -x=value; flags anywhere (persistent ones before the command too); "--" ends them."""
    values: dict[str, str] = {}
    given: list[tuple[str, str]] = []
    words: list[str] = []
    command: tuple[str, ...]  # ("start",), ("image", "load"): as COMMANDS keys them
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            words += argv[i:]
            break
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            shown = f"--{name}"
        elif arg.startswith("-") and arg != "-":
            shown, value = arg[:2], arg[2:]
            eq = "=" if value else ""
            value = value.removeprefix("=")
            name = SHORTHANDS.get(arg[1], shown)
        else:
            words.append(arg)
            continue
        if name not in FLAGS:
            raise NotImplementedHere(f"the flag {shown}")
        if FLAGS[name][1] and not eq:
            if i == len(argv):
                raise NotImplementedHere(f"{shown} without a value")
            value, i = argv[i], i + 1
        elif not FLAGS[name][1] and not eq:
            value = "true"
        values[name] = value
        given.append((name, shown))
    if words[:1] == ["image"] and len(words) > 1:
        command, args = ("image", IMAGE_ALIASES.get(words[1], words[1])), words[2:]
    elif words:
        command, args = (words[0],), words[1:]
    else:
        raise NotImplementedHere("minikube without a command")
    if command not in COMMANDS:
        raise NotImplementedHere(f"`minikube {' '.join(command)}`")
    for name, shown in given:
        if name != "profile" and name not in COMMANDS[command]:
            raise NotImplementedHere(f"{shown} of `minikube {' '.join(command)}`")
    return command, values, args


def go_bool(value: str) -> bool:
    """strconv.ParseBool, as pflag reads --url=<value>."""
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise NotImplementedHere(f"--url={value}")


# --- the commands -----------------------------------------------------------------------------

class Minikube:
    def __init__(self, config: dict, values: dict[str, str], args: list[str]):
        self.config, self.values, self.args = config, values, args
        self.profiles: dict[str, dict] = config["profiles"]
        # root.go: the persistent --profile, bound to viper (viper.BindPFlags), with
        # setupViper's SetEnvPrefix("MINIKUBE") + AutomaticEnv: MINIKUBE_PROFILE when the flag is not given.
        self.profile = values["profile"] if "profile" in values else (
            os.environ.get("MINIKUBE_PROFILE") or DEFAULT_PROFILE)

    def loaded_profile(self) -> dict:
        """image.go: each image command starts with config.LoadProfile(viper.GetString(config.ProfileName))
        and on an error exit.Error(reason.Usage, "loading profile", err); the error of a missing one
        is pkg/minikube/config/config.go: simpleConfigLoader.LoadConfigFromFile's
        `cluster "<p>" does not exist`."""
        if self.profile not in self.profiles:
            raise exit_message("MK_USAGE", EX_PROGRAM_USAGE,
                               f'loading profile: cluster "{self.profile}" does not exist', issue_link=True)
        return self.profiles[self.profile]

    def partial(self) -> dict:
        """pkg/minikube/mustload/mustload.go: Partial: a missing profile is
        `Profile "<p>" not found. Run "minikube profile list" to view all profiles.` (style Shrug,
        stdout), then exitTip("start", ...) with reason.ExGuestNotFound (85)."""
        if self.profile not in self.profiles:
            say("Shrug", f'Profile "{self.profile}" not found. Run "minikube profile list" to view all profiles.')
            raise exit_tip(self.profile, EX_GUEST_NOT_FOUND)
        return self.profiles[self.profile]

    def start(self) -> int:
        """cmd/minikube/cmd/start.go: runStart. Its first line is displayVersion's
        "{{.prefix}}minikube {{.version}} on {{.platform}}" (prefix "[<p>] " for a profile other than
        minikube), its last showKubectlInfo's `Done! kubectl is now configured to use "<p>" cluster
        and "default" namespace by default`. What happens between (the driver, the node, kubeconfig)
        the stand-in skips: the profile is created if need be and is Running."""
        if self.args:
            raise NotImplementedHere("arguments to `minikube start`")
        prefix = "" if self.profile == DEFAULT_PROFILE else f"[{self.profile}] "
        say("Happy", f"{prefix}minikube {MINIKUBE_VERSION} on {platform()}")
        self.profiles.setdefault(self.profile, {"images": []})["state"] = RUNNING
        say("Ready", f'Done! kubectl is now configured to use "{self.profile}" cluster and "default" namespace by default')
        return 0

    def status(self) -> int:
        """cmd/minikube/cmd/status.go: statusCmd (mustload.Partial, so no profile: exit 85), then
        defaultStatusFormat for the node of pkg/minikube/cluster/status.go: NodeStatus (a host that
        is not running gives its state to kubelet, apiserver and kubeconfig too), and os.Exit(exitCode(...)):
        1 (host) | 2 (kubelet or apiserver) | 4 (kubeconfig) for what is not Running/Configured."""
        if self.args:
            raise NotImplementedHere("arguments to `minikube status`")
        state = self.partial()["state"]
        running = state == RUNNING
        host, kubelet, apiserver = (state,) * 3
        kubeconfig = "Configured" if running else state
        text = (f"{self.profile}\ntype: Control Plane\nhost: {host}\nkubelet: {kubelet}\n"
                f"apiserver: {apiserver}\nkubeconfig: {kubeconfig}\n")
        # NodeStatus marks DockerEnv / PodManEnv "in-use" (a running host only) from
        # pkg/minikube/constants/constants.go: MinikubeActiveDockerdEnv / MinikubeActivePodmanEnv.
        for line, variable in (("docker-env", "MINIKUBE_ACTIVE_DOCKERD"), ("podman-env", "MINIKUBE_ACTIVE_PODMAN")):
            if running and os.environ.get(variable):
                text += f"{line}: in-use\n"
        sys.stdout.write(text + "\n")
        code = 0
        if host != RUNNING:
            code |= MINIKUBE_NOT_RUNNING
        if apiserver != RUNNING or kubelet != RUNNING:
            code |= CLUSTER_NOT_RUNNING
        if kubeconfig != "Configured":
            code |= K8S_NOT_RUNNING
        return code

    def image_ls(self) -> int:
        """cmd/minikube/cmd/image.go: listImageCmd -> pkg/minikube/machine/cache_images.go: ListImages.
        Only a Running node is asked (a stopped profile lists nothing, exit 0); the "short" format
        (the default, and what any value but table/json/yaml gets) prints every RepoTag in reverse
        sorted order, one a line, then a newline: a single empty line when there are none. The
        RepoTags are pkg/minikube/cruntime/docker.go: Docker.ListImages's, AddDockerIO applied."""
        if self.args:
            raise NotImplementedHere("arguments to `minikube image ls`")
        image_format = self.values.get("format", "short")
        if image_format in ("table", "json", "yaml"):
            raise NotImplementedHere(f"--format {image_format} of `minikube image ls`")
        profile = self.loaded_profile()
        tags = [add_docker_io(image) for image in profile["images"]] if profile["state"] == RUNNING else []
        sys.stdout.write("\n".join(sorted(tags, reverse=True)) + "\n")
        return 0

    def image_build(self) -> int:
        """cmd/minikube/cmd/image.go: buildImageCmd -> pkg/minikube/machine/build_images.go: BuildImage.
        No PATH: exit.Message(reason.Usage, "Please provide a path or url to build"). The tag is
        normalised (dockerref.ParseNormalizedNamed; invalid: exit.Error(reason.GuestImageBuild,
        "Failed to build image", ...), 80). Then only a Running control-plane node builds, and a
        node whose build fails (a missing directory, docker build failing) is only logged:
        BuildImage returns nil, so `minikube image build` exits 0 whether anything was built or not
        (upstream issues #12556, #16576). Docker's own build output (streamed by cruntime's
        Docker.BuildImage) is not imitated."""
        if not self.args:
            raise exit_message("MK_USAGE", EX_PROGRAM_USAGE, "Please provide a path or url to build")
        profile = self.loaded_profile()
        source = self.args[0]  # the only one read: further arguments are ignored, as upstream
        if source == "-":
            raise NotImplementedHere("`minikube image build -` (a context on stdin)")
        if urlparse(source).scheme:
            raise NotImplementedHere(f"a remote build context ({source})")
        context = Path(source)
        if context.exists() and not context.is_dir():
            raise NotImplementedHere(f"a tar archive as build context ({source})")
        tag = self.values.get("tag", "")
        named, invalid = parse_normalized_named(tag) if tag else (None, "")
        if invalid:
            raise exit_message("GUEST_IMAGE_BUILD", EX_GUEST_ERROR,
                               f'Failed to build image: couldn\'t parse image reference "{tag}": {invalid}', issue_link=True)
        dockerfile = self.values.get("file") or "Dockerfile"
        if os.path.isabs(dockerfile):  # build_images.go: transferAndBuildImage: an absolute -f is a path in the node
            raise NotImplementedHere("an absolute --file")
        if profile["state"] != RUNNING:
            return 0  # BuildImage: a node whose status is not Running is skipped, silently
        if not context.is_dir():
            return 0  # transferAndBuildImage: os.Stat fails, BuildImage logs it and returns nil
        image = with_default_tag(named) if named else "<none>:<none>"  # an untagged build: docker's <none>
        if not (context / dockerfile).is_file() or image in self.config["failing_builds"]:
            sys.stderr.write(f"[minikube stand-in] docker build of {source} fails here; minikube "
                             f"{MINIKUBE_VERSION} exits 0 all the same (build_images.go: BuildImage)\n")
            return 0
        held = profile["images"]
        if named:  # the tag moves to the new image
            held[:] = [old for old in held if add_docker_io(old) != image]
        held.append(image)
        return 0

    def service(self) -> int:
        """cmd/minikube/cmd/service.go: serviceCmd. No name: exit.Message(reason.Usage, ...).
        mustload.Healthy: no profile, exit 85; a host not running, `The control-plane node <p> host is
        not running: state=<state>` and exitTip, 83. A name not in the namespace (--namespace/-n,
        default "default"): reason.SvcNotFound, 115. Then for each service
        pkg/minikube/service/service.go: WaitForService prints PrintServiceList's table unless --url;
        with --url the URLs are printed one a line. Without --url (and no port forward: the docker
        driver on Linux) openURLs prints "Opening service <ns>/<name> in default browser..." and
        pkg/minikube/browser/browser.go: OpenURL, finding no xdg-open on Linux, prints the URL
        (style URL) instead of opening it; exit 0."""
        if not self.args:
            raise exit_message("MK_USAGE", EX_PROGRAM_USAGE, "You must specify service name(s) or --all")
        state = self.partial()["state"]
        if state != RUNNING:
            say("Shrug", f"The control-plane node {self.profile} host is not running: state={state}")
            raise exit_tip(self.profile, EX_GUEST_NOT_RUNNING)
        namespace = self.values.get("namespace", "default")
        url_mode = go_bool(self.values.get("url", "false"))
        services = self.config["services"]
        exists = (lambda name: True) if services is None else (lambda name: f"{namespace}/{name}" in services)
        found = sorted({name for name in self.args if exists(name)})  # in the API's order: by name
        if not found:
            name = self.args[0]
            raise exit_message("SVC_NOT_FOUND", EX_SVC_NOT_FOUND,
                               f"Service '{name}' was not found in '{namespace}' namespace.\nYou may select another "
                               f"namespace by using 'minikube service {name} -n <namespace>'. Or list out all the "
                               "services using 'minikube service list'")
        rows = []
        for name in found:
            url = self.config["service_url"] if services is None else services[f"{namespace}/{name}"]
            row = [namespace, name, self.config["target_port"], url]
            rows.append(row)
            if url_mode:
                sys.stdout.write(f"{url}\n")
            else:
                sys.stdout.write(service_table([row]))
        if not url_mode:
            for _, name, _, url in rows:
                say("Celebrate", f"Opening service {namespace}/{name} in default browser...")
                say("URL", url)  # browser.go: OpenURL: no xdg-open on PATH
        return 0


def platform() -> str:
    """cmd/minikube/cmd/start.go: platform: "<Distro> <version>" from the host's OS release."""
    try:
        release = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
    except OSError:
        return "linux"
    return f"{release.get('ID', 'linux').strip(chr(34)).title()} {release.get('VERSION_ID', '').strip(chr(34))}".strip()


def main(argv: list[str], state_file: Path | None = None) -> int:
    state_file = state_file or Path(__file__).resolve().with_name(STATE_FILE)
    config = json.loads(state_file.read_text())
    with open(config["log"], "a") as log:
        log.write(shlex.join(argv) + "\n")
    try:
        command, values, args = parse(argv)
        minikube = Minikube(config, values, args)
        handler = {("start",): minikube.start, ("status",): minikube.status, ("image", "ls"): minikube.image_ls,
                   ("image", "build"): minikube.image_build, ("service",): minikube.service}[command]
        code = handler()
    except Exit as stop:
        code = stop.code
    except NotImplementedHere as what:
        sys.stderr.write(f"minikube stand-in (tests/support/minikube.py, after minikube {MINIKUBE_VERSION}) does not "
                         f"implement {what}: `minikube {shlex.join(argv)}`\n")
        return NOT_IMPLEMENTED
    temporary = state_file.with_suffix(".tmp")
    temporary.write_text(json.dumps(config, indent=1) + "\n")
    temporary.replace(state_file)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
