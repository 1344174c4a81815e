"""The shop's namespace: restricted Pod Security, and no ingress to the shop's pods but what
each web service allows (its own NetworkPolicy, infra/web_service.py).

A NetworkPolicy needs a network plugin that enforces it (on minikube: `minikube start
--cni=calico`; the embedded real node runs kube-router's policy controller);
`networkPolicies: false` leaves the policies out.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from infra import labels
from infra.stack_settings import Settings

# Pod Security Admission: the API server itself refuses any pod that is not
# "restricted" (non-root, no privilege escalation, capabilities dropped, seccomp).
POD_SECURITY = {
    f"pod-security.kubernetes.io/{mode}{suffix}": value
    for mode in ("enforce", "audit", "warn")
    for suffix, value in (("", "restricted"), ("-version", "latest"))
}
LOGICAL_NAME = "python-shop"  # the Namespace's, whatever `namespace` says: renaming it is an update, not a new URN


def shop_namespace(settings: Settings, opts: pulumi.ResourceOptions) -> pulumi.Input[str]:
    """The namespace's name (an Output of the Namespace when the stack creates it), with the
    default-deny ingress policy in it."""
    name: pulumi.Input[str] = settings.namespace
    if settings.create_namespace:
        namespace = k8s.core.v1.Namespace(
            LOGICAL_NAME,
            metadata={"name": settings.namespace, "labels": {**labels.PART_OF_SHOP, **POD_SECURITY}},
            # Stacks deployed before named it after the `namespace` setting.
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                aliases=[pulumi.Alias(name=settings.namespace)] if settings.namespace != LOGICAL_NAME else None)),
        )
        name = namespace.metadata.name
    if settings.network_policies:
        # In a namespace of its own the shop denies everything; in a shared one
        # (createNamespace: false, e.g. default) only its own pods.
        everything_here = {} if settings.create_namespace else {"matchLabels": labels.PART_OF_SHOP}
        k8s.networking.v1.NetworkPolicy(
            "python-shop-default-deny-ingress",
            metadata={"name": "python-shop-default-deny-ingress", "namespace": name, "labels": labels.MANAGED},
            spec={"podSelector": everything_here, "policyTypes": ["Ingress"]},
            opts=opts,
        )
    return name
