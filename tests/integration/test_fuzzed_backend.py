"""Whatever the backend sends, the frontend answers 200 with escaped content or a clear 5xx."""

from __future__ import annotations

import json

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from tests.support.net import free_port
from tests.support.stub_backend import Answer, StubBackend
from tools.procfile import WebProcess

MAX_RESPONSE_BYTES = 1_048_576  # the frontend's documented default limit

# The numbers Python's JSON parser accepts that a float cannot hold: integers past its
# range, and the NaN / Infinity literals (json.dumps writes them for nan and inf).
huge_integers = st.integers(min_value=2**1024, max_value=2**3000) | st.integers(min_value=-(2**3000), max_value=-(2**1024))
non_finite = st.sampled_from([float("nan"), float("inf"), float("-inf")])
json_scalars = st.none() | st.booleans() | st.integers() | huge_integers | st.floats() | st.text(max_size=30)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=8), inner, max_size=6),
    max_leaves=40,
)
names = st.text(max_size=40) | st.sampled_from(["<script>alert(1)</script>", "Tom & Jerry", '"quoted"', "<b>x</b>"])
good_items = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.integers() | huge_integers,
            "name": names,
            "price": st.floats(allow_nan=False, allow_infinity=False) | st.integers() | huge_integers | non_finite,
            "count": st.integers() | huge_integers,
        }
    ),
    max_size=30,
)


def one_boolean(items_field_value: tuple[list[dict], str, bool]) -> list[dict]:
    """The good items with one field of the first a boolean: JSON true is an int to Python (True == 1),
    yet no id, price or count (docs/apps.md), so the whole answer is a 502."""
    items, field_name, value = items_field_value
    return [{**items[0], field_name: value}, *items[1:]]


with_a_boolean = st.tuples(good_items.filter(len), st.sampled_from(["id", "price", "count"]), st.booleans()).map(
    one_boolean)
item_like = st.lists(
    st.fixed_dictionaries({"id": json_values, "name": json_values | names, "price": json_values, "count": json_values}),
    max_size=10,
)


def encoded(value) -> bytes:
    return json.dumps(value).encode()


bodies = st.one_of(
    good_items.map(encoded),
    with_a_boolean.map(encoded),  # good but for one boolean: never a 200 (True == 1)
    item_like.map(encoded),
    json_values.map(encoded),
    st.binary(max_size=4096),  # arbitrary bytes, mostly not UTF-8, not JSON
    st.integers(1, 400_000).map(lambda depth: b"[" * depth + b"]" * depth),  # deep nesting
    st.integers(0, 400_000).map(lambda n: encoded([0] * n)),  # huge arrays: 3 bytes an item, to 1.2 MB
    # Valid JSON of exactly n bytes around the size limit: one byte either side of it.
    st.integers(MAX_RESPONSE_BYTES - 2, MAX_RESPONSE_BYTES + 2).map(lambda n: b"[" + b" " * (n - 2) + b"]"),
    good_items.map(lambda items: encoded(items)[:-1] + b"\xff\xfe]"),  # non-UTF-8 tail
)


def shown_items(body: bytes):
    """What the page must show for `body`: (name, price, count) rows, or None for a bad answer (a 502).
    The contract of docs/apps.md, written out: a JSON array of objects with an integer id and count
    (a boolean is none), a string name and a finite number price (a boolean is none)."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(payload, list):
        return None
    rows = []
    for item in payload:
        if not isinstance(item, dict) or not {"id", "name", "price", "count"} <= item.keys():
            return None
        integers = [item["id"], item["count"]]
        if any(not isinstance(v, int) or isinstance(v, bool) for v in integers) or not isinstance(item["name"], str):
            return None
        price = item["price"]
        if isinstance(price, bool) or not isinstance(price, (int, float)):
            return None
        try:
            price = float(price)
        except OverflowError:
            return None
        if price != price or price in (float("inf"), float("-inf")):
            return None
        rows.append((item["name"], price, item["count"]))
    return rows


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory):
    with StubBackend() as stub:
        config = tmp_path_factory.mktemp("config") / "config.cfg"
        config.write_text(f'BACKEND_URI = "{stub.uri}"\n')
        frontend = WebProcess(
            "frontend",
            free_port(),
            env={"CONFIG_PATH": str(config), "BACKEND_READ_TIMEOUT": "5"},
            log_path=tmp_path_factory.mktemp("logs") / "frontend.log",
        )
        with frontend:
            yield stub, frontend


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(body=bodies)
def test_any_backend_answer_gets_a_clean_page(fuzz_target, body):
    stub, frontend = fuzz_target
    stub.answer = Answer(body=body)
    response = requests.get(frontend.url, timeout=15)
    assert "Traceback" not in response.text
    assert "<title>Python Shop" in response.text
    if len(body) > MAX_RESPONSE_BYTES:
        assert response.status_code == 502
        assert f"larger than the {MAX_RESPONSE_BYTES}-byte limit" in response.text
        return
    rows = shown_items(body)
    if rows is None:
        assert response.status_code == 502, response.text
        assert "The inventory service gave a bad answer" in response.text
        return
    assert response.status_code == 200, response.text
    for name, price, count in rows:  # each row as the page shows it: escaped, money to two decimals
        assert f'<td>{escape(name)}</td><td class="number">{price:.2f}</td><td class="number">{count}</td>' in response.text
    assert "<script>" not in response.text


def test_a_huge_answer_is_cut_off_not_read_into_memory(fuzz_target):
    stub, frontend = fuzz_target
    total = 200 * MAX_RESPONSE_BYTES  # 200 MiB, never built in memory here either
    chunk = b"[" + b"1," * 32_767 + b"1]"

    def endless_array():
        for _ in range(total // len(chunk)):
            yield chunk

    stub.answer = Answer(stream=endless_array)
    stub.bytes_streamed = 0
    response = requests.get(frontend.url, timeout=30)
    assert response.status_code == 502
    assert f"larger than the {MAX_RESPONSE_BYTES}-byte limit" in response.text
    # The frontend hung up soon after the limit (socket buffers hold a few MiB more).
    assert stub.bytes_streamed < 16 * MAX_RESPONSE_BYTES
