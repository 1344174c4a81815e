"""The python-shop deployment: the table of contents.

Read the settings; the provider and the namespace (default-deny ingress); the backend, which
only the frontend may reach; the frontend's config, built from the backend Service's outputs;
the frontend, which anyone may reach (behind an optional Ingress, its controller alone); what users
need to find it. Each app's image is the one built from its folder (app_images) unless the stack
names one; each app's metrics port is found by a Prometheus as `monitoring` says and reached from
`monitoringNamespace` alone. Either app may be autoscaled (`<app>MaxReplicas`), between
`<app>Replicas` and that.
"""

from __future__ import annotations

import sys
from pathlib import Path

# One import root for the program's modules, as in the tests and tools: `infra.<module>`, from the
# repository's root (the engine runs this file from infra/, which alone would give them bare names).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pulumi  # noqa: E402

from infra import (
    app_images,  # noqa: E402
    labels,  # noqa: E402
)
from infra.exports import export_how_to_reach  # noqa: E402
from infra.frontend_config import FrontendConfig  # noqa: E402
from infra.namespace import shop_namespace  # noqa: E402
from infra.provider import kubernetes_provider  # noqa: E402
from infra.stack_settings import Settings, load_settings  # noqa: E402
from infra.web_service import ANYWHERE, IngressRoute, WebService  # noqa: E402


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
        max_replicas=settings.backend_max_replicas,
        autoscaling_cpu_percent=settings.autoscaling_cpu_percent,
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

    # Behind an Ingress (frontendHost), its controller's namespace alone reaches the frontend; else anyone may.
    ingress = IngressRoute(settings.frontend_host, settings.ingress_controller_namespace,
                           settings.ingress_class_name, settings.ingress_tls_secret) if settings.frontend_host else None
    frontend = WebService(
        "python-shop-frontend",
        component="frontend",
        namespace=namespace,
        image=settings.frontend_image or app_images.reference("frontend"),
        image_from_source=settings.frontend_image is None,
        replicas=settings.frontend_replicas,
        max_replicas=settings.frontend_max_replicas,
        autoscaling_cpu_percent=settings.autoscaling_cpu_percent,
        service_type=settings.frontend_service_type,
        config_mount=frontend_config.mount,
        reachable_from=() if ingress else ANYWHERE,
        ingress=ingress,
        network_policy=settings.network_policies,
        monitoring=settings.monitoring,
        monitoring_namespace=settings.monitoring_namespace,
        opts=in_cluster,
    )

    export_how_to_reach(settings, namespace, backend, frontend, frontend_config)


if __name__ == "__main__":
    deploy(load_settings())
