"""What each web service gets for a cluster of many nodes: its own ServiceAccount, its pods spread over
nodes and zones, and from two replicas on a PodDisruptionBudget (infra/web_service.py)."""

import pytest

from tests.support.kinds import AUTOSCALER, BUDGET, DEPLOYMENT, INGRESS, NETWORK_POLICY, SERVICE, SERVICE_ACCOUNT
from tests.support.pulumi_mocks import DEV_CONFIG, PRODUCTION_LIKE_CONFIG, run_program

APPS = ("python-shop-backend", "python-shop-frontend")


def labels(app, stack):
    """What the Service carries too: no version, so a new image tag changes neither budget nor account."""
    return {"app": app, "app.kubernetes.io/name": app, "app.kubernetes.io/instance": f"{app}-{stack}",
            "app.kubernetes.io/component": app.removeprefix("python-shop-"), "app.kubernetes.io/part-of": "python-shop",
            "app.kubernetes.io/managed-by": "pulumi"}


def namespace_of(run):
    return run.config.get("python-shop:namespace", "python-shop")


def stack_of(run):
    return "dev" if run.config is DEV_CONFIG else "production-like"  # conftest's stack names


def budgets(run):
    return {b.inputs["metadata"]["name"]: b.inputs for b in run.all(BUDGET)}


# --- the disruption budget -----------------------------------------------------------------------------


@pytest.mark.parametrize(("replicas", "budgeted"), [(1, False), (2, True), (3, True), (50, True)])
def test_a_budget_exists_exactly_from_two_replicas_on(replicas, budgeted):
    # At one replica a budget would either block every drain or protect nothing: none.
    run = run_program({**DEV_CONFIG, "python-shop:backendReplicas": str(replicas)})
    assert sorted(budgets(run)) == (["python-shop-backend"] if budgeted else [])  # the frontend keeps its one


def test_the_dev_stack_has_no_budget(dev_run):
    assert dev_run.all(BUDGET) == []


def test_each_budget_lets_one_pod_go_at_a_time_and_never_holds_back_a_broken_one():
    run = run_program(PRODUCTION_LIKE_CONFIG, stack="production-like")  # 3 backend, 4 frontend replicas
    assert budgets(run) == {
        app: {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": app, "namespace": "shop-prod", "labels": labels(app, "production-like")},
            # maxUnavailable follows the replicas, whatever they are: the same budget at 3 and at 4.
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": app}},
                     "unhealthyPodEvictionPolicy": "AlwaysAllow"},
        }
        for app in APPS
    }


def selects(selector, pod_labels):
    return selector["matchLabels"].items() <= pod_labels.items()


def test_a_budget_selects_its_apps_pods_and_no_others():
    run = run_program(PRODUCTION_LIKE_CONFIG, stack="production-like")
    pod_labels = {app: run.one(DEPLOYMENT, app).inputs["spec"]["template"]["metadata"]["labels"] for app in APPS}
    for app, budget in budgets(run).items():
        deployment = run.one(DEPLOYMENT, app).inputs
        # The Deployment's own selector: the label no rollout or stack rename changes.
        assert budget["spec"]["selector"] == deployment["spec"]["selector"]
        assert [other for other in APPS if selects(budget["spec"]["selector"], pod_labels[other])] == [app]


# --- topology spread -----------------------------------------------------------------------------------


def spread(app):
    selector = {"matchLabels": {"app": app}}
    return [
        {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
         "labelSelector": selector, "matchLabelKeys": ["pod-template-hash"], "nodeTaintsPolicy": "Honor"},
        {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway",
         "labelSelector": selector, "matchLabelKeys": ["pod-template-hash"], "nodeTaintsPolicy": "Honor"},
    ]


def test_pods_spread_over_nodes_hard_and_zones_soft(stack_run):
    # Whatever the replicas (the dev stack's 1 too): a scale from 1 to 3 then rolls no pod. Hard over nodes,
    # which minikube's one node always satisfies; soft over zones, which its node has no label for.
    for app in APPS:
        spec = stack_run.one(DEPLOYMENT, app).inputs["spec"]["template"]["spec"]
        assert spec["topologySpreadConstraints"] == spread(app)


