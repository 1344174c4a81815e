"""Each policy against compliant objects (the shop's own) and non-compliant ones."""

import json

import pytest
from pulumi_policy import EnforcementLevel, ResourceValidationArgs, StackValidationArgs, StackValidationPolicy
from pulumi_policy.policy import PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions

from tests.policy.conftest import POLICY_DIR
from tests.support.kinds import BUDGET, CONFIG_MAP, DEPLOYMENT, INGRESS, NETWORK_POLICY, SERVICE, STATEFUL_SET
from tests.support.pulumi_mocks import DEV_CONFIG, run_program

# What the engine hands a policy for an object declared with no resource options (none of the rules reads them).
NO_OPTIONS = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)


def violations_of(policy, objects, config=None):
    """Run one policy the way the engine does, collecting what it reports."""
    reported = []

    def report(message, urn=None):
        reported.append(message)

    if isinstance(policy, StackValidationPolicy):
        resources = [PolicyResource(t, p, f"urn:{i}", f"r{i}", NO_OPTIONS, None, None, [], {})
                     for i, (t, p) in enumerate(objects)]
        policy.validate(StackValidationArgs(resources, config or {}), report)
    else:
        for resource_type, props in objects:
            args = ResourceValidationArgs(resource_type, props, "urn:x", props["metadata"]["name"], NO_OPTIONS, None,
                                          config or {})
            policy.validate(args, report)
    return reported


def backend_container(objects):
    return find(objects, DEPLOYMENT, "python-shop-backend")["spec"]["template"]["spec"]["containers"][0]


# The dev stack runs the images `make up` builds, tagged by a digest of their source: no registry digest, which
# the advisory images-by-digest says of each (mandatory for the prod stack alone, policy/prod.json).
BY_DIGEST = "images-by-digest"


def test_the_shops_own_objects_pass_every_policy(policies, objects):
    for policy in policies.values():
        if policy.name != BY_DIGEST:
            assert violations_of(policy, objects) == [], policy.name
    assert [m.split(":")[0] for m in violations_of(policies[BY_DIGEST], objects)] == [
        "Deployment python-shop/python-shop-backend", "Deployment python-shop/python-shop-frontend"]


@pytest.mark.parametrize(
    ("change", "phrase"),
    [
        (lambda c, pod: c["securityContext"].pop("allowPrivilegeEscalation"), "allowPrivilegeEscalation: false"),
        (lambda c, pod: c["securityContext"].update(privileged=True), "allowPrivilegeEscalation: false"),
        (lambda c, pod: c["securityContext"]["capabilities"].update(drop=["NET_RAW"]), "capabilities.drop: [ALL]"),
        (lambda c, pod: (c["securityContext"].pop("runAsNonRoot"), pod["securityContext"].pop("runAsNonRoot")),
         "runAsNonRoot: true"),
        (lambda c, pod: c["securityContext"].update(runAsUser=0), "runAsNonRoot: true"),
    ],
    ids=["escalation", "privileged", "capabilities", "root", "uid-0"],
)
def test_non_root_unprivileged(policies, objects, change, phrase):
    pod = find(objects, DEPLOYMENT, "python-shop-backend")["spec"]["template"]["spec"]
    change(pod["containers"][0], pod)
    (message,) = violations_of(policies["containers-non-root-unprivileged"], objects)
    assert "Deployment python-shop/python-shop-backend" in message
    assert "container 'python-shop-backend'" in message
    assert phrase in message


@pytest.mark.parametrize(
    ("change", "phrase"),
    [
        (lambda c: c["resources"].pop("limits"), "resources.limits.cpu, resources.limits.memory"),
        (lambda c: c["resources"]["limits"].pop("memory"), "resources.limits.memory"),
        (lambda c: c.pop("readinessProbe"), "readinessProbe"),
        (lambda c: c.pop("livenessProbe"), "livenessProbe"),
    ],
)
def test_limits_and_probes(policies, objects, change, phrase):
    change(backend_container(objects))
    (message,) = violations_of(policies["containers-limits-and-probes"], objects)
    assert message.startswith("Deployment python-shop/python-shop-backend: container 'python-shop-backend' lacks")
    assert phrase in message


@pytest.mark.parametrize(
    ("image", "phrase"),
    [
        ("python-shop-backend:latest", "is tagged :latest"),
        ("python-shop-backend", "has no tag"),
        ("registry:5000/shop", "has no tag"),
    ],
)
def test_images_need_an_explicit_tag(policies, objects, image, phrase):
    backend_container(objects)["image"] = image
    (message,) = violations_of(policies["images-explicit-tag"], objects)
    assert f"image '{image}'" in message and phrase in message and "pin an explicit version tag" in message


def test_image_digests_and_registry_ports_are_fine(policies, objects):
    backend_container(objects)["image"] = "registry:5000/shop/backend@sha256:" + "a" * 64
    frontend = find(objects, DEPLOYMENT, "python-shop-frontend")
    frontend["spec"]["template"]["spec"]["containers"][0]["image"] = "registry:5000/shop/frontend:1.2"
    assert violations_of(policies["images-explicit-tag"], objects) == []


DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("image", "by_digest"),
    [
        (f"registry:5000/shop/backend@{DIGEST}", True),
        (f"registry:5000/shop/backend:1.2@{DIGEST}", True),  # a tag for people, the digest for the runtime
        ("registry:5000/shop/backend:1.2", False),
        ("python-shop-backend:0123456789abcdef", False),  # the source digest make up tags with is a tag
        ("registry:5000/shop/backend@sha256:" + "a" * 63, False),
        ("registry:5000/shop/backend@sha256:" + "A" * 64, False),  # the runtime refuses upper case
        ("registry:5000/shop/backend@md5:" + "a" * 32, False),
    ],
    ids=["digest", "tag-and-digest", "tag", "source-tag", "short", "upper-case", "other-algorithm"],
)
def test_images_by_digest_asks_for_a_sha256_digest(policies, objects, image, by_digest):
    backend_container(objects)["image"] = image
    found = [m for m in violations_of(policies[BY_DIGEST], objects) if "python-shop-backend'" in m]
    assert found == ([] if by_digest else [
        f"Deployment python-shop/python-shop-backend: image '{image}' of container 'python-shop-backend' names no "
        "@sha256 digest, so what runs may change under the same name; name it by digest, e.g. "
        "registry.example.com/shop/app@sha256:<64 hex> (`docker buildx imagetools inspect <image>:<tag>` prints it)"])



def test_no_load_balancer_when_the_target_is_minikube(policies, objects):
    find(objects, SERVICE, "python-shop-frontend-service")["spec"]["type"] = "LoadBalancer"
    policy = policies["no-load-balancer-on-minikube"]
    (message,) = violations_of(policy, objects, {"target": "minikube"})
    assert "Service python-shop/python-shop-frontend-service is a LoadBalancer" in message
    assert "NodePort" in message
    assert violations_of(policy, objects, {"target": "cluster"}) == []


def test_every_deployment_needs_a_network_policy(policies, objects):
    policy = policies["deployments-covered-by-network-policy"]
    without_backend_rule = [
        (t, p) for t, p in objects
        if not (t == NETWORK_POLICY
                and p["metadata"]["name"] in ("python-shop-default-deny-ingress", "python-shop-backend-from-frontend"))
    ]
    (message,) = violations_of(policy, without_backend_rule)
    assert message.startswith("Deployment python-shop/python-shop-backend is not selected by any NetworkPolicy")
    no_policies = [(t, p) for t, p in objects if t != NETWORK_POLICY]
    assert len(violations_of(policy, no_policies)) == 2


def test_a_policy_in_another_namespace_does_not_count(policies, objects):
    moved = [
        (t, {**p, "metadata": {**p["metadata"], "namespace": "elsewhere"}}) if t == NETWORK_POLICY else (t, p)
        for t, p in objects
    ]
    assert len(violations_of(policies["deployments-covered-by-network-policy"], moved)) == 2


def find(objects, resource_type, name):
    return next(props for t, props in objects if t == resource_type and props["metadata"]["name"] == name)


# --- every pod-bearing kind, init containers, pod-level fallbacks, selector forms -----------------------

RESOURCE_POLICIES = ("containers-non-root-unprivileged", "containers-limits-and-probes", "images-explicit-tag")


def container(**changes):
    """A container every guardrail passes; `changes` replace its fields."""
    probe = {"httpGet": {"path": "/healthz", "port": "http"}}
    return {
        "name": "app",
        "image": "shop/app:1.0",
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}},
        "readinessProbe": probe,
        "livenessProbe": probe,
        **changes,
    }


def pod(containers=None, init=None, security=None):
    spec = {"securityContext": {"runAsNonRoot": True, "runAsUser": 10001} if security is None else security,
            "containers": containers or [container()]}
    if init:
        spec["initContainers"] = init
    return spec


