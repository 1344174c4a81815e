"""The guardrail rules as plain functions: Kubernetes object in, list of violations out.

Each message names the object and says how to fix it. __main__.py turns these
into Pulumi policies; tests call them directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

# Where each pod-bearing kind keeps its pod spec.
POD_SPEC_PATHS = {
    "kubernetes:core/v1:Pod": ("spec",),
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
SERVICE = "kubernetes:core/v1:Service"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
DISRUPTION_BUDGET = "kubernetes:policy/v1:PodDisruptionBudget"
AUTOSCALERS = ("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "kubernetes:autoscaling/v1:HorizontalPodAutoscaler")
# Workloads whose replicas are worth a disruption budget and spread from this many on: at one there is no spare
# (infra/web_service.py's BUDGET_MIN_REPLICAS).
REPLICATED = (DEPLOYMENT, STATEFUL_SET)
MIN_REPLICAS = 2
# The topology a replicated workload spreads over: nodes (a node lost or drained) and zones (a zone lost).
SPREAD_KEYS = ("kubernetes.io/hostname", "topology.kubernetes.io/zone")
# The apps' metrics port (infra/web_service.py's METRICS_PORT), by name and number: on the pods only,
# reached by the scraper's namespace alone.
METRICS_PORT_NAME, METRICS_PORT = "metrics", 9464


def describe(resource_type: str, props: Mapping[str, Any]) -> str:
    """'Deployment python-shop/python-shop-backend'."""
    kind = resource_type.rpartition(":")[2]
    metadata = props.get("metadata") or {}
    return f"{kind} {metadata.get('namespace') or 'default'}/{metadata.get('name', '?')}"


def pod_spec(resource_type: str, props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    path = POD_SPEC_PATHS.get(resource_type)
    if path is None:
        return None
    node: Any = props
    for key in path:
        node = (node or {}).get(key)
    return node or {}


def containers(spec: Mapping[str, Any], *, init: bool = True) -> Iterator[Mapping[str, Any]]:
    yield from spec.get("containers") or []
    if init:
        yield from spec.get("initContainers") or []


def non_root_without_privileges(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    spec = pod_spec(resource_type, props)
    if spec is None:
        return []
    pod_security = spec.get("securityContext") or {}
    problems = []
    for container in containers(spec):
        security = container.get("securityContext") or {}
        missing = []
        run_as_non_root = security.get("runAsNonRoot", pod_security.get("runAsNonRoot"))
        run_as_user = security.get("runAsUser", pod_security.get("runAsUser"))
        if run_as_non_root is not True or run_as_user == 0:
            missing.append("runAsNonRoot: true (pod or container)")
        if security.get("allowPrivilegeEscalation") is not False or security.get("privileged"):
            missing.append("allowPrivilegeEscalation: false")
        if "ALL" not in ((security.get("capabilities") or {}).get("drop") or []):
            missing.append("capabilities.drop: [ALL]")
        if missing:
            problems.append(
                f"{describe(resource_type, props)}: container '{container.get('name')}' must run as non-root "
                f"without privileges; set securityContext {', '.join(missing)}"
            )
    return problems


def limits_and_probes(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    spec = pod_spec(resource_type, props)
    if spec is None:
        return []
    problems = []
    for container in containers(spec, init=False):
        limits = (container.get("resources") or {}).get("limits") or {}
        missing = [f"resources.limits.{r}" for r in ("cpu", "memory") if not limits.get(r)]
        missing += [probe for probe in ("readinessProbe", "livenessProbe") if not container.get(probe)]
        if missing:
            problems.append(
                f"{describe(resource_type, props)}: container '{container.get('name')}' lacks {', '.join(missing)}; "
                "set CPU and memory limits and readiness and liveness probes"
            )
    return problems


def image_tag_problem(image: str) -> str | None:
    if "@sha256:" in image:
        return None
    last = image.rpartition("/")[2]
    if ":" not in last:
        return "has no tag (it means :latest)"
    if last.partition(":")[2] == "latest":
        return "is tagged :latest"
    return None


def image_problems(resource_type: str, props: Mapping[str, Any], problem_of: Callable[[str], str | None],
                   advice: str) -> list[str]:
    """One line per container whose image `problem_of` finds fault with, naming it and saying what to do."""
    spec = pod_spec(resource_type, props)
    if spec is None:
        return []
    problems = []
    for container in containers(spec):
        image = container.get("image") or ""
        problem = problem_of(image)
        if problem:
            problems.append(
                f"{describe(resource_type, props)}: image '{image}' of container '{container.get('name')}' {problem}; "
                + advice
            )
    return problems


def explicit_image_tags(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    return image_problems(resource_type, props, image_tag_problem,
                          "pin an explicit version tag (e.g. :0.1.0) or a @sha256 digest")


def image_digest_problem(image: str) -> str | None:
    """None for a reference that names its content (`name@sha256:<64 hex>`, a tag before it or not)."""
    _, at, digest = image.rpartition("@")
    algorithm, _, hex_ = digest.partition(":")
    if at and algorithm == "sha256" and len(hex_) == 64 and all(c in "0123456789abcdef" for c in hex_):
        return None
    return "names no @sha256 digest, so what runs may change under the same name"


def images_by_digest(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Every container's image is named by its digest: a tag can be pushed again, a digest is the content."""
    return image_problems(resource_type, props, image_digest_problem,
                          "name it by digest, e.g. registry.example.com/shop/app@sha256:<64 hex> (`docker buildx "
                          "imagetools inspect <image>:<tag>` prints it)")


