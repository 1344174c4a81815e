#!/usr/bin/env python3
"""`make up` / `make preview` / `make down`: `pulumi` on the right stack and cluster.

    tools/deploy up        deploy; prints the stack outputs and how to reach the shop
    tools/deploy preview   `pulumi preview --diff` with the guardrails (policy/)
    tools/deploy down      remove what `make up` deployed, wherever it went (and the
                           sandbox clusters that run, whoever started them)
    tools/deploy logs      follow both apps' logs where `make up` deployed (tools/logs.py)

Tools: your `pulumi` and `kubectl` when PATH has them, else the sandbox's
(tools/toolset.py decides, in one place). Where: a Target (tools/targets.py picks it: the
stack's own kube context, minikube included, when it answers; else the sandbox's embedded
cluster, sandbox/targets.py, announced first). STACK=<name> picks a stack. These verbs hold
the target without asking which one it is.

State goes to the backend your `pulumi` is logged into; when it is logged in
nowhere, to the local one in ~/.pulumi, without changing your login. The
passphrase (for a backend that encrypts with one) is PULUMI_CONFIG_PASSPHRASE(_FILE),
else the one the README's walkthrough uses (tools/toolset.py: DEFAULT_PASSPHRASE); the stacks
whose files carry a committed salt (dev and the sandbox's) always use that one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sandbox import targets as sandbox_targets
from tools.logs import Follower
from tools.targets import DEFAULT_STACK, DeployError, Places, Target, detect, not_running, say, stack_context
from tools.toolset import (
    DEFAULT_PASSPHRASE,
    POLICY_PACK,
    Tools,
    ToolsError,
    find_tools,
    install_policy_pack,
    logged_in,
    pulumi,
)


def guardrails(stack: str) -> list[str]:
    """The policy pack, with the stack's own pack config (policy/<stack>.json) where there is one."""
    args = ["--policy-pack", str(POLICY_PACK)]
    config = POLICY_PACK / f"{stack}.json"
    return args + ["--policy-pack-config", str(config)] if config.exists() else args


class Pulumi:
    """The chosen `pulumi` on one target's stack, with its backend and passphrase settled."""

    def __init__(self, tools: Tools, target: Target, runner: Callable[..., subprocess.CompletedProcess] = pulumi):
        self.tools, self.target, self.stack, self.runner = tools, target, target.stack, runner
        self.env = tools.env(extra=target.env())
        if not logged_in(self.env):
            self.env["PULUMI_BACKEND_URL"] = "file://~"
            say("your pulumi is logged in nowhere: state goes to the local backend (~/.pulumi); your login is unchanged")
        if target.fixed_passphrase:
            # Stacks with no secrets: always the fixed local passphrase, which matches the
            # encryption salt committed in their Pulumi.<stack>.yaml (so selecting one writes nothing).
            self.env.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
            self.env["PULUMI_CONFIG_PASSPHRASE"] = DEFAULT_PASSPHRASE

    def __call__(self, *args: str, capture: bool = False) -> subprocess.CompletedProcess:
        """Shown as it goes (preview, up, destroy), or with `capture` read by us (stack output)."""
        proc = self.runner(*args, "--stack", self.stack, env=self.env, tools=self.tools, check=False, timeout=None,
                           stream=not capture)
        if proc.returncode != 0:
            said = (proc.stderr or "").strip()[-2000:] if capture else "see above"
            raise DeployError(f"`pulumi {' '.join(args)} --stack {self.stack}` failed (exit {proc.returncode}): {said}")
        return proc

    def select(self, create: bool = True) -> bool:
        """Select the stack (created the first time; its config is Pulumi.<stack>.yaml). False: absent.
        Absent, but there under its former name: an error with the commands, never a second stack."""
        if self._pulumi("stack", "select", self.stack).returncode == 0:
            return True
        former = self.target.former_stack
        if former and self._pulumi("stack", "select", former).returncode == 0:
            raise DeployError(f"stack {former} is what an earlier version called {self.stack}: `pulumi stack rename "
                              f"{self.stack} --stack {former}` keeps its state under the new name (or `pulumi stack rm "
                              f"--force {former}` drops it), then run this again")
        if not create:
            return False
        proc = self._pulumi("stack", "select", "--create", self.stack)
        if proc.returncode != 0:
            raise DeployError(f"`pulumi stack select --create {self.stack}` failed: {proc.stderr.strip()}")
        return True

    def _pulumi(self, *args: str) -> subprocess.CompletedProcess:
        return self.runner(*args, env=self.env, tools=self.tools, check=False, timeout=None)