# Where each kind keeps its pod, written out (not read from the rules): a kind whose pods the rules
# did not find would let a root or :latest container through unseen.
KINDS = {
    "kubernetes:core/v1:Pod": lambda spec: {"spec": spec},
    DEPLOYMENT: lambda spec: {"spec": {"template": {"spec": spec}}},
    STATEFUL_SET: lambda spec: {"spec": {"template": {"spec": spec}}},
    "kubernetes:apps/v1:DaemonSet": lambda spec: {"spec": {"template": {"spec": spec}}},
    "kubernetes:apps/v1:ReplicaSet": lambda spec: {"spec": {"template": {"spec": spec}}},
    "kubernetes:batch/v1:Job": lambda spec: {"spec": {"template": {"spec": spec}}},
    "kubernetes:batch/v1:CronJob": lambda spec: {"spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}},
}


def workload(kind, spec, namespace="shop"):
    return kind, {"metadata": {"name": "w", "namespace": namespace}, **KINDS[kind](spec)}


def all_violations(policies, objects):
    return {name: violations_of(policies[name], objects) for name in RESOURCE_POLICIES}


@pytest.mark.parametrize("kind", list(KINDS), ids=lambda k: k.rsplit(":", 1)[-1])
def test_every_pod_bearing_kind_is_checked(policies, kind):
    short = kind.rsplit(":", 1)[-1]
    assert all_violations(policies, [workload(kind, pod())]) == {name: [] for name in RESOURCE_POLICIES}
    bad = container(image="shop/app:latest", securityContext={}, resources={})
    found = all_violations(policies, [workload(kind, pod([bad]))])
    assert found == {
        "containers-non-root-unprivileged": [
            f"{short} shop/w: container 'app' must run as non-root without privileges; set securityContext "
            "allowPrivilegeEscalation: false, capabilities.drop: [ALL]"],
        "containers-limits-and-probes": [
            f"{short} shop/w: container 'app' lacks resources.limits.cpu, resources.limits.memory; "
            "set CPU and memory limits and readiness and liveness probes"],
        "images-explicit-tag": [
            f"{short} shop/w: image 'shop/app:latest' of container 'app' is tagged :latest; "
            "pin an explicit version tag (e.g. :0.1.0) or a @sha256 digest"],
    }


def test_objects_without_pods_are_not_checked(policies):
    config_map = (CONFIG_MAP, {"metadata": {"name": "c"}, "data": {"image": "x:latest"}})
    assert all_violations(policies, [config_map]) == {name: [] for name in RESOURCE_POLICIES}


def test_init_containers_run_unprivileged_with_tagged_images_but_need_no_probes(policies):
    # Kubernetes refuses probes on init containers, and they run to completion, so limits are theirs to skip too;
    # they run before the app, on the same node, so root or :latest there is as bad as in the app.
    init = [{"name": "migrate", "image": "shop/migrate", "securityContext": {"runAsUser": 0}}]
    found = all_violations(policies, [workload("kubernetes:batch/v1:Job", pod(init=init))])
    assert found["containers-limits-and-probes"] == []
    (root,) = found["containers-non-root-unprivileged"]
    assert root.startswith("Job shop/w: container 'migrate' must run as non-root")
    assert "runAsNonRoot: true (pod or container)" in root
    (untagged,) = found["images-explicit-tag"]
    assert untagged.startswith("Job shop/w: image 'shop/migrate' of container 'migrate' has no tag (it means :latest)")


@pytest.mark.parametrize(
    ("pod_security", "container_security", "non_root"),
    [
        ({"runAsNonRoot": True}, {}, True),  # the pod's setting covers its containers
        ({}, {"runAsNonRoot": True}, True),
        ({}, {}, False),
        ({"runAsNonRoot": True}, {"runAsNonRoot": False}, False),  # a container's own setting wins
        ({"runAsNonRoot": False}, {"runAsNonRoot": True}, True),
        ({"runAsNonRoot": True, "runAsUser": 0}, {}, False),  # uid 0 is root whatever runAsNonRoot says
        ({"runAsNonRoot": True, "runAsUser": 0}, {"runAsUser": 10001}, True),
        ({"runAsNonRoot": True}, {"runAsUser": 0}, False),
        ({"runAsNonRoot": "true"}, {}, False),  # only the boolean true: a string is a typo the API would refuse
    ],
)
def test_run_as_non_root_falls_back_to_the_pod(policies, pod_security, container_security, non_root):
    unprivileged = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    spec = pod([container(securityContext={**unprivileged, **container_security})], security=pod_security)
    found = violations_of(policies["containers-non-root-unprivileged"], [workload(STATEFUL_SET, spec)])
    assert found == ([] if non_root else [
        "StatefulSet shop/w: container 'app' must run as non-root without privileges; "
        "set securityContext runAsNonRoot: true (pod or container)"])


def test_privileges_are_never_taken_from_the_pod(policies):
    # allowPrivilegeEscalation and capabilities exist per container only: a pod without a securityContext
    # at all still needs them on each container.
    spec = pod([container(securityContext={"runAsNonRoot": True})], security={})
    (message,) = violations_of(policies["containers-non-root-unprivileged"], [workload("kubernetes:apps/v1:DaemonSet", spec)])
    assert message.endswith("set securityContext allowPrivilegeEscalation: false, capabilities.drop: [ALL]")


def test_an_object_without_a_namespace_is_named_in_default(policies):
    kind, props = workload("kubernetes:core/v1:Pod", pod([container(image="app")]))
    del props["metadata"]["namespace"]
    (message,) = violations_of(policies["images-explicit-tag"], [(kind, props)])
    assert message.startswith("Pod default/w: image 'app'")


def network_policy(pod_selector, policy_types=("Ingress",), namespace="python-shop"):
    spec = {"podSelector": pod_selector}
    if policy_types is not None:
        spec["policyTypes"] = list(policy_types)
    return NETWORK_POLICY, {"metadata": {"name": "np", "namespace": namespace}, "spec": spec}


def uncovered(policies, objects, policy):
    """The shop's Deployments no NetworkPolicy selects, when `policy` is the only one."""
    kept = [(t, p) for t, p in objects if t != NETWORK_POLICY] + [policy]
    messages = violations_of(policies["deployments-covered-by-network-policy"], kept)
    return sorted(m.split(" is not selected")[0] for m in messages)


BOTH = ["Deployment python-shop/python-shop-backend", "Deployment python-shop/python-shop-frontend"]
BACKEND, FRONTEND = BOTH


@pytest.mark.parametrize(
    ("selector", "left_uncovered"),
    [
        ({}, []),  # selects every pod of the namespace
        ({"matchLabels": {"app": "python-shop-backend"}}, [FRONTEND]),
        ({"matchLabels": {"app": "python-shop-backend", "tier": "x"}}, BOTH),  # every label must match
        ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["python-shop-backend", "python-shop-frontend"]}]}, []),
        ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["python-shop-frontend"]}]}, [BACKEND]),
        ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}]}, BOTH),  # an absent key is not in
        ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["python-shop-backend"]}]}, [BACKEND]),
        ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]}, []),  # an absent key is not in
        ({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, []),
        ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, BOTH),
        ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, []),
        ({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, BOTH),
        ({"matchLabels": {"app.kubernetes.io/part-of": "python-shop"},  # both forms must hold
          "matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["python-shop-frontend"]}]}, [FRONTEND]),
    ],
    ids=["empty", "labels", "labels-all", "in", "in-other", "in-absent", "notin", "notin-absent", "exists",
         "exists-absent", "doesnotexist-absent", "doesnotexist", "labels-and-expressions"],
)
def test_network_policy_selectors_as_kubernetes_reads_them(policies, objects, selector, left_uncovered):
    assert uncovered(policies, objects, network_policy(selector)) == left_uncovered


def test_only_ingress_policies_cover_a_deployment(policies, objects):
    # An egress-only policy leaves the pods open to anyone; a policy without policyTypes is an ingress one.
    assert uncovered(policies, objects, network_policy({}, policy_types=["Egress"])) == BOTH
    assert uncovered(policies, objects, network_policy({}, policy_types=["Egress", "Ingress"])) == []
    assert uncovered(policies, objects, network_policy({}, policy_types=None)) == []


def test_a_deployment_outside_any_namespace_is_in_default(policies, objects):
    moved = [(t, {**p, "metadata": {k: v for k, v in p["metadata"].items() if k != "namespace"}})
             for t, p in objects if t != NETWORK_POLICY]
    assert uncovered(policies, moved, network_policy({}, namespace="default")) == []
    assert len(violations_of(policies["deployments-covered-by-network-policy"], moved)) == 2


@pytest.mark.parametrize("kind", list(KINDS), ids=lambda k: k.rsplit(":", 1)[-1])
def test_images_by_digest_checks_every_pod_bearing_kind_and_init_containers(policies, kind):
    spec = pod([container(image=f"shop/app@{DIGEST}")], init=[container(name="migrate", image="shop/migrate:1.0")])
    found = violations_of(policies[BY_DIGEST], [workload(kind, spec)])
    assert [m.partition(" names no")[0] for m in found] == [
        f"{kind.rsplit(':', 1)[-1]} shop/w: image 'shop/migrate:1.0' of container 'migrate'"]


# --- the metrics port: off the Services, reached from the scraper's namespace alone ---------------------

@pytest.mark.parametrize("mode", ["off", "podmonitor"])
def test_the_shops_objects_in_every_monitoring_mode_pass_every_policy(policies, mode):
    # annotations, the default, is the dev stack's (test_the_shops_own_objects_pass_every_policy).
    objects = [(r.type, r.inputs) for r in run_program({**DEV_CONFIG, "python-shop:monitoring": mode}).kubernetes_objects()]
    assert any(t.endswith(":PodMonitor") for t, _ in objects) == (mode == "podmonitor")
    for policy in policies.values():
        if policy.name != BY_DIGEST:  # advisory, and the images built from source have none (above)
            assert violations_of(policy, objects) == [], policy.name


@pytest.mark.parametrize(
    ("port", "shown"),
    [
        ({"name": "metrics", "port": 9464, "targetPort": "metrics", "protocol": "TCP"}, "port 'metrics' (targetPort metrics)"),
        ({"name": "metrics", "port": 80, "targetPort": "http"}, "port 'metrics' (targetPort http)"),  # named so
        ({"name": "prom", "port": 80, "targetPort": 9464}, "port 'prom' (targetPort 9464)"),
        ({"name": "prom", "port": 80, "targetPort": "9464"}, "port 'prom' (targetPort 9464)"),
        ({"port": 9464}, "port 9464 (targetPort 9464)"),  # no targetPort: the port's own number
        ({"name": "prom", "port": 80.0, "targetPort": 9464.0}, "port 'prom' (targetPort 9464.0)"),  # as the engine sends
    ],
    ids=["named-and-targeted", "named", "by-number", "by-number-string", "untargeted", "engine-float"],
)
def test_no_service_carries_the_metrics_port(policies, objects, port, shown):
    find(objects, SERVICE, "python-shop-backend-service")["spec"]["ports"].append(port)
    assert violations_of(policies["metrics-not-on-services"], objects) == [
        f"Service python-shop/python-shop-backend-service: {shown} exposes the apps' metrics; take it off the "
        "Service: metrics are scraped on the pods (python-shop:monitoring), from the scraper's namespace alone"]


@pytest.mark.parametrize("port", [{"name": "http", "port": 9464, "targetPort": "http"},  # 9464 outside, http inside
                                  {"name": "web", "port": 8080, "targetPort": 8080}])
def test_other_service_ports_are_fine(policies, objects, port):
    find(objects, SERVICE, "python-shop-frontend-service")["spec"]["ports"] = [port]
    assert violations_of(policies["metrics-not-on-services"], objects) == []


def scraper_rule(objects, policy="python-shop-backend-from-frontend"):
    """The second ingress rule of an app's NetworkPolicy: the scraper's namespace to the metrics port."""
    rules = find(objects, NETWORK_POLICY, policy)["spec"]["ingress"]
    assert rules[1]["ports"] == [{"protocol": "TCP", "port": "metrics"}]
    return rules[1]


def metrics_message(index, outside, policy="python-shop-backend-from-frontend"):
    return (f"NetworkPolicy python-shop/{policy}: spec.ingress[{index}] admits the metrics port (metrics, 9464) "
            f"from {outside}; admit it from the scraper's namespace alone: from: [{{namespaceSelector: {{matchLabels: "
            "{kubernetes.io/metadata.name: <namespace>}}}] (python-shop:monitoringNamespace), and give other sources "
            "their own ports")


@pytest.mark.parametrize(
    ("sources", "outside"),
    [
        (None, "anywhere (no from)"),
        ([], "anywhere (no from)"),
        ([{"ipBlock": {"cidr": "10.0.0.0/8"}}], "an ipBlock"),
        ([{"podSelector": {"matchLabels": {"app": "prometheus"}}}],
         "the pods of its own namespace (a podSelector without a namespaceSelector)"),
        ([{"namespaceSelector": {}}], "every namespace (an empty namespaceSelector)"),
        ([{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}},
          {"ipBlock": {"cidr": "0.0.0.0/0"}}], "an ipBlock"),  # one open peer opens the rule
    ],
    ids=["no-from", "empty-from", "ip-block", "pod-selector", "empty-namespace-selector", "namespace-and-ip-block"],
)
def test_the_metrics_port_is_admitted_from_a_named_namespace_only(policies, objects, sources, outside):
    rule = scraper_rule(objects)
    if sources is None:
        del rule["from"]
    else:
        rule["from"] = sources
    assert violations_of(policies["metrics-only-from-a-namespace"], objects) == [metrics_message(1, outside)]


