"""BACKEND_URI is built from the backend Service's outputs and follows every change to them."""

import pytest

from tests.support.kinds import CONFIG_MAP, DEPLOYMENT, NAMESPACE, SERVICE
from tests.support.pulumi_mocks import DEV_CONFIG, ProviderLikeMocks, run_program


def config_cfg(run) -> str:
    return run.one(CONFIG_MAP, "python-shop-frontend-config").inputs["data"]["config.cfg"]


@pytest.mark.parametrize(
    ("changes", "uri"),
    [
        ({}, "http://python-shop-backend-service.python-shop.svc:8080"),
        ({"python-shop:namespace": "shop-staging"}, "http://python-shop-backend-service.shop-staging.svc:8080"),
        ({"python-shop:backendPort": "9000"}, "http://python-shop-backend-service.python-shop.svc:9000"),
        (
            {"python-shop:namespace": "team-a", "python-shop:backendPort": "80"},
            "http://python-shop-backend-service.team-a.svc:80",
        ),
    ],
)
def test_uri_follows_namespace_and_port(changes, uri):
    run = run_program({**DEV_CONFIG, **changes})
    assert config_cfg(run) == f'BACKEND_URI = "{uri}"\n'
    assert run.exports["backendUri"] == uri


def test_uri_is_read_from_the_services_outputs_not_repeated_from_inputs():
    # Make the "API server" answer with a different name than requested: a URI
    # written from the program's own literals would not notice.
    run = run_program(DEV_CONFIG, mocks=ProviderLikeMocks(service_name_suffix="-x7k2"))
    assert config_cfg(run) == 'BACKEND_URI = "http://python-shop-backend-service-x7k2.python-shop.svc:8080"\n'


def test_backend_port_changes_only_the_service_port_not_the_container():
    run = run_program({**DEV_CONFIG, "python-shop:backendPort": "9000"})
    service = run.one(SERVICE, "python-shop-backend-service").inputs
    assert service["spec"]["ports"] == [{"name": "http", "port": 9000, "targetPort": "http", "protocol": "TCP"}]
    backend = run.one(DEPLOYMENT, "python-shop-backend")
    (container,) = backend.inputs["spec"]["template"]["spec"]["containers"]
    assert container["ports"][0]["containerPort"] == 8080


def test_render_mode_points_the_provider_at_a_directory(tmp_path):
    run = run_program({**DEV_CONFIG, "python-shop:renderDir": str(tmp_path)})
    assert run.provider.inputs["renderYamlToDirectory"] == str(tmp_path)
    assert len(run.kubernetes_objects()) == len(run_program(DEV_CONFIG).kubernetes_objects())


def test_an_existing_namespace_is_used_not_created():
    run = run_program({**DEV_CONFIG, "python-shop:namespace": "default", "python-shop:createNamespace": "false"})
    assert run.all(NAMESPACE) == []
    assert {o.inputs["metadata"]["namespace"] for o in run.kubernetes_objects()} == {"default"}
    assert config_cfg(run) == 'BACKEND_URI = "http://python-shop-backend-service.default.svc:8080"\n'


def test_adopting_existing_objects_turns_on_upsert():
    run = run_program({**DEV_CONFIG, "python-shop:adoptExisting": "true"})
    assert run.provider.inputs["upsertExistingObjects"] == "true"
    assert run.provider.inputs["enablePatchForce"] == "true"
    plain = run_program(DEV_CONFIG)
    assert "upsertExistingObjects" not in plain.provider.inputs
    assert plain.provider.inputs["enablePatchForce"] == "true"  # drift is undone, not an SSA conflict
