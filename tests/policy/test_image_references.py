"""One rule for image references, written twice on purpose: the stack settings check what a user
types (infra/stack_settings.py), the pack checks every container it is shown (policy/rules.py),
and the pack stands alone (its own venv, publishable apart from the program). This table keeps
the two agreeing: a reference one accepts, the other does too; and the prod stack's rule
(images-by-digest) accepts exactly those of them that name a digest."""

import pytest

from infra.stack_settings import SettingsError, parse_settings

REFERENCES = [
    # (reference, accepted)
    ("registry.example.com/shop/python-shop-backend:1.4.2", True),
    ("registry.example.com:5000/shop/python-shop-backend:1.4.2", True),
    ("python-shop-backend@sha256:" + "ab" * 32, True),
    ("registry.example.com:5000/shop/python-shop-backend:1.4.2@sha256:" + "cd" * 32, True),
    ("python-shop-backend:latest", False),
    ("python-shop-backend", False),
    ("registry.example.com:5000/shop/python-shop-backend", False),  # the port is no tag
]


def settings_accept(reference: str) -> bool:
    try:
        parse_settings({"backendImage": reference})
    except SettingsError:
        return False
    return True


@pytest.mark.parametrize(("reference", "accepted"), REFERENCES)
def test_the_settings_and_the_pack_agree_on_image_references(pack_rules, reference, accepted):
    assert settings_accept(reference) is accepted
    assert (pack_rules.image_tag_problem(reference) is None) is accepted
    assert (pack_rules.image_digest_problem(reference) is None) is (accepted and "@sha256:" in reference)
