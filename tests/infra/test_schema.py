"""Every built-in object the program declares is valid Kubernetes, as the API server's OpenAPI schema
says (strict: a misspelled or misplaced field is an error, not ignored), without an engine or cluster.

tests/engine/test_engine.py checks the manifests the real provider renders the same way; this is the
hermetic tier's copy, run on what the program asks the provider for under each committed config.
"""

from __future__ import annotations

import kubernetes_validate
import pytest

from tests.support.pulumi_mocks import DEV_CONFIG, run_program

KUBERNETES_VERSION = "1.36"  # tests/engine/test_engine.py's
CUSTOM_RESOURCES = {"kubernetes:monitoring.coreos.com/v1:PodMonitor"}  # the OpenAPI schema knows no CRD's kinds


def built_in(run) -> list[dict]:
    """The run's objects of built-in kinds, as the provider is handed them."""
    return [r.inputs for r in run.kubernetes_objects() if r.type not in CUSTOM_RESOURCES]


def test_the_objects_of_each_stack_are_valid_kubernetes(stack_run):
    objects = built_in(stack_run)
    # The Namespace, two Deployments, two Services, two ServiceAccounts, the ConfigMap, three NetworkPolicies;
    # production-like's replicas (3 and 4) add a PodDisruptionBudget per app.
    assert len(objects) == (11 if stack_run.config is DEV_CONFIG else 13)
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("changes", [{"python-shop:networkPolicies": "false"},
                                     {"python-shop:namespace": "default", "python-shop:createNamespace": "false"},
                                     {"python-shop:monitoring": "podmonitor"},
                                     {"python-shop:backendMaxReplicas": "4", "python-shop:frontendMaxReplicas": "9"},
                                     {"python-shop:frontendHost": "shop.example.com", "python-shop:ingressTlsSecret": "tls",
                                      "python-shop:frontendServiceType": "ClusterIP"}],
                         ids=["no-network-policies", "shared-namespace", "podmonitor", "autoscalers", "ingress"])
def test_the_objects_of_other_settings_are_valid_kubernetes(changes):
    objects = built_in(run_program({**DEV_CONFIG, **changes}))
    if "python-shop:backendMaxReplicas" in changes:
        assert [o["kind"] for o in objects].count("HorizontalPodAutoscaler") == 2
    if "python-shop:frontendHost" in changes:
        assert [o["kind"] for o in objects].count("Ingress") == 1
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_a_misplaced_field_is_refused():
    # The check is strict: a field in the wrong place fails, so the tests above would notice one.
    deployment = next(r.inputs for r in run_program(DEV_CONFIG).kubernetes_objects()
                      if r.type == "kubernetes:apps/v1:Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["lifecycle"] = {"preStop": {"command": ["true"]}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
