"""The shop in real pods: `pulumi up` to a node that runs the shop's own containers.

The cluster (fixture `real_cluster`: `sandbox/cluster up --real`) is the same
control plane as the simulated one, with a real node: containerd, kubelet,
kube-proxy and CoreDNS, and the images built from backend/ and frontend/
Dockerfiles. The tests build on each other and run in file order; the last
one tears everything down and checks that nothing is left on the host.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest
import requests

from infra import app_images
from sandbox import real_node
from sandbox.kube import Kube
from tests.support import prometheus
from tests.support.clusters import TEST_CLUSTER, cluster_cli, deployed_stack
from tests.support.load import Load
from tests.support.net import wait_until
from tests.support.repo import copy_repo
from tests.support.stacks import changed
from tools.toolset import ROOT

pytestmark = pytest.mark.pods

NAMESPACE = "python-shop"
BACKEND, FRONTEND = "python-shop-backend", "python-shop-frontend"
CONFIGMAP = "python-shop-frontend-config"
ITEMS = ["Apple", "Banana", "Orange", "Potato", "Onion"]


@pytest.fixture(scope="module")
def shop_stack(real_cluster, tmp_path_factory):
    yield from deployed_stack(real_cluster, tmp_path_factory.mktemp("pods"), "pods")


def page_url(kube: Kube) -> str:
    service = kube.get("service", "python-shop-frontend-service", NAMESPACE)
    return f"http://127.0.0.1:{service['spec']['ports'][0]['nodePort']}/"


def running_pods(kube: Kube, app: str) -> list[dict]:
    pods = kube.get("pods", namespace=NAMESPACE, selector=f"app={app}")["items"]
    return [p for p in pods if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]


def test_pods_run_our_containers_as_non_root_under_restricted(real_cluster, shop_stack):
    kube = real_cluster.kube
    assert kube.get("namespace", NAMESPACE)["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for app in (BACKEND, FRONTEND):
        pods = running_pods(kube, app)
        assert len(pods) == 1, f"{app}: {len(pods)} running pods"
        status = pods[0]["status"]["containerStatuses"][0]
        assert status["ready"] and "running" in status["state"], status
        # The spec's reference: status.image names whichever tag of the same image ID the node saw first.
        assert pods[0]["spec"]["containers"][0]["image"] == app_images.reference(app.removeprefix("python-shop-"))
        # The process really runs as the image's numeric user, not root.
        ids = kube.run("exec", "--namespace", NAMESPACE, pods[0]["metadata"]["name"], "--", "id").stdout
        assert ids.startswith("uid=10001 gid=10001"), ids


def test_the_node_port_serves_the_shop_through_cluster_dns(real_cluster, shop_stack):
    # NetworkPolicy is enforced asynchronously: kube-router lets the new frontend pod through to
    # the backend a moment after both are Ready (`pulumi up`'s await), so poll (30 s is generous).
    response = wait_until(lambda: (r := requests.get(page_url(real_cluster.kube), timeout=10)).ok and r,
                          timeout=30, what="the page to answer 200")
    assert response.status_code == 200
    # The frontend reached the backend by the DNS name in the ConfigMap.
    assert all(f"<td>{item}</td>" in response.text for item in ITEMS), response.text[:500]


@pytest.mark.browser
def test_chromium_sees_the_five_items(real_cluster, shop_stack, page, artifacts_dir):
    response = page.goto(page_url(real_cluster.kube))
    assert response.status == 200
    names = [row.locator("td").first.inner_text() for row in page.locator("#inventory tbody tr").all()]
    assert names == ITEMS
    page.screenshot(path=str(artifacts_dir / "shop-in-real-pods.png"), full_page=True)


# What a pod outside the shop sees of a URL: "status 200", or the error it got.
PROBE = """
import sys, urllib.request
try:
    print("status", urllib.request.urlopen(sys.argv[1], timeout=3).status)
except Exception as exc:
    print("error", type(exc).__name__)
