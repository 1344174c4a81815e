"""The backend's contract: the original five items, as plain JSON."""

EXPECTED = [
    {"id": 1, "name": "Apple", "price": 0.50, "count": 33},
    {"id": 2, "name": "Banana", "price": 0.75, "count": 41},
    {"id": 3, "name": "Orange", "price": 0.70, "count": 41},
    {"id": 4, "name": "Potato", "price": 0.25, "count": 83},
    {"id": 5, "name": "Onion", "price": 0.60, "count": 12},
]


def test_root_serves_the_five_items_as_json(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == EXPECTED


def test_ids_are_plain_integers_not_one_element_lists(client):
    # The original's stray comma made each id [1]; the contract says int.
    for item in client.get("/").get_json():
        assert type(item["id"]) is int


def test_fields_keep_their_documented_order(client):
    assert list(client.get("/").get_json()[0]) == ["id", "name", "price", "count"]


def test_healthz_is_cheap_and_plain(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.data == b"ok\n"
    assert response.headers["Cache-Control"] == "no-store"


def test_unknown_path_is_a_404(client):
    assert client.get("/nope").status_code == 404


def test_every_answer_forbids_content_sniffing(client):
    # JSON a browser must never run as a page or script, even on a 404.
    for path in ("/", "/healthz", "/nope"):
        assert client.get(path).headers["X-Content-Type-Options"] == "nosniff", path