def test_spread_counts_the_apps_own_pods_of_one_replica_set():
    from infra.web_service import spread_constraints

    # The selector is copied, not shared: a caller's later edit cannot reach the Deployment's spec.
    selector = {"app": "python-shop-backend"}
    constraints = spread_constraints(selector)
    selector["tier"] = "x"
    assert constraints == spread("python-shop-backend")
    # The pod-template-hash label is the ReplicaSet's, never on the template: matching on it is left to each pod.
    run = run_program(PRODUCTION_LIKE_CONFIG, stack="production-like")
    assert "pod-template-hash" not in run.one(DEPLOYMENT, "python-shop-frontend").inputs["spec"]["template"]["metadata"]["labels"]


# --- the service account -------------------------------------------------------------------------------


def test_each_app_has_a_service_account_of_its_own_with_no_token(stack_run):
    accounts = {a.inputs["metadata"]["name"]: a.inputs for a in stack_run.all(SERVICE_ACCOUNT)}
    assert accounts == {
        app: {"apiVersion": "v1", "kind": "ServiceAccount", "automountServiceAccountToken": False,
              "metadata": {"name": app, "namespace": namespace_of(stack_run), "labels": labels(app, stack_of(stack_run))}}
        for app in APPS
    }


def test_the_pods_run_as_their_apps_account_without_its_token(stack_run):
    for app in APPS:
        spec = stack_run.one(DEPLOYMENT, app).inputs["spec"]["template"]["spec"]
        assert spec["serviceAccountName"] == app
        assert spec["automountServiceAccountToken"] is False  # said on the pod too: the pod's setting wins


def test_the_deployment_waits_for_its_account(dev_run):
    # The API server admits no pod whose service account does not exist: created first, deleted last.
    urn = "urn:pulumi:dev::python-shop::"
    namespace = f"{urn}kubernetes:core/v1:Namespace::python-shop"  # through its metadata's namespace
    config_map = f"{urn}python-shop:index:FrontendConfig$kubernetes:core/v1:ConfigMap::python-shop-frontend-config"
    expected = {"python-shop-backend": [namespace], "python-shop-frontend": [namespace, config_map]}
    for app, others in expected.items():
        account = f"{urn}python-shop:index:WebService$kubernetes:core/v1:ServiceAccount::{app}"
        assert dev_run.one(SERVICE_ACCOUNT, app).urn == account
        assert sorted(dev_run.one(DEPLOYMENT, app).dependencies) == sorted([account, *others])


# --- the autoscaler ------------------------------------------------------------------------------------



def test_no_autoscaler_unless_a_max_is_set(stack_run):
    assert stack_run.all(AUTOSCALER) == []
    for app in APPS:
        assert stack_run.one(DEPLOYMENT, app).ignore_changes == []  # `pulumi up` keeps the replicas it is given


def test_an_autoscaler_scales_its_deployment_on_cpu_between_the_replicas_and_the_max():
    run = run_program({**PRODUCTION_LIKE_CONFIG, "python-shop:frontendMaxReplicas": "10",
                       "python-shop:autoscalingCpuPercent": "60"}, stack="production-like")
    (autoscaler,) = run.all(AUTOSCALER)
    assert autoscaler.inputs == {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "python-shop-frontend", "namespace": "shop-prod",
                     "labels": labels("python-shop-frontend", "production-like")},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "python-shop-frontend"},
                 "minReplicas": 4, "maxReplicas": 10,  # production-like's frontendReplicas, then the max
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                     "type": "Utilization", "averageUtilization": 60}}}]},
    }
    # Its target's name is the Deployment's as the API server answered it: created after the Deployment.
    assert run.one(DEPLOYMENT, "python-shop-frontend").urn in autoscaler.dependencies


