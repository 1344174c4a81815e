"""What `pulumi stack output` tells users: where the shop is, chosen by the frontend
Service's type and the cluster (a load balancer's URL; `minikube service` on minikube;
a port-forward anywhere else, which needs no node address)."""

from __future__ import annotations

import pulumi

from infra.frontend_config import FrontendConfig
from infra.stack_settings import Settings
from infra.web_service import WebService


def export_how_to_reach(settings: Settings, namespace: pulumi.Input[str], backend: WebService, frontend: WebService,
                        frontend_config: FrontendConfig) -> None:
    """The outputs users need, chosen by the frontend Service's type and the cluster."""
    # The builds the pods run: `make up` returns once the page names both (tools/targets.py).
    pulumi.export("builds", {"backend": backend.build, "frontend": frontend.build})
    service = frontend.service
    name, port = service.metadata.name, service.spec.ports[0].port
    pulumi.export("namespace", namespace)
    pulumi.export("backendUri", frontend_config.backend_uri)
    pulumi.export("frontendServiceName", name)
    if settings.frontend_service_type == "LoadBalancer":
        pulumi.export("frontendUrl", pulumi.Output.all(service.status, port).apply(lambda sp: _url(*sp)))
        return
    if settings.frontend_service_type == "NodePort":
        pulumi.export("frontendNodePort", service.spec.ports[0].node_port)
    if settings.frontend_service_type == "NodePort" and (settings.kube_context or "").startswith("minikube"):
        pulumi.export("openCommand", pulumi.Output.format("minikube service {0} --namespace {1}", name, namespace))
    else:  # any cluster, any Service type: through the API server, no node address needed
        pulumi.export("openCommand", pulumi.Output.format(
            "kubectl port-forward --namespace {1} service/{0} 8080:{2}", name, namespace, port))


def _url(status, port: int) -> str | None:
    """The load balancer's address (hostname or IP, as the cloud gives it), once it has one."""
    points = _at(_at(status, "load_balancer", "loadBalancer"), "ingress", "ingress") or []
    address = (_at(points[0], "hostname", "hostname") or _at(points[0], "ip", "ip")) if points else None
    return f"http://{address}:{port}/" if address else None


def _at(value, attribute: str, key: str):
    """A field of an output, whether the SDK hands it over typed or as a dict (camel- or snake-cased)."""
    if isinstance(value, dict):
        return value.get(key, value.get(attribute))
    return getattr(value, attribute, None)


