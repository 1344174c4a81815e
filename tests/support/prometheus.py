"""A Prometheus in the sandbox's real-node cluster, for the tests (users bring their own).

`running_prometheus(kube)` deploys it into namespace `monitoring` and removes it afterwards:
the toolchain's static build (sandbox/recipes/node.py) in an image holding that one binary,
loaded into the node's containerd (no registry: imagePullPolicy Never); a ServiceAccount with
read access to pods, endpoints, services and namespaces; one scrape job, `kubernetes-pods`,
that keeps the pods annotated `prometheus.io/scrape: "true"` and scrapes
`<pod IP>:<prometheus.io/port><prometheus.io/path>` every second, labelled namespace, pod and
app (`app.kubernetes.io/name`). Its own pod carries the annotations, so it scrapes itself.

The test process queries its HTTP API through a NodePort, which kube-proxy opens on 127.0.0.1
only (sandbox/real_node.py): loopback, nothing to keep running, as the shop's own tests reach
the frontend. Pod IPs are routable from the host too (the bridge), but that is not loopback;
`kubectl port-forward` would be a process to start, wait for and stop.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests

from sandbox import images, real_node
from sandbox.kube import Kube
from sandbox.recipes import common, node
from tests.support.net import wait_until

NAMESPACE = "monitoring"
NAME = "prometheus"
PORT = 9090
UID = 65534  # nobody, as upstream's image runs it
COMPONENT = next(c for c in node.COMPONENTS if c.name == "prometheus")
# The recipe's key in the tag: a rebuilt binary is a new image, never a stale one under the old name.
IMAGE = f"python-shop-prometheus:{COMPONENT.version}-{COMPONENT.key}"
SCRAPE_INTERVAL = "1s"  # test speed: a new pod is scraped within about a second of its discovery
LABELS = {"app.kubernetes.io/name": NAME}

# The usual annotation-driven pod job. The address is the pod IP and the annotated port (IPv4: the
# node's pods have no other); a pod with several container ports yields one target per port, the
# same after relabelling, which Prometheus scrapes once.
SCRAPE_CONFIG = {
    "global": {"scrape_interval": SCRAPE_INTERVAL, "scrape_timeout": SCRAPE_INTERVAL, "evaluation_interval": "1s"},
    "scrape_configs": [{
        "job_name": "kubernetes-pods",
        "kubernetes_sd_configs": [{"role": "pod"}],
        "relabel_configs": [
            {"source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"],
             "action": "keep", "regex": "true"},
            {"source_labels": ["__meta_kubernetes_pod_phase"], "action": "drop", "regex": "Pending|Succeeded|Failed"},
            {"source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_path"],
             "action": "replace", "target_label": "__metrics_path__", "regex": "(.+)"},
            {"source_labels": ["__meta_kubernetes_pod_ip", "__meta_kubernetes_pod_annotation_prometheus_io_port"],
             "action": "replace", "target_label": "__address__", "regex": r"(.+);(\d+)", "replacement": "$1:$2"},
            {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
            {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
            {"source_labels": ["__meta_kubernetes_pod_label_app_kubernetes_io_name"], "target_label": "app"},
        ],
    }],
}


def manifests() -> list[dict]:
    """Everything `running_prometheus` applies: the namespace's objects and the cluster-scoped RBAC."""
    meta = {"name": NAME, "namespace": NAMESPACE, "labels": LABELS}
    container = {
        "name": NAME,
        "image": IMAGE,
        "imagePullPolicy": "Never",  # loaded into the node: there is no registry
        "args": [
            "--config.file=/etc/prometheus/prometheus.yml",
            "--storage.tsdb.path=/prometheus",
            "--storage.tsdb.retention.time=1h",  # a test's worth
            f"--web.listen-address=:{PORT}",
        ],
        "ports": [{"name": "http", "containerPort": PORT}],
        "readinessProbe": {"httpGet": {"path": "/-/ready", "port": "http"}, "periodSeconds": 1},
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "512Mi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "config", "mountPath": "/etc/prometheus", "readOnly": True},
                         {"name": "data", "mountPath": "/prometheus"}],
    }
    pod = {
        "metadata": {"labels": LABELS, "annotations": {
            "prometheus.io/scrape": "true", "prometheus.io/port": str(PORT), "prometheus.io/path": "/metrics"}},
        "spec": {
            "serviceAccountName": NAME,
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": 10,
            "securityContext": {"runAsNonRoot": True, "runAsUser": UID, "runAsGroup": UID, "fsGroup": UID,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [container],
            "volumes": [{"name": "config", "configMap": {"name": NAME}},
                        {"name": "data", "emptyDir": {"sizeLimit": "256Mi"}}],
        },
    }
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE, "labels": {
            "pod-security.kubernetes.io/enforce": "restricted"}}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": NAME, "labels": LABELS},
         "rules": [{"apiGroups": [""], "resources": ["pods", "endpoints", "services", "namespaces"],
                    "verbs": ["get", "list", "watch"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": NAME, "labels": LABELS},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME},
         "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}]},
        # JSON is YAML: no serialiser needed for prometheus.yml.
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
         "data": {"prometheus.yml": json.dumps(SCRAPE_CONFIG, indent=2)}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
         "spec": {"replicas": 1, "selector": {"matchLabels": LABELS},
                  "strategy": {"type": "Recreate"},  # one TSDB, one writer
                  "template": pod}},
        {"apiVersion": "v1", "kind": "Service", "metadata": meta,
         "spec": {"type": "NodePort", "selector": LABELS, "ports": [{"name": "http", "port": PORT, "targetPort": "http"}]}},
    ]


def load_image() -> None:
    """The image of the toolchain's prometheus, into the node's containerd unless it is there."""
    if f"docker.io/library/{IMAGE}" in real_node.ctr("images", "ls", "--quiet", text=True).stdout.split():
        return
    binary = common.bin_dir() / "prometheus"
    if not binary.exists():
        raise AssertionError("no prometheus in the toolchain: `sandbox/toolchain install node` builds it")
    images.import_binary(binary, IMAGE, path="/bin/prometheus", user=f"{UID}:{UID}")
    real_node.import_saved(["docker", "save", IMAGE], env=images.docker_env())  # as sandbox/cluster loads the shop's


@dataclass(frozen=True)
class Prometheus:
    """The running Prometheus's HTTP API, at the NodePort on loopback."""

    url: str

    def query(self, expr: str) -> list[dict]:
        """`/api/v1/query`'s result vector for `expr` at this moment (an error answer raises)."""
        response = requests.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=5)
        body = response.json()
        if response.status_code != 200 or body.get("status") != "success":
            raise AssertionError(f"query {expr!r}: {response.status_code} {body.get('errorType')}: {body.get('error')}")
        return body["data"]["result"]

    def wait_for(self, expr: str, predicate: Callable[[list[dict]], bool] = bool, *,
                 timeout: float = 30, interval: float = 0.25) -> list[dict]:
        """Poll `expr` until `predicate(result)` holds (default: any series) and return that result;
        past `timeout` seconds, a TimeoutError naming the query and its last result."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(expr)
            if predicate(result):
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"PromQL {expr!r} did not hold within {timeout}s; last result: {result}")
            time.sleep(interval)


def node_port(kube: Kube) -> int:
    return kube.get("service", NAME, NAMESPACE)["spec"]["ports"][0]["nodePort"]


def remove(kube: Kube) -> None:
    """The namespace (and with it every namespaced object) and the cluster-scoped RBAC, gone."""
    kube.run("delete", "clusterrolebinding,clusterrole", NAME, "--ignore-not-found", "--wait=true", timeout=60)
    kube.run("delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=true", timeout=90)


@contextmanager
def running_prometheus(kube: Kube, *, timeout: float = 90) -> Iterator[Prometheus]:
    """Prometheus deployed and Ready, its API answering; removed on the way out."""
    started = time.monotonic()
    load_image()
    try:
        # Inside: an apply that fails half-way leaves what it made to the removal below.
        kube.run("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": manifests()}))
        kube.run("rollout", "status", f"deployment/{NAME}", "--namespace", NAMESPACE, f"--timeout={timeout:.0f}s",
                 timeout=timeout + 10)
        prometheus = Prometheus(f"http://127.0.0.1:{node_port(kube)}")
        # Ready, but a NodePort's rules land a moment after the endpoint does.
        wait_until(lambda: prometheus.query("vector(1)"), timeout=30, interval=0.25, what="Prometheus's API to answer")
        common.say("prometheus", f"{IMAGE} ready at {prometheus.url} in {time.monotonic() - started:.1f}s")
        yield prometheus
    finally:
        remove(kube)
