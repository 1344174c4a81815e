"""How a Prometheus finds each app's metrics port (`monitoring`) and who may reach it (`monitoringNamespace`)."""

from __future__ import annotations

import pytest

from tests.support.kinds import DEPLOYMENT, NETWORK_POLICY, POD_MONITOR, SERVICE
from tests.support.pulumi_mocks import DEV_CONFIG, Run, run_program

APPS = ("python-shop-backend", "python-shop-frontend")
MODES = ("off", "annotations", "podmonitor")
# The first rule of each app's policy: who may open its pages. Unchanged by monitoring.
PAGES = {
    "python-shop-backend-from-frontend": {"from": [{"podSelector": {"matchLabels": {"app": "python-shop-frontend"}}}],
                                          "ports": [{"protocol": "TCP", "port": "http"}]},
    "python-shop-frontend-from-anywhere": {"ports": [{"protocol": "TCP", "port": "http"}]},
}


@pytest.fixture(scope="module", params=MODES)
def mode_run(request) -> Run:
    return run_program({**DEV_CONFIG, "python-shop:monitoring": request.param})


def template_annotations(run, name):
    return run.one(DEPLOYMENT, name).inputs["spec"]["template"]["metadata"].get("annotations")


def scraper_rule(namespace):
    return {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}],
            "ports": [{"protocol": "TCP", "port": "metrics"}]}


def test_annotations_are_the_default():
    assert template_annotations(run_program(DEV_CONFIG), "python-shop-backend") == {
        "prometheus.io/scrape": "true", "prometheus.io/port": "9464", "prometheus.io/path": "/metrics"}


@pytest.mark.parametrize(("mode", "annotations"), [
    ("annotations", {"prometheus.io/scrape": "true", "prometheus.io/port": "9464", "prometheus.io/path": "/metrics"}),
    ("podmonitor", None),  # the PodMonitor says it: a second, annotation-driven scrape would count everything twice
    ("off", None),
])
def test_the_pods_scrape_annotations_follow_monitoring(mode, annotations):
    run = run_program({**DEV_CONFIG, "python-shop:monitoring": mode})
    for name in APPS:
        # On the pod template, where the kubernetes-pods job reads them; not on the Deployment itself.
        assert template_annotations(run, name) == annotations, name
        assert run.one(DEPLOYMENT, name).inputs["metadata"].get("annotations") == {
            "pulumi.com/timeoutSeconds": "40"}


def test_podmonitor_mode_declares_one_pod_monitor_per_app_on_its_metrics_port():
    run = run_program({**DEV_CONFIG, "python-shop:monitoring": "podmonitor"})
    monitors = {m.inputs["metadata"]["name"]: m.inputs for m in run.all(POD_MONITOR)}
    assert sorted(monitors) == list(APPS)
    for name in APPS:
        labels = run.one(SERVICE, f"{name}-service").inputs["metadata"]["labels"]
        assert monitors[name] == {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PodMonitor",
            "metadata": {"name": name, "namespace": "python-shop", "labels": labels},
            # The pods, not a Service: the metrics port is on the pods only.
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "podMetricsEndpoints": [{"port": "metrics", "path": "/metrics"}]},
        }
        pod_labels = run.one(DEPLOYMENT, name).inputs["spec"]["template"]["metadata"]["labels"]
        assert monitors[name]["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_a_pod_monitor_is_a_child_of_its_web_service_through_the_one_provider():
    run = run_program({**DEV_CONFIG, "python-shop:monitoring": "podmonitor"})
    for name in APPS:
        (monitor,) = [m for m in run.all(POD_MONITOR) if m.name == name]
        assert monitor.urn == (f"urn:pulumi:dev::python-shop::python-shop:index:WebService${POD_MONITOR}::{name}")
        assert monitor.parent == f"urn:pulumi:dev::python-shop::python-shop:index:WebService::{name}"
        assert monitor.provider == run.one(DEPLOYMENT, name).provider


@pytest.mark.parametrize("mode", ["off", "annotations"])
def test_no_pod_monitor_unless_asked_for(mode):
    # Without the operator's CRDs on the cluster a PodMonitor fails `pulumi up`: only podmonitor declares one.
    assert run_program({**DEV_CONFIG, "python-shop:monitoring": mode}).all(POD_MONITOR) == []


def test_each_policy_admits_the_scrapers_namespace_to_the_metrics_port_only(mode_run):
    for name, pages in PAGES.items():
        spec = mode_run.one(NETWORK_POLICY, name).inputs["spec"]
        expected = [pages] if mode_run.config["python-shop:monitoring"] == "off" else [pages, scraper_rule("monitoring")]
        assert spec["ingress"] == expected, name


@pytest.mark.parametrize("mode", ["annotations", "podmonitor"])
def test_the_scrapers_namespace_is_monitoring_namespace(mode):
    run = run_program({**DEV_CONFIG, "python-shop:monitoring": mode, "python-shop:monitoringNamespace": "observability"})
    for name, pages in PAGES.items():
        assert run.one(NETWORK_POLICY, name).inputs["spec"]["ingress"] == [pages, scraper_rule("observability")]


def test_the_policies_keep_their_names_and_urns_whatever_monitoring_says(mode_run):
    # A stack deployed before (one rule) updates each policy in place: same name, same URN, same alias.
    for name in PAGES:
        policy = mode_run.one(NETWORK_POLICY, name)
        app = name.split("-from-")[0]
        assert policy.urn == f"urn:pulumi:dev::python-shop::python-shop:index:WebService${NETWORK_POLICY}::{name}"
        assert policy.parent == f"urn:pulumi:dev::python-shop::python-shop:index:WebService::{app}"
        assert {"spec": {"noParent": True}} in policy.aliases
    assert sorted(p.inputs["metadata"]["name"] for p in mode_run.all(NETWORK_POLICY)) == [
        "python-shop-backend-from-frontend", "python-shop-default-deny-ingress", "python-shop-frontend-from-anywhere"]


@pytest.mark.parametrize("mode", MODES)
def test_without_network_policies_monitoring_still_finds_the_pods(mode):
    run = run_program({**DEV_CONFIG, "python-shop:networkPolicies": "false", "python-shop:monitoring": mode})
    assert run.all(NETWORK_POLICY) == []
    assert len(run.all(POD_MONITOR)) == (2 if mode == "podmonitor" else 0)
    assert (template_annotations(run, "python-shop-frontend") is not None) == (mode == "annotations")


def test_the_metrics_port_is_served_whatever_monitoring_says(mode_run):
    for name in APPS:
        (container,) = mode_run.one(DEPLOYMENT, name).inputs["spec"]["template"]["spec"]["containers"]
        assert {"name": "metrics", "containerPort": 9464, "protocol": "TCP"} in container["ports"]
        assert {"name": "METRICS_PORT", "value": "9464"} in container["env"]
