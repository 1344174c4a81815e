"""Image tags named after the source: an edit that changes an image changes its tag, nothing else does."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from infra import app_images
from tests.support.pulumi_mocks import ROOT


@pytest.fixture
def tree(tmp_path):
    """A copy of both app folders, as a clone has them (no caches)."""
    for app in ("backend", "frontend"):
        shutil.copytree(ROOT / app, tmp_path / app, ignore=shutil.ignore_patterns("__pycache__", ".mypy_cache"))
    return tmp_path


def tags(root):
    return {app: app_images.reference(app, root) for app in ("backend", "frontend")}


def test_a_reference_is_the_repository_and_sixteen_hex_digits(tree):
    assert tags(tree)["backend"].startswith("python-shop-backend:")
    assert tags(tree)["frontend"].startswith("python-shop-frontend:")
    for reference in tags(tree).values():
        assert len(reference.split(":")[1]) == 16
        int(reference.split(":")[1], 16)


def test_the_same_source_gives_the_same_tag_wherever_it_lies(tree, tmp_path_factory):
    other = tmp_path_factory.mktemp("elsewhere")
    for app in ("backend", "frontend"):
        shutil.copytree(tree / app, other / app)  # new inode numbers and times, same bytes
    assert tags(other) == tags(tree)


def test_a_template_edit_changes_the_frontends_tag_only(tree):
    before = tags(tree)
    page = tree / "frontend/shop_frontend/templates/base.html"
    page.write_text(page.read_text().replace("</title>", " (edited)</title>"))
    after = tags(tree)
    assert after["frontend"] != before["frontend"]
    assert after["backend"] == before["backend"]


@pytest.mark.parametrize("change", ["Dockerfile", "requirements.txt", "Procfile", "new module", "removed file",
                                    "executable bit"])
def test_whatever_the_build_reads_changes_the_tag(tree, change):
    backend = tree / "backend"
    before = tags(tree)["backend"]
    if change == "new module":
        (backend / "shop_backend/extra.py").write_text("X = 1\n")
    elif change == "removed file":
        (backend / "shop_backend/health.py").unlink()
    elif change == "executable bit":
        (backend / "Procfile").chmod(0o744)  # the owner's alone: what git records
    else:
        with open(backend / change, "a") as out:
            out.write("\n# edited\n")
    assert tags(tree)["backend"] != before


@pytest.mark.parametrize("leftover", ["shop_backend/__pycache__/inventory.cpython-311.pyc", "shop_backend/stale.pyc",
                                      ".mypy_cache/3.11/cache.json", ".pytest_cache/v/lastfailed",
                                      ".venv/bin/python", "__pycache__/x.pyc"])
def test_what_dockerignore_leaves_out_changes_nothing(tree, leftover):
    before = tags(tree)["backend"]
    path = tree / "backend" / leftover
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("cache")
    assert tags(tree)["backend"] == before


def test_dockerignore_rules_as_docker_reads_them(tmp_path):
    context = tmp_path / "app"
    for name in ("Dockerfile", "keep.py", "deep/a/b/c.log", "top.log", "docs/guide.md", "docs/keep.md", "venv/x",
                 "temp1.txt", "temp12.txt", "#notes", "#old", "deep/x.bak", "xbak", "changelog"):
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        (context / name).write_text(name)
    (context / ".dockerignore").write_text(
        "#notes\n\n*.log\n**/*.log\ndocs\n!docs/keep.md\n/venv/\nDockerfile\n.dockerignore\ntemp?.txt\n #old\n**.bak\n"
    )
    # The Dockerfile is left out of the context but still defines the image: it counts. Docker's
    # rules (its .dockerignore reference): `#` in column 1 is a comment, so "#notes" is sent, while
    # " #old" is a pattern once trimmed; `?` is exactly one character; `**` any number of folders; `*.log`
    # needs the dot ("changelog" is sent).
    assert sorted(app_images.build_inputs(context)) == ["#notes", "Dockerfile", "changelog", "docs/keep.md",
                                                        "keep.py", "temp12.txt", "xbak"]


@pytest.mark.parametrize("mode", [0o700, 0o755, 0o775, 0o745])
def test_modes_that_differ_by_umask_alone_give_one_tag(tree, mode):
    # A clone makes an executable 0o755 under umask 022, 0o700 under 077: git records one bit.
    procfile = tree / "backend" / "Procfile"
    procfile.chmod(0o744)
    before = tags(tree)["backend"]
    procfile.chmod(mode)
    assert tags(tree)["backend"] == before


@pytest.mark.parametrize("argv", [[], ["database"], ["backend", "frontend"]])
def test_the_command_line_names_its_usage_for_anything_but_one_app(argv):
    run = subprocess.run([sys.executable, str(ROOT / "infra" / "app_images.py"), *argv], capture_output=True,
                         text=True)
    assert (run.returncode, run.stdout, run.stderr) == (1, "", "usage: python3 infra/app_images.py backend|frontend\n")


def test_a_folder_without_a_dockerfile_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="Dockerfile: not an app folder"):
        app_images.digest(tmp_path)


def test_a_known_folder_has_a_known_tag(tmp_path):
    # A changed formula re-tags every image, so every pod rolls on the next `make up` for no edit:
    # the tag of a fixed folder is pinned. Worked out by hand: sha256 over, per file in path order,
    # "<path>\0<executable bits, octal>\0<size>\0" then its bytes; the first 16 hex digits.
    context = tmp_path / "app"
    (context / "pkg").mkdir(parents=True)
    (context / "Dockerfile").write_text("FROM scratch\nCOPY . /app\n")
    (context / "pkg/prices.py").write_text("PRICE = 0.75\n")
    for path in (context / "Dockerfile", context / "pkg/prices.py"):
        path.chmod(0o644)
    assert app_images.digest(context) == "e52d9a923294eb4e"


@pytest.mark.parametrize(
    ("path", "old", "new"),
    [
        ("backend/shop_backend/inventory.py", '"price": 0.75', '"price": 0.57'),  # a price, digits swapped
        ("frontend/shop_frontend/templates/base.html", "<h1>Python Shop", "<h1>Python Shoq"),  # one letter
    ],
    ids=["price-0.75-to-0.57", "one-letter"],
)
def test_an_edit_of_the_same_length_changes_the_tag(tree, path, old, new):
    # Same size, same mode, same names: only the bytes tell the two images apart.
    app = path.split("/")[0]
    file = tree / path
    text = file.read_text()
    assert old in text and len(old) == len(new)
    before = tags(tree)
    file.write_text(text.replace(old, new, 1))
    assert file.stat().st_size == len(text.encode())
    after = tags(tree)
    assert after[app] != before[app]
    assert {a: t for a, t in after.items() if a != app} == {a: t for a, t in before.items() if a != app}
