"""The prod stack on six nodes in three zones: spread, drains, the disruption budget, a rollout.

The cluster is the sandbox's control plane (sandbox/cluster, a cluster of its own): the real API
server, scheduler and controllers, and the Eviction API that enforces disruption budgets. What is
simulated: the nodes are kwok's (Node objects with the kwok annotation, made Ready by kwok, three
zones by their `topology.kubernetes.io/zone` label, ample room on each) and so are the pods' lives:
no image is pulled (the prod stack's registry references are never fetched), no container runs, no
probe is made (kwok marks a pod Ready once it is scheduled), and no metrics exist; what the stack's
objects make the scheduler, the Deployment controller and the Eviction API do is the real thing.

The tests build on each other and run in file order. The stack's LoadBalancer gets no address here (no
controller provisions one): the first test shows `pulumi up` does not wait for one.
"""

from __future__ import annotations

import collections
import functools
import json
import subprocess
import time

import pytest

from sandbox.kube import Kube
from tests.support.clusters import deployed_stack, running_cluster, split_json_stream
from tests.support.net import wait_until

pytestmark = pytest.mark.cluster

CLUSTER = "python-shop-many"  # a base name of its own: this test replaces its cluster's nodes
NAMESPACE = "python-shop"
BACKEND, FRONTEND = "python-shop-backend", "python-shop-frontend"
ZONES = ("zone-a", "zone-b", "zone-c")
NODES = {f"node-{zone}-{n}": zone for zone in ZONES for n in (1, 2)}
ZONE = "topology.kubernetes.io/zone"
# Pulumi.prod.yaml's replicas; its frontend budget (maxUnavailable 1) lets one of its 3 pods go at a time.
REPLICAS = {BACKEND: 2, FRONTEND: 3}
MAX_UNAVAILABLE = 1
# The rollout's new release, by digest as the prod pack asks (images-by-digest; made up, never pulled).
RELEASE = "registry.example.com/shop/python-shop-frontend@sha256:116c0b427f5b2009ef4781761c549ff27874eb9587a33571ed05ed84fb2942c3"


def kwok_node(name: str, zone: str, index: int) -> dict:
    """A node as kwokctl's own template makes one (kustomize/kwokctl/resource/node.yaml, kwok v0.8.0),
    in a zone, with a pod range of its own (kwok hands out pod IPs from it)."""
    room = {"cpu": "32", "memory": "256Gi", "pods": "110"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            # kwok's controller runs every node so annotated (here it manages all nodes; the annotation says it anyway).
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                       "type": "kwok", ZONE: zone},
        },
        "spec": {"podCIDR": f"10.0.{index}.0/24", "podCIDRs": [f"10.0.{index}.0/24"]},
        # A Node may be created with its status; kwok then keeps its conditions Ready.
        "status": {"allocatable": room, "capacity": room,
                   "addresses": [{"type": "InternalIP", "address": f"192.0.2.{index}"}]},
    }