@pytest.mark.parametrize(
    "ports",
    [
        None,  # no ports: every port
        [{"protocol": "TCP"}],  # an entry without a port: every port
        [{"port": 9464}],  # the number, protocol TCP by default
        [{"protocol": "TCP", "port": 9000, "endPort": 10000}],  # a range around it
        [{"protocol": "TCP", "port": 9464.0}],  # a number as the engine hands it to the pack: a float
        [{"protocol": "TCP", "port": 9000.0, "endPort": 10000.0}],
        [{"protocol": "TCP", "port": "http"}, {"protocol": "TCP", "port": "metrics"}],
        [{"protocol": "UDP", "port": 9464}, {"protocol": "TCP", "port": "metrics"}],  # each entry counts
    ],
    ids=["no-ports", "no-port", "number", "range", "engine-float", "engine-float-range", "named-among-others",
         "after-another-protocol"],
)
def test_a_rule_opens_the_metrics_port_in_every_way_kubernetes_reads_it(policies, objects, ports):
    # The frontend's pages rule (from anywhere) made to reach the metrics port too.
    rule = find(objects, NETWORK_POLICY, "python-shop-frontend-from-anywhere")["spec"]["ingress"][0]
    if ports is None:
        del rule["ports"]
    else:
        rule["ports"] = ports
    assert violations_of(policies["metrics-only-from-a-namespace"], objects) == [
        metrics_message(0, "anywhere (no from)", policy="python-shop-frontend-from-anywhere")]


