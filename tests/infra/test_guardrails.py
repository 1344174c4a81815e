"""Pod Security Admission labels and the NetworkPolicies the program declares."""

from tests.support.kinds import DEPLOYMENT, NAMESPACE, NETWORK_POLICY, SERVICE
from tests.support.pulumi_mocks import DEV_CONFIG, run_program


def policies(run) -> dict[str, dict]:
    return {p.inputs["metadata"]["name"]: p.inputs["spec"] for p in run.all(NETWORK_POLICY)}


def test_namespace_enforces_restricted_pod_security(stack_run):
    (namespace,) = stack_run.all(NAMESPACE)
    labels = namespace.inputs["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"


def test_all_ingress_is_denied_by_default(stack_run):
    deny = policies(stack_run)["python-shop-default-deny-ingress"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress"]}


# The second rule of each app's policy (monitoring: annotations, the default; monitoringNamespace: monitoring).
SCRAPER = {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
           "ports": [{"protocol": "TCP", "port": "metrics"}]}


def test_only_frontend_pods_reach_backend_pods_on_the_backend_port(stack_run):
    backend = policies(stack_run)["python-shop-backend-from-frontend"]
    assert backend["podSelector"] == {"matchLabels": {"app": "python-shop-backend"}}
    rule, scraper = backend["ingress"]
    assert scraper == SCRAPER
    assert rule["from"] == [{"podSelector": {"matchLabels": {"app": "python-shop-frontend"}}}]
    # The container port the backend Service targets, whatever backendPort says.
    assert rule["ports"] == [{"protocol": "TCP", "port": "http"}]
    service = stack_run.one(SERVICE, "python-shop-backend-service").inputs
    assert service["spec"]["ports"][0]["targetPort"] == "http"


def test_anyone_reaches_the_frontend_on_its_port(stack_run):
    frontend = policies(stack_run)["python-shop-frontend-from-anywhere"]
    assert frontend["podSelector"] == {"matchLabels": {"app": "python-shop-frontend"}}
    assert frontend["ingress"] == [{"ports": [{"protocol": "TCP", "port": "http"}]}, SCRAPER]


def test_every_deployment_is_covered_by_a_policy(stack_run):
    selected = [p["podSelector"].get("matchLabels", {}) for p in policies(stack_run).values()]
    for deployment in stack_run.all(DEPLOYMENT):
        pod_labels = deployment.inputs["spec"]["template"]["metadata"]["labels"]
        assert any(s.items() <= pod_labels.items() for s in selected if s), deployment.name


def test_network_policies_can_be_turned_off():
    run = run_program({**DEV_CONFIG, "python-shop:networkPolicies": "false"})
    assert run.all(NETWORK_POLICY) == []


def test_in_a_shared_namespace_only_the_shops_pods_are_denied():
    run = run_program({**DEV_CONFIG, "python-shop:namespace": "default", "python-shop:createNamespace": "false"})
    deny = policies(run)["python-shop-default-deny-ingress"]
    assert deny["podSelector"] == {"matchLabels": {"app.kubernetes.io/part-of": "python-shop"}}
    for deployment in run.all(DEPLOYMENT):
        assert deployment.inputs["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/part-of"] == "python-shop"