@pytest.fixture(scope="module")
def cluster():
    """Its own simulated cluster, its one node swapped for three zones of two nodes each; removed after."""
    clusters = running_cluster(timeout=300, name=CLUSTER)
    running = next(clusters)
    try:
        kube = running.kube
        nodes = [kwok_node(name, zone, index) for index, (name, zone) in enumerate(NODES.items(), start=1)]
        kube.run("create", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": nodes}))
        kube.run("delete", "node", "node-000000")  # sandbox/cluster's own, in no zone
        kube.run("wait", "node", "--all", "--for=condition=Ready", "--timeout=60s", timeout=90)
        yield running
    finally:
        clusters.close()  # sandbox/cluster down: every process and the cluster's state


@pytest.fixture(scope="module")
def prod_stack(cluster, tmp_path_factory):
    """Pulumi.prod.yaml as it is (registry images by digest, 2 backend and 3 frontend replicas, a LoadBalancer in
    front, to which no controller here gives an address) on this cluster; `up_seconds`: how long its `up` took."""
    started = time.monotonic()
    stacks = deployed_stack(cluster, tmp_path_factory.mktemp("many-nodes"), "many-nodes", base="prod")
    stack = next(stacks)
    stack.up_seconds = time.monotonic() - started
    yield stack
    stacks.close()  # pulumi destroy


def running_pods(kube: Kube, app: str) -> list[dict]:
    pods = kube.get("pods", namespace=NAMESPACE, selector=f"app={app}")["items"]
    return [p for p in pods if not p["metadata"].get("deletionTimestamp") and p["status"].get("phase") == "Running"]


def placement(kube: Kube, app: str) -> dict[str, str]:
    """pod name -> node of the app's running pods."""
    return {p["metadata"]["name"]: p["spec"]["nodeName"] for p in running_pods(kube, app)}


def assert_spread(nodes_of_pods: dict[str, str], replicas: int, zones: bool = True) -> None:
    """No two of the pods on one node (the hard constraint), and unless `zones` is False each zone within
    one pod of every other (the soft one: the scheduler's preference wherever every node can take the pod)."""
    nodes = list(nodes_of_pods.values())
    assert len(nodes) == replicas, nodes_of_pods
    assert len(set(nodes)) == len(nodes), f"two pods on one node: {nodes_of_pods}"
    per_zone = collections.Counter(NODES[node] for node in nodes)
    counts = [per_zone.get(zone, 0) for zone in ZONES]
    assert not zones or max(counts) - min(counts) <= 1, f"zones unbalanced: {dict(per_zone)}"


def budget_status(kube: Kube, app: str) -> dict:
    status = kube.get("poddisruptionbudget", app, NAMESPACE).get("status", {})
    return {key: status.get(key) for key in ("expectedPods", "currentHealthy", "desiredHealthy", "disruptionsAllowed")}


def settled(kube: Kube, app: str, replicas: int | None = None) -> bool:
    """Every replica (REPLICAS unless said) running and available, and the budget counting them all."""
    status = kube.get("deployment", app, NAMESPACE)["status"]
    replicas = replicas or REPLICAS[app]
    return (status.get("availableReplicas") == replicas and status.get("updatedReplicas") == replicas
            and len(running_pods(kube, app)) == replicas
            and budget_status(kube, app) == {"expectedPods": replicas, "currentHealthy": replicas,
                                             "desiredHealthy": replicas - MAX_UNAVAILABLE, "disruptionsAllowed": 1})


def evict(kube: Kube, pod: str) -> subprocess.CompletedProcess:
    """POST the pod's Eviction subresource, as `kubectl drain` does; -v=6 logs the response's status line."""
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod, "namespace": NAMESPACE}}
    return kube.run("create", "--raw", f"/api/v1/namespaces/{NAMESPACE}/pods/{pod}/eviction", "-f", "-", "-v=6",
                    stdin=json.dumps(eviction), check=False)


# --- the tests, in order ----------------------------------------------------------------------------


