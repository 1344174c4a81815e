"""The program imports its own modules however it is started, as the language host starts it."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.pulumi_mocks import ROOT


def test_the_program_imports_its_own_infra_package_before_any_other(tmp_path):
    # The language host runs infra/__main__.py with infra/ first on sys.path and the repository's
    # root nowhere; a PYTHONPATH of the user's may hold another package named `infra`.
    decoy = tmp_path / "elsewhere" / "infra"
    decoy.mkdir(parents=True)
    (decoy / "__init__.py").write_text("raise ImportError('another infra package was imported')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    run = subprocess.run([sys.executable, str(ROOT / "infra" / "__main__.py")], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120, env={**env, "PYTHONPATH": str(tmp_path / "elsewhere")})
    # Without an engine the program stops at its first export, after every import went through.
    assert "another infra package" not in run.stderr and "No module named" not in run.stderr, run.stderr[-2000:]
    assert run.stderr.rstrip().endswith("Failed to export output. Root resource is not an instance of 'Stack'"), \
        run.stderr[-2000:]
