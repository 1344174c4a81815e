"""The python-shop deployment: the table of contents.

Read the settings; the provider and the namespace (default-deny ingress); the backend, which
only the frontend may reach; the frontend's config, built from the backend Service's outputs;
the frontend, which anyone may reach; what users need to find it. Each app's image is the one
built from its folder (app_images) unless the stack names one; each app's metrics port is found
by a Prometheus as `monitoring` says and reached from `monitoringNamespace` alone.
"""

from __future__ import annotations

import pulumi

import app_images
import labels
from exports import export_how_to_reach
from frontend_config import FrontendConfig
from namespace import shop_namespace
from provider import kubernetes_provider
from stack_settings import Settings, load_settings
from web_service import ANYWHERE, WebService


def deploy(settings: Settings) -> None:
    in_cluster = pulumi.ResourceOptions(providers=[kubernetes_provider(settings)])
    namespace = shop_namespace(settings, in_cluster)

    backend = WebService(
        "python-shop-backend",
        component="backend",
        namespace=namespace,
        image=settings.backend_image or app_images.reference("backend"),
        image_from_source=settings.backend_image is None,
        replicas=settings.backend_replicas,
        service_port=settings.backend_port,
        reachable_from=["python-shop-frontend"],
        network_policy=settings.network_policies,
        monitoring=settings.monitoring,
        monitoring_namespace=settings.monitoring_namespace,
        opts=in_cluster,
    )

    frontend_config = FrontendConfig(
        "python-shop-frontend-config",
        backend_service=backend.service,
        namespace=namespace,
        labels=labels.component("frontend"),
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
        reachable_from=ANYWHERE,
        network_policy=settings.network_policies,
        monitoring=settings.monitoring,
        monitoring_namespace=settings.monitoring_namespace,
        opts=in_cluster,
    )

    export_how_to_reach(settings, namespace, backend, frontend, frontend_config)


if __name__ == "__main__":
    deploy(load_settings())