@pytest.mark.parametrize(
    "ports",
    [
        [{"protocol": "TCP", "port": "http"}],
        [{"protocol": "TCP", "port": 8080}],
        [{"protocol": "TCP", "port": 9000, "endPort": 9463}],  # a range that stops short of it
        [{"protocol": "UDP", "port": 9464}],  # another protocol: not the metrics' HTTP
    ],
    ids=["http", "8080", "range-below", "udp"],
)
def test_rules_that_leave_the_metrics_port_shut_may_admit_anyone(policies, objects, ports):
    rule = find(objects, NETWORK_POLICY, "python-shop-frontend-from-anywhere")["spec"]["ingress"][0]
    rule["ports"] = ports
    assert violations_of(policies["metrics-only-from-a-namespace"], objects) == []


def test_a_namespace_chosen_by_expressions_is_named_too(policies, objects):
    scraper_rule(objects)["from"] = [{"namespaceSelector": {"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["monitoring"]}]},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}]  # narrower still
    assert violations_of(policies["metrics-only-from-a-namespace"], objects) == []


def test_the_metrics_rules_look_at_their_own_kinds_only(policies):
    # Shaped like an offending Service and NetworkPolicy at once, but of another kind (an Ingress, say).
    other = (INGRESS,
             {"metadata": {"name": "x", "namespace": "python-shop"},
              "spec": {"ports": [{"name": "metrics", "port": 9464}], "ingress": [{}]}})
    for name in ("metrics-not-on-services", "metrics-only-from-a-namespace"):
        assert violations_of(policies[name], [other]) == []
    assert len(violations_of(policies["metrics-not-on-services"], [(SERVICE, other[1])])) == 1
    assert len(violations_of(policies["metrics-only-from-a-namespace"], [(NETWORK_POLICY, other[1])])) == 1


# --- replicas: a disruption budget and spread over nodes and zones (advisory; mandatory in policy/prod.json) ---

REPLICA_POLICIES = ("replicas-have-a-disruption-budget", "replicas-spread-over-nodes-and-zones")
PROD_PACK_CONFIG = POLICY_DIR / "prod.json"


def budget_message(name, replicas, kind="Deployment", namespace="python-shop"):
    return (f"{kind} {namespace}/{name} runs {replicas} replicas and no PodDisruptionBudget in its namespace selects its "
            "pods, so one node drain may evict them all at once; add a policy/v1 PodDisruptionBudget selecting them, "
            "e.g. maxUnavailable: 1 (infra/web_service.py's WebService adds one from 2 replicas)")


def spread_message(name, replicas, missing, kind="Deployment", namespace="python-shop"):
    return (f"{kind} {namespace}/{name} runs {replicas} replicas with no topology spread of its pods over {missing}, so "
            "the scheduler may put them all on one node or in one zone; add topologySpreadConstraints with those "
            "topologyKeys whose labelSelector selects its pods (zones whenUnsatisfiable: ScheduleAnyway, which nodes "
            "without the label still satisfy)")


def replica_violations(policies, objects):
    return {name: violations_of(policies[name], objects) for name in REPLICA_POLICIES}


NONE: dict[str, list[str]] = {name: [] for name in REPLICA_POLICIES}


def test_the_prod_stack_passes_every_policy_under_the_prod_pack_config(policies, prod_objects):
    # Pulumi.prod.yaml: 2 backend and 3 frontend replicas, each with its budget and spread.
    assert sorted(p["metadata"]["name"] for t, p in prod_objects if t == BUDGET) == [
        "python-shop-backend", "python-shop-frontend"]
    config = json.loads(PROD_PACK_CONFIG.read_text())["no-load-balancer-on-minikube"]
    for policy in policies.values():
        assert violations_of(policy, prod_objects, config) == [], policy.name


def test_the_prod_pack_config_makes_budgets_and_spread_mandatory(policies):
    # Advisory by default (a dev stack on one node has nothing to drain or spread over); policy/prod.json,
    # which `pulumi preview --stack prod` is run with, refuses the preview on either.
    # The same for images by digest: the dev stack's images are built into the node, tagged by their source.
    for name in (*REPLICA_POLICIES, BY_DIGEST):
        assert policies[name].enforcement_level == EnforcementLevel.ADVISORY, name
    assert json.loads(PROD_PACK_CONFIG.read_text()) == {
        "no-load-balancer-on-minikube": {"target": "cluster"},
        "images-by-digest": "mandatory",
        "replicas-have-a-disruption-budget": "mandatory",
        "replicas-spread-over-nodes-and-zones": "mandatory",
    }
    # The other policies take the pack's level: mandatory.
    assert {name for name, policy in policies.items() if policy.enforcement_level is not None} == {
        *REPLICA_POLICIES, BY_DIGEST}


def test_the_prod_stack_names_its_images_by_digest(policies, prod_objects):
    images = sorted(c["image"] for t, p in prod_objects if t == DEPLOYMENT for c in p["spec"]["template"]["spec"]["containers"])
    assert images == [
        "registry.example.com/shop/python-shop-backend@sha256:"
        "26e381cdc50999a7e0815654354321f4ab56793773085ad96bd53682ccf33ad0",
        "registry.example.com/shop/python-shop-frontend@sha256:"
        "cda308f0473f66021da47d90ad2f233893f49f683e49d99000f5fdbb9ca87fc2",
    ]
    find(prod_objects, DEPLOYMENT, "python-shop-frontend")["spec"]["template"]["spec"]["containers"][0]["image"] = (
        "registry.example.com/shop/python-shop-frontend:1.4.2")
    (refused,) = violations_of(policies[BY_DIGEST], prod_objects)
    assert refused.startswith("Deployment python-shop/python-shop-frontend: image "
                              "'registry.example.com/shop/python-shop-frontend:1.4.2' of container")


def test_a_prod_stack_without_budgets_is_refused(policies, prod_objects):
    without_budgets = [(t, p) for t, p in prod_objects if t != BUDGET]
    assert replica_violations(policies, without_budgets) == {
        "replicas-have-a-disruption-budget": [budget_message("python-shop-backend", 2),
                                              budget_message("python-shop-frontend", 3)],
        "replicas-spread-over-nodes-and-zones": [],
    }


def test_a_prod_stack_without_spread_is_refused(policies, prod_objects):
    find(prod_objects, DEPLOYMENT, "python-shop-frontend")["spec"]["template"]["spec"].pop("topologySpreadConstraints")
    assert replica_violations(policies, prod_objects) == {
        "replicas-have-a-disruption-budget": [],
        "replicas-spread-over-nodes-and-zones": [spread_message(
            "python-shop-frontend", 3, "kubernetes.io/hostname, topology.kubernetes.io/zone")],
    }


def test_the_dev_stacks_single_replicas_need_neither(policies, objects):
    # One replica each: no budget (it would block every drain or protect nothing), and spread is not required.
    assert [t for t, _ in objects if t == BUDGET] == []
    for _, props in objects:
        props.get("spec", {}).get("template", {}).get("spec", {}).pop("topologySpreadConstraints", None)
    assert replica_violations(policies, objects) == NONE


def pods(labels):
    return {"metadata": {"labels": labels}, "spec": pod()}


def spread(key, selector):
    return {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": selector}


WEB = {"app": "web"}
BOTH_KEYS = [spread("kubernetes.io/hostname", {"matchLabels": WEB}),
             spread("topology.kubernetes.io/zone", {"matchLabels": WEB})]


def replicated(replicas, constraints=BOTH_KEYS, kind=DEPLOYMENT, namespace="shop"):
    template = pods(WEB)
    template["spec"]["topologySpreadConstraints"] = constraints
    spec = {"selector": {"matchLabels": WEB}, "template": template}
    if replicas is not None:
        spec["replicas"] = replicas
    return kind, {"metadata": {"name": "web", "namespace": namespace}, "spec": spec}


def budget(selector, namespace="shop"):
    spec = {"maxUnavailable": 1}
    if selector is not None:
        spec["selector"] = selector
    return BUDGET, {"metadata": {"name": "web", "namespace": namespace}, "spec": spec}


@pytest.mark.parametrize(
    ("replicas", "needed"),
    [(None, False), (1, False), (2, True), (3.0, True), (50, True)],  # unset is 1; the engine's numbers are floats
    ids=["unset", "one", "two", "float-from-the-engine", "fifty"],
)
def test_budgets_and_spread_are_asked_of_two_replicas_or_more(policies, replicas, needed):
    workload_ = replicated(replicas, constraints=[])
    shown = int(replicas) if needed else None
    assert replica_violations(policies, [workload_]) == ({
        "replicas-have-a-disruption-budget": [budget_message("web", shown, namespace="shop")],
        "replicas-spread-over-nodes-and-zones": [spread_message(
            "web", shown, "kubernetes.io/hostname, topology.kubernetes.io/zone", namespace="shop")],
    } if needed else NONE)


def test_replicas_written_as_null_are_one_as_the_api_server_reads_them(policies):
    kind, props = replicated(1, constraints=[])
    props["spec"]["replicas"] = None
    assert replica_violations(policies, [(kind, props)]) == NONE


def test_every_workload_is_judged_whatever_comes_before_it(policies):
    kind, small = replicated(1, constraints=[])
    small["metadata"]["name"] = "api"  # one pod, listed first: no budget asked of it, and the next still judged
    found = violations_of(policies["replicas-have-a-disruption-budget"], [(kind, small), replicated(3)])
    assert found == [budget_message("web", 3, namespace="shop")]


def test_a_stateful_set_is_asked_the_same(policies):
    found = replica_violations(policies, [replicated(3, constraints=[], kind=STATEFUL_SET)])
    assert found == {
        "replicas-have-a-disruption-budget": [budget_message("web", 3, kind="StatefulSet", namespace="shop")],
        "replicas-spread-over-nodes-and-zones": [spread_message(
            "web", 3, "kubernetes.io/hostname, topology.kubernetes.io/zone", kind="StatefulSet", namespace="shop")],
    }
    assert replica_violations(policies, [replicated(3, kind=STATEFUL_SET), budget({"matchLabels": WEB})]) == NONE


@pytest.mark.parametrize(
    ("budget_", "covered"),
    [
        (budget({"matchLabels": WEB}), True),
        (budget({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]}), True),
        (budget({}), True),  # policy/v1: an empty selector selects every pod of the namespace
        (budget(None), False),  # and a missing one none
        (budget({"matchLabels": {"app": "api"}}), False),
        (budget({"matchLabels": {"app": "web", "tier": "x"}}), False),  # every label must match
        (budget({"matchLabels": WEB}, namespace="elsewhere"), False),  # a budget guards its own namespace only
    ],
    ids=["labels", "expressions", "empty", "missing", "other-app", "more-labels", "other-namespace"],
)
def test_a_budget_counts_when_it_selects_the_pods_in_their_namespace(policies, budget_, covered):
    assert violations_of(policies["replicas-have-a-disruption-budget"], [replicated(2), budget_]) == (
        [] if covered else [budget_message("web", 2, namespace="shop")])


@pytest.mark.parametrize(
    ("constraints", "missing"),
    [
        (BOTH_KEYS, None),
        ([BOTH_KEYS[0]], "topology.kubernetes.io/zone"),
        ([BOTH_KEYS[1]], "kubernetes.io/hostname"),
        # Selecting other pods, or none at all (no labelSelector counts no pod): no spread of these.
        ([spread("kubernetes.io/hostname", {"matchLabels": {"app": "api"}}), BOTH_KEYS[1]], "kubernetes.io/hostname"),
        ([{k: v for k, v in c.items() if k != "labelSelector"} for c in BOTH_KEYS],
         "kubernetes.io/hostname, topology.kubernetes.io/zone"),
        ([spread("topology.kubernetes.io/region", {"matchLabels": WEB}), BOTH_KEYS[0]], "topology.kubernetes.io/zone"),
        ([spread(c["topologyKey"], {}) for c in BOTH_KEYS], None),  # an empty selector counts every pod, these too
    ],
    ids=["both", "no-zone", "no-node", "other-pods", "no-selector", "region-is-no-zone", "empty-selector"],
)
def test_spread_counts_per_key_when_it_selects_the_pods(policies, constraints, missing):
    found = violations_of(policies["replicas-spread-over-nodes-and-zones"], [replicated(2, constraints)])
    assert found == ([] if missing is None else [spread_message("web", 2, missing, namespace="shop")])


def autoscaler(most, kind="Deployment", name="web", namespace="shop", api="autoscaling/v2"):
    return (f"kubernetes:{api}:HorizontalPodAutoscaler",
            {"metadata": {"name": "web", "namespace": namespace},
             "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": name},
                      "minReplicas": 1, "maxReplicas": most}})


def autoscaled_message(most):
    return budget_message("web", 2, namespace="shop").replace(
        "runs 2 replicas", f"may run {most} replicas (its HorizontalPodAutoscaler's maxReplicas)")


@pytest.mark.parametrize(
    ("scaler", "needed"),
    [
        (autoscaler(5), 5),
        (autoscaler(5.0), 5),  # the engine's numbers are floats
        (autoscaler(5, api="autoscaling/v1"), 5),
        (autoscaler(2), 2),  # two pods: a drain may take both
        (autoscaler(1), None),  # never more than one pod
        (autoscaler(None), None),  # absent (the API server refuses that): not judged
        (autoscaler(5, name="api"), None),  # another workload's
        (autoscaler(5, kind="StatefulSet"), None),
        (autoscaler(5, namespace="elsewhere"), None),
    ],
    ids=["v2", "float-from-the-engine", "v1", "max-two", "max-one", "absent", "other-name", "other-kind",
         "other-namespace"],
)
def test_a_workload_an_autoscaler_may_scale_to_two_or_more_needs_a_budget(policies, scaler, needed):
    # Its own replicas (1, or unset and so 1) ask for none; the autoscaler may set up to maxReplicas.
    found = violations_of(policies["replicas-have-a-disruption-budget"], [replicated(1), scaler])
    assert found == ([autoscaled_message(needed)] if needed else [])
    budgeted = violations_of(policies["replicas-have-a-disruption-budget"],
                             [replicated(None), scaler, budget({"matchLabels": WEB})])
    assert budgeted == []


def test_an_autoscaler_that_cannot_go_past_the_replicas_is_not_what_the_message_names(policies):
    # maxReplicas 3 over 3 replicas: the workload runs 3 whatever the autoscaler does.
    found = violations_of(policies["replicas-have-a-disruption-budget"], [replicated(3), autoscaler(3)])
    assert found == [budget_message("web", 3, namespace="shop")]


def test_the_shops_autoscaled_apps_pass_the_replica_rules(policies):
    run = run_program({**DEV_CONFIG, "python-shop:backendMaxReplicas": "4", "python-shop:frontendMaxReplicas": "6"})
    objects = [(r.type, r.inputs) for r in run.kubernetes_objects()]
    assert replica_violations(policies, objects) == NONE
    without_budgets = [(t, p) for t, p in objects if t != BUDGET]
    assert [m.split(" and no")[0] for m in violations_of(policies["replicas-have-a-disruption-budget"],
                                                          without_budgets)] == [
        "Deployment python-shop/python-shop-backend may run 4 replicas (its HorizontalPodAutoscaler's maxReplicas)",
        "Deployment python-shop/python-shop-frontend may run 6 replicas (its HorizontalPodAutoscaler's maxReplicas)"]


def test_the_shop_behind_an_ingress_passes_every_policy(policies):
    run = run_program({**DEV_CONFIG, "python-shop:frontendHost": "shop.example.com",
                       "python-shop:frontendServiceType": "ClusterIP"})
    objects = [(r.type, r.inputs) for r in run.kubernetes_objects()]
    assert any(t.endswith(":Ingress") for t, _ in objects)
    for policy in policies.values():
        if policy.name != BY_DIGEST:
            assert violations_of(policy, objects) == [], policy.name


def test_other_kinds_need_neither(policies):
    # A DaemonSet runs one pod per node and a Job runs to completion: neither has replicas to keep serving.
    daemon_set = ("kubernetes:apps/v1:DaemonSet", {"metadata": {"name": "d", "namespace": "shop"},
                                                   "spec": {"replicas": 3, "template": pods(WEB)}})
    assert replica_violations(policies, [daemon_set]) == NONE
