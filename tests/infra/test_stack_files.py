"""Every committed stack file is a stack the program accepts, aimed at the cluster it names."""

from __future__ import annotations

import pytest

from tests.support.pulumi_mocks import ROOT, run_program, stack_config

# The contexts each stack file must name: minikube's own, a production cluster's, and the
# sandbox's two clusters as sandbox/cluster names them (kwok-<cluster>, the cluster named
# after its node like the stack).
CONTEXTS = {
    "dev": "minikube",
    "prod": "production",
    "simulated-node": "kwok-python-shop-simulated",
    "real-node": "kwok-python-shop-real",
}


def test_the_committed_stack_files_are_the_four_known_ones():
    assert sorted(p.name for p in ROOT.glob("Pulumi.*.yaml")) == [
        "Pulumi.dev.yaml", "Pulumi.prod.yaml", "Pulumi.real-node.yaml", "Pulumi.simulated-node.yaml",
    ]


@pytest.mark.parametrize("stack", sorted(CONTEXTS))
def test_each_stack_file_runs_the_program_against_its_cluster(stack):
    run = run_program(stack_config(ROOT / f"Pulumi.{stack}.yaml"), stack=stack)
    assert run.provider.inputs["context"] == CONTEXTS[stack]
    assert run.exports["namespace"] == "python-shop"
    deployments = {r.inputs["metadata"]["name"] for r in run.all("kubernetes:apps/v1:Deployment")}
    assert deployments == {"python-shop-backend", "python-shop-frontend"}