"""
BACKEND_URL = "http://python-shop-backend-service.python-shop.svc:8080/"
FRONTEND_URL = "http://python-shop-frontend-service.python-shop.svc:8080/"


def kernel_lacks_ipset() -> str | None:
    """kube-router's policy controller needs ip_set (and iptables, which the node needs anyway)."""
    created = subprocess.run(["ipset", "create", "python-shop-probe", "hash:ip"], capture_output=True, text=True)
    subprocess.run(["ipset", "destroy", "python-shop-probe"], capture_output=True)
    return None if created.returncode == 0 else f"ip_set (CONFIG_IP_SET): {created.stderr.strip()}"


def seen_from_outside(kube: Kube, url: str, namespace: str = "default") -> str:
    """Run a pod in `namespace` (by default `default`, which no NetworkPolicy admits) that fetches
    `url`; its one line."""
    name = f"outside-{time.monotonic_ns()}"
    # The restricted profile's fields, for namespaces that enforce it (monitoring does).
    overrides = json.dumps({"spec": {"securityContext": {"runAsNonRoot": True, "runAsUser": 10001,
                                                         "seccompProfile": {"type": "RuntimeDefault"}},
                                     "containers": [{"name": name, "image": app_images.reference("backend"),
                                                     "imagePullPolicy": "Never",
                                                     "command": ["python3", "-c", PROBE, url],
                                                     "securityContext": {"allowPrivilegeEscalation": False,
                                                                         "capabilities": {"drop": ["ALL"]}}}]}})
    kube.run("run", name, "--namespace", namespace, f"--image={app_images.reference('backend')}",
             "--restart=Never", f"--overrides={overrides}")
    try:
        wait_until(lambda: kube.get("pod", name, namespace)["status"].get("phase") in ("Succeeded", "Failed"),
                   timeout=60, what=f"pod {name} to finish")
        return kube.run("logs", name, "--namespace", namespace).stdout.strip()
    finally:
        kube.run("delete", "pod", name, "--namespace", namespace, "--wait=false", check=False)


def test_network_policies_keep_everyone_but_the_frontend_away_from_the_backend(real_cluster, shop_stack):
    missing = kernel_lacks_ipset()
    if missing:
        pytest.skip(f"this kernel lacks {missing}, which kube-router's policy controller needs")
    kube = real_cluster.kube
    # Anyone reaches the frontend on its port; the frontend reaches the backend (the page lists items).
    assert seen_from_outside(kube, FRONTEND_URL) == "status 200"
    page = requests.get(page_url(kube), timeout=10)
    assert page.status_code == 200 and "<td>Apple</td>" in page.text
    # A pod outside the shop does not reach the backend: its packets are dropped (a timeout).
    assert seen_from_outside(kube, BACKEND_URL) == "error URLError"

    shop_stack.write_config(networkPolicies="false")
    try:
        shop_stack.up()
        # Without the policies the same pod gets through (kube-router drops its rules within seconds).
        wait_until(lambda: seen_from_outside(kube, BACKEND_URL) == "status 200", timeout=90,
                   what="the backend to be open without NetworkPolicies")
    finally:
        shop_stack.write_config(networkPolicies=None)
        shop_stack.up()
    wait_until(lambda: seen_from_outside(kube, BACKEND_URL) == "error URLError", timeout=90,
               what="the backend to be closed again")


def config_in_pod(kube: Kube, pod: str) -> str:
    return kube.run("exec", "--namespace", NAMESPACE, pod, "--", "cat", "/config/config.cfg", check=False).stdout