def up_or_preview(action: str, places: Places) -> None:
    tools = find_tools(install=False)  # a user's pulumi older than the floor stops us before any start or build
    target = detect(action, os.environ.get("STACK"), places, sandbox_targets.REAL_NODE_VERB)
    run = Pulumi(find_tools() if tools.sandbox else tools, target)  # the sandbox's: built now if need be
    run.select()
    say(f"{action}: stack {target.stack}, kube context {target.context}, {run.tools.pulumi}")
    install_policy_pack(run.tools, run.env)
    if action == "preview":
        run("preview", "--diff", *guardrails(target.stack))
        return
    # The plan and the guardrails' verdict need only the source (the image tags are digests of
    # it), so the preview runs while the images are built; the update then skips a second preview.
    with ThreadPoolExecutor(1) as pool:
        images = pool.submit(target.put_images)
        try:
            run("preview", *guardrails(target.stack))
        finally:
            images.result()
    run("up", "--yes", "--skip-preview", *guardrails(target.stack))
    outputs = json.loads(run("stack", "output", "--json", capture=True).stdout)
    target.verify(outputs, run.env)
    target.describe(outputs)


def logs(places: Places) -> None:
    """Follow the shop's logs where `make up` deployed it; starts nothing."""
    target = detect("logs", os.environ.get("STACK"), places, sandbox_targets.REAL_NODE_VERB)
    run = Pulumi(find_tools(install=False), target)
    if not run.select(create=False):
        raise DeployError(f"stack {target.stack} does not exist: `make up` first")
    namespace = json.loads(run("stack", "output", "--json", capture=True).stdout).get("namespace")
    if not namespace:
        raise DeployError(f"stack {target.stack} has deployed nothing yet: `make up` first")
    say(f"following the shop's logs in {target.context}/{namespace} (Ctrl-C stops)")
    try:
        Follower(target, namespace, run.env).follow()
    except KeyboardInterrupt:
        pass


def remove(target: Target) -> None:
    run = Pulumi(find_tools(), target)
    if run.select(create=False):
        run("destroy", "--yes")
    else:
        say(f"stack {target.stack} does not exist in this backend: nothing to remove there")
    target.after_destroy()


def down(places: Places) -> None:
    """Destroy what `make up` deployed, wherever it went: the stacks of running embedded
    clusters (then those clusters stop) and the stack of a context that answers."""
    explicit = os.environ.get("STACK")
    removed = False
    for stack in places.sandbox_stacks:
        running = places.running(stack) if explicit in (None, stack) else None
        if running is not None:
            remove(running)
            removed = True
    if explicit in places.sandbox_stacks:
        if not removed:
            say(f"the cluster of stack {explicit} is not running: nothing to remove")
        return
    stack = explicit or DEFAULT_STACK
    context = stack_context(stack)
    if places.reachable(context):
        remove(places.yours(stack))
    elif not removed:
        if explicit or places.context_exists(context) or (context == "minikube" and places.minikube_installed()):
            raise not_running(context, stack, places, sandbox_targets.REAL_NODE_VERB)
        say(f"nothing to remove: no embedded cluster runs and there is no kube context {context!r}")


def main(argv: list[str], places: Places | None = None) -> int:
    if len(argv) != 1 or argv[0] not in ("up", "preview", "down", "logs"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        places = places or sandbox_targets.places()
        if argv[0] == "down":
            down(places)
        elif argv[0] == "logs":
            logs(places)
        else:
            up_or_preview(argv[0], places)
    except (DeployError, ToolsError) as exc:
        print(f"tools/deploy: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