def test_the_default_target_is_70_percent_of_the_cpu_request():
    run = run_program({**DEV_CONFIG, "python-shop:backendMaxReplicas": "3"})
    (autoscaler,) = run.all(AUTOSCALER)
    assert autoscaler.inputs["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    (container,) = run.one(DEPLOYMENT, "python-shop-backend").inputs["spec"]["template"]["spec"]["containers"]
    assert container["resources"]["requests"]["cpu"] == "100m"  # what the percentage is of


def test_an_autoscaled_deployment_starts_at_the_minimum_and_leaves_its_replicas_to_the_autoscaler():
    run = run_program({**PRODUCTION_LIKE_CONFIG, "python-shop:backendMaxReplicas": "8"}, stack="production-like")
    backend, frontend = (run.one(DEPLOYMENT, app) for app in APPS)
    # Still in the program (left out, server-side apply would reset a running Deployment to 1), but ignored:
    # the engine keeps what was deployed, and the provider lets the autoscaler own the field.
    assert backend.inputs["spec"]["replicas"] == 3
    assert backend.ignore_changes == ["spec.replicas"]
    assert frontend.ignore_changes == []  # the frontend has no autoscaler here
    assert frontend.inputs["spec"]["replicas"] == 4


def test_an_autoscaled_app_has_a_budget_even_at_a_minimum_of_one():
    # maxUnavailable 1 blocks no drain at one pod, and guards the pods the autoscaler adds.
    run = run_program({**DEV_CONFIG, "python-shop:frontendMaxReplicas": "4"})
    assert sorted(budgets(run)) == ["python-shop-frontend"]
    assert budgets(run)["python-shop-frontend"]["spec"]["maxUnavailable"] == 1


def test_a_source_built_rollout_may_take_as_long_as_the_most_pods_the_autoscaler_may_run():
    run = run_program({**DEV_CONFIG, "python-shop:backendMaxReplicas": "5"})
    # 40 s per pod (startup 30 s + 10 s), for the 5 pods an autoscaled rollout may have to replace.
    assert run.one(DEPLOYMENT, "python-shop-backend").inputs["metadata"]["annotations"] == {
        "pulumi.com/timeoutSeconds": "200"}


# --- the Ingress ---------------------------------------------------------------------------------------

BEHIND_AN_INGRESS = {**PRODUCTION_LIKE_CONFIG, "python-shop:frontendServiceType": "ClusterIP",
                     "python-shop:frontendHost": "shop.example.com"}


def test_no_ingress_unless_a_host_is_set(stack_run):
    assert stack_run.all(INGRESS) == []


def test_an_ingress_routes_its_host_to_the_frontend_service_and_is_not_awaited():
    run = run_program({**BEHIND_AN_INGRESS, "python-shop:ingressTlsSecret": "shop-example-com-tls"},
                      stack="production-like")
    (ingress,) = run.all(INGRESS)
    assert ingress.inputs == {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "python-shop-frontend", "namespace": "shop-prod",
                     "labels": labels("python-shop-frontend", "production-like"),
                     # Awaited, it would wait for the controller to publish an address: 10 minutes without one.
                     "annotations": {"pulumi.com/skipAwait": "true"}},
        "spec": {
            "ingressClassName": "nginx",
            "rules": [{"host": "shop.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
                "service": {"name": "python-shop-frontend-service", "port": {"name": "http"}}}}]}}],
            "tls": [{"hosts": ["shop.example.com"], "secretName": "shop-example-com-tls"}],
        },
    }
    assert run.exports["frontendUrl"] == "https://shop.example.com/"
    assert run.one(SERVICE, "python-shop-frontend-service").inputs["spec"]["type"] == "ClusterIP"


def test_without_tls_or_a_class_the_ingress_is_plain_http_on_the_default_class():
    run = run_program({**BEHIND_AN_INGRESS, "python-shop:ingressClassName": ""}, stack="production-like")
    (ingress,) = run.all(INGRESS)
    assert "ingressClassName" not in ingress.inputs["spec"] and "tls" not in ingress.inputs["spec"]
    assert run.exports["frontendUrl"] == "http://shop.example.com/"


def test_behind_an_ingress_only_the_controllers_namespace_reaches_the_frontend():
    run = run_program({**BEHIND_AN_INGRESS, "python-shop:ingressControllerNamespace": "traefik"},
                      stack="production-like")
    frontend = [p.inputs for p in run.all(NETWORK_POLICY) if p.inputs["metadata"]["name"].startswith("python-shop-fr")]
    assert [p["metadata"]["name"] for p in frontend] == ["python-shop-frontend-from-namespace-traefik"]
    assert frontend[0]["spec"]["ingress"] == [
        {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}}}],
         "ports": [{"protocol": "TCP", "port": "http"}]},
        {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
         "ports": [{"protocol": "TCP", "port": "metrics"}]},
    ]
    # The Ingress's controller namespace defaults to ingress-nginx's.
    default = run_program(BEHIND_AN_INGRESS, stack="production-like")
    assert "python-shop-frontend-from-namespace-ingress-nginx" in [
        p.inputs["metadata"]["name"] for p in default.all(NETWORK_POLICY)]
