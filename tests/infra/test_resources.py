"""What the program declares, under the dev stack's config and a production-like one."""

import re
import subprocess
import sys

import pytest

from tests.support.kinds import CONFIG_MAP, DEPLOYMENT, NAMESPACE, SERVICE
from tests.support.pulumi_mocks import (
    DEV_CONFIG,
    PRODUCTION_LIKE_CONFIG,
    PROVIDER_TYPE,
    ROOT,
    ProviderLikeMocks,
    run_program,
    stack_config,
)


@pytest.fixture(scope="module")
def production_run():
    return run_program(PRODUCTION_LIKE_CONFIG, stack="production-like")


def setting(run, key, default):
    return run.config.get(f"python-shop:{key}", default)


def pod_spec(run, name):
    return run.one(DEPLOYMENT, name).inputs["spec"]["template"]["spec"]


def test_the_original_objects_and_names(stack_run):
    # The kinds of the article's deploy.yaml, by the names it gave them (the rest: test_guardrails.py, test_production.py).
    original = (NAMESPACE, DEPLOYMENT, SERVICE, CONFIG_MAP)
    names = sorted(
        (r.type, r.inputs["metadata"]["name"]) for r in stack_run.kubernetes_objects() if r.type in original
    )
    namespace = setting(stack_run, "namespace", "python-shop")
    assert names == sorted(
        [
            (NAMESPACE, namespace),
            (DEPLOYMENT, "python-shop-backend"),
            (SERVICE, "python-shop-backend-service"),
            (CONFIG_MAP, "python-shop-frontend-config"),
            (DEPLOYMENT, "python-shop-frontend"),
            (SERVICE, "python-shop-frontend-service"),
        ]
    )
    for obj in stack_run.kubernetes_objects():
        if obj.type != NAMESPACE:
            assert obj.inputs["metadata"]["namespace"] == namespace, obj.name


def test_backend_uri_names_the_backend_service(stack_run):
    namespace = setting(stack_run, "namespace", "python-shop")
    port = setting(stack_run, "backendPort", "8080")
    uri = f"http://python-shop-backend-service.{namespace}.svc:{port}"
    config_map = stack_run.one(CONFIG_MAP, "python-shop-frontend-config")
    assert config_map.inputs["data"] == {"config.cfg": f'BACKEND_URI = "{uri}"\n'}
    assert stack_run.one(SERVICE, "python-shop-backend-service").inputs["spec"]["ports"][0]["port"] == int(port)
    assert stack_run.exports["backendUri"] == uri


def test_config_file_is_a_pyfile_the_frontend_accepts(stack_run, tmp_path):
    from shop_frontend.backend_config import load_backend_uri

    path = tmp_path / "config.cfg"
    path.write_text(stack_run.one(CONFIG_MAP, "python-shop-frontend-config").inputs["data"]["config.cfg"])
    assert load_backend_uri(str(path)) == stack_run.exports["backendUri"]


def test_selectors_match_pod_labels(stack_run):
    for name in ("python-shop-backend", "python-shop-frontend"):
        deployment = stack_run.one(DEPLOYMENT, name).inputs
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector == {"app": name}  # the original's selector, so a stack can adopt it
        assert selector.items() <= pod_labels.items()
        service_selector = stack_run.one(SERVICE, f"{name}-service").inputs["spec"]["selector"]
        assert service_selector.items() <= pod_labels.items()


def test_recommended_labels(stack_run):
    for name, component in (("python-shop-backend", "backend"), ("python-shop-frontend", "frontend")):
        labels = stack_run.one(DEPLOYMENT, name).inputs["spec"]["template"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == name
        assert labels["app.kubernetes.io/component"] == component
        assert labels["app.kubernetes.io/part-of"] == "python-shop"
        assert labels["app.kubernetes.io/managed-by"] == "pulumi"


def test_service_target_ports_match_container_ports(stack_run):
    for name in ("python-shop-backend", "python-shop-frontend"):
        (container,) = pod_spec(stack_run, name)["containers"]
        container_ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        for port in stack_run.one(SERVICE, f"{name}-service").inputs["spec"]["ports"]:
            assert port["targetPort"] in container_ports
        assert container_ports["http"] == 8080
        assert {"name": "PORT", "value": "8080"} in container["env"]  # what the Procfile binds


def test_each_container_serves_its_pages_and_its_metrics_on_ports_of_their_own(stack_run):
    for name in ("python-shop-backend", "python-shop-frontend"):
        (container,) = pod_spec(stack_run, name)["containers"]
        assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"},
                                      {"name": "metrics", "containerPort": 9464, "protocol": "TCP"}]


