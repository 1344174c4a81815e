"""The real Pulumi engine and kubernetes provider run the program (render mode, no cluster).

Every command is the CLI a user runs, offline (tests/support/stacks.py: Stack): our
toolchain on PATH, a throwaway file:// state backend, a stack config file
outside the repo. Assertions read the engine's structured output.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.support.stacks import Stack, changed
from tools.toolset import PULUMI_FLOOR, ROOT, find_tools, install_policy_pack, parse_version, pulumi

pytestmark = pytest.mark.engine

KUBERNETES_VERSION = "1.36"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The dev stack, deployed by the real engine in render mode."""
    tmp = tmp_path_factory.mktemp("engine")
    out_dir = tmp / "rendered"
    stack = Stack(tmp, "engine-test", renderDir=str(out_dir))
    stack.up()
    return stack, out_dir


def documents(out_dir: Path) -> list[dict]:
    docs: list[dict] = []
    for path in sorted(out_dir.rglob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


def test_render_writes_every_object(rendered):
    _, out_dir = rendered
    kinds = sorted((d["kind"], d["metadata"]["name"]) for d in documents(out_dir))
    assert kinds == sorted(
        [
            ("Namespace", "python-shop"),
            ("ServiceAccount", "python-shop-backend"),
            ("Deployment", "python-shop-backend"),
            ("Service", "python-shop-backend-service"),
            ("ConfigMap", "python-shop-frontend-config"),
            ("ServiceAccount", "python-shop-frontend"),
            ("Deployment", "python-shop-frontend"),
            ("Service", "python-shop-frontend-service"),
            ("NetworkPolicy", "python-shop-default-deny-ingress"),
            ("NetworkPolicy", "python-shop-backend-from-frontend"),
            ("NetworkPolicy", "python-shop-frontend-from-anywhere"),
        ]
    )


def test_rendered_manifests_are_valid_kubernetes(rendered):
    _, out_dir = rendered
    for doc in documents(out_dir):
        # strict: an unknown (misspelled) field is an error, not ignored
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_rendered_config_names_the_rendered_backend_service(rendered):
    _, out_dir = rendered
    docs = documents(out_dir)
    service = next(d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "python-shop-backend-service")
    config_map = next(d for d in docs if d["kind"] == "ConfigMap")
    match = re.fullmatch(r'BACKEND_URI = "http://([^.]+)\.([^.]+)\.svc:(\d+)"\n', config_map["data"]["config.cfg"])
    assert match, config_map["data"]["config.cfg"]
    name, namespace, port = match.groups()
    assert (name, namespace, int(port)) == (
        service["metadata"]["name"],
        service["metadata"]["namespace"],
        service["spec"]["ports"][0]["port"],
    )


def test_a_second_preview_reports_no_changes(rendered):
    stack, _ = rendered
    assert changed(stack.steps()) == {}


def test_backend_port_change_updates_the_config_map_and_service_in_place(rendered, tmp_path):
    stack, _ = rendered
    stack.write_config(backendPort=9090)
    try:
        steps = stack.steps("--diff")
        assert changed(steps) == {"python-shop-frontend-config": "update", "python-shop-backend-service": "update"}
        diff = stack.cli("preview", "--diff").stdout  # what the user reads
        (tmp_path / "backend-port.diff").write_text(diff)
        assert "9090" in diff
    finally:
        stack.write_config(backendPort=None)


def test_new_backend_image_tag_updates_only_the_backend_deployment(rendered):
    stack, _ = rendered
    stack.write_config(backendImage="python-shop-backend:0.2.0")
    try:
        assert changed(stack.steps()) == {"python-shop-backend": "update"}
    finally:
        stack.write_config(backendImage=None)


def test_a_bad_setting_fails_the_preview_with_the_settings_message(rendered):
    stack, _ = rendered
    stack.write_config(backendReplicas=0)
    try:
        proc = stack.cli("preview", check=False)
        assert proc.returncode != 0
        output = proc.stdout + proc.stderr
        assert "python-shop:backendReplicas is '0'; it must be an integer from 1 to 50" in output
        assert "Traceback" not in output
    finally:
        stack.write_config(backendReplicas=None)


def test_pulumi_config_shows_every_setting_with_its_declared_default(rendered):
    stack, _ = rendered
    shown = {k: v["value"] for k, v in json.loads(stack.cli("config", "--json").stdout).items()}
    # The stack file names only the context and renderDir; the rest is Pulumi.yaml's defaults.
    assert shown["python-shop:namespace"] == "python-shop"
    assert shown["python-shop:backendReplicas"] == "1"
    assert shown["python-shop:backendPort"] == "8080"
    assert shown["python-shop:frontendServiceType"] == "NodePort"
    assert shown["python-shop:networkPolicies"] == "true"
    assert shown["python-shop:backendImage"] == ""


def test_the_engine_refuses_a_setting_of_the_wrong_type_naming_it(rendered):
    stack, _ = rendered
    stack.write_config(backendReplicas="two")
    try:
        proc = stack.cli("preview", check=False)
        assert proc.returncode != 0
        assert "configuration key 'backendReplicas' must be of type 'integer'" in proc.stdout + proc.stderr
    finally:
        stack.write_config(backendReplicas=None)


def test_the_pulumi_cli_is_the_users_or_else_the_pinned_sandbox_build():
    tools = find_tools(install=False)
    out = pulumi("version", env=tools.env(), tools=tools).stdout.strip()
    if tools.sandbox:
        assert out == "v3.259.0"
    else:  # your own, as installed, no older than the floor
        version = parse_version(out)
        assert version is not None, out
        assert version >= PULUMI_FLOOR


# --- the policy pack, run by the engine (`pulumi preview --policy-pack policy/`) ------------

POLICY_PACK = str(ROOT / "policy")


def policy_preview(stack: Stack, *args: str):
    return stack.cli("preview", "--policy-pack", POLICY_PACK, *args, check=False)


@pytest.fixture(scope="module")
def policy_stacks(tmp_path_factory):
    """The dev stack and the production-like one, each in render mode (no cluster needed)."""
    stacks = {}
    for base in ("dev", "prod"):
        tmp = tmp_path_factory.mktemp(f"policy-{base}")
        stacks[base] = Stack(tmp, f"policy-{base}", base=base, renderDir=str(tmp / "rendered"))
    install_policy_pack(stacks["dev"].tools, stacks["dev"].env)  # policy/venv, as `make test` makes it first
    return stacks


def test_the_policy_pack_passes_the_dev_stack(policy_stacks):
    proc = policy_preview(policy_stacks["dev"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "python-shop-guardrails" in proc.stdout  # the pack really ran


def test_the_policy_pack_passes_the_production_like_stack(policy_stacks):
    # prod uses a LoadBalancer: allowed because the pack's config says the target is not minikube.
    proc = policy_preview(policy_stacks["prod"], "--policy-pack-config", str(ROOT / "policy" / "prod.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_policy_pack_refuses_a_load_balancer_on_minikube(policy_stacks):
    proc = policy_preview(policy_stacks["prod"])  # default pack config: target minikube
    assert proc.returncode != 0
    assert "no-load-balancer-on-minikube" in proc.stdout
    assert "python-shop-frontend-service" in proc.stdout


def test_without_network_policies_the_coverage_policy_refuses_until_turned_off(policy_stacks):
    stack = policy_stacks["dev"]
    stack.write_config(networkPolicies="false")
    try:
        refused = policy_preview(stack)
        assert refused.returncode != 0
        assert "deployments-covered-by-network-policy" in refused.stdout
        assert "Deployment python-shop/python-shop-backend is not selected by any NetworkPolicy" in refused.stdout
        allowed = policy_preview(stack, "--policy-pack-config", str(ROOT / "policy" / "no-network-policies.json"))
        assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    finally:
        stack.write_config(networkPolicies=None)


def test_the_prod_pack_config_refuses_a_prod_stack_without_budgets(policy_stacks, tmp_path):
    # An edited copy of the program whose web services never declare a budget: the replicas rules are
    # advisory by default, mandatory under policy/prod.json, which the prod stack is previewed with.
    program = tmp_path / "no-budgets"
    shutil.copytree(ROOT / "infra", program / "infra", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "Pulumi.yaml", program)
    (program / ".venv").symlink_to(ROOT / ".venv")
    web_service = program / "infra" / "web_service.py"
    edited = web_service.read_text().replace("BUDGET_MIN_REPLICAS = 2\n", "BUDGET_MIN_REPLICAS = 99\n")
    assert edited != web_service.read_text()
    web_service.write_text(edited)
    stack = policy_stacks["prod"]

    refused = stack.cli("preview", "--policy-pack", POLICY_PACK, "--policy-pack-config",
                        str(ROOT / "policy" / "prod.json"), check=False, cwd=program)
    assert refused.returncode != 0
    assert "mandatory" in refused.stdout and "replicas-have-a-disruption-budget" in refused.stdout
    for app, replicas in (("backend", 2), ("frontend", 3)):  # Pulumi.prod.yaml's
        assert (f"Deployment python-shop/python-shop-{app} runs {replicas} replicas and no PodDisruptionBudget"
                in refused.stdout), refused.stdout[-4000:]

    # The same without prod.json's levels (a cluster target only): reported, advisory, and let through.
    cluster_only = tmp_path / "cluster-only.json"
    cluster_only.write_text(json.dumps({"no-load-balancer-on-minikube": {"target": "cluster"}}))
    advised = stack.cli("preview", "--policy-pack", POLICY_PACK, "--policy-pack-config", str(cluster_only),
                        check=False, cwd=program)
    assert advised.returncode == 0, advised.stdout[-4000:] + advised.stderr[-2000:]
    assert "advisory" in advised.stdout and "replicas-have-a-disruption-budget" in advised.stdout


def test_the_policy_pack_refuses_a_latest_image(policy_stacks):
    """The settings module refuses `:latest` too; the policy is the last line for programs that skip it."""
    proc = preview_other_program(policy_stacks["dev"], "latest", {"image": "python-shop-backend:latest"})
    assert proc.returncode != 0
    assert "images-explicit-tag" in proc.stdout
    assert "python-shop-backend" in proc.stdout and "latest" in proc.stdout


def test_the_policy_pack_refuses_containers_without_limits(policy_stacks):
    proc = preview_other_program(policy_stacks["dev"], "no-limits", {
        "image": "python-shop-backend:1.0.0", "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}})
    assert proc.returncode != 0
    assert "containers-limits-and-probes" in proc.stdout
    assert "container 'python-shop-backend' lacks resources.limits.cpu, resources.limits.memory" in proc.stdout


# Another team's program, which never went through the shop's settings or WebService:
# one Deployment, rendered (no cluster), under the same policy pack.
OTHER_PROGRAM = """\
import pulumi
import pulumi_kubernetes as k8s

render = k8s.Provider("render", render_yaml_to_directory={out!r})
labels = {{"app": "python-shop-backend"}}
k8s.apps.v1.Deployment(
    "python-shop-backend",
    metadata={{"name": "python-shop-backend", "namespace": "python-shop"}},
    spec={{"selector": {{"matchLabels": labels}}, "template": {{"metadata": {{"labels": labels}},
          "spec": {{"containers": [{{"name": "python-shop-backend", **{container!r}}}]}}}}}},
    opts=pulumi.ResourceOptions(provider=render),
)
"""


def preview_other_program(stack: Stack, name: str, container: dict):
    program = Path(stack.config_file).parent / f"program-{name}"
    program.mkdir(exist_ok=True)
    (program / "Pulumi.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "python-shop",
                "runtime": {"name": "python", "options": {"toolchain": "pip", "virtualenv": str(ROOT / ".venv")}},
            }
        )
    )
    (program / "__main__.py").write_text(OTHER_PROGRAM.format(out=str(program / "rendered"), container=container))
    return pulumi(
        "preview", "--policy-pack", POLICY_PACK, "--stack", stack.name, "--config-file", str(stack.config_file),
        env=stack.env, tools=stack.tools, cwd=program, check=False,
    )
