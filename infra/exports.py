"""What `pulumi stack output` tells users: where the shop is, chosen by the frontend
Service's type and the cluster (a load balancer's URL, or that its address is pending;
`minikube service` on minikube; a port-forward anywhere, which needs no node address)."""

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
        # Not awaited (web_service.SERVICE_ANNOTATIONS): the address as it was when `pulumi up` created or
        # updated the Service, none yet on a cluster that has not given one (or never will).
        pulumi.export("frontendUrl", pulumi.Output.all(service.status, port).apply(lambda sp: _url(*sp)))
        pulumi.export("frontendAddress", pulumi.Output.all(service.status, name, namespace).apply(
            lambda sn: _address(*sn)))
    if settings.frontend_host:
        # The host as the Ingress names it: reachable once DNS points it at the controller.
        scheme = "https" if settings.ingress_tls_secret else "http"
        pulumi.export("frontendUrl", f"{scheme}://{settings.frontend_host}/")
    if settings.frontend_service_type == "NodePort":
        pulumi.export("frontendNodePort", service.spec.ports[0].node_port)
    if settings.frontend_service_type == "NodePort" and (settings.kube_context or "").startswith("minikube"):
        pulumi.export("openCommand", pulumi.Output.format("minikube service {0} --namespace {1}", name, namespace))
    else:  # any cluster, any Service type: through the API server, no node address needed
        pulumi.export("openCommand", pulumi.Output.format(
            "kubectl port-forward --namespace {1} service/{0} 8080:{2}", name, namespace, port))


def _lb_address(status) -> str | None:
    """The load balancer's address (hostname or IP, as the cloud gives it), once it has one."""
    points = _at(_at(status, "load_balancer", "loadBalancer"), "ingress", "ingress") or []
    return (_at(points[0], "hostname", "hostname") or _at(points[0], "ip", "ip")) if points else None


def _url(status, port: int) -> str | None:
    address = _lb_address(status)
    return f"http://{address}:{port}/" if address else None


def _address(status, name: str, namespace: str) -> str:
    """The address, or what to do while there is none."""
    return _lb_address(status) or (
        f"pending: the cluster has not given the load balancer an address yet (without a load-balancer "
        f"controller it never will); `kubectl get service {name} --namespace {namespace} --watch` shows it "
        "when it does, and `pulumi up --refresh` then exports frontendUrl; meanwhile openCommand works")


def _at(value, attribute: str, key: str):
    """A field of an output, whether the SDK hands it over typed or as a dict (camel- or snake-cased)."""
    if isinstance(value, dict):
        return value.get(key, value.get(attribute))
    return getattr(value, attribute, None)