def test_the_services_carry_the_pages_only_never_the_metrics(stack_run):
    backend_port = int(setting(stack_run, "backendPort", "8080"))
    for name, port in (("python-shop-backend", backend_port), ("python-shop-frontend", 8080)):
        ports = stack_run.one(SERVICE, f"{name}-service").inputs["spec"]["ports"]
        assert [{k: v for k, v in p.items() if k != "nodePort"} for p in ports] == [
            {"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}]


PROD_DIGESTS = {  # Pulumi.prod.yaml's (made up, well-formed)
    "backend": "sha256:26e381cdc50999a7e0815654354321f4ab56793773085ad96bd53682ccf33ad0",
    "frontend": "sha256:cda308f0473f66021da47d90ad2f233893f49f683e49d99000f5fdbb9ca87fc2",
}


@pytest.mark.parametrize("app", ["backend", "frontend"])
def test_the_environment_every_app_is_started_with(app):
    # The apps' contract: where to listen and serve metrics, where prometheus_client keeps its
    # per-process files, which build this is (the digest of the image Pulumi.prod.yaml names,
    # registry.example.com/shop/python-shop-<app>@sha256:...), where the drain flag appears.
    run = run_program(stack_config(ROOT / "Pulumi.prod.yaml"), stack="prod")
    (container,) = pod_spec(run, f"python-shop-{app}")["containers"]
    assert container["image"] == f"registry.example.com/shop/python-shop-{app}@{PROD_DIGESTS[app]}"
    assert container["env"] == [
        {"name": "PORT", "value": "8080"},
        {"name": "METRICS_PORT", "value": "9464"},
        {"name": "PROMETHEUS_MULTIPROC_DIR", "value": "/var/run/shop-metrics"},
        {"name": "SHOP_BUILD", "value": PROD_DIGESTS[app]},
        {"name": "SHOP_DRAIN_FILE", "value": "/tmp/shop-draining"},
    ]


def test_shop_build_of_an_image_named_by_digest_is_the_digest(production_run):
    (container,) = pod_spec(production_run, "python-shop-frontend")["containers"]
    assert container["image"] == "registry.example.com:5000/shop/python-shop-frontend@sha256:" + "ab" * 32
    assert {"name": "SHOP_BUILD", "value": "sha256:" + "ab" * 32} in container["env"]


@pytest.mark.parametrize(
    ("image", "build"),
    [
        ("registry.example.com/shop/python-shop-backend:1.4.2", "1.4.2"),
        ("registry.example.com:5000/shop/python-shop-backend:2026.11.23-rc1", "2026.11.23-rc1"),
        ("registry.example.com/shop/python-shop-backend@sha256:" + "ab" * 32, "sha256:" + "ab" * 32),
        # Both: the runtime pulls the digest, whatever the tag says, so the digest is the build that runs.
        ("registry.example.com/shop/python-shop-backend:1.4.2@sha256:" + "cd" * 32, "sha256:" + "cd" * 32),
    ],
    ids=["tag", "registry-port", "digest", "tag-and-digest"],
)
def test_shop_build_is_the_images_tag_or_its_digest(image, build):
    run = run_program({**DEV_CONFIG, "python-shop:backendImage": image})
    (container,) = pod_spec(run, "python-shop-backend")["containers"]
    assert [e for e in container["env"] if e["name"] == "SHOP_BUILD"] == [{"name": "SHOP_BUILD", "value": build}]


def test_shop_build_of_an_image_built_from_source_is_its_folders_digest(dev_run):
    for app in ("backend", "frontend"):
        (container,) = pod_spec(dev_run, f"python-shop-{app}")["containers"]
        env = {e["name"]: e["value"] for e in container["env"]}
        assert env["SHOP_BUILD"] == container["image"].rpartition(":")[2]
        assert re.fullmatch(r"[0-9a-f]{16}", env["SHOP_BUILD"])


def test_the_metrics_files_have_a_small_volume_of_their_own(stack_run):
    for name in ("python-shop-backend", "python-shop-frontend"):
        spec = pod_spec(stack_run, name)
        (container,) = spec["containers"]
        # Shared by the server's worker processes, apart from /tmp; bounded, so a leak evicts the pod.
        assert {"name": "metrics", "emptyDir": {"sizeLimit": "16Mi"}} in spec["volumes"]
        assert {"name": "metrics", "mountPath": "/var/run/shop-metrics"} in container["volumeMounts"]


def test_frontend_service_type_follows_config(stack_run):
    expected = setting(stack_run, "frontendServiceType", "NodePort")
    assert stack_run.one(SERVICE, "python-shop-frontend-service").inputs["spec"]["type"] == expected
    assert stack_run.one(SERVICE, "python-shop-backend-service").inputs["spec"]["type"] == "ClusterIP"


def test_frontend_mounts_the_config_map_as_a_directory(stack_run):
    spec = pod_spec(stack_run, "python-shop-frontend")
    (container,) = spec["containers"]
    config_map = stack_run.one(CONFIG_MAP, "python-shop-frontend-config")
    volumes = {v["name"]: v for v in spec["volumes"]}
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == "/config")
    assert volumes[mount["name"]]["configMap"]["name"] == config_map.inputs["metadata"]["name"]
    assert mount["name"] == "python-shop-frontend-config-volume"
    assert "subPath" not in mount  # a subPath mount never sees ConfigMap updates
    assert mount.get("readOnly") is True
    assert "config.cfg" in config_map.inputs["data"]


def test_backend_has_no_config_mount(stack_run):
    spec = pod_spec(stack_run, "python-shop-backend")
    assert [v["name"] for v in spec["volumes"]] == ["tmp", "metrics"]


def test_configured_images_are_pulled_with_the_providers_await(production_run):
    expected = {
        "backend": "registry.example.com:5000/shop/python-shop-backend:1.4.2",
        "frontend": "registry.example.com:5000/shop/python-shop-frontend@sha256:" + "ab" * 32,
    }
    for app, image in expected.items():
        deployment = production_run.one(DEPLOYMENT, f"python-shop-{app}").inputs
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["image"] == image
        # A tag (1.4.2) and a digest alike: pulled when the node lacks it, never on every pod start
        # (web_service.py's PULL_FROM_REGISTRY says why not Always).
        assert container["imagePullPolicy"] == "IfNotPresent"
        assert "annotations" not in deployment["metadata"]  # a registry pull may take long: the provider's 10 min


def test_without_configured_images_the_ones_built_from_source_run_and_are_never_pulled(dev_run):
    for app in ("backend", "frontend"):
        deployment = dev_run.one(DEPLOYMENT, f"python-shop-{app}").inputs
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert re.fullmatch(rf"python-shop-{app}:[0-9a-f]{{16}}", container["image"]), container["image"]
        assert container["image"] == subprocess.run(
            [sys.executable, str(ROOT / "infra" / "app_images.py"), app], capture_output=True, text=True, check=True
        ).stdout.strip()
        # Only the node's own store has it: a same-named image of a registry must never run instead.
        assert container["imagePullPolicy"] == "Never"
        # One replica: a missing image fails the rollout after 40 s, not the provider's 10 minutes.
        assert deployment["metadata"]["annotations"] == {"pulumi.com/timeoutSeconds": "40"}


def test_the_rollout_deadline_of_a_source_image_grows_with_the_replicas():
    run = run_program({**DEV_CONFIG, "python-shop:backendReplicas": "3"})
    backend = run.one(DEPLOYMENT, "python-shop-backend").inputs
    assert backend["metadata"]["annotations"] == {"pulumi.com/timeoutSeconds": "120"}


def test_replicas_come_from_config(stack_run):
    for app in ("backend", "frontend"):
        deployment = stack_run.one(DEPLOYMENT, f"python-shop-{app}").inputs
        assert deployment["spec"]["replicas"] == int(setting(stack_run, f"{app}Replicas", "1"))


def test_services_are_not_awaited_their_deployments_are(dev_run):
    for name in ("python-shop-backend-service", "python-shop-frontend-service"):
        assert dev_run.one(SERVICE, name).inputs["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}


def test_a_load_balancer_is_not_awaited_either(production_run):
    # Awaited, a cluster that never gives it an address would hold `pulumi up` for the provider's 10 minutes.
    service = production_run.one(SERVICE, "python-shop-frontend-service").inputs
    assert service["spec"]["type"] == "LoadBalancer"
    assert service["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}


def test_pods_are_fit_for_production(stack_run):
    for name in ("python-shop-backend", "python-shop-frontend"):
        deployment = stack_run.one(DEPLOYMENT, name).inputs
        spec = deployment["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}, probe
        resources = container["resources"]
        assert set(resources["requests"]) == {"cpu", "memory"}
        assert set(resources["limits"]) == {"cpu", "memory"}
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert security["readOnlyRootFilesystem"] is True
        writable = {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")}
        assert writable == {"/tmp", "/var/run/shop-metrics"}
        assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
        # Flags the drain (the app then closes each keep-alive connection after its answer), and serves on
        # while endpoints and pooled connections move away from the terminating pod.
        assert container["lifecycle"] == {"preStop": {"exec": {"command": [
            "/bin/sh", "-c", "touch /tmp/shop-draining && sleep 5"]}}}


def test_every_object_goes_through_the_explicit_provider(stack_run):
    provider = stack_run.provider
    # Without it, a changed ConfigMap with a fixed name is deleted, then re-created.
    assert provider.inputs["enableConfigMapMutable"] == "true"
    for obj in stack_run.kubernetes_objects():  # provider refs are "<urn>::<id>"
        assert obj.provider.endswith(f"{PROVIDER_TYPE}::{provider.name}::{provider.name}_id"), obj.name


def test_provider_uses_the_stack_context(stack_run):
    assert stack_run.provider.inputs.get("context") == stack_run.config["kubernetes:context"]
    assert "renderYamlToDirectory" not in stack_run.provider.inputs


def test_render_mode_drops_the_context(tmp_path):
    # The provider refuses `context` together with `renderYamlToDirectory`.
    run = run_program({**DEV_CONFIG, "python-shop:renderDir": str(tmp_path)})
    assert run.provider.inputs["renderYamlToDirectory"] == str(tmp_path)
    assert "context" not in run.provider.inputs


def test_a_relative_render_dir_is_taken_from_the_project_root_not_infra():
    # docs/configuration.md: `pulumi config set renderDir rendered` writes <repo>/rendered (git-ignored).
    run = run_program({**DEV_CONFIG, "python-shop:renderDir": "rendered"})
    assert run.provider.inputs["renderYamlToDirectory"] == str(ROOT / "rendered")


def test_exports_on_minikube_with_a_node_port(dev_run):
    assert dev_run.exports["namespace"] == "python-shop"
    assert dev_run.exports["frontendServiceName"] == "python-shop-frontend-service"
    assert dev_run.exports["backendUri"] == "http://python-shop-backend-service.python-shop.svc:8080"
    assert isinstance(dev_run.exports["frontendNodePort"], int)
    assert dev_run.exports["openCommand"] == "minikube service python-shop-frontend-service --namespace python-shop"


def test_exports_name_the_builds_the_pods_run(production_run, dev_run):
    # What `make up` checks the page against: a tag, or the digest when the image names one.
    assert production_run.exports["builds"] == {"backend": "1.4.2", "frontend": "sha256:" + "ab" * 32}
    assert set(dev_run.exports["builds"]) == {"backend", "frontend"}
    # Built from source: the tag is 16 hex digits of the folder's digest (infra/app_images.py).
    assert all(len(build) == 16 and int(build, 16) >= 0 for build in dev_run.exports["builds"].values())


def test_exports_behind_a_load_balancer_are_its_url_and_address(production_run):
    assert production_run.exports["frontendUrl"] == "http://203.0.113.10:8080/"
    assert production_run.exports["frontendAddress"] == "203.0.113.10"
    assert "frontendNodePort" not in production_run.exports
    # Through the API server, whatever the load balancer's state.
    assert production_run.exports["openCommand"] == (
        "kubectl port-forward --namespace shop-prod service/python-shop-frontend-service 8080:8080")


def test_a_load_balancer_without_an_address_is_said_to_be_pending_and_how_to_see_it():
    run = run_program(PRODUCTION_LIKE_CONFIG, stack="production-like", mocks=TwoAddressLoadBalancer([]))
    assert run.exports.get("frontendUrl") is None
    assert run.exports["frontendAddress"] == (
        "pending: the cluster has not given the load balancer an address yet (without a load-balancer controller "
        "it never will); `kubectl get service python-shop-frontend-service --namespace shop-prod --watch` shows it "
        "when it does, and `pulumi up --refresh` then exports frontendUrl; meanwhile openCommand works")


@pytest.mark.parametrize(("context", "service_type"), [("kwok-python-shop-real", "NodePort"), ("minikube", "ClusterIP")])
def test_exports_elsewhere_open_the_shop_through_a_port_forward(context, service_type):
    run = run_program({**DEV_CONFIG, "kubernetes:context": context, "python-shop:frontendServiceType": service_type})
    assert run.exports["openCommand"] == (
        "kubectl port-forward --namespace python-shop service/python-shop-frontend-service 8080:8080")
    assert ("frontendNodePort" in run.exports) == (service_type == "NodePort")


def test_the_version_label_is_the_images_tag_on_the_deployment_and_its_pods_only(production_run, dev_run):
    backend = production_run.one(DEPLOYMENT, "python-shop-backend").inputs
    # registry.example.com:5000/...:1.4.2 — the registry's port is no tag.
    assert backend["metadata"]["labels"]["app.kubernetes.io/version"] == "1.4.2"
    assert backend["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"] == "1.4.2"
    frontend = production_run.one(DEPLOYMENT, "python-shop-frontend").inputs  # by digest: no tag to show
    assert "app.kubernetes.io/version" not in frontend["metadata"]["labels"]
    service = production_run.one(SERVICE, "python-shop-backend-service").inputs
    assert "app.kubernetes.io/version" not in service["metadata"]["labels"]
    dev_backend = dev_run.one(DEPLOYMENT, "python-shop-backend").inputs
    assert re.fullmatch(r"[0-9a-f]{16}", dev_backend["metadata"]["labels"]["app.kubernetes.io/version"])


def test_probe_timings_and_failure_budgets(stack_run):
    for name in ("python-shop-backend", "python-shop-frontend"):
        (container,) = pod_spec(stack_run, name)["containers"]
        health = {"path": "/healthz", "port": "http"}
        # 30 s to boot (1 s x 30) before liveness may restart a slow first start.
        assert container["startupProbe"] == {"httpGet": health, "timeoutSeconds": 2, "periodSeconds": 1, "failureThreshold": 30}
        # Out of the Service after 2 misses 5 s apart: ~10 s of a stuck pod still getting traffic, at most.
        assert container["readinessProbe"] == {"httpGet": health, "timeoutSeconds": 2, "periodSeconds": 5, "failureThreshold": 2}
        # Restarted after 3 misses 10 s apart: a busy pod is not killed for one slow answer.
        assert container["livenessProbe"] == {"httpGet": health, "timeoutSeconds": 2, "periodSeconds": 10, "failureThreshold": 3}


def test_requests_and_limits(stack_run):
    for name in ("python-shop-backend", "python-shop-frontend"):
        (container,) = pod_spec(stack_run, name)["containers"]
        # The figures docs/configuration.md promises: what the scheduler reserves, and where the
        # kernel throttles (CPU) or the OOM killer stops a leaking app (memory).
        assert container["resources"] == {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"},
        }


def test_tmp_is_a_small_scratch_volume(stack_run):
    for name in ("python-shop-backend", "python-shop-frontend"):
        tmp = next(v for v in pod_spec(stack_run, name)["volumes"] if v["name"] == "tmp")
        # The root filesystem is read-only; /tmp may hold 64Mi before the pod is evicted, not the node's disk.
        assert tmp == {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}


def test_service_selector_is_exactly_the_stable_app_label(stack_run):
    for name in ("python-shop-backend", "python-shop-frontend"):
        # Only the label no rollout changes: a version or instance label here would leave the
        # Service without endpoints while old and new pods differ, or after a stack rename.
        assert stack_run.one(SERVICE, f"{name}-service").inputs["spec"]["selector"] == {"app": name}


def test_the_instance_label_names_the_stack(stack_run):
    stack = "dev" if stack_run.config is DEV_CONFIG else "production-like"  # conftest's stack names
    for name in ("python-shop-backend", "python-shop-frontend"):
        for obj in (stack_run.one(DEPLOYMENT, name).inputs, stack_run.one(SERVICE, f"{name}-service").inputs):
            # Two stacks of the shop in one cluster tell their objects apart by it.
            assert obj["metadata"]["labels"]["app.kubernetes.io/instance"] == f"{name}-{stack}"


@pytest.mark.parametrize(
    ("config", "identifier"),
    [
        ({"kubernetes:context": "minikube"}, "minikube"),
        ({"kubernetes:context": "prod-cluster"}, "prod-cluster"),
        ({"python-shop:renderDir": "rendered"}, "rendered"),
        ({}, "current-context"),
    ],
    ids=["minikube", "another-context", "render", "no-context"],
)
def test_only_another_cluster_changes_the_providers_identity(config, identifier):
    # The provider's clusterIdentifier decides replacement: a new one replaces every object;
    # minikube's new certificates after a restart must not.
    base = {k: v for k, v in DEV_CONFIG.items() if k != "kubernetes:context"}
    run = run_program({**base, **config})
    assert run.provider.inputs["clusterIdentifier"] == identifier
    # `pulumi up` undoes drift (kubectl scale/edit) rather than failing on a field-manager conflict.
    assert run.provider.inputs["enablePatchForce"] == "true"
    assert "upsertExistingObjects" not in run.provider.inputs  # adoptExisting: false


def test_adopting_the_originals_objects_upserts_them():
    run = run_program({**DEV_CONFIG, "python-shop:adoptExisting": "true"})
    assert run.provider.inputs["upsertExistingObjects"] == "true"


def test_pods_run_as_the_images_own_user_and_get_no_service_variables(stack_run):
    for name in ("python-shop-backend", "python-shop-frontend"):
        spec = pod_spec(stack_run, name)
        # The Dockerfiles' USER 10001:10001: files the image owns stay readable as that user.
        assert spec["securityContext"] == {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                                           "seccompProfile": {"type": "RuntimeDefault"}}
        (container,) = spec["containers"]
        # Said again per container: a container-level runAsNonRoot: false would override the pod's true.
        assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                                "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}}
        # The apps read no *_SERVICE_HOST variables; with links on, every Service in the namespace adds some.
        assert spec["enableServiceLinks"] is False


def test_five_old_revisions_are_kept_for_a_rollback(stack_run):
    for name in ("python-shop-backend", "python-shop-frontend"):
        # `kubectl rollout undo --to-revision` reaches back five releases; older ReplicaSets are cleaned up.
        assert stack_run.one(DEPLOYMENT, name).inputs["spec"]["revisionHistoryLimit"] == 5


@pytest.mark.parametrize(("length", "labelled"), [(63, True), (64, False)])
def test_a_tag_becomes_the_version_label_only_if_a_label_can_hold_it(length, labelled):
    # A label value holds at most 63 characters; a longer one would make the API server refuse the Deployment.
    tag = "v" * length
    run = run_program({**DEV_CONFIG, "python-shop:backendImage": f"registry.example.com/shop/backend:{tag}"})
    labels = run.one(DEPLOYMENT, "python-shop-backend").inputs["metadata"]["labels"]
    assert labels.get("app.kubernetes.io/version") == (tag if labelled else None)


class TwoAddressLoadBalancer(ProviderLikeMocks):
    """A cloud whose load balancer lists two ingress points (say, a hostname and then an IP)."""

    def __init__(self, points):
        super().__init__()
        self.points = points

    def new_resource_with_options(self, args, options):
        id_, outputs = super().new_resource_with_options(args, options)
        if "status" in outputs:
            outputs["status"] = {"loadBalancer": {"ingress": self.points}}
        return id_, outputs


@pytest.mark.parametrize(
    ("points", "url"),
    [
        ([{"hostname": "shop.example.com", "ip": "203.0.113.10"}, {"ip": "198.51.100.7"}], "http://shop.example.com:8080/"),
        ([{"ip": "203.0.113.10"}, {"hostname": "other.example.com"}], "http://203.0.113.10:8080/"),
        ([], None),  # no address yet: no URL rather than a wrong one
    ],
    ids=["hostname-first", "ip-first", "pending"],
)
def test_the_url_is_the_load_balancers_first_address_its_hostname_before_its_ip(points, url):
    run = run_program(PRODUCTION_LIKE_CONFIG, stack="production-like", mocks=TwoAddressLoadBalancer(points))
    assert run.exports.get("frontendUrl") == url


def test_a_namespace_admitted_with_services_is_one_more_source_of_the_same_rule():
    from infra.web_service import ingress_rules

    assert ingress_rules(["python-shop-frontend"], None, ["ingress-nginx"]) == ("frontend-namespace-ingress-nginx", [
        {"from": [{"podSelector": {"matchLabels": {"app": "python-shop-frontend"}}},
                  {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}],
         "ports": [{"protocol": "TCP", "port": "http"}]}])


def test_a_service_reachable_from_nobody_has_no_rule_for_its_port():
    # An empty `from` would admit everyone: no rule at all admits no one (the namespace denies by default).
    from infra.web_service import ingress_rules

    assert ingress_rules((), None) == ("nobody", [])
    assert ingress_rules((), "monitoring") == ("nobody", [{
        "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
        "ports": [{"protocol": "TCP", "port": "metrics"}]}])
    assert ingress_rules(["python-shop-frontend"], None) == ("frontend", [{
        "from": [{"podSelector": {"matchLabels": {"app": "python-shop-frontend"}}}],
        "ports": [{"protocol": "TCP", "port": "http"}]}])
