"""Every stack config key is validated; a bad value fails with a message naming the key."""

import pytest

from tests.support.kinds import AUTOSCALER, DEPLOYMENT, SERVICE
from tests.support.pulumi_mocks import DEV_CONFIG, run_program


def failure(changes) -> str:
    with pytest.raises(Exception) as error:
        run_program({**DEV_CONFIG, **changes})
    assert type(error.value).__name__ == "SettingsError"
    return str(error.value)


@pytest.mark.parametrize(
    ("key", "value", "phrase"),
    [
        ("backendReplicas", "0", "an integer from 1 to 50"),
        ("frontendReplicas", "-2", "an integer from 1 to 50"),
        ("frontendReplicas", "two", "an integer from 1 to 50"),
        ("backendReplicas", "51", "an integer from 1 to 50"),
        ("frontendServiceType", "Ingress", "one of NodePort, ClusterIP, LoadBalancer"),
        ("frontendServiceType", "nodeport", "one of NodePort, ClusterIP, LoadBalancer"),
        ("backendImage", "python-shop-backend", "explicit tag other than 'latest'"),
        ("backendImage", "python-shop-backend:latest", "explicit tag other than 'latest'"),
        ("frontendImage", "registry.local:5000/shop/frontend", "explicit tag other than 'latest'"),
        ("frontendImage", "Shop Frontend:1", "explicit tag other than 'latest'"),
        ("backendPort", "0", "a port number from 1 to 65535"),
        ("backendPort", "70000", "a port number from 1 to 65535"),
        ("backendPort", "65536", "a port number from 1 to 65535"),
        ("frontendReplicas", "0", "an integer from 1 to 50"),
        ("namespace", "Python_Shop", "a DNS label"),
        ("namespace", "x" * 64, "a DNS label"),
        ("createNamespace", "maybe", "true"),
        ("networkPolicies", "yes", "true or false"),
        ("renderDir", " ", "a directory path"),
        ("backendMaxReplicas", "1", "0 (no autoscaler) or an integer from 2 to 50"),
        ("frontendMaxReplicas", "51", "0 (no autoscaler) or an integer from 2 to 50"),
        ("frontendMaxReplicas", "-1", "0 (no autoscaler) or an integer from 2 to 50"),
        ("autoscalingCpuPercent", "0", "an integer from 1 to 500"),
        ("autoscalingCpuPercent", "501", "an integer from 1 to 500"),
        ("frontendHost", "Shop.example.com", "a DNS name"),
        ("frontendHost", "shop_example.com", "a DNS name"),
        ("frontendHost", "https://shop.example.com", "a DNS name"),
        ("ingressClassName", "Nginx", "an IngressClass name"),
        ("ingressTlsSecret", "shop tls", "kubernetes.io/tls Secret"),
        ("ingressControllerNamespace", "", "a DNS label"),
    ],
)
def test_bad_values_name_the_key_and_the_allowed_values(key, value, phrase):
    message = failure({f"python-shop:{key}": value})
    assert f"python-shop:{key} is {value!r}" in message
    assert phrase in message


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("monitoring", "servicemonitor",
         "invalid stack config:\n  - python-shop:monitoring is 'servicemonitor'; it must be one of off, annotations, "
         "podmonitor (annotations: prometheus.io/* on the pods; podmonitor: a Prometheus-operator PodMonitor per app; "
         "off: neither)"),
        ("monitoring", "Annotations",
         "invalid stack config:\n  - python-shop:monitoring is 'Annotations'; it must be one of off, annotations, "
         "podmonitor (annotations: prometheus.io/* on the pods; podmonitor: a Prometheus-operator PodMonitor per app; "
         "off: neither)"),
        ("monitoringNamespace", "Monitoring",
         "invalid stack config:\n  - python-shop:monitoringNamespace is 'Monitoring'; it must be a DNS label: the "
         "namespace the scraper runs in, lowercase letters, digits and '-', at most 63 characters"),
        ("monitoringNamespace", "",
         "invalid stack config:\n  - python-shop:monitoringNamespace is ''; it must be a DNS label: the "
         "namespace the scraper runs in, lowercase letters, digits and '-', at most 63 characters"),
    ],
    ids=["servicemonitor", "capitalised", "namespace-capitalised", "namespace-empty"],
)
def test_bad_monitoring_settings_are_refused_by_name(key, value, message):
    assert failure({f"python-shop:{key}": value}) == message


@pytest.mark.parametrize(("replicas", "most"), [("3", "3"), ("5", "4")])
def test_an_autoscalers_max_must_exceed_its_minimum(replicas, most):
    assert failure({"python-shop:frontendReplicas": replicas, "python-shop:frontendMaxReplicas": most}) == (
        f"invalid stack config:\n  - python-shop:frontendMaxReplicas is {most}, not more than "
        f"python-shop:frontendReplicas ({replicas}), the autoscaler's minimum; set it above {replicas}, "
        "or 0 for no autoscaler")


