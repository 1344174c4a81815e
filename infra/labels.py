"""The labels the shop's objects carry, written once.

Kubernetes' recommended labels (app.kubernetes.io/*) on everything; on a web service's
pods also the original's `app` label, which its Service and NetworkPolicies select on.
"""

from __future__ import annotations

PART_OF = "python-shop"
PART_OF_SHOP = {"app.kubernetes.io/part-of": PART_OF}  # selects every pod of the shop, in any namespace
MANAGED = {**PART_OF_SHOP, "app.kubernetes.io/managed-by": "pulumi"}


def selector(service: str) -> dict[str, str]:
    """The pods of one web service. The original's label: a Deployment's selector is
    immutable, so keeping it lets a stack adopt a cluster running deploy.yaml."""
    return {"app": service}


def workload(service: str, component: str, stack: str) -> dict[str, str]:
    """A web service's Deployment, pods and Service."""
    return {
        **selector(service),
        "app.kubernetes.io/name": service,
        "app.kubernetes.io/instance": f"{service}-{stack}",
        "app.kubernetes.io/component": component,
        **MANAGED,
    }


def component(name: str) -> dict[str, str]:
    """An object that belongs to one component but is no workload (the frontend's ConfigMap)."""
    return {**PART_OF_SHOP, "app.kubernetes.io/component": name}
