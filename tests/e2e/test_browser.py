"""The shop as a user sees it in Chromium, against the real processes."""

import shutil

import pytest

from tools.procfile import ROOT

pytestmark = pytest.mark.browser

EXPECTED_ROWS = [
    ["Apple", "0.50", "33"],
    ["Banana", "0.75", "41"],
    ["Orange", "0.70", "41"],
    ["Potato", "0.25", "83"],
    ["Onion", "0.60", "12"],
]


def visible_rows(page):
    return [
        [cell.strip() for cell in row.locator("td").all_inner_texts()]
        for row in page.locator("#inventory tbody tr").all()
    ]


def test_the_user_sees_the_five_items(shop, page, artifacts_dir):
    console_errors: list[str] = []

    def on_console(msg):
        if msg.type == "error":
            console_errors.append(msg.text)

    page.on("console", on_console)
    response = page.goto(shop.frontend.url)
    assert response.status == 200
    assert page.title() == "Python Shop"
    assert page.locator("h1").inner_text() == "Python Shop"
    assert page.locator("#inventory thead th").all_inner_texts() == ["Name", "Price", "Count"]
    assert visible_rows(page) == EXPECTED_ROWS
    # The stylesheet loaded under the page's Content-Security-Policy.
    assert page.locator("th").first.evaluate("th => getComputedStyle(th).color") == "rgb(255, 255, 255)"
    assert console_errors == []  # no CSP violations, no failed loads
    screenshot = artifacts_dir / "shop.png"
    page.screenshot(path=str(screenshot), full_page=True)
    # The README shows this screenshot: keep it current.
    shutil.copyfile(screenshot, ROOT / "artifacts" / "shop-page.png")


def test_the_user_sees_the_error_page_when_the_backend_is_down(shop, page, artifacts_dir):
    shop.backend.stop()
    response = page.goto(shop.frontend.url)
    assert response.status == 503
    assert page.locator(".error h2").inner_text() == "The inventory service is unavailable"
    assert "connection refused" in page.locator(".error .detail").inner_text()
    assert page.locator("#inventory").count() == 0
    page.screenshot(path=str(artifacts_dir / "backend-down.png"), full_page=True)


def test_a_hostile_item_name_is_shown_as_text(shop, page, tmp_path):
    from tests.support.stub_backend import Answer, StubBackend

    with StubBackend() as stub:
        hostile = "<img src=x onerror=alert(1)><script>alert(2)</script>"
        stub.answer = Answer.json([{"id": 1, "name": hostile, "price": 1, "count": 1}])
        shop.point_at(stub.uri)
        dialogs: list[str] = []

        def on_dialog(dialog):
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.goto(shop.frontend.url)
        assert visible_rows(page) == [["<img src=x onerror=alert(1)><script>alert(2)</script>", "1.00", "1"]]
        assert page.locator("#inventory img, #inventory script").count() == 0
        assert dialogs == []