def test_an_autoscaler_from_one_to_two_is_fine():
    run = run_program({**DEV_CONFIG, "python-shop:backendMaxReplicas": "2"})
    assert [r.name for r in run.all(AUTOSCALER)] == ["python-shop-backend"]


@pytest.mark.parametrize("kind", ["NodePort", "LoadBalancer"])
def test_an_ingress_needs_a_cluster_ip_service(kind):
    assert failure({"python-shop:frontendHost": "shop.example.com", "python-shop:frontendServiceType": kind}) == (
        "invalid stack config:\n  - python-shop:frontendHost is set, so an Ingress is the frontend's way in; "
        f"python-shop:frontendServiceType is {kind}, a second way in past the ingress controller that the "
        "NetworkPolicy would have to leave open to anywhere: set it to ClusterIP")


def test_a_tls_secret_needs_a_host():
    assert failure({"python-shop:ingressTlsSecret": "shop-tls"}) == (
        "invalid stack config:\n  - python-shop:ingressTlsSecret is set but python-shop:frontendHost is empty: "
        "there is no Ingress to serve the certificate on; set frontendHost, or leave ingressTlsSecret empty")


def test_a_wildcard_host_is_fine():
    run = run_program({**DEV_CONFIG, "python-shop:frontendHost": "*.shop.example.com",
                       "python-shop:frontendServiceType": "ClusterIP"})
    assert run.exports["frontendUrl"] == "http://*.shop.example.com/"


def test_every_problem_is_reported_at_once():
    message = failure({"python-shop:backendReplicas": "0", "python-shop:frontendServiceType": "Ingress"})
    assert "backendReplicas" in message and "frontendServiceType" in message


def test_a_misspelled_key_is_reported_not_ignored():
    message = failure({"python-shop:backendPorts": "9000"})
    assert "python-shop:backendPorts is not a setting of this project" in message
    assert "backendPort" in message




def backend_image(run):
    return run.one(DEPLOYMENT, "python-shop-backend").inputs["spec"]["template"]["spec"]["containers"][0]["image"]


@pytest.mark.parametrize(
    ("key", "value", "observed", "expected"),
    [
        ("backendImage", "python-shop-backend:0.1.0", backend_image, "python-shop-backend:0.1.0"),
        ("backendImage", "registry.local:5000/team/python-shop-backend:2026.11.23-rc1", backend_image,
         "registry.local:5000/team/python-shop-backend:2026.11.23-rc1"),
        ("backendImage", "python-shop-backend@sha256:" + "0" * 64, backend_image,
         "python-shop-backend@sha256:" + "0" * 64),
        ("frontendReplicas", "50", lambda run: run.one(DEPLOYMENT, "python-shop-frontend").inputs["spec"]["replicas"],
         50),
        ("backendPort", "65535",
         lambda run: run.one(SERVICE, "python-shop-backend-service").inputs["spec"]["ports"][0]["port"], 65535),
        ("frontendServiceType", "ClusterIP",
         lambda run: run.one(SERVICE, "python-shop-frontend-service").inputs["spec"]["type"], "ClusterIP"),
        ("namespace", "a", lambda run: run.exports["namespace"], "a"),
        # Each range's lower end is allowed too (1 replica, port 1, 1% CPU) and the autoscaler's upper one.
        ("frontendReplicas", "1", lambda run: run.one(DEPLOYMENT, "python-shop-frontend").inputs["spec"]["replicas"],
         1),
        ("backendPort", "1",
         lambda run: run.one(SERVICE, "python-shop-backend-service").inputs["spec"]["ports"][0]["port"], 1),
        ("backendMaxReplicas", "50",
         lambda run: run.one(AUTOSCALER, "python-shop-backend").inputs["spec"]["maxReplicas"], 50),
    ],
)
def test_good_values_are_accepted_and_reach_the_objects(key, value, observed, expected):
    assert observed(run_program({**DEV_CONFIG, f"python-shop:{key}": value})) == expected


def test_the_dev_stack_relies_on_defaults_that_work_on_minikube():
    run = run_program({"kubernetes:context": "minikube"})
    assert run.exports["namespace"] == "python-shop"
    assert run.one(SERVICE, "python-shop-frontend-service").inputs["spec"]["type"] == "NodePort"


def test_the_lowest_cpu_target_is_accepted_and_reaches_the_autoscaler():
    run = run_program({**DEV_CONFIG, "python-shop:backendMaxReplicas": "3", "python-shop:autoscalingCpuPercent": "1"})
    target = run.one(AUTOSCALER, "python-shop-backend").inputs["spec"]["metrics"][0]["resource"]["target"]
    assert target == {"type": "Utilization", "averageUtilization": 1}
