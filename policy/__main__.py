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


def resource_policy(name: str, description: str, rule, config_schema=None,
                    enforcement_level=None) -> ResourceValidationPolicy:
    def validate(args, report_violation):
        extra = [args.get_config().get("target", "minikube")] if config_schema else []
        for message in rule(args.resource_type, args.props, *extra):
            report_violation(message)

    return ResourceValidationPolicy(name=name, description=description, validate=validate, config_schema=config_schema,
                                    enforcement_level=enforcement_level)


def stack_policy(name: str, description: str, rule, enforcement_level=None) -> StackValidationPolicy:
    def validate(args, report_violation):
        for message in rule([(r.resource_type, r.props) for r in args.resources]):
            report_violation(message)

    return StackValidationPolicy(name=name, description=description, validate=validate,
                                 enforcement_level=enforcement_level)


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
    stack_policy(
        "deployments-covered-by-network-policy",
        "Every Deployment is selected by an ingress NetworkPolicy in its namespace.",
        rules.deployments_covered_by_network_policies,
    ),
    # Advisory unless the pack's config says otherwise (policy/prod.json makes both mandatory): a cluster of one
    # node, as minikube is, has no drain to survive and no zone to spread over.
    # Advisory unless the pack's config says otherwise (policy/prod.json makes it mandatory): the images `make up`
    # builds into the node are tagged by a digest of their source, which no registry's manifest digest can be.
    resource_policy(
        "images-by-digest",
        "Images are named by their digest (@sha256:...), so what runs cannot change under the same name.",
        rules.images_by_digest,
        enforcement_level=EnforcementLevel.ADVISORY,
    ),
    stack_policy(
        "replicas-have-a-disruption-budget",
        "A Deployment or StatefulSet of 2 replicas or more is selected by a PodDisruptionBudget in its namespace.",
        rules.replicas_have_a_disruption_budget,
        enforcement_level=EnforcementLevel.ADVISORY,
    ),
    resource_policy(
        "replicas-spread-over-nodes-and-zones",
        "A Deployment or StatefulSet of 2 replicas or more spreads its pods over nodes and zones "
        "(topologySpreadConstraints on kubernetes.io/hostname and topology.kubernetes.io/zone selecting them).",
        rules.replicas_spread_over_nodes_and_zones,
        enforcement_level=EnforcementLevel.ADVISORY,
    ),
]

if __name__ == "__main__":
    PolicyPack(name="python-shop-guardrails", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
