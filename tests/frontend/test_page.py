"""The shop page as users see it, rendered from whatever the backend serves."""

import re

import pytest

from shop_backend.inventory import ITEMS
from tests.support.stub_backend import Answer


def rows(html: str) -> list[list[str]]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_page_lists_the_backend_items(client, answer):
    answer(Answer.json(list(ITEMS)))
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<title>Python Shop</title>" in html
    assert re.search(r"<th[^>]*>Name</th><th[^>]*>Price</th><th[^>]*>Count</th>", html)
    assert rows(html) == [
        ["Apple", "0.50", "33"],
        ["Banana", "0.75", "41"],
        ["Orange", "0.70", "41"],
        ["Potato", "0.25", "83"],
        ["Onion", "0.60", "12"],
    ]


def test_item_fields_are_html_escaped(client, answer):
    answer(Answer.json([{"id": 1, "name": "<script>alert('x')</script>", "price": 1, "count": 2}]))
    html = client.get("/").get_data(as_text=True)
    assert "<script>" not in html
    assert rows(html) == [["&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;", "1.00", "2"]]


def test_an_empty_inventory_says_so(client, answer):
    answer(Answer.json([]))
    response = client.get("/")
    assert response.status_code == 200
    assert "The inventory is empty." in response.get_data(as_text=True)


def test_extra_item_fields_are_ignored(client, answer):
    answer(Answer.json([{"id": 9, "name": "Leek", "price": 2, "count": 1, "colour": "green"}]))
    assert rows(client.get("/").get_data(as_text=True)) == [["Leek", "2.00", "1"]]


def test_healthz_never_calls_the_backend(client, answer, stub_backend):
    answer(Answer(hang=True))  # a backend this broken must not make the frontend unready
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.data == b"ok\n"
    assert stub_backend.requests == 0


def test_the_stylesheet_is_served(client):
    response = client.get("/static/style.css")
    assert response.status_code == 200
    assert response.mimetype == "text/css"


# Written out, not read from the implementation: deleting a header there must fail here.
EXPECTED_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def test_security_headers_on_every_response(app, client, answer, write_config, monkeypatch):
    answer(Answer.json(list(ITEMS)))
    responses = {"page": client.get("/"), "health": client.get("/healthz"), "404": client.get("/missing")}
    answer(Answer(status=500))
    responses["backend error page"] = client.get("/")
    write_config("BACKEND_URI = (")
    responses["config error page"] = client.get("/")
    write_config('BACKEND_URI = "http://127.0.0.1:9"')
    monkeypatch.setattr(app.extensions["backend_client"], "fetch_items", lambda uri: 1 / 0)
    responses["unexpected error page"] = client.get("/")
    for what, response in responses.items():
        for name, value in EXPECTED_HEADERS.items():
            assert response.headers.get(name) == value, f"{name} on the {what} response"


def test_an_unexpected_error_is_the_generic_500_page_with_one_log_line(app, client, frontend_log, monkeypatch):
    def broken(uri, request_id=None):
        raise KeyError("price")

    monkeypatch.setattr(app.extensions["backend_client"], "fetch_items", broken)
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in html
    assert "The shop hit an unexpected error; it has been logged." in html
    assert "Traceback" not in html and "KeyError" not in html  # the details go to the log, not the page
    assert frontend_log() == ["unexpected KeyError on /: 'price'"]


def test_csp_allows_only_the_pages_own_resources(client):
    header = client.get("/healthz").headers["Content-Security-Policy"]
    policy = dict(part.strip().split(" ", 1) for part in header.split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "script-src" not in policy  # falls back to 'none': the page runs no scripts


@pytest.mark.parametrize(("method", "path", "status", "title", "detail"), [
    ("GET", "/missing", 404, "404 Not Found", "The requested URL was not found on the server."),
    ("POST", "/", 405, "405 Method Not Allowed", "The method is not allowed for the requested URL."),
])
def test_a_request_the_shop_has_no_page_for_gets_the_shops_error_page(client, method, path, status, title, detail):
    # The shop's own page (its title, Werkzeug's explanation, the request id), never Werkzeug's bare one.
    response = client.open(path, method=method, headers={"X-Request-ID": "lost-1"})
    html = response.get_data(as_text=True)
    assert (response.status_code, response.headers["Cache-Control"]) == (status, "no-store")
    assert f"<h2>{title}</h2>" in html and detail in html
    assert f"HTTP {status} · request lost-1" in html