def test_a_backend_port_change_under_load_reaches_the_running_frontend_and_its_new_port(real_cluster, shop_stack):
    kube = real_cluster.kube
    before = {p["metadata"]["uid"]: p for p in running_pods(kube, FRONTEND)}
    pod = next(iter(before.values()))["metadata"]["name"]
    shop_stack.write_config(backendPort=9090)
    try:
        with Load(page_url(kube), duration=180, concurrency=2, timeout=10) as load:
            shop_stack.up()
            applied = time.monotonic()
            wait_until(lambda: ":9090" in config_in_pod(kube, pod),
                       what="config.cfg in the frontend pod to name port 9090", timeout=120, interval=0.25)
            propagation = time.monotonic() - applied
            wait_until(lambda: load.count(lambda o: o.started > time.monotonic() - 1 and o.status == 200) > 0,
                       what="pages served again", timeout=30)
            load.stop()
        outcomes = load.snapshot()
        failed = [o for o in outcomes if o.status != 200]
        print(f"\nbackendPort 8080 -> 9090 under load: {len(failed)} of {len(outcomes)} pages failed "
              f"({sorted({o.status for o in failed}, key=str)}); config.cfg reached the running pod "
              f"{propagation:.1f} s after `pulumi up` returned")
        # The window until the kubelet refreshes config.cfg shows clear error pages, never resets or hangs.
        assert {o.status for o in failed} <= {503, 504}, failed[:3]
        assert all("The inventory service" in o.text for o in failed)
        after = {p["metadata"]["uid"]: p for p in running_pods(kube, FRONTEND)}
        assert after.keys() == before.keys()  # the same frontend pods, never restarted
        assert [p["status"]["containerStatuses"][0]["restartCount"] for p in after.values()] == [0]
        # Pooled connections to the old port could still answer through their conntrack entries: replace
        # the backend pod, so that only a new connection, to a port the Service has, can serve the page.
        old_backend = {p["metadata"]["uid"] for p in running_pods(kube, BACKEND)}
        kube.run("delete", "pod", "--namespace", NAMESPACE, "--selector", f"app={BACKEND}", "--wait=true")
        wait_until(lambda: any(p["metadata"]["uid"] not in old_backend and p["status"]["containerStatuses"][0]["ready"]
                               for p in running_pods(kube, BACKEND)), what="a new backend pod", timeout=120)
        response = wait_until(lambda: (r := requests.get(page_url(kube), timeout=10)).status_code == 200 and r,
                              what="the page through the new port", timeout=30)
        assert "<td>Apple</td>" in response.text
    finally:
        shop_stack.write_config(backendPort=None)
        shop_stack.up()
    wait_until(lambda: ":8080" in config_in_pod(kube, pod), what="config.cfg back on port 8080", timeout=120)


def test_a_hand_edit_of_config_cfg_is_drift_that_up_refresh_undoes(real_cluster, shop_stack):
    kube = real_cluster.kube
    pod = running_pods(kube, FRONTEND)[0]["metadata"]["name"]
    good = kube.get("configmap", CONFIGMAP, NAMESPACE)["data"]["config.cfg"]
    wait_until(lambda: config_in_pod(kube, pod) == good, what="the pod's config.cfg to be the stack's", timeout=120)
    # What `kubectl edit configmap` does to the file: someone points the shop elsewhere.
    edited = 'BACKEND_URI = "http://somewhere-else.python-shop.svc:8080"\n'
    kube.run("patch", "configmap", CONFIGMAP, "--namespace", NAMESPACE, "--type", "merge",
             "--patch", json.dumps({"data": {"config.cfg": edited}}))
    wait_until(lambda: config_in_pod(kube, pod) == edited, what="the edit to reach the pod", timeout=120)
    assert requests.get(page_url(kube), timeout=10).status_code == 503  # the drift breaks the shop

    steps = [step for step in shop_stack.steps("--refresh") if step["op"] != "refresh"]
    assert changed(steps) == {CONFIGMAP: "update"}
    update = next(step for step in steps if step["op"] == "update")
    assert list(update["detailedDiff"]) == ['data["config.cfg"]']

    shop_stack.up("--refresh")
    assert kube.get("configmap", CONFIGMAP, NAMESPACE)["data"]["config.cfg"] == good
    wait_until(lambda: config_in_pod(kube, pod) == good, what="the running frontend to follow", timeout=120)
    assert requests.get(page_url(kube), timeout=10).status_code == 200


