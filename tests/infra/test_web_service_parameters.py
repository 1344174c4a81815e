"""WebService as a component others build with: what a caller passes reaches the objects."""

from __future__ import annotations

from tests.support.kinds import AUTOSCALER, DEPLOYMENT, SERVICE, SERVICE_ACCOUNT
from tests.support.pulumi_mocks import DEV_CONFIG, run_program

# A program of one web service with resources of its own, on an explicit provider as the shop's.
PROGRAM = '''
import pulumi
import pulumi_kubernetes as k8s

from infra.web_service import ContainerResources, WebService

provider = k8s.Provider("cluster", context="minikube")
WebService(
    "python-shop-api", component="backend", namespace="shop", image="python-shop-api:1", image_from_source=False,
    replicas=1, network_policy=False, monitoring="off", monitoring_namespace="monitoring",
    resources=ContainerResources(cpu_request="250m", memory_request="300Mi", cpu_limit="2", memory_limit="1Gi"),
    opts=pulumi.ResourceOptions(providers=[provider]),{extra}
)
'''


def test_a_callers_resources_replace_the_defaults(tmp_path):
    (tmp_path / "__main__.py").write_text(PROGRAM.format(extra=""))
    run = run_program(DEV_CONFIG, program=tmp_path)
    (container,) = run.one(DEPLOYMENT, "python-shop-api").inputs["spec"]["template"]["spec"]["containers"]
    assert container["resources"] == {"requests": {"cpu": "250m", "memory": "300Mi"},
                                      "limits": {"cpu": "2", "memory": "1Gi"}}


def test_what_a_caller_leaves_out_gives_the_documented_defaults(tmp_path):
    (tmp_path / "__main__.py").write_text(PROGRAM.format(extra=""))
    run = run_program(DEV_CONFIG, program=tmp_path)
    service = run.one(SERVICE, "python-shop-api-service").inputs["spec"]
    # In the cluster only, on the port the container listens on (the Procfile's $PORT).
    assert (service["type"], [p["port"] for p in service["ports"]]) == ("ClusterIP", [8080])
    # No max_replicas: no autoscaler, so the Deployment keeps the replicas it was given; one pod: no
    # budget; no ingress; no network_policy: no NetworkPolicy; monitoring off: no PodMonitor.
    assert sorted(r.type for r in run.kubernetes_objects()) == [
        DEPLOYMENT, SERVICE, SERVICE_ACCOUNT]
    assert run.one(DEPLOYMENT, "python-shop-api").inputs["spec"]["replicas"] == 1


def test_an_autoscaler_with_no_target_named_aims_at_70_percent_of_the_cpu_request(tmp_path):
    (tmp_path / "__main__.py").write_text(PROGRAM.format(extra="\n    max_replicas=3,"))
    run = run_program(DEV_CONFIG, program=tmp_path)
    spec = run.one(AUTOSCALER, "python-shop-api").inputs["spec"]
    # 70%: Pulumi.yaml's default for the stack's autoscalingCpuPercent, the same for a caller of the component.
    assert (spec["minReplicas"], spec["maxReplicas"]) == (1, 3)
    assert spec["metrics"] == [{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 70}}}]
