"""The settings are declared once, in Pulumi.yaml, and each one is checked and used."""

from __future__ import annotations

import dataclasses
import re

import yaml

from tests.support.pulumi_mocks import ROOT

EXPECTED = {
    "namespace": ("string", "python-shop"),
    "createNamespace": ("boolean", True),
    "backendImage": ("string", ""),
    "frontendImage": ("string", ""),
    "backendReplicas": ("integer", 1),
    "frontendReplicas": ("integer", 1),
    "backendMaxReplicas": ("integer", 0),
    "frontendMaxReplicas": ("integer", 0),
    "autoscalingCpuPercent": ("integer", 70),
    "backendPort": ("integer", 8080),
    "frontendServiceType": ("string", "NodePort"),
    "networkPolicies": ("boolean", True),
    "frontendHost": ("string", ""),
    "ingressClassName": ("string", "nginx"),
    "ingressTlsSecret": ("string", ""),
    "ingressControllerNamespace": ("string", "ingress-nginx"),
    "monitoring": ("string", "annotations"),
    "monitoringNamespace": ("string", "monitoring"),
    "adoptExisting": ("boolean", False),
    "renderDir": ("string", ""),
}


def declarations() -> dict:
    config = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    return {key: value for key, value in config.items() if ":" not in key}


def test_no_resource_can_fall_back_to_a_default_provider():
    config = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    assert config["pulumi:disable-default-providers"] == {"value": ["*"]}


def test_pulumi_yaml_declares_each_setting_with_its_type_default_and_a_description():
    found = {key: (d["type"], d["default"]) for key, d in declarations().items()}
    assert found == EXPECTED
    for key, declaration in declarations().items():
        assert len(declaration["description"]) > 20, key


def test_every_declared_setting_has_a_check_and_a_field():
    from infra.stack_settings import CHECKS, Settings

    assert set(CHECKS) == set(EXPECTED)
    fields = {f.name for f in dataclasses.fields(Settings)} - {"kube_context"}
    assert fields == {"namespace", "create_namespace", "backend_image", "frontend_image", "backend_replicas",
                      "frontend_replicas", "backend_max_replicas", "frontend_max_replicas", "autoscaling_cpu_percent",
                      "backend_port", "frontend_service_type", "network_policies", "frontend_host",
                      "ingress_class_name", "ingress_tls_secret", "ingress_controller_namespace",
                      "monitoring", "monitoring_namespace", "adopt_existing", "render_dir"}


def test_stack_files_hold_only_what_differs_from_the_defaults():
    for stack_file in sorted(ROOT.glob("Pulumi.*.yaml")):
        config = yaml.safe_load(stack_file.read_text())["config"]
        for key, value in config.items():
            name = key.removeprefix("python-shop:")
            if name in EXPECTED:
                assert value != EXPECTED[name][1] and str(value) != str(EXPECTED[name][1]), (stack_file.name, key)


def docs_table() -> dict[str, tuple[str, str]]:
    """docs/configuration.md's settings table: key -> (default column, accepts column)."""
    rows: dict[str, tuple[str, str]] = {}
    for line in (ROOT / "docs" / "configuration.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            for key in re.findall(r"`([A-Za-z]+)`", cells[0]):
                rows.setdefault(key, (cells[1], cells[2]))
    return rows


def test_the_docs_table_lists_every_setting_with_its_declared_default():
    table = docs_table()
    assert set(EXPECTED) <= set(table)
    for key, (_, default) in EXPECTED.items():
        shown = table[key][0]
        expected = "empty" if default == "" else f"`{str(default).lower() if isinstance(default, bool) else default}`"
        assert shown.startswith(expected), (key, shown)


def test_each_range_is_the_same_in_the_check_the_declaration_and_the_docs():
    from infra.stack_settings import CHECKS

    table = docs_table()
    for key, (_, accepts) in CHECKS.items():
        bounds = re.search(r"from (\d+) to (\d+)", accepts)
        if not bounds:
            continue
        low, high = bounds.groups()
        assert f"{low} to {high}" in declarations()[key]["description"], key
        assert f"{low}–{high}" in table[key][1], key
