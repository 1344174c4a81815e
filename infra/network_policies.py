"""Network isolation: nothing reaches the shop's pods except what the shop needs.

Deny all ingress in the namespace, then allow the frontend pods to reach the
backend pods on the backend's container port, and anyone to reach the
frontend on its port. Policies select pods by the same `app` labels the
Services use. They need a network plugin that enforces NetworkPolicy (on
minikube: `minikube start --cni=calico`; the embedded real node runs kube-router's
policy controller); `networkPolicies: false` leaves them out.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from web_service import WebService

LABELS = {"app.kubernetes.io/part-of": "python-shop", "app.kubernetes.io/managed-by": "pulumi"}


def isolate(
    namespace: pulumi.Input[str],
    backend: WebService,
    frontend: WebService,
    opts: pulumi.ResourceOptions,
    *,
    owns_namespace: bool,
) -> list[k8s.networking.v1.NetworkPolicy]:
    def policy(name: str, spec: dict) -> k8s.networking.v1.NetworkPolicy:
        return k8s.networking.v1.NetworkPolicy(
            name, metadata={"name": name, "namespace": namespace, "labels": LABELS}, spec=spec, opts=opts
        )

    http = [{"protocol": "TCP", "port": "http"}]  # the named container port, not the Service port
    # In a namespace of its own the shop denies everything; in a shared one
    # (createNamespace: false, e.g. default) only its own pods.
    everything_here = {} if owns_namespace else {"matchLabels": {"app.kubernetes.io/part-of": "python-shop"}}
    return [
        policy("python-shop-default-deny-ingress", {"podSelector": everything_here, "policyTypes": ["Ingress"]}),
        policy(
            "python-shop-backend-from-frontend",
            {
                "podSelector": {"matchLabels": backend.selector},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"podSelector": {"matchLabels": frontend.selector}}], "ports": http}],
            },
        ),
        policy(
            "python-shop-frontend-from-anywhere",
            {
                "podSelector": {"matchLabels": frontend.selector},
                "policyTypes": ["Ingress"],
                "ingress": [{"ports": http}],
            },
        ),
    ]
