"""sandbox/wheels.py: the wheel cache is used only for the requirement set it was filled with."""

from __future__ import annotations

from sandbox import wheels


def test_the_cache_serves_the_set_it_holds_and_nothing_after_a_pin_changes(tmp_path, monkeypatch):
    repo, cache = tmp_path / "repo", tmp_path / "cache"
    (repo / "infra").mkdir(parents=True)
    (repo / "requirements-dev.txt").write_text("-r infra/requirements.txt\npytest==9.2.0\n")
    (repo / "infra" / "requirements.txt").write_text("pulumi==3.200.0\n")
    monkeypatch.setattr(wheels, "ROOT", repo)
    monkeypatch.setattr(wheels, "REQUIREMENTS", repo / "requirements-dev.txt")
    monkeypatch.setenv("PYTHON_SHOP_CACHE", str(cache))
    assert wheels.pip_env() == {}  # never filled: pip asks the index as always

    (cache / "wheels").mkdir(parents=True)
    wheels.marker(cache / "wheels").touch()  # what a successful fill leaves
    assert wheels.pip_env() == {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(cache / "wheels")}

    (repo / "infra" / "requirements.txt").write_text("pulumi==3.201.0\n")  # a new pin the cache may lack
    assert wheels.pip_env() == {}
