"""Where the shop goes: the one kubernetes provider every resource uses (no default provider)."""

from __future__ import annotations

import pulumi_kubernetes as k8s

from infra.stack_settings import Settings


def kubernetes_provider(settings: Settings) -> k8s.Provider:
    # Rendering talks to no cluster, and the provider refuses a context alongside it.
    context = None if settings.render_dir else settings.kube_context
    return k8s.Provider(
        "python-shop",
        context=context,
        # Update ConfigMaps in place: by default a changed ConfigMap with a fixed
        # name is deleted and re-created, leaving the frontend without its file.
        enable_config_map_mutable=True,
        # Render manifests to a directory instead of talking to a cluster.
        render_yaml_to_directory=settings.render_dir,
        # The stack's declared state wins over other field managers: `pulumi up`
        # undoes a `kubectl scale` or `kubectl edit` (drift) instead of failing on
        # a server-side apply conflict. An autoscaled Deployment's replicas are
        # ignored instead (web_service.AUTOSCALED_FIELDS): never forced back.
        enable_patch_force=True,
        # Adopting objects created by `kubectl apply -f deploy.yaml`: update them
        # instead of failing because they exist.
        upsert_existing_objects=settings.adopt_existing or None,
        # Only a different kube context replaces the provider (and so every
        # resource); a restarted minikube with new certificates, or a change to
        # any option above, is an update.
        cluster_identifier=context or ("rendered" if settings.render_dir else "current-context"),
    )
