"""The resource options the engine sees (URNs, parents, aliases, providers): what keeps an object
the same object across `pulumi up`s. A lost alias or parent replaces it, which no input shows."""

import pytest

from tests.support.kinds import BUDGET, CONFIG_MAP, DEPLOYMENT, NAMESPACE, NETWORK_POLICY, SERVICE, SERVICE_ACCOUNT
from tests.support.pulumi_mocks import DEV_CONFIG, PRODUCTION_LIKE_CONFIG, PROVIDER_TYPE, run_program


def test_a_namespace_named_otherwise_keeps_the_urn_earlier_stacks_gave_it():
    run = run_program(PRODUCTION_LIKE_CONFIG, stack="production-like")  # namespace: shop-prod
    (namespace,) = run.all(NAMESPACE)
    # One URN whatever `namespace` says, so renaming it is an update...
    assert namespace.urn == "urn:pulumi:production-like::python-shop::kubernetes:core/v1:Namespace::python-shop"
    assert namespace.inputs["metadata"]["name"] == "shop-prod"
    # ...and stacks deployed before, which named the resource after the setting, find it by this alias.
    assert {"spec": {"name": "shop-prod", "parentUrn": ""}} in namespace.aliases


def test_the_default_namespace_needs_no_alias():
    (namespace,) = run_program(DEV_CONFIG).all(NAMESPACE)
    assert [a for a in namespace.aliases if "name" in a.get("spec", {})] == []


@pytest.mark.parametrize(("config", "stack", "budgets"), [(DEV_CONFIG, "dev", False),
                                                          (PRODUCTION_LIKE_CONFIG, "production-like", True)],
                         ids=["dev", "production-like"])
def test_each_apps_objects_are_children_of_its_web_service(config, stack, budgets):
    run = run_program(config, stack=stack)
    for app in ("backend", "frontend"):
        component = f"urn:pulumi:{stack}::python-shop::python-shop:index:WebService::python-shop-{app}"
        assert run.by_urn(component).parent == f"urn:pulumi:{stack}::python-shop::pulumi:pulumi:Stack::python-shop-{stack}"
        children = sorted((r.type, r.name) for r in run.registered if r.parent == component)
        # The dev stack's one replica each gets no disruption budget; production-like's 3 and 4 do.
        assert children == sorted([
            (DEPLOYMENT, f"python-shop-{app}"),
            (SERVICE, f"python-shop-{app}-service"),
            (SERVICE_ACCOUNT, f"python-shop-{app}"),
            (NETWORK_POLICY, "python-shop-backend-from-frontend" if app == "backend" else "python-shop-frontend-from-anywhere"),
            *([(BUDGET, f"python-shop-{app}")] if budgets else []),
        ])
    config_map = run.one(CONFIG_MAP, "python-shop-frontend-config")
    assert config_map.parent == f"urn:pulumi:{stack}::python-shop::python-shop:index:FrontendConfig::python-shop-frontend-config"


def test_network_policies_moved_into_their_web_service_keep_their_urns():
    run = run_program(DEV_CONFIG)
    for name in ("python-shop-backend-from-frontend", "python-shop-frontend-from-anywhere"):
        # Earlier stacks declared them at the top level: an alias with no parent finds them there.
        assert {"spec": {"noParent": True}} in run.one(NETWORK_POLICY, name).aliases, name
    deny = run.one(NETWORK_POLICY, "python-shop-default-deny-ingress")
    assert deny.parent.endswith("::pulumi:pulumi:Stack::python-shop-dev")
    assert {"spec": {"noParent": True}} not in deny.aliases


def test_every_object_is_handed_the_one_explicit_provider():
    run = run_program(DEV_CONFIG)
    provider_ref = f"urn:pulumi:dev::python-shop::{PROVIDER_TYPE}::python-shop::python-shop_id"
    for obj in run.kubernetes_objects():
        # Default providers are disabled: an object without this ref would fail to register.
        assert obj.provider == provider_ref, obj.name
