"""A stack deployed by an earlier version of the program previews with no replace and no delete.

The program of commit e5af0c5 (the last release before the logical names moved: the Namespace
named after the `namespace` setting, the NetworkPolicies beside the web services rather than
inside them) is taken from git history and deployed by the real engine, rendering manifests
(no cluster needed); then today's program is previewed on the same stack. Renamed or re-parented
resources must be matched by their aliases: updates are fine, a replace or a delete would mean
deleting what users run.
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


def old_program(target):
    """infra/, Pulumi.yaml and requirements.txt as they were at BEFORE, with this checkout's .venv."""
    archive = subprocess.run(["git", "archive", BEFORE, "infra", "Pulumi.yaml", "requirements.txt"], cwd=ROOT,
                             capture_output=True)
    if archive.returncode != 0:
        pytest.fail(f"commit {BEFORE} is not in this clone's history (a shallow clone?): {archive.stderr.decode()}")
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    (target / ".venv").symlink_to(ROOT / ".venv")
    return target


@pytest.mark.parametrize("namespace", ["python-shop", "shop-staging"])
def test_a_stack_of_the_earlier_program_previews_without_replace_or_delete(tmp_path, namespace):
    stack = Stack(tmp_path, f"upgrade-{namespace}", renderDir=str(tmp_path / "rendered"), namespace=namespace)
    before = old_program(tmp_path / "before")
    stack.cli("up", "--yes", "--skip-preview", cwd=before)

    changes = {step["urn"].rsplit("::", 1)[-1]: step["op"] for step in stack.steps() if step["op"] != "same"}
    # The images (0.1.0 then, named after the source now), the Services' skip-await annotation and
    # the apps' NetworkPolicies (a second rule since, the scraper's namespace to the metrics port)
    # change in place; the Namespace, the default-deny policy, the ConfigMap and the rest are the same
    # resources (their aliases match the old URNs): nothing to create, replace or delete.
    assert changes == {
        "python-shop-backend": "update",
        "python-shop-frontend": "update",
        "python-shop-backend-service": "update",
        "python-shop-frontend-service": "update",
        "python-shop-backend-from-frontend": "update",
        "python-shop-frontend-from-anywhere": "update",
    }
