"""python-shop-guardrails: the Pulumi policy pack run by `pulumi preview --policy-pack policy/`.

Mandatory: a violation fails the preview (and `pulumi up`) before anything
reaches the cluster. The rules live in rules.py.
"""

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPack,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

import rules

TARGET_SCHEMA = PolicyConfigSchema(
    properties={"target": {"type": "string", "enum": ["minikube", "cluster"], "default": "minikube"}}
)


def resource_policy(name: str, description: str, rule, config_schema=None) -> ResourceValidationPolicy:
    def validate(args, report_violation):
        extra = [args.get_config().get("target", "minikube")] if config_schema else []
        for message in rule(args.resource_type, args.props, *extra):
            report_violation(message)

    return ResourceValidationPolicy(name=name, description=description, validate=validate, config_schema=config_schema)


def covered_by_network_policies(args, report_violation):
    for message in rules.deployments_covered_by_network_policies([(r.resource_type, r.props) for r in args.resources]):
        report_violation(message)


POLICIES = [
    resource_policy(
        "containers-non-root-unprivileged",
        "Containers run as non-root, with no privilege escalation and all capabilities dropped.",
        rules.non_root_without_privileges,
    ),
    resource_policy(
        "containers-limits-and-probes",
        "Every container has CPU and memory limits and readiness and liveness probes.",
        rules.limits_and_probes,
    ),
    resource_policy(
        "images-explicit-tag",
        "Images carry an explicit tag other than latest (or a digest).",
        rules.explicit_image_tags,
    ),
    resource_policy(
        "no-load-balancer-on-minikube",
        "No LoadBalancer Service when the target is minikube (config: target).",
        rules.no_load_balancer_on_minikube,
        config_schema=TARGET_SCHEMA,
    ),
    resource_policy(
        "metrics-not-on-services",
        "No Service carries the apps' metrics port (named metrics, or 9464): it is scraped on the pods.",
        rules.metrics_not_on_services,
    ),
    resource_policy(
        "metrics-only-from-a-namespace",
        "A NetworkPolicy rule that admits the metrics port names the scraper's namespace: no ipBlock, no "
        "podSelector alone, no empty namespaceSelector, no rule open to anywhere.",
        rules.metrics_only_from_a_namespace,
    ),
    StackValidationPolicy(
        name="deployments-covered-by-network-policy",
        description="Every Deployment is selected by an ingress NetworkPolicy in its namespace.",
        validate=covered_by_network_policies,
    ),
]

if __name__ == "__main__":
    PolicyPack(name="python-shop-guardrails", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
