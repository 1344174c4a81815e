"""A stack deployed by an earlier version of the program previews with no replace and no delete.

The program of commit e5af0c5 (the last release before the logical names moved: the Namespace
named after the `namespace` setting, the NetworkPolicies beside the web services rather than
inside them) is taken from git history and deployed by the real engine, rendering manifests
(no cluster needed); then today's program is previewed on the same stack. Renamed or re-parented
resources must be matched by their aliases: updates are fine, a replace or a delete would mean
deleting what users run. The same for the prod stack as commit 8a2a0d5 deployed it (the last
before the disruption budgets, spread and service accounts): the new objects are created beside
what runs.
"""

from __future__ import annotations

import subprocess
import tarfile
from io import BytesIO

import pytest

from tests.support.stacks import Stack
from tools.toolset import ROOT

pytestmark = pytest.mark.engine

BEFORE = "e5af0c5"  # the program as users deployed it before this layout
# The program as users deployed it before the budgets, spread and service accounts (its pins live in infra/).
BEFORE_BUDGETS = "8a2a0d5"


def old_program(target, commit=BEFORE, files=("infra", "Pulumi.yaml", "requirements.txt")):
    """infra/, Pulumi.yaml and the pins as they were at `commit`, with this checkout's .venv."""
    archive = subprocess.run(["git", "archive", commit, *files], cwd=ROOT, capture_output=True)
    if archive.returncode != 0:
        pytest.fail(f"commit {commit} is not in this clone's history (a shallow clone?): {archive.stderr.decode()}")
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    (target / ".venv").symlink_to(ROOT / ".venv")
    return target


@pytest.mark.parametrize("namespace", ["python-shop", "shop-staging"])
def test_a_stack_of_the_earlier_program_previews_without_replace_or_delete(tmp_path, namespace):
    stack = Stack(tmp_path, f"upgrade-{namespace}", renderDir=str(tmp_path / "rendered"), namespace=namespace)
    before = old_program(tmp_path / "before")
    stack.cli("up", "--yes", "--skip-preview", cwd=before)

    # The images (0.1.0 then, named after the source now) and the pods' service account and spread, the
    # Services' skip-await annotation and the apps' NetworkPolicies (a second rule since, the scraper's
    # namespace to the metrics port) change in place; the Namespace, the default-deny policy, the ConfigMap
    # and the rest are the same resources (their aliases match the old URNs). Each app's ServiceAccount is
    # new; one replica each, so no disruption budget: nothing to replace or delete.
    assert kinds_changed(stack) == {
        ("Deployment", "python-shop-backend"): "update",
        ("Deployment", "python-shop-frontend"): "update",
        ("ServiceAccount", "python-shop-backend"): "create",
        ("ServiceAccount", "python-shop-frontend"): "create",
        ("Service", "python-shop-backend-service"): "update",
        ("Service", "python-shop-frontend-service"): "update",
        ("NetworkPolicy", "python-shop-backend-from-frontend"): "update",
        ("NetworkPolicy", "python-shop-frontend-from-anywhere"): "update",
    }


def test_a_prod_stack_of_the_program_before_budgets_gains_them_beside_what_runs(tmp_path):
    stack = Stack(tmp_path, "upgrade-prod", base="prod", renderDir=str(tmp_path / "rendered"))
    before = old_program(tmp_path / "before", BEFORE_BUDGETS, ("infra", "Pulumi.yaml"))
    stack.cli("up", "--yes", "--skip-preview", cwd=before)
    # The pod template gains its service account and spread (a rolling update, in place); the accounts
    # and the budgets (2 and 3 replicas) are created; the load balancer is no longer awaited (an annotation,
    # in place); the backend Service, the policies and the rest are the same.
    assert kinds_changed(stack) == {
        ("Deployment", "python-shop-backend"): "update",
        ("Deployment", "python-shop-frontend"): "update",
        ("Service", "python-shop-frontend-service"): "update",
        ("ServiceAccount", "python-shop-backend"): "create",
        ("ServiceAccount", "python-shop-frontend"): "create",
        ("PodDisruptionBudget", "python-shop-backend"): "create",
        ("PodDisruptionBudget", "python-shop-frontend"): "create",
    }


def kinds_changed(stack: Stack) -> dict[tuple[str, str], str]:
    """(kind, name) -> op of today's preview, `same` left out: a Deployment and its ServiceAccount share a name."""
    return {(step["urn"].split("::")[-2].rsplit(":", 1)[-1], step["urn"].rsplit("::", 1)[-1]): step["op"]
            for step in stack.steps() if step["op"] != "same"}
