"""`pulumi up`, preview, refresh, migrate and destroy against a live Kubernetes API server.

The cluster (sandbox/cluster, fixture `kwok_cluster`) is a real etcd, API
server, controller-manager and scheduler; kwok simulates the node, so pods
become Running and Ready without containers. Admission, defaulting,
server-side apply, rollouts and endpoints are the real thing.

The tests of the dev stack build on each other and run in file order.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess

import pytest

from infra import app_images
from sandbox.kube import Kube
from tests.support.clusters import deployed_stack, split_json_stream
from tests.support.net import wait_until
from tests.support.stacks import Stack, changed
from tools.toolset import ROOT

pytestmark = pytest.mark.cluster

NAMESPACE = "python-shop"
BACKEND, FRONTEND = "python-shop-backend", "python-shop-frontend"
BACKEND_SERVICE, FRONTEND_SERVICE = "python-shop-backend-service", "python-shop-frontend-service"
CONFIG_MAP = "python-shop-frontend-config"
# The article's deploy.yaml, as its readers applied it (docs/original/).
ORIGINAL = ROOT / "docs" / "original" / "deploy.yaml"
OURS = "app.kubernetes.io/part-of=python-shop"


@pytest.fixture(scope="module")
def dev_stack(kwok_cluster, tmp_path_factory):
    """The dev stack, pointed at the test cluster, deployed once for the module."""
    yield from deployed_stack(kwok_cluster, tmp_path_factory.mktemp("cluster-dev"), "dev")


def backend_uri(kube: Kube, namespace: str) -> str:
    data = kube.get("configmap", CONFIG_MAP, namespace)["data"]["config.cfg"]
    match = re.fullmatch(r'BACKEND_URI = "(.*)"\n', data)
    assert match, data
    return match.group(1)


def available(kube: Kube, name: str, namespace: str) -> bool:
    conditions = kube.get("deployment", name, namespace)["status"].get("conditions", [])
    return any(c["type"] == "Available" and c["status"] == "True" for c in conditions)


def ready_endpoints(kube: Kube, service: str, namespace: str) -> list[str]:
    slices = kube.get("endpointslices", namespace=namespace, selector=f"kubernetes.io/service-name={service}")
    return [
        address
        for item in slices["items"]
        for endpoint in item.get("endpoints") or []
        if endpoint.get("conditions", {}).get("ready")
        for address in endpoint["addresses"]
    ]


def pod_uids(kube: Kube, app: str, namespace: str) -> set[str]:
    pods = kube.get("pods", namespace=namespace, selector=f"app={app}")["items"]
    return {p["metadata"]["uid"] for p in pods if not p["metadata"].get("deletionTimestamp")}


# --- the dev stack --------------------------------------------------------------------------


def test_up_awaits_the_deployments_and_the_services_get_ready_endpoints(kwok_cluster, dev_stack):
    kube = kwok_cluster.kube
    # `pulumi up` returned only after the provider awaited the Deployments: no polling here.
    for deployment in (BACKEND, FRONTEND):
        assert available(kube, deployment, NAMESPACE), f"{deployment} is not Available"
    # The Services are not awaited (pulumi.com/skipAwait): their endpoints follow the ready pods,
    # as the endpoint-slice controller gets to them (at once here; 30 s is generous).
    for service in (BACKEND_SERVICE, FRONTEND_SERVICE):
        wait_until(functools.partial(ready_endpoints, kube, service, NAMESPACE), timeout=30, what=f"{service}'s ready endpoints")


def test_the_config_map_names_the_backend_service_that_exists(kwok_cluster, dev_stack):
    kube = kwok_cluster.kube
    match = re.fullmatch(r"http://([^.]+)\.([^.]+)\.svc:(\d+)", backend_uri(kube, NAMESPACE))
    assert match
    name, namespace, port = match.groups()
    service = kube.get("service", name, namespace)  # fails if no such Service
    assert [p["port"] for p in service["spec"]["ports"]] == [int(port)]
    assert dev_stack.outputs()["backendUri"] == f"http://{name}.{namespace}.svc:{port}"


def test_a_second_preview_shows_no_changes(dev_stack):
    assert changed(dev_stack.steps()) == {}


def test_backend_port_change_updates_the_config_map_in_place_without_replacing_pods(kwok_cluster, dev_stack):
    kube = kwok_cluster.kube
    config_map_uid = kube.uid("configmap", CONFIG_MAP, NAMESPACE)
    frontend_pods = pod_uids(kube, FRONTEND, NAMESPACE)
    assert frontend_pods
    dev_stack.write_config(backendPort=9090)
    try:
        dev_stack.up()
        assert backend_uri(kube, NAMESPACE) == f"http://{BACKEND_SERVICE}.{NAMESPACE}.svc:9090"
        assert kube.uid("configmap", CONFIG_MAP, NAMESPACE) == config_map_uid  # updated, not re-created
        assert pod_uids(kube, FRONTEND, NAMESPACE) == frontend_pods  # no restart, no rollout
        assert kube.get("service", BACKEND_SERVICE, NAMESPACE)["spec"]["ports"][0]["port"] == 9090
    finally:
        dev_stack.write_config(backendPort=None)
        dev_stack.up()
    assert backend_uri(kube, NAMESPACE) == f"http://{BACKEND_SERVICE}.{NAMESPACE}.svc:8080"


def test_drift_is_reported_by_refresh_and_undone_by_up(kwok_cluster, dev_stack):
    kube = kwok_cluster.kube
    kube.run("scale", "deployment", BACKEND, "--replicas=3", "--namespace", NAMESPACE)
    # Planned after reading the live objects: one update, of the backend's replicas.
    steps = [step for step in dev_stack.steps("--refresh") if step["op"] != "refresh"]
    assert changed(steps) == {BACKEND: "update"}
    update = next(step for step in steps if step["op"] == "update")
    assert update["urn"].endswith(f"Deployment::{BACKEND}")
    assert list(update["detailedDiff"]) == ["spec.replicas"]

    dev_stack.up("--refresh")
    assert kube.get("deployment", BACKEND, NAMESPACE)["spec"]["replicas"] == 1
    assert changed([step for step in dev_stack.steps("--refresh") if step["op"] != "refresh"]) == {}


# --- guardrails the API server enforces (issue: guardrails) ---------------------------------


def test_the_stack_pods_are_admitted_under_restricted(kwok_cluster, dev_stack):
    kube = kwok_cluster.kube
    labels = kube.get("namespace", NAMESPACE)["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
    for app in (BACKEND, FRONTEND):
        assert pod_uids(kube, app, NAMESPACE), f"no {app} pod was admitted"


def test_a_privileged_pod_is_rejected_by_the_api_server(kwok_cluster, dev_stack):
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "privileged", "namespace": NAMESPACE},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36", "securityContext": {"privileged": True}}]},
    }
    proc = kwok_cluster.kube.run("apply", "-f", "-", stdin=json.dumps(pod), check=False)
    assert proc.returncode != 0
    assert 'violates PodSecurity "restricted:latest"' in proc.stderr
    assert "privileged" in proc.stderr
    assert not kwok_cluster.kube.exists("pod", "privileged", NAMESPACE)


def test_network_policies_isolate_the_shop(kwok_cluster, dev_stack):
    policies = {
        p["metadata"]["name"]: p["spec"]
        for p in kwok_cluster.kube.get("networkpolicies", namespace=NAMESPACE)["items"]
    }
    assert policies["python-shop-default-deny-ingress"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    # monitoring: annotations (the default): the scraper's namespace, monitoring, to the metrics port only.
    scraper = {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
               "ports": [{"port": "metrics", "protocol": "TCP"}]}
    backend = policies["python-shop-backend-from-frontend"]
    assert backend["podSelector"] == {"matchLabels": {"app": BACKEND}}
    assert backend["ingress"] == [
        {"from": [{"podSelector": {"matchLabels": {"app": FRONTEND}}}], "ports": [{"port": "http", "protocol": "TCP"}]},
        scraper,
    ]
    frontend = policies["python-shop-frontend-from-anywhere"]
    assert frontend["podSelector"] == {"matchLabels": {"app": FRONTEND}}
    assert frontend["ingress"] == [{"ports": [{"port": "http", "protocol": "TCP"}]}, scraper]


def test_destroy_leaves_none_of_our_objects(kwok_cluster, dev_stack):
    kube = kwok_cluster.kube
    dev_stack.destroy()
    assert not kube.exists("namespace", NAMESPACE) or wait_until(
        lambda: not kube.exists("namespace", NAMESPACE), what="the namespace to be deleted", timeout=120
    )
    leftovers = kube.run("get", "all,configmaps,networkpolicies", "--all-namespaces", "--selector", OURS, "-o", "name")
    assert leftovers.stdout.strip() == ""


# --- migration from the original deploy.yaml ------------------------------------------------


def object_uids(kube: Kube, namespace: str) -> dict[str, str]:
    return {
        f"{kind}/{name}": kube.uid(kind, name, namespace)
        for kind, name in (
            ("deployment", BACKEND),
            ("deployment", FRONTEND),
            ("service", BACKEND_SERVICE),
            ("service", FRONTEND_SERVICE),
            ("configmap", CONFIG_MAP),
        )
    }


def test_a_cluster_running_the_original_is_taken_over_without_deleting_anything(kwok_cluster, tmp_path):
    kube = kwok_cluster.kube
    namespace = "original"
    kube.run("create", "namespace", namespace)
    kube.run("apply", "--namespace", namespace, "-f", str(ORIGINAL))
    for deployment in (BACKEND, FRONTEND):
        wait_until(functools.partial(available, kube, deployment, namespace), timeout=60,
                   what=f"the original {deployment} to be Available")
    before = object_uids(kube, namespace)

    # The README's migration settings: the existing namespace, adopt what is there.
    stack = Stack(
        tmp_path,
        "migrate",
        extra_env={"KUBECONFIG": str(kwok_cluster.kubeconfig)},
        namespace=namespace,
        createNamespace="false",
        adoptExisting="true",
        **{"kubernetes:context": kwok_cluster.context},
    )
    planned = {step["op"] for step in stack.steps()}
    assert planned <= {"same", "create"}, planned  # no delete, no replace: existing objects are upserted

    # Watch the ConfigMap through the take-over: it must never be deleted.
    watch = subprocess.Popen(
        kube.argv("get", "configmap", CONFIG_MAP, "--namespace", namespace, "--watch", "--output-watch-events", "-o", "json"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        stack.up()
    finally:
        watch.terminate()
        events, _ = watch.communicate(timeout=30)
    event_types = [json.loads(doc)["type"] for doc in split_json_stream(events)]
    assert "DELETED" not in event_types, event_types
    assert "ADDED" in event_types and "MODIFIED" in event_types, event_types  # the watch saw the update

    assert object_uids(kube, namespace) == before  # the same objects, adopted
    assert backend_uri(kube, namespace) == f"http://{BACKEND_SERVICE}.{namespace}.svc:8080"
    for deployment, image in ((BACKEND, app_images.reference("backend")), (FRONTEND, app_images.reference("frontend"))):
        spec = kube.get("deployment", deployment, namespace)["spec"]["template"]["spec"]
        assert [c["image"] for c in spec["containers"]] == [image]  # one container, ours
        assert available(kube, deployment, namespace)
    assert changed(stack.steps()) == {}  # and from now on the stack owns them
    stack.destroy()
    assert not kube.exists("configmap", CONFIG_MAP, namespace)
