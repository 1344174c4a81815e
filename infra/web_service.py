"""WebService: a Deployment and the Service in front of it, production-safe by default.

One component serves both apps, the way ServiceDeployment does in Pulumi's
guestbook example; the defaults are the ones cdk8s-plus bakes in: probes,
requests and limits, a non-root read-only container with no privileges and no
service account token, recommended labels, and a rolling update that never
drops below the desired capacity. Past one machine: a ServiceAccount of its own,
its pods spread over nodes and zones, and from two replicas on a
PodDisruptionBudget, so a node drain takes one pod at a time; optionally a
HorizontalPodAutoscaler, which then owns the Deployment's replicas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s

from infra import labels
from infra.stack_settings import image_build, image_tag

# Every default of a web service, each with its reason where it is defined (as cdk8s-plus
# documents its defaults). The guardrails (policy/rules.py) check several of them.

CONTAINER_PORT = 8080  # every app listens here inside its pod: the Procfile's $PORT
# Each app's Prometheus metrics ($METRICS_PORT), apart from its pages: never on the Service, so only a
# scraper the NetworkPolicy admits reaches them (9464: OpenTelemetry's Prometheus exporter's port).
METRICS_PORT = 9464
METRICS_PATH = "/metrics"  # where the apps serve them, and where every scraper looks unless told otherwise
# monitoring: annotations. What Prometheus's stock kubernetes-pods scrape job, and most agents, read.
SCRAPE_ANNOTATIONS = {"prometheus.io/scrape": "true", "prometheus.io/port": str(METRICS_PORT),
                      "prometheus.io/path": METRICS_PATH}
# PROMETHEUS_MULTIPROC_DIR: prometheus_client's files, one set per server worker process, which the
# worker that answers /metrics adds up; a volume of their own, shared by the workers, apart from /tmp.
METRICS_DIR = "/var/run/shop-metrics"
METRICS_DIR_SIZE_LIMIT = "16Mi"  # a few small files per worker process: a leak evicts the pod, never fills the node
ANYWHERE: Literal["anywhere"] = "anywhere"  # reachable_from: any pod, and the node (NodePort, LoadBalancer)
RUN_AS = 10001  # uid and gid: not root, and no user of the image or the host has it
TMP_SIZE_LIMIT = "64Mi"  # /tmp, writable scratch (the root filesystem is read-only): small files only
PROBE_PATH = "/healthz"  # does no work and makes no backend call: it says the worker answers, no more
PROBE_TIMEOUT_SECONDS = 2  # /healthz answers in milliseconds: 2 s without an answer is a stuck worker
# (period, failures): startup up to 30 s, checked every second, so a pod is ready as soon as it is;
# out of the Service after 10 s failing; restarted after 30 s stuck, longer than any page takes.
STARTUP_PROBE = (1, 30)
READINESS_PROBE = (5, 2)
LIVENESS_PROBE = (10, 3)
STARTUP_SECONDS = STARTUP_PROBE[0] * STARTUP_PROBE[1]  # the startup probe's whole budget
PRE_STOP_SECONDS = 5  # serve on after termination starts: kube-proxy and pooled clients need that long to move
# The flag the preStop hook creates and the app watches for ($SHOP_DRAIN_FILE): from the moment termination
# starts, every answer carries `Connection: close`, so pooled keep-alive clients move to a new pod before
# the server closes anything. On /tmp, which the hook and the app share.
DRAIN_FILE = "/tmp/shop-draining"
# imagePullPolicy by where the image comes from, each with its reason:
# Built from this repository into the cluster's own store (`make up`): no registry has it, and a same-named
# image of a registry must never run instead.
PULL_FROM_SOURCE = "Never"
# From a registry, by digest or by tag alike. A digest names the content itself: an image the node has under it
# is the right one, so it is pulled once. A tag too: Always would make every pod start wait on the registry (an
# outage of it then stops rollouts and rescheduling after a drain) and break images loaded into the node under a
# tag (`kind load`, `minikube image load`, ctr import), and it does not make a moved tag safe, since pods started
# before keep the old content. What runs is pinned by a digest instead (the prod guardrail images-by-digest).
PULL_FROM_REGISTRY = "IfNotPresent"
MAX_SURGE, MAX_UNAVAILABLE = 1, 0  # a new pod before an old one goes: capacity never drops in a rollout
REVISION_HISTORY = 5  # old ReplicaSets kept for `kubectl rollout undo`: a few releases back, no more
# A PodDisruptionBudget from this many replicas on, none below: over a single pod a budget either forbids its
# eviction, which blocks every `kubectl drain` (a node upgrade hangs until someone deletes the budget), or allows
# it and protects nothing. One replica has no spare to serve while it moves, budget or not.
BUDGET_MIN_REPLICAS = 2
# maxUnavailable rather than minAvailable: the eviction API counts it against the Deployment's own replicas, so it
# stays right whatever `replicas` says, where minAvailable: N must follow every change and blocks every drain once
# N reaches the replicas (a percentage rounds up the same way). 1: a drain moves one pod at a time, as a rollout does.
BUDGET_MAX_UNAVAILABLE = 1
# A pod that runs but is not Ready serves nothing, so evicting it costs nothing; under the default (IfHealthyBudget)
# an app whose pods all fail (a bad release) would block every drain of their nodes until it is fixed.
UNHEALTHY_POD_EVICTION = "AlwaysAllow"
# No Service is awaited. Its endpoints are the Deployment's ready pods, which the Deployment's own await proves;
# waiting (~10 s while endpoints settle) would also hold back everything wired to its outputs. A LoadBalancer
# would be awaited until the cloud gives it an address: on a cluster with no load-balancer controller that is
# never, and `pulumi up` would fail after the provider's 10 minutes. Unawaited, its address is exported when it
# has one and said to be pending otherwise (infra/exports.py).
SERVICE_ANNOTATIONS = {"pulumi.com/skipAwait": "true"}
# An autoscaler (max_replicas) aims for this average CPU use, in percent of the pods' request (100m): room for a
# burst before the new pod is Ready (its startup takes seconds), without adding pods for every blip.
AUTOSCALING_CPU_PERCENT = 70
# With an autoscaler the Deployment's replicas are its to set. They stay in the program as the starting count
# (the autoscaler's minimum), ignored on every later update: left out, server-side apply would reset the field
# of a running Deployment to its default, 1, terminating all but one pod until the autoscaler scaled back up
# (Kubernetes' HPA docs warn of exactly that), and a new one would start at 1. Ignored, pulumi-kubernetes leaves
# the field out of its apply once another manager (the autoscaler) owns it, and sends the live value while it
# still owns it itself: it never undoes a scale, and `pulumi preview` shows none as a diff.
AUTOSCALED_FIELDS = ["spec.replicas"]
# Topology spread: at most one pod more in any node (zone) than in the emptiest.
SPREAD_MAX_SKEW = 1
# Counted per ReplicaSet (matchLabelKeys): a rollout's surge pods spread among themselves instead of being weighed
# against the old pods about to go. Beta, on by default since Kubernetes 1.27 (still beta in 1.36); an API server
# with the gate off drops the field, and spreading then counts every pod of the app.
SPREAD_MATCH_LABEL_KEYS = ["pod-template-hash"]
# topology key -> whenUnsatisfiable, each with its reason:
SPREAD = {
    # Hard over nodes: two replicas on one node are the outage replicas exist to prevent. Every node has this label,
    # and a cluster of one node (minikube) always satisfies it: one domain never has a skew above 1.
    "kubernetes.io/hostname": "DoNotSchedule",
    # Soft over zones: the scheduler filters out every node that lacks the key of a DoNotSchedule constraint, and
    # minikube, kind and most bare-metal nodes have no zone label, so there no pod would ever run; a zone out of
    # room would leave pods pending too. As a preference it balances the zones a cluster has and is moot without.
    "topology.kubernetes.io/zone": "ScheduleAnyway",
}
# A node the pods may not go to (cordoned for a drain, tainted for other work) is no empty place to balance
# against: counted, it would hold a drained node's pod pending until that node came back.
SPREAD_NODE_TAINTS_POLICY = "Honor"


@dataclass(frozen=True)
class ContainerResources:
    """CPU and memory for one container. Limits of None mean none (policy rejects that)."""

    cpu_request: str = "100m"
    memory_request: str = "128Mi"
    cpu_limit: str | None = "500m"
    memory_limit: str | None = "256Mi"


@dataclass(frozen=True)
class ConfigMount:
    """A ConfigMap mounted as a whole directory: no subPath, so updates reach the files."""

    config_map_name: pulumi.Input[str]
    volume_name: str
    mount_path: str


@dataclass(frozen=True)
class IngressRoute:
    """An Ingress `<name>` routing `host` to the web service's port, and the controller's namespace, which its
    NetworkPolicy then admits to that port."""

    host: str
    controller_namespace: str
    class_name: str | None = None  # None: the cluster's default IngressClass
    tls_secret: str | None = None  # a kubernetes.io/tls Secret of the namespace; None: plain HTTP


# The Ingress's one path: every path of its host, to the Service's `http` port (by name: its number is a setting).
INGRESS_PATH = {"path": "/", "pathType": "Prefix"}


class WebService(pulumi.ComponentResource):
    deployment: k8s.apps.v1.Deployment
    service: k8s.core.v1.Service
    service_account: k8s.core.v1.ServiceAccount
    disruption_budget: k8s.policy.v1.PodDisruptionBudget | None  # from BUDGET_MIN_REPLICAS replicas on
    autoscaler: k8s.autoscaling.v2.HorizontalPodAutoscaler | None  # with max_replicas
    ingress: k8s.networking.v1.Ingress | None  # with an IngressRoute
    selector: dict[str, str]  # the pod labels its Service (and NetworkPolicies) select on
    build: str | None  # what its pods report as their build (SHOP_BUILD): `make up` checks the page names it

    def __init__(
        self,
        name: str,
        *,
        component: str,
        namespace: pulumi.Input[str],
        image: str,
        image_from_source: bool,
        replicas: int,
        max_replicas: int = 0,
        autoscaling_cpu_percent: int = AUTOSCALING_CPU_PERCENT,
        resources: ContainerResources = ContainerResources(),
        service_port: int = CONTAINER_PORT,
        service_type: str = "ClusterIP",
        config_mount: ConfigMount | None = None,
        env: dict[str, str] | None = None,
        reachable_from: Sequence[str] | Literal["anywhere"] = (),
        ingress: IngressRoute | None = None,
        network_policy: bool,
        monitoring: str,
        monitoring_namespace: str,
        opts: pulumi.ResourceOptions | None = None,
    ):
        """
        component: its part in the shop (app.kubernetes.io/component: backend, frontend).
        image: the container image, with a tag or digest.
        replicas: its pods; a rollout surges one at a time (MAX_SURGE) and never drops one first;
            spread over nodes and zones (SPREAD); from BUDGET_MIN_REPLICAS on, a PodDisruptionBudget `<name>`
            lets evictions (a node drain) take BUDGET_MAX_UNAVAILABLE of them at a time.
        max_replicas: 0, no autoscaler; else a HorizontalPodAutoscaler `<name>` scales the Deployment between
            `replicas` and this on CPU (autoscaling_cpu_percent of the pods' request), and the Deployment's
            replicas are left to it (AUTOSCALED_FIELDS). It gets a budget whatever its minimum: at one pod a
            budget of maxUnavailable 1 blocks no drain, and scaled up it guards the pods the autoscaler added.
        service_port: the Service's port; the container listens on CONTAINER_PORT whatever it is.
        service_type: ClusterIP by default: reachable in the cluster only, until a stack says otherwise.
        config_mount: a ConfigMap mounted read-only as a directory (updates reach the files).
        env: extra environment variables. Always set besides (the apps' contract): PORT
            (CONTAINER_PORT), METRICS_PORT, PROMETHEUS_MULTIPROC_DIR (METRICS_DIR), SHOP_BUILD (the
            image's digest, else its tag: what the apps report as their build) and SHOP_DRAIN_FILE
            (DRAIN_FILE).
        reachable_from: who may open its port: the names of other web services, or ANYWHERE;
            nobody else (the namespace denies all ingress by default). Its own NetworkPolicy,
            `<name>-from-<those services, without the python-shop- prefix>` or `-from-anywhere`.
        ingress: an Ingress `<name>` for its Service (IngressRoute: host, class, TLS secret), not awaited (its
            await waits for the controller to publish an address: without a controller, 10 minutes); the
            NetworkPolicy admits the controller's namespace to its port, and its name says so
            (`-from-namespace-<namespace>`).
        network_policy: False leaves that NetworkPolicy out (`networkPolicies: false`).
        monitoring: how a Prometheus finds the metrics port (`monitoring`): "annotations", the
            SCRAPE_ANNOTATIONS on its pods; "podmonitor", a Prometheus-operator PodMonitor `<name>`
            selecting its pods' `metrics` port (a PodMonitor, not a ServiceMonitor: the port is not
            on the Service; the cluster needs the operator's CRDs); "off", neither.
        monitoring_namespace: the namespace the scraper runs in (`monitoringNamespace`). Unless
            monitoring is "off", the NetworkPolicy's second rule lets its pods, and no others, reach
            the metrics port.
        resources: requests and limits of its one container (the guardrails require limits).
        image_from_source: True when `image` is built from this repository into the cluster's
            own image store (`make up`, infra/app_images.py) rather than pushed to a registry.
            Such an image is never pulled (imagePullPolicy Never: no registry has it, and a
            same-named image elsewhere must not be run instead), and a rollout that cannot
            start fails after (STARTUP_SECONDS + 10 s) per replica (the pods come up one
            at a time) instead of the provider's 10 minutes, naming the missing image.
        """
        super().__init__("python-shop:index:WebService", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.selector = selector = labels.selector(name)
        self.build = image_build(image)
        pod_labels = labels.workload(name, component, pulumi.get_stack())
        # The version goes on the Deployment and its pods only: a new image tag
        # then changes the Deployment alone, not the Service in front of it.
        service_labels = dict(pod_labels)
        tag = image_tag(image)
        if tag and len(tag) <= 63:
            pod_labels["app.kubernetes.io/version"] = tag

        metadata: dict = {"name": name, "namespace": namespace, "labels": pod_labels}
        if image_from_source:  # as many pods as may run: an autoscaled rollout replaces every pod it added
            metadata["annotations"] = {"pulumi.com/timeoutSeconds": str((STARTUP_SECONDS + 10)
                                                                        * max(replicas, max_replicas))}
        container = _container(name, image, image_from_source, resources, env, config_mount)
        template_metadata: dict = {"labels": pod_labels}
        if monitoring == "annotations":
            template_metadata["annotations"] = SCRAPE_ANNOTATIONS

        # Its own identity, not the namespace's `default` that anything there may run as: what RBAC and a cloud's
        # workload identity (EKS IRSA or Pod Identity, GKE Workload Identity, AKS) bind to. No token: the apps
        # never call the Kubernetes API (said on the pods too, which would otherwise inherit this).
        self.service_account = k8s.core.v1.ServiceAccount(
            name,
            metadata={"name": name, "namespace": namespace, "labels": service_labels},  # no version, as the Service
            automount_service_account_token=False,
            opts=child,
        )
        pod_spec = _pod_spec(container, config_mount, name, selector)
        self.deployment = k8s.apps.v1.Deployment(
            name,
            metadata=metadata,
            spec={
                "replicas": replicas,
                "selector": {"matchLabels": selector},
                "strategy": {"type": "RollingUpdate",
                             "rollingUpdate": {"maxSurge": MAX_SURGE, "maxUnavailable": MAX_UNAVAILABLE}},
                "revisionHistoryLimit": REVISION_HISTORY,
                "template": {"metadata": template_metadata, "spec": pod_spec},
            },
            # After its account: the API server admits no pod whose service account does not exist yet.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
                depends_on=[self.service_account], ignore_changes=AUTOSCALED_FIELDS if max_replicas else None)),
        )

        self.autoscaler = None
        if max_replicas:
            self.autoscaler = k8s.autoscaling.v2.HorizontalPodAutoscaler(
                name,
                metadata={"name": name, "namespace": namespace, "labels": service_labels},
                spec={
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                       "name": self.deployment.metadata.name},
                    "minReplicas": replicas,
                    "maxReplicas": max_replicas,
                    "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                        "type": "Utilization", "averageUtilization": autoscaling_cpu_percent}}}],
                },
                opts=child,
            )

        self.disruption_budget = None
        if replicas >= BUDGET_MIN_REPLICAS or max_replicas:
            self.disruption_budget = k8s.policy.v1.PodDisruptionBudget(
                name,
                metadata={"name": name, "namespace": namespace, "labels": service_labels},
                spec={"maxUnavailable": BUDGET_MAX_UNAVAILABLE, "selector": {"matchLabels": selector},
                      "unhealthyPodEvictionPolicy": UNHEALTHY_POD_EVICTION},
                opts=child,
            )

        self.service = k8s.core.v1.Service(
            f"{name}-service",
            metadata={
                "name": f"{name}-service",
                "namespace": namespace,
                "labels": service_labels,
                "annotations": SERVICE_ANNOTATIONS,
            },
            spec={
                "type": service_type,
                "selector": selector,
                "ports": [{"name": "http", "port": service_port, "targetPort": "http", "protocol": "TCP"}],
            },
            opts=child,
        )

        if monitoring == "podmonitor":
            self.pod_monitor = k8s.apiextensions.CustomResource(
                name,
                api_version="monitoring.coreos.com/v1",
                kind="PodMonitor",
                metadata={"name": name, "namespace": namespace, "labels": service_labels},  # no version, as the Service
                # Its pods (not a Service: the metrics port is on none), by the label no rollout changes.
                spec={"selector": {"matchLabels": selector},
                      "podMetricsEndpoints": [{"port": "metrics", "path": METRICS_PATH}]},
                opts=child,
            )

        self.ingress = None
        if ingress:
            self.ingress = k8s.networking.v1.Ingress(
                name,
                metadata={"name": name, "namespace": namespace, "labels": service_labels,
                          "annotations": SERVICE_ANNOTATIONS},
                spec={
                    **({"ingressClassName": ingress.class_name} if ingress.class_name else {}),
                    "rules": [{"host": ingress.host, "http": {"paths": [{**INGRESS_PATH, "backend": {"service": {
                        "name": self.service.metadata.name, "port": {"name": "http"}}}}]}}],
                    **({"tls": [{"hosts": [ingress.host], "secretName": ingress.tls_secret}]}
                       if ingress.tls_secret else {}),
                },
                opts=child,
            )

        if network_policy:
            scraper = None if monitoring == "off" else monitoring_namespace
            admitted = [ingress.controller_namespace] if ingress else []
            self.network_policy = self._ingress_policy(name, namespace, reachable_from, admitted, scraper, child)

        self.register_outputs({"deployment": self.deployment.metadata.name, "service": self.service.metadata.name})

    def _ingress_policy(self, name: str, namespace: pulumi.Input[str], reachable_from: Sequence[str] | str,
                        namespaces: Sequence[str], scraper_namespace: str | None,
                        opts: pulumi.ResourceOptions) -> k8s.networking.v1.NetworkPolicy:
        suffix, rules = ingress_rules(reachable_from, scraper_namespace, namespaces)
        policy = f"{name}-from-{suffix}"  # the sources of its pages only: the name outlives a change of monitoring
        return k8s.networking.v1.NetworkPolicy(
            policy,
            metadata={"name": policy, "namespace": namespace, "labels": labels.MANAGED},
            spec={"podSelector": {"matchLabels": self.selector}, "policyTypes": ["Ingress"], "ingress": rules},
            # Stacks deployed before declared it beside the services, not inside one.
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                aliases=[pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)])),
        )


def ingress_rules(reachable_from: Sequence[str] | str, scraper_namespace: str | None,
                  namespaces: Sequence[str] = ()) -> tuple[str, list[dict]]:
    """A web service's NetworkPolicy: the suffix of its name (who may ask for its pages) and its rules.
    `namespaces`: namespaces whose every pod may ask too (an ingress controller's)."""
    http = [{"protocol": "TCP", "port": "http"}]  # the named container port, not the Service port
    rules: list[dict[str, Any]]
    if reachable_from == ANYWHERE:
        suffix, rules = "anywhere", [{"ports": http}]
    else:
        sources = [s.removeprefix(f"{labels.PART_OF}-") for s in reachable_from]
        suffix = "-".join([*sources, *(f"namespace-{n}" for n in namespaces)]) or "nobody"
        peers: list[dict[str, Any]] = [{"podSelector": {"matchLabels": labels.selector(s)}} for s in reachable_from]
        peers += [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": n}}} for n in namespaces]
        # Reachable from nobody: no rule for its port at all. A rule whose `from` is empty would
        # admit every source (Kubernetes reads a missing or empty list as "anyone").
        rules = [{"from": peers, "ports": http}] if peers else []
    if scraper_namespace:
        # The scraper's namespace to the metrics port, and nothing else to it. A rule of its own, after
        # the first: the policy keeps its name and URN, and a stack deployed before updates it in place.
        rules.append({"from": [{"namespaceSelector": {"matchLabels": {
                          "kubernetes.io/metadata.name": scraper_namespace}}}],
                      "ports": [{"protocol": "TCP", "port": "metrics"}]})
    return suffix, rules


def _container(name: str, image: str, image_from_source: bool, resources: ContainerResources,
               env: dict[str, str] | None, config_mount: ConfigMount | None) -> dict:
    """The app's one container: its image, ports, probes, limits, and no privilege at all."""
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}, {"name": "metrics", "mountPath": METRICS_DIR}]
    if config_mount:
        mounts.append({"name": config_mount.volume_name, "mountPath": config_mount.mount_path, "readOnly": True})
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": pull_policy(image_from_source),
        "ports": [{"name": "http", "containerPort": CONTAINER_PORT, "protocol": "TCP"},
                  {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}],
        "env": [{"name": k, "value": v} for k, v in _contract(image).items()]
        + [{"name": k, "value": v} for k, v in sorted((env or {}).items())],
        "startupProbe": _probe(*STARTUP_PROBE),
        "readinessProbe": _probe(*READINESS_PROBE),
        "livenessProbe": _probe(*LIVENESS_PROBE),
        "resources": _resources(resources),
        # Flag the drain, then serve on while endpoints and pooled clients move away.
        "lifecycle": {"preStop": {"exec": {"command": [
            "/bin/sh", "-c", f"touch {DRAIN_FILE} && sleep {PRE_STOP_SECONDS}"]}}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": mounts,
    }


def pull_policy(image_from_source: bool) -> str:
    """When the kubelet pulls the image: by where it comes from (PULL_FROM_SOURCE, PULL_FROM_REGISTRY)."""
    return PULL_FROM_SOURCE if image_from_source else PULL_FROM_REGISTRY


def _contract(image: str) -> dict[str, str]:
    """The environment every app is started with: where to listen, serve metrics and keep their files,
    which build it is, and the file that says it is draining."""
    build = image_build(image)
    return {
        "PORT": str(CONTAINER_PORT),
        "METRICS_PORT": str(METRICS_PORT),
        "PROMETHEUS_MULTIPROC_DIR": METRICS_DIR,
        **({"SHOP_BUILD": build} if build else {}),
        "SHOP_DRAIN_FILE": DRAIN_FILE,
    }


def _pod_spec(container: dict, config_mount: ConfigMount | None, service_account: str,
              selector: dict[str, str]) -> dict:
    """The pod around it: its own service account but no token, no service links, a non-root user, /tmp and
    the metrics files' directory, spread over nodes and zones."""
    volumes: list[dict] = [{"name": "tmp", "emptyDir": {"sizeLimit": TMP_SIZE_LIMIT}},
                           {"name": "metrics", "emptyDir": {"sizeLimit": METRICS_DIR_SIZE_LIMIT}}]
    if config_mount:
        volumes.append({"name": config_mount.volume_name, "configMap": {"name": config_mount.config_map_name}})
    return {
        "serviceAccountName": service_account,
        "automountServiceAccountToken": False,  # the apps never call the Kubernetes API
        "enableServiceLinks": False,  # the apps read no *_SERVICE_HOST variables
        "topologySpreadConstraints": spread_constraints(selector),
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": volumes,
    }


def spread_constraints(selector: dict[str, str]) -> list[dict]:
    """The pods of one app (`selector`) spread over each key of SPREAD, as its reasons say."""
    return [{"maxSkew": SPREAD_MAX_SKEW, "topologyKey": key, "whenUnsatisfiable": when,
             "labelSelector": {"matchLabels": dict(selector)}, "matchLabelKeys": list(SPREAD_MATCH_LABEL_KEYS),
             "nodeTaintsPolicy": SPREAD_NODE_TAINTS_POLICY}
            for key, when in SPREAD.items()]


def _probe(period: int, failures: int) -> dict:
    return {"httpGet": {"path": PROBE_PATH, "port": "http"}, "timeoutSeconds": PROBE_TIMEOUT_SECONDS,
            "periodSeconds": period, "failureThreshold": failures}


def _resources(resources: ContainerResources) -> dict:
    limits = {k: v for k, v in (("cpu", resources.cpu_limit), ("memory", resources.memory_limit)) if v}
    spec = {"requests": {"cpu": resources.cpu_request, "memory": resources.memory_request}}
    if limits:
        spec["limits"] = limits
    return spec