def test_a_plain_pulumi_up_whose_image_was_never_built_fails_within_60_s_naming_it(real_cluster, shop_stack,
                                                                                  tmp_path):
    kube = real_cluster.kube
    repo = copy_repo(tmp_path / "repo")
    template = repo / "frontend/shop_frontend/templates/index.html"
    template.write_text(template.read_text() + "\n{# edited, never built #}\n")
    missing = app_images.reference("frontend", repo)
    started = time.monotonic()
    up = shop_stack.cli("up", "--yes", "--skip-preview", cwd=repo, check=False)
    elapsed = time.monotonic() - started
    assert up.returncode != 0
    said = up.stdout + up.stderr
    assert f'Container image "{missing}" is not present with pull policy of Never' in said, said[-3000:]
    # Not the provider's 10 minutes: the source image's rollout deadline is 40 s for one replica.
    assert elapsed < 60, f"took {elapsed:.0f}s"
    # The old pod never stopped serving (maxUnavailable 0), and an up of the built source recovers.
    assert requests.get(page_url(kube), timeout=10).status_code == 200
    shop_stack.up()
    assert [p["spec"]["containers"][0]["image"] for p in running_pods(kube, FRONTEND)] == [
        app_images.reference("frontend")]


def test_a_new_backend_tag_rolls_out_under_load_with_no_failed_request(real_cluster, shop_stack):
    kube = real_cluster.kube
    images = str(ROOT / "sandbox" / "images")
    built = app_images.reference("backend")
    subprocess.run([images, "tag", built, "python-shop-backend:0.1.1"], check=True)
    archive = shop_stack.state.parent / "backend-0.1.1.tar"
    with open(archive, "wb") as out:
        subprocess.run([images, "save", "python-shop-backend:0.1.1"], stdout=out, check=True)
    real_node.import_images(archive)
    old_pods = {p["metadata"]["uid"] for p in running_pods(kube, BACKEND)}

    shop_stack.write_config(backendImage="python-shop-backend:0.1.1")
    with Load(page_url(kube), duration=45, concurrency=4, timeout=10) as load:
        shop_stack.up()  # returns once the new pod is Available; the load goes on after it
    outcomes = load.snapshot()
    failed = [o for o in outcomes if o.status != 200]
    assert len(outcomes) > 100
    assert failed == [], f"{len(failed)} of {len(outcomes)} requests failed, e.g. {failed[:3]}"
    new_pods = running_pods(kube, BACKEND)
    assert {p["metadata"]["uid"] for p in new_pods}.isdisjoint(old_pods)
    assert [p["spec"]["containers"][0]["image"] for p in new_pods] == ["python-shop-backend:0.1.1"]


PAGES, OUTAGE_PAGES = 20, 5


def metric(running, expr: str) -> float:
    """The value of a PromQL expression that sums to one series (0 when nothing matches yet)."""
    result = running.query(expr)
    return float(result[0]["value"][1]) if result else 0.0