def no_load_balancer_on_minikube(resource_type: str, props: Mapping[str, Any], target: str) -> list[str]:
    if resource_type != SERVICE or target != "minikube":
        return []
    if (props.get("spec") or {}).get("type") != "LoadBalancer":
        return []
    return [
        f"{describe(resource_type, props)} is a LoadBalancer, which minikube never provisions (it stays pending "
        "without `minikube tunnel`); use NodePort (python-shop:frontendServiceType: NodePort), or set this "
        "policy pack's target to 'cluster' for a cluster that has load balancers"
    ]


def selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Does a label selector (matchLabels and matchExpressions) select these labels?"""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def deployments_covered_by_network_policies(resources: list[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """Every Deployment's pods are selected by an ingress NetworkPolicy of their namespace."""

    def namespace(props):
        return (props.get("metadata") or {}).get("namespace") or "default"

    policies = [
        (namespace(props), (props.get("spec") or {}).get("podSelector") or {})
        for resource_type, props in resources
        if resource_type == NETWORK_POLICY
        and "Ingress" in ((props.get("spec") or {}).get("policyTypes") or ["Ingress"])
    ]
    problems = []
    for resource_type, props in resources:
        if resource_type != DEPLOYMENT:
            continue
        labels = (((props.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
        if not any(ns == namespace(props) and selects(selector, labels) for ns, selector in policies):
            problems.append(
                f"{describe(resource_type, props)} is not selected by any NetworkPolicy in its namespace, so "
                "anything can reach its pods; add an ingress NetworkPolicy for it (python-shop:networkPolicies: true)"
            )
    return problems


def port_number(value: Any) -> int | None:
    """A port as a number, or None for a name. The engine hands the pack numbers as floats (9464.0),
    the mocks as ints: both are the port 9464."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and float(value).is_integer():
        return int(value)
    return int(value) if isinstance(value, str) and value.isdigit() else None


def metrics_not_on_services(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """No Service carries the metrics port: they are scraped on the pods, where the NetworkPolicy
    lets in the scraper's namespace alone; on a Service they would go wherever the Service goes."""
    if resource_type != SERVICE:
        return []
    problems = []
    for port in (props.get("spec") or {}).get("ports") or []:
        target = port.get("targetPort", port.get("port"))  # no targetPort: the port's own number
        if port.get("name") == METRICS_PORT_NAME or target == METRICS_PORT_NAME or port_number(target) == METRICS_PORT:
            problems.append(
                f"{describe(resource_type, props)}: port {port.get('name') or port.get('port')!r} (targetPort "
                f"{target}) exposes the apps' metrics; take it off the Service: metrics are scraped on the pods "
                "(python-shop:monitoring), from the scraper's namespace alone"
            )
    return problems


def admits_metrics(rule: Mapping[str, Any]) -> bool:
    """Does an ingress rule open the metrics port? No ports, or a port entry without a port, opens all."""
    ports = rule.get("ports")
    if not ports:
        return True
    for entry in ports:
        if entry.get("protocol", "TCP") != "TCP":
            continue
        port = entry.get("port")
        if port is None or port == METRICS_PORT_NAME:
            return True
        low = port_number(port)
        if low is not None and low <= METRICS_PORT <= (port_number(entry.get("endPort")) or low):
            return True
    return False


def _from_outside_a_namespace(sources: list[Mapping[str, Any]]) -> str | None:
    """What, if anything, a rule's `from` lets in besides the pods of namespaces it names."""
    if not sources:
        return "anywhere (no from)"
    for peer in sources:
        if peer.get("ipBlock") is not None:
            return "an ipBlock"
        selector = peer.get("namespaceSelector")
        if selector is None:
            return "the pods of its own namespace (a podSelector without a namespaceSelector)"
        if not (selector.get("matchLabels") or selector.get("matchExpressions")):
            return "every namespace (an empty namespaceSelector)"
    return None


def metrics_only_from_a_namespace(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """A NetworkPolicy rule that opens the metrics port names the namespaces it admits (the scraper's),
    never an ipBlock, its own namespace's pods, every namespace or anywhere."""
    if resource_type != NETWORK_POLICY:
        return []
    problems = []
    for index, rule in enumerate((props.get("spec") or {}).get("ingress") or []):
        outside = _from_outside_a_namespace(rule.get("from") or []) if admits_metrics(rule) else None
        if outside:
            problems.append(
                f"{describe(resource_type, props)}: spec.ingress[{index}] admits the metrics port "
                f"({METRICS_PORT_NAME}, {METRICS_PORT}) from {outside}; admit it from the scraper's namespace alone: "
                "from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: <namespace>}}}] "
                "(python-shop:monitoringNamespace), and give other sources their own ports"
            )
    return problems


def _namespace(props: Mapping[str, Any]) -> str:
    return (props.get("metadata") or {}).get("namespace") or "default"


def _template_labels(props: Mapping[str, Any]) -> Mapping[str, str]:
    return (((props.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}


def replicas_of(resource_type: str, props: Mapping[str, Any]) -> int | None:
    """The replicas of a Deployment or StatefulSet that runs MIN_REPLICAS or more, else None (unset is 1,
    as the API server defaults it)."""
    if resource_type not in REPLICATED:
        return None
    replicas = (props.get("spec") or {}).get("replicas", 1)
    # The engine hands numbers to the pack as floats (3.0); the mocks as ints. Null or not a number: not judged
    # (null is 1 to the API server; anything else it refuses). An unknown in a preview never gets here: the
    # policy SDK's proxy raises on reading it and skips the rule (pulumi_policy/proxy.py).
    if isinstance(replicas, bool) or not isinstance(replicas, int | float) or replicas < MIN_REPLICAS:
        return None
    return int(replicas)


def autoscaled_to(resources: list[tuple[str, Mapping[str, Any]]]) -> dict[tuple[str, str, str], int]:
    """(namespace, kind, name) of each workload an autoscaler scales -> the most replicas it may set."""
    scaled: dict[tuple[str, str, str], int] = {}
    for resource_type, props in resources:
        if resource_type not in AUTOSCALERS:
            continue
        spec = props.get("spec") or {}
        target, most = spec.get("scaleTargetRef") or {}, spec.get("maxReplicas")
        if isinstance(most, int | float) and not isinstance(most, bool):  # absent or no number: not judged
            key = (_namespace(props), str(target.get("kind")), str(target.get("name")))
            scaled[key] = max(scaled.get(key, 0), int(most))
    return scaled


def replicas_have_a_disruption_budget(resources: list[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """Every workload of MIN_REPLICAS or more, or that an autoscaler may scale to as many, is selected by a
    PodDisruptionBudget of its namespace, so an eviction (a node drain) cannot take all its pods at once."""
    budgets = [(_namespace(props), selector)
               for resource_type, props in resources if resource_type == DISRUPTION_BUDGET
               # policy/v1: a missing selector selects no pod, an empty one every pod of the namespace.
               if (selector := (props.get("spec") or {}).get("selector")) is not None]
    scaled = autoscaled_to(resources)
    problems = []
    for resource_type, props in resources:
        if resource_type not in REPLICATED:
            continue
        replicas = replicas_of(resource_type, props)
        key = (_namespace(props), resource_type.rpartition(":")[2], str((props.get("metadata") or {}).get("name")))
        most = scaled.get(key, 0)
        if most >= MIN_REPLICAS and most > (replicas or 0):
            runs = f"may run {most} replicas (its HorizontalPodAutoscaler's maxReplicas)"
        elif replicas is not None:
            runs = f"runs {replicas} replicas"
        else:
            continue
        labels = _template_labels(props)
        if not any(ns == _namespace(props) and selects(selector, labels) for ns, selector in budgets):
            problems.append(
                f"{describe(resource_type, props)} {runs} and no PodDisruptionBudget in its namespace "
                "selects its pods, so one node drain may evict them all at once; add a policy/v1 PodDisruptionBudget "
                "selecting them, e.g. maxUnavailable: 1 (infra/web_service.py's WebService adds one from 2 replicas)"
            )
    return problems


def replicas_spread_over_nodes_and_zones(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Every workload of MIN_REPLICAS or more spreads its own pods over nodes and zones (a constraint per key of
    SPREAD_KEYS whose labelSelector selects them), so the scheduler cannot stack them on one node or zone."""
    replicas = replicas_of(resource_type, props)
    if replicas is None:
        return []
    spec = pod_spec(resource_type, props) or {}
    labels = _template_labels(props)
    spread = {constraint.get("topologyKey") for constraint in spec.get("topologySpreadConstraints") or []
              # A constraint without a labelSelector counts no pod at all: it spreads nothing.
              if constraint.get("labelSelector") is not None and selects(constraint["labelSelector"], labels)}
    missing = [key for key in SPREAD_KEYS if key not in spread]
    if not missing:
        return []
    return [
        f"{describe(resource_type, props)} runs {replicas} replicas with no topology spread of its pods over "
        f"{', '.join(missing)}, so the scheduler may put them all on one node or in one zone; add "
        "topologySpreadConstraints with those topologyKeys whose labelSelector selects its pods (zones "
        "whenUnsatisfiable: ScheduleAnyway, which nodes without the label still satisfy)"
    ]
