"""The frontend's limits told apart: connect and read timeouts of different lengths, the defaults
with a slow backend, a retry within the first try's deadline, the size limit to the byte."""

import functools
import json
import time

import pytest

from shop_frontend import create_app
from tests.frontend.limits import MAX_RESPONSE_BYTES
from tests.support.silent_backend import FullBacklog
from tests.support.stub_backend import Answer

ITEM = {"id": 1, "name": "Apple", "price": 0.5, "count": 33}
# Apart by more than the 0.5 s a busy machine may add, so a swap of the two shows.
CONNECT, READ = 0.4, 1.5


@pytest.fixture
def apart(config_path, write_config, stub_backend):
    """A frontend whose connect and read timeouts differ (the shared fixture has both 0.5 s)."""
    write_config(f'BACKEND_URI = "{stub_backend.uri}"\n')
    return create_app({"SHOP_CONFIG_PATH": str(config_path), "BACKEND_CONNECT_TIMEOUT": CONNECT,
                       "BACKEND_READ_TIMEOUT": READ, "BACKEND_MAX_RESPONSE_BYTES": MAX_RESPONSE_BYTES}).test_client()


def timed_get(client):
    started = time.monotonic()
    response = client.get("/")
    return response, time.monotonic() - started


def test_an_unaccepted_connection_waits_the_connect_timeout_not_the_read_timeout(apart, write_config):
    with FullBacklog() as unaccepting:
        write_config(f'BACKEND_URI = "{unaccepting.uri}"')
        response, elapsed = timed_get(apart)
    assert response.status_code == 504
    assert "did not accept a connection within 0.4s" in response.get_data(as_text=True)
    assert CONNECT <= elapsed < CONNECT + 0.5, f"took {elapsed:.2f}s"  # 0.5 s: a busy machine


def test_an_accepted_but_silent_backend_waits_the_read_timeout_not_the_connect_timeout(apart, stub_backend):
    stub_backend.answer = Answer(hang=True)
    response, elapsed = timed_get(apart)
    assert response.status_code == 504
    assert "did not answer within 1.5s" in response.get_data(as_text=True)
    assert READ <= elapsed < READ + 0.5, f"took {elapsed:.2f}s"


def test_a_backend_answering_within_the_read_timeout_is_served(apart, stub_backend):
    stub_backend.answer = Answer(delay=1.0, body=json.dumps([ITEM]).encode())  # past CONNECT, 0.5 s before READ
    response, _ = timed_get(apart)
    assert response.status_code == 200
    assert "<td>Apple</td>" in response.get_data(as_text=True)


def test_with_the_defaults_a_backend_slower_than_a_second_but_within_three_still_gets_the_page(app, config_path, stub_backend):
    # The documented defaults: 1 s to connect, 3 s to answer. A backend taking 2 s is slow, not down;
    # swapped defaults (a 1 s read) would turn every such page into a 504.
    client = create_app({"SHOP_CONFIG_PATH": str(config_path)}).test_client()
    stub_backend.answer = Answer(delay=2.0, body=json.dumps([ITEM]).encode())
    response, elapsed = timed_get(client)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert 2.0 <= elapsed < 3.0


def test_a_backend_that_stalls_after_its_headers_is_cut_off_at_the_deadline(apart, stub_backend):
    # Headers after 1 s, then nothing: the body's wait is what is left of the 1.5 s (0.5 s), not a
    # whole read timeout more (the page would take 2.5 s).
    stub_backend.answer = Answer(delay=1.0, body=json.dumps([ITEM]).encode(), trickle=5.0)
    response, elapsed = timed_get(apart)
    assert response.status_code == 504
    assert READ <= elapsed < READ + 0.5, f"took {elapsed:.2f}s"


def test_a_retry_gets_what_is_left_of_the_deadline_not_a_fresh_one(apart, stub_backend):
    # The first try is closed unanswered after 1 s; the retry then hangs. The page must still
    # come within the one read timeout (1.5 s), not 1 s + a fresh 1.5 s.
    stub_backend.answer = Answer(hang=True, close_first=1, close_after=1.0)
    response, elapsed = timed_get(apart)
    assert response.status_code == 504
    assert stub_backend.requests == 2
    assert READ <= elapsed < READ + 0.5, f"took {elapsed:.2f}s"


def sized_body(size: int) -> bytes:
    """A valid, empty JSON array of exactly `size` bytes."""
    return b"[" + b" " * (size - 2) + b"]"


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_the_size_limit_is_inclusive_to_the_byte(client, stub_backend, framing):
    for size, status in ((MAX_RESPONSE_BYTES, 200), (MAX_RESPONSE_BYTES + 1, 502)):
        body = sized_body(size)
        if framing == "chunked":  # no Content-Length to refuse up front: counted while reading
            stub_backend.answer = Answer(stream=functools.partial(iter, [body[:1000], body[1000:]]))
        else:
            stub_backend.answer = Answer(body=body)
        response = client.get("/")
        assert response.status_code == status, (size, framing)
        if status == 502:
            assert f"larger than the {MAX_RESPONSE_BYTES}-byte limit" in response.get_data(as_text=True)


@pytest.mark.parametrize("field", ["price", "count", "id"])
def test_a_boolean_is_no_number(client, stub_backend, field):
    # JSON true is an int to Python (True == 1): a price of true would show as 1.00.
    stub_backend.answer = Answer.json([{**ITEM, field: True}])
    response = client.get("/")
    assert response.status_code == 502
    wanted = "a number" if field == "price" else "an integer"
    assert f"item 0: {field} must be {wanted}, got a boolean" in response.get_data(as_text=True)


def test_a_good_answer_shows_each_items_name_price_and_count(client, stub_backend):
    stub_backend.answer = Answer.json([ITEM, {"id": 2, "name": "Banana", "price": 0.755, "count": 0},
                                       {"id": 3, "name": "Fig", "price": 2, "count": 7}])
    html = client.get("/").get_data(as_text=True)
    # Two decimals, as money; an integer price is a number too.
    for row in ("<td>Apple</td><td class=\"number\">0.50</td><td class=\"number\">33</td>",
                "<td>Banana</td><td class=\"number\">0.76</td><td class=\"number\">0</td>",
                "<td>Fig</td><td class=\"number\">2.00</td><td class=\"number\">7</td>"):
        assert row in html


def test_a_price_past_a_floats_range_is_a_bad_answer(client, stub_backend):
    # Python's JSON parser reads 1e400-sized integers exactly; as a float such a price has no value to show.
    stub_backend.answer = Answer(body=b'[{"id": 1, "name": "Apple", "price": 1' + b"0" * 400 + b', "count": 1}]')
    response = client.get("/")
    assert response.status_code == 502
    assert "item 0: price must be a number, got a number" in response.get_data(as_text=True)