def test_a_load_balancer_that_gets_no_address_does_not_hold_up_pulumi_up(cluster, prod_stack):
    # Awaited, this `up` waited out the provider's 10 minutes and failed (601 s, issue #24); it takes seconds now.
    assert prod_stack.up_seconds < 180, prod_stack.up_seconds
    kube, service = cluster.kube, "python-shop-frontend-service"
    assert kube.get("service", service, NAMESPACE)["spec"]["type"] == "LoadBalancer"
    outputs = prod_stack.outputs()
    assert outputs.get("frontendUrl") is None
    assert outputs["frontendAddress"] == (
        "pending: the cluster has not given the load balancer an address yet (without a load-balancer controller "
        f"it never will); `kubectl get service {service} --namespace {NAMESPACE} --watch` shows it when it does, "
        "and `pulumi up --refresh` then exports frontendUrl; meanwhile openCommand works")
    assert outputs["openCommand"] == f"kubectl port-forward --namespace {NAMESPACE} service/{service} 8080:8080"

    # An address given later, as a cloud's controller writes it into the Service's status: `up --refresh` exports it.
    address = {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.80"}]}}}
    kube.run("patch", "service", service, "--namespace", NAMESPACE, "--subresource=status", "--type=merge",
             "-p", json.dumps(address))
    prod_stack.cli("up", "--yes", "--skip-preview", "--refresh", timeout=180)
    outputs = prod_stack.outputs()
    assert (outputs["frontendUrl"], outputs["frontendAddress"]) == ("http://192.0.2.80:8080/", "192.0.2.80")



def test_the_pods_are_spread_one_per_node_and_balanced_over_the_zones(cluster, prod_stack):
    kube = cluster.kube
    assert sorted(n["metadata"]["name"] for n in kube.get("nodes")["items"]) == sorted(NODES)
    for app in (BACKEND, FRONTEND):
        assert kube.get("deployment", app, NAMESPACE)["spec"]["replicas"] == REPLICAS[app]  # Pulumi.prod.yaml's
        # `pulumi up` awaited the Deployments; the disruption controller counts the pods a moment later.
        wait_until(functools.partial(settled, kube, app), timeout=30, what=f"{app} settled under its budget")
        assert_spread(placement(kube, app), REPLICAS[app])
        pdb = kube.get("poddisruptionbudget", app, NAMESPACE)["spec"]
        assert pdb == {"maxUnavailable": 1, "selector": {"matchLabels": {"app": app}},
                       "unhealthyPodEvictionPolicy": "AlwaysAllow"}


def test_a_drain_of_a_node_holding_a_frontend_pod_succeeds_while_the_budget_holds(cluster, prod_stack):
    kube = cluster.kube
    node = sorted(placement(kube, FRONTEND).values())[0]
    try:
        # --delete-emptydir-data: the pods' /tmp and metrics volumes are scratch, lost with the pod by design.
        drain = kube.run("drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=60s",
                         check=False, timeout=90)
        assert drain.returncode == 0, drain.stderr
        assert f"node/{node} drained" in drain.stdout
        # The evicted pod's replacement lands on another node, never beside a sibling (the drained node,
        # cordoned and tainted, is left out of the count: nodeTaintsPolicy Honor).
        wait_until(lambda: settled(kube, FRONTEND), timeout=60, what="the frontend back to 3 pods")
        after = placement(kube, FRONTEND)
        assert node not in after.values()
        assert_spread(after, REPLICAS[FRONTEND])
    finally:
        kube.run("uncordon", node)


def test_an_eviction_that_would_break_the_budget_is_refused_with_429(cluster, prod_stack):
    kube = cluster.kube
    wait_until(lambda: settled(kube, FRONTEND), timeout=60, what="the frontend settled")
    # Every node cordoned: an evicted pod's replacement stays Pending, so the budget stays spent.
    kube.run("cordon", "--selector", "type=kwok")
    try:
        (first, first_node), (second, _), (third, _) = sorted(placement(kube, FRONTEND).items())
        allowed = evict(kube, first)
        assert allowed.returncode == 0, allowed.stderr[-2000:]
        assert 'status="201 Created"' in allowed.stderr, allowed.stderr[-2000:]
        wait_until(lambda: budget_status(kube, FRONTEND) == {"expectedPods": 3, "currentHealthy": 2,
                                                             "desiredHealthy": 2, "disruptionsAllowed": 0},
                   timeout=30, what="the frontend budget spent")

        refused = evict(kube, second)
        assert refused.returncode != 0
        assert 'status="429 Too Many Requests"' in refused.stderr, refused.stderr[-2000:]
        assert "Cannot evict pod as it would violate the pod's disruption budget." in refused.stderr
        assert set(placement(kube, FRONTEND)) == {second, third}  # both still running
        # The evicted pod's node back first, alone: it is then the one node the pending pod may go to (the
        # others are cordoned and tainted, left out of the count by nodeTaintsPolicy Honor), and it has no
        # sibling there. Had a node holding a sibling come back first, the pod would have joined it: the
        # constraint weighs only the nodes that can take the pod at the moment it is scheduled (kube-scheduler
        # run here, not a rule of this test; docs/production.md).
        kube.run("uncordon", first_node)
        wait_until(lambda: settled(kube, FRONTEND), timeout=60, what="the frontend back to 3 pods")
        assert first_node in placement(kube, FRONTEND).values()
    finally:
        kube.run("uncordon", "--selector", "type=kwok")
    assert_spread(placement(kube, FRONTEND), REPLICAS[FRONTEND])


def test_a_rolling_update_never_leaves_fewer_available_than_the_budget_allows(cluster, prod_stack, tmp_path):
    kube = cluster.kube
    wait_until(lambda: settled(kube, FRONTEND), timeout=60, what="the frontend settled")
    # Every change of the Deployment (its status included) through the rollout: a watch misses none.
    events = tmp_path / "deployment-events.json"
    with events.open("w") as out:
        watch = subprocess.Popen(
            kube.argv("get", "deployment", FRONTEND, "--namespace", NAMESPACE, "--watch", "--output-watch-events",
                      "-o", "json"),
            stdout=out, stderr=subprocess.DEVNULL, text=True,
        )
    try:
        # Its first event (the Deployment as it is) says the watch is open before anything changes.
        wait_until(lambda: '"ADDED"' in events.read_text(), timeout=30, what="the watch to open")
        prod_stack.write_config(frontendImage=RELEASE)
        # Returns once the provider saw the rollout complete; seconds here, 2 minutes is the bound.
        prod_stack.cli("up", "--yes", "--skip-preview", timeout=120)
    finally:
        watch.terminate()
        watch.wait(timeout=30)
    statuses = [json.loads(doc)["object"]["status"] for doc in split_json_stream(events.read_text())]
    available = [status.get("availableReplicas", 0) for status in statuses]
    updated = {status.get("updatedReplicas", 0) for status in statuses}
    assert {1, 2, 3} <= updated, statuses  # the watch saw the rollout, one new pod at a time (maxSurge 1)
    assert min(available) >= REPLICAS[FRONTEND] - MAX_UNAVAILABLE, available

    wait_until(lambda: settled(kube, FRONTEND), timeout=60, what="the frontend settled on the new release")
    pods = running_pods(kube, FRONTEND)
    assert {p["spec"]["containers"][0]["image"] for p in pods} == {RELEASE}
    # The new ReplicaSet's pods spread among themselves (matchLabelKeys: pod-template-hash).
    assert_spread(placement(kube, FRONTEND), REPLICAS[FRONTEND])


def test_with_a_pod_on_every_node_a_drained_pod_still_finds_a_place(cluster, prod_stack):
    # Six replicas on six nodes: the drained node's pod must join a sibling. Counted as an empty place, the
    # cordoned node would make every other node's skew 2 and hold the pod pending until it came back; the
    # spread leaves it out (nodeTaintsPolicy: Honor), so the budget is whole again before the next drain.
    kube = cluster.kube
    prod_stack.write_config(frontendReplicas=6)
    prod_stack.cli("up", "--yes", "--skip-preview", timeout=120)
    wait_until(lambda: settled(kube, FRONTEND, 6), timeout=60, what="the frontend at 6 pods")
    assert_spread(placement(kube, FRONTEND), 6)  # one on each node, so 2/2/2
    node = sorted(placement(kube, FRONTEND).values())[0]
    try:
        drain = kube.run("drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=60s",
                         check=False, timeout=90)
        assert drain.returncode == 0, drain.stderr
        wait_until(lambda: settled(kube, FRONTEND, 6), timeout=60, what="the drained pod running elsewhere")
        per_node = collections.Counter(placement(kube, FRONTEND).values())
        assert node not in per_node
        assert sorted(per_node.values()) == [1, 1, 1, 1, 2]  # the five nodes left, within one pod of each other
    finally:
        kube.run("uncordon", node)


def hpa_condition(kube: Kube, app: str, kind: str) -> dict:
    conditions = kube.get("horizontalpodautoscaler", app, NAMESPACE).get("status", {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == kind), {})


def test_an_autoscaler_owns_the_replicas_and_pulumi_never_undoes_its_scale(cluster, prod_stack):
    # The 6 frontend pods of the test before; an autoscaler between 6 and 8 switched on.
    kube = cluster.kube
    before = kube.get("deployment", FRONTEND, NAMESPACE)
    pods_before = {p["metadata"]["uid"] for p in running_pods(kube, FRONTEND)}
    prod_stack.write_config(frontendMaxReplicas=8)
    prod_stack.cli("up", "--yes", "--skip-preview", timeout=120)
    hpa = kube.get("horizontalpodautoscaler", FRONTEND, NAMESPACE)
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": FRONTEND}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (6, 8)
    # Switching it on left the Deployment as it was: no new generation, no pod replaced.
    after = kube.get("deployment", FRONTEND, NAMESPACE)
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    assert {p["metadata"]["uid"] for p in running_pods(kube, FRONTEND)} == pods_before
    # No metrics here (no metrics-server, and kwok's pods use no CPU): the autoscaler says so and holds the count.
    wait_until(lambda: hpa_condition(kube, FRONTEND, "ScalingActive").get("status") == "False", timeout=60,
               what="the autoscaler to report it has no metrics")
    assert hpa_condition(kube, FRONTEND, "ScalingActive")["reason"] == "FailedGetResourceMetric"

    # A scale the autoscaler makes: its minimum raised to 7 (standing in for load), it scales the Deployment
    # through the scale subresource, as it would on CPU; then its minimum back to the stack's 6. It holds 7.
    patch = ["patch", "horizontalpodautoscaler", FRONTEND, "--namespace", NAMESPACE, "--type=merge", "-p"]
    kube.run(*patch, json.dumps({"spec": {"minReplicas": 7}}))
    wait_until(lambda: settled(kube, FRONTEND, 7), timeout=90, what="the autoscaler's scale to 7")
    kube.run(*patch, json.dumps({"spec": {"minReplicas": 6}}))
    # The field is the autoscaler's now (the controller manager's, through the scale subresource), pulumi's no more.
    shown = json.loads(kube.run("get", "deployment", FRONTEND, "--namespace", NAMESPACE, "-o", "json",
                                "--show-managed-fields").stdout)
    owners = {(m["manager"], m.get("subresource")) for m in shown["metadata"]["managedFields"]
              if "f:replicas" in (m.get("fieldsV1") or {}).get("f:spec", {})}
    assert owners == {("kube-controller-manager", "scale")}, owners

    # pulumi sees no change, even reading the cluster first, and an update of the Deployment keeps the 7.
    prod_stack.cli("preview", "--expect-no-changes", timeout=120)
    prod_stack.cli("preview", "--refresh", "--expect-no-changes", timeout=120)
    prod_stack.write_config(frontendImage=RELEASE.replace("116c0b42", "216c0b42"))  # another release
    prod_stack.cli("up", "--yes", "--skip-preview", timeout=180)
    assert kube.get("deployment", FRONTEND, NAMESPACE)["spec"]["replicas"] == 7
    wait_until(lambda: settled(kube, FRONTEND, 7), timeout=90, what="7 pods of the new release")
    assert {p["spec"]["containers"][0]["image"] for p in running_pods(kube, FRONTEND)} == {
        RELEASE.replace("116c0b42", "216c0b42")}