def test_prometheus_counts_the_pages_and_the_backend_outages_and_only_its_namespace_reads_them(real_cluster,
                                                                                                shop_stack):
    kube = real_cluster.kube
    url = page_url(kube)
    pages = f'sum(shop_http_requests_total{{namespace="{NAMESPACE}", app="{FRONTEND}", route="/", status="200"}})'
    ok_calls = f'sum(shop_backend_calls_total{{namespace="{NAMESPACE}", app="{FRONTEND}", outcome="ok"}})'
    with prometheus.running_prometheus(kube) as running:
        # Both apps found through their pods' annotations, and scraped.
        running.wait_for(f'count(up{{namespace="{NAMESPACE}"}} == 1) == 2', timeout=60)
        before_pages, before_ok = metric(running, pages), metric(running, ok_calls)
        for _ in range(PAGES):
            assert requests.get(url, timeout=10).status_code == 200
        running.wait_for(f"{pages} == {before_pages + PAGES}", timeout=30)
        running.wait_for(f"{ok_calls} == {before_ok + PAGES}", timeout=30)
        builds = running.query(f'shop_build_info{{namespace="{NAMESPACE}"}}')
        # Each app names the build it runs: its image's tag (the backend's is 0.1.1 by now, set above).
        assert {(b["metric"]["app"], b["metric"]["build"]) for b in builds} == {
            (app, running_pods(kube, app)[0]["spec"]["containers"][0]["image"].rsplit(":", 1)[1])
            for app in (BACKEND, FRONTEND)}

        # The backend stopped: each page is an error page, counted by its outcome. Which error depends
        # on the network: kube-proxy rejects a Service with no endpoints (503 unavailable), but
        # kube-router's FORWARD rule accepts the pods' allowed traffic before kube-proxy's reject is
        # reached (kubernetes/kubernetes#78994), so here the packet leaves the node, and what this
        # machine's network does with it decides: refused (503), dropped (504), or answered by
        # something that is no backend (502). The count per kind must match the pages either way.
        outcome = {502: "bad_answer", 503: "unavailable", 504: "timeout"}
        calls = 'sum(shop_backend_calls_total{{namespace="{0}", app="{1}", outcome="{2}"}})'
        before = {kind: metric(running, calls.format(NAMESPACE, FRONTEND, kind)) for kind in outcome.values()}
        kube.run("scale", "deployment", BACKEND, "--namespace", NAMESPACE, "--replicas=0")
        try:
            # Gone, not just terminating: with no ready endpoint left, kube-proxy still sends traffic to
            # a terminating one that serves (its preStop), as it should.
            wait_until(lambda: not kube.get("pods", namespace=NAMESPACE, selector=f"app={BACKEND}")["items"],
                       timeout=60, what="the backend's pod to go")
            statuses = [requests.get(url, timeout=10).status_code for _ in range(OUTAGE_PAGES)]
            assert set(statuses) <= set(outcome), statuses
            for status, kind in outcome.items():
                if statuses.count(status):
                    running.wait_for(f"{calls.format(NAMESPACE, FRONTEND, kind)} == "
                                     f"{before[kind] + statuses.count(status)}", timeout=30)
            for status, kind in outcome.items():  # the other kinds counted nothing
                if not statuses.count(status):
                    assert metric(running, calls.format(NAMESPACE, FRONTEND, kind)) == before[kind], kind
        finally:
            kube.run("scale", "deployment", BACKEND, "--namespace", NAMESPACE, "--replicas=1")
            kube.run("rollout", "status", "deployment", BACKEND, "--namespace", NAMESPACE, "--timeout=120s")

        # The metrics port: open to the scraper's namespace, closed to any other (NetworkPolicy).
        if not kernel_lacks_ipset():
            [pod] = running_pods(kube, FRONTEND)
            metrics_url = f"http://{pod['status']['podIP']}:9464/metrics"
            assert seen_from_outside(kube, metrics_url, namespace=prometheus.NAMESPACE) == "status 200"
            assert seen_from_outside(kube, metrics_url) == "error URLError"
    # Removed, the test's Prometheus leaves neither its namespace nor its cluster-wide RBAC.
    assert not kube.exists("namespace", prometheus.NAMESPACE)
    assert not kube.exists("clusterrole", prometheus.NAME)
    assert not kube.exists("clusterrolebinding", prometheus.NAME)


def test_destroy_and_down_leave_nothing_on_the_host(real_cluster, shop_stack):
    shop_stack.destroy()
    down = cluster_cli("down", "--real")
    assert down.returncode == 0, down.stderr
    assert real_node.leftovers() == []
    # No process of this cluster (its control plane's directory) or of its node and images.
    marks = (f"clusters/{TEST_CLUSTER}-real/", str(real_node.node_dir()), "python-shop/images/docker")
    processes = subprocess.run(["ps", "-eo", "stat=,args="], capture_output=True, text=True).stdout.splitlines()
    leftover = [p for p in processes if any(m in p for m in marks) and not p.startswith("Z")]
    assert leftover == []
