"""Each policy against compliant objects (the shop's own) and non-compliant ones."""

import pytest
from pulumi_policy import ResourceValidationArgs, StackValidationArgs, StackValidationPolicy
from pulumi_policy.policy import PolicyResource

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def violations_of(policy, objects, config=None):
    """Run one policy the way the engine does, collecting what it reports."""
    reported = []

    def report(message, urn=None):
        reported.append(message)

    if isinstance(policy, StackValidationPolicy):
        resources = [PolicyResource(t, p, f"urn:{i}", f"r{i}", None, None, None, [], {}) for i, (t, p) in enumerate(objects)]
        policy.validate(StackValidationArgs(resources, config or {}), report)
    else:
        for resource_type, props in objects:
            args = ResourceValidationArgs(resource_type, props, "urn:x", props["metadata"]["name"], None, None, config or {})
            policy.validate(args, report)
    return reported


def backend_container(objects):
    return find(objects, DEPLOYMENT, "python-shop-backend")["spec"]["template"]["spec"]["containers"][0]


def test_the_shops_own_objects_pass_every_policy(policies, objects):
    for policy in policies.values():
        assert violations_of(policy, objects) == [], policy.name


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
