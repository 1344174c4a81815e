"""The wiring: the frontend's config.cfg names the backend Service, from its outputs.

BACKEND_URI is never written out by hand. It is built from the backend
Service's own name, namespace and port, so changing the namespace or
`backendPort` changes the URI with them, and the ConfigMap depends on the
Service (it is created after it).
"""

from __future__ import annotations

import json

import pulumi
import pulumi_kubernetes as k8s

from infra.web_service import ConfigMount

CONFIG_DIR = "/config"  # the frontend reads /config/config.cfg (its default CONFIG_PATH)
CONFIG_FILE = "config.cfg"


def backend_uri(service: k8s.core.v1.Service) -> pulumi.Output[str]:
    """http://<service>.<namespace>.svc:<port>: resolvable from any namespace, any cluster domain."""
    return pulumi.Output.format(
        "http://{0}.{1}.svc:{2}", service.metadata.name, service.metadata.namespace, service.spec.ports[0].port
    )


def config_file(uri: str) -> str:
    """config.cfg as a Flask pyfile; json.dumps makes a valid Python string literal."""
    return f"BACKEND_URI = {json.dumps(uri)}\n"


class FrontendConfig(pulumi.ComponentResource):
    """The ConfigMap holding config.cfg, and how the frontend mounts it."""

    config_map: k8s.core.v1.ConfigMap
    backend_uri: pulumi.Output[str]
    mount: ConfigMount

    def __init__(
        self,
        name: str,
        *,
        backend_service: k8s.core.v1.Service,
        namespace: pulumi.Input[str],
        labels: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("python-shop:index:FrontendConfig", name, None, opts)
        self.backend_uri = backend_uri(backend_service)
        # The provider runs with enableConfigMapMutable: a new URI updates this
        # ConfigMap in place (no replace, no moment without the file), and the
        # kubelet swaps the mounted file under the running frontend.
        self.config_map = k8s.core.v1.ConfigMap(
            name,
            metadata={"name": name, "namespace": namespace, "labels": labels},
            data={CONFIG_FILE: self.backend_uri.apply(config_file)},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.mount = ConfigMount(
            config_map_name=self.config_map.metadata.name,
            volume_name=f"{name}-volume",
            mount_path=CONFIG_DIR,
        )
        self.register_outputs({"backend_uri": self.backend_uri})
