"""tests/support/prometheus.py on the real node: the Prometheus the metrics tests scrape with.

Deployed into `monitoring` (its image from the toolchain's build, loaded into the node), it
finds pods through the API server (the `kubernetes` Service), keeps those annotated for
scraping and scrapes them; its own pod is annotated, so it scrapes itself. Removed, it leaves
neither its namespace nor its cluster-scoped RBAC.
"""

from __future__ import annotations

import pytest

from tests.support import prometheus
from tests.support.clusters import up_again

pytestmark = pytest.mark.pods


def test_prometheus_scrapes_the_pods_annotated_for_it_and_its_removal_leaves_nothing(real_cluster):
    up_again("--real", timeout=900)
    kube = real_cluster.kube
    with prometheus.running_prometheus(kube) as running:
        result = running.wait_for(f'up{{job="kubernetes-pods", namespace="{prometheus.NAMESPACE}"}} == 1', timeout=30)
        [labels] = [series["metric"] for series in result]
        assert labels["app"] == prometheus.NAME
        assert labels["pod"].startswith(f"{prometheus.NAME}-")
        assert labels["instance"].endswith(f":{prometheus.PORT}")  # the pod IP and the annotated port
        [build] = running.query("prometheus_build_info")
        assert build["metric"]["version"] == prometheus.COMPONENT.version
    assert not kube.exists("namespace", prometheus.NAMESPACE)
    assert not kube.exists("clusterrole", prometheus.NAME)
    assert not kube.exists("clusterrolebinding", prometheus.NAME)
