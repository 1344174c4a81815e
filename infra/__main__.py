"""The python-shop deployment: the table of contents.

Read the settings, build the backend (its image named after its source
unless the stack names one), build the frontend's config from the
backend's Service, build the frontend, export what users need.
"""

from __future__ import annotations

import pulumi

import app_images
from cluster import kubernetes_provider, shop_namespace
from frontend_config import FrontendConfig
from network_policies import isolate
from stack_settings import Settings, load_settings
from web_service import WebService


def deploy(settings: Settings) -> None:
    provider = kubernetes_provider(settings)
    in_cluster = pulumi.ResourceOptions(providers=[provider])
    namespace = shop_namespace(settings, in_cluster)

    backend = WebService(
        "python-shop-backend",
        component="backend",
        namespace=namespace,
        image=settings.backend_image or app_images.reference("backend"),
        image_from_source=settings.backend_image is None,
        replicas=settings.backend_replicas,
        service_port=settings.backend_port,
        opts=in_cluster,
    )

    frontend_config = FrontendConfig(
        "python-shop-frontend-config",
        backend_service=backend.service,
        namespace=namespace,
        labels={"app.kubernetes.io/part-of": "python-shop", "app.kubernetes.io/component": "frontend"},
        opts=in_cluster,
    )

    frontend = WebService(
        "python-shop-frontend",
        component="frontend",
        namespace=namespace,
        image=settings.frontend_image or app_images.reference("frontend"),
        image_from_source=settings.frontend_image is None,
        replicas=settings.frontend_replicas,
        service_type=settings.frontend_service_type,
        config_mount=frontend_config.mount,
        opts=in_cluster,
    )

    if settings.network_policies:
        isolate(namespace, backend, frontend, in_cluster, owns_namespace=settings.create_namespace)

    frontend_service = frontend.service.metadata.name
    pulumi.export("namespace", namespace)
    pulumi.export("backendUri", frontend_config.backend_uri)
    pulumi.export("frontendServiceName", frontend_service)
    pulumi.export("frontendNodePort", frontend.service.spec.ports[0].node_port)
    if settings.frontend_service_type == "NodePort":
        open_command = pulumi.Output.format("minikube service {0} --namespace {1}", frontend_service, namespace)
    else:
        open_command = pulumi.Output.format(
            "kubectl port-forward --namespace {1} service/{0} 8080:{2}", frontend_service, namespace,
            frontend.service.spec.ports[0].port,
        )
    pulumi.export("openCommand", open_command)


if __name__ == "__main__":
    deploy(load_settings())
