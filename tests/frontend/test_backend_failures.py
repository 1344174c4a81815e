"""Every way the backend can fail gives a clear page, the right status and one log line."""

import errno
import http.client
import json
import socket
import time

import pytest
import urllib3

from shop_frontend import backend_client
from tests.frontend.limits import CONNECT_TIMEOUT, MAX_RESPONSE_BYTES, READ_TIMEOUT
from tests.support.net import free_port
from tests.support.silent_backend import FullBacklog
from tests.support.stub_backend import Answer

GOOD_ITEM = {"id": 1, "name": "Apple", "price": 0.5, "count": 33}


def assert_error_page(response, status, *phrases):
    html = response.get_data(as_text=True)
    assert response.status_code == status, html
    assert response.mimetype == "text/html"
    assert "Traceback" not in html
    for phrase in phrases:
        assert phrase in html, f"{phrase!r} not on the error page"
    assert response.headers["Cache-Control"] == "no-store"


def assert_logged_once(frontend_log, uri, *phrases):
    lines = frontend_log()
    assert len(lines) == 1, lines
    assert uri in lines[0]
    for phrase in phrases:
        assert phrase in lines[0]


def test_a_connection_closed_before_the_answer_is_tried_once_more(client, stub_backend, frontend_log):
    # What a backend pod does to a pooled keep-alive connection as it shuts down in a rollout.
    stub_backend.answer = Answer.json([GOOD_ITEM])
    stub_backend.answer.close_first = 1
    response = client.get("/")
    assert response.status_code == 200
    assert "<td>Apple</td>" in response.get_data(as_text=True)
    assert stub_backend.requests == 2
    assert frontend_log() == []


def test_a_backend_that_keeps_closing_the_connection_is_a_503_after_one_retry(client, stub_backend, frontend_log):
    stub_backend.answer = Answer.json([GOOD_ITEM])
    stub_backend.answer.close_first = 10
    response = client.get("/")
    assert_error_page(response, 503, "unavailable", "connection closed by the backend")
    assert stub_backend.requests == 2  # one retry, never a loop
    assert_logged_once(frontend_log, stub_backend.uri, "connection closed by the backend")


def test_backend_down_is_a_503(client, write_config, frontend_log):
    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    write_config(f'BACKEND_URI = "{uri}"')
    response = client.get("/")
    assert_error_page(response, 503, "unavailable", "the backend is unreachable (connection refused)")
    assert_logged_once(frontend_log, uri, "connection refused")


def test_unresolvable_backend_name_is_a_503(client, write_config, frontend_log):
    write_config('BACKEND_URI = "http://no-such-service.invalid:8080"')
    response = client.get("/")
    assert_error_page(response, 503, "the backend is unreachable (name not resolved)")
    assert_logged_once(frontend_log, "no-such-service.invalid")


def test_backend_that_never_answers_is_a_504_within_the_read_timeout(client, answer, stub_backend, frontend_log):
    answer(Answer(hang=True))
    started = time.monotonic()
    response = client.get("/")
    elapsed = time.monotonic() - started
    assert_error_page(response, 504, "too slow", f"within {READ_TIMEOUT:g}s")
    assert elapsed < READ_TIMEOUT + 0.5
    assert_logged_once(frontend_log, stub_backend.uri, "did not answer")


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_backend_trickling_its_answer_is_cut_off_at_the_read_deadline(client, answer, frontend_log, framing):
    # A byte every 0.1 s for 10 s: each read gets something well within the read timeout.
    body = json.dumps([GOOD_ITEM]).encode().ljust(100)
    if framing == "chunked":
        def trickle():
            for i in range(len(body)):
                time.sleep(0.1)
                yield body[i : i + 1]
        answer(Answer(stream=trickle))
    else:
        answer(Answer(body=body, trickle=0.1))
    started = time.monotonic()
    response = client.get("/")
    elapsed = time.monotonic() - started
    assert_error_page(response, 504, "too slow", f"within {READ_TIMEOUT:g}s")
    # The read timeout bounds the whole answer, within 0.25 s (the last read, scheduling); when each
    # socket read restarted the clock this took the whole 10 s. Twice that margin, for a busy machine.
    assert READ_TIMEOUT <= elapsed < READ_TIMEOUT + 0.5, f"took {elapsed:.2f}s"
    assert len(frontend_log()) == 1


def test_a_connect_timeout_is_a_504_naming_the_connect_timeout(client, write_config, frontend_log):
    with FullBacklog() as unaccepting:
        write_config(f'BACKEND_URI = "{unaccepting.uri}"')
        started = time.monotonic()
        response = client.get("/")
        elapsed = time.monotonic() - started
    assert_error_page(response, 504, "too slow", f"did not accept a connection within {CONNECT_TIMEOUT:g}s")
    assert CONNECT_TIMEOUT <= elapsed < CONNECT_TIMEOUT + 0.5, f"took {elapsed:.2f}s"  # generous: a busy machine
    assert len(frontend_log()) == 1


def test_backend_slower_than_the_read_timeout_is_a_504(client, answer):
    answer(Answer(delay=READ_TIMEOUT * 3, body=json.dumps([GOOD_ITEM]).encode()))
    assert_error_page(client.get("/"), 504, "too slow")


# 199 and 300 are the statuses either side of 2xx (300 without a Location, so not followed); the reason
# phrase goes along (199 has none: nothing trails the number).
@pytest.mark.parametrize(("status", "said"), [
    (199, "the backend answered HTTP 199"),
    (300, "the backend answered HTTP 300 Multiple Choices"),
    (404, "the backend answered HTTP 404 Not Found"),
    (500, "the backend answered HTTP 500 Internal Server Error"),
    (503, "the backend answered HTTP 503 Service Unavailable"),
])
def test_backend_non_2xx_is_a_502_naming_the_status(client, answer, stub_backend, frontend_log, status, said):
    answer(Answer(status=status, body=b"oops", content_type="text/plain"))
    assert_error_page(client.get("/"), 502, "bad answer", said)
    assert_logged_once(frontend_log, stub_backend.uri, said)


@pytest.mark.parametrize("status", [200, 203, 299])  # 2xx to its last: a proxy's 203 is still the items
def test_any_2xx_with_items_is_the_page(client, answer, status):
    answer(Answer.json([GOOD_ITEM], status=status))
    response = client.get("/")
    assert (response.status_code, "<td>Apple</td>" in response.get_data(as_text=True)) == (200, True)


def test_an_answer_that_is_not_json_names_the_parsers_complaint(client, answer):
    answer(Answer(body=b"<html>not json</html>"))
    assert_error_page(client.get("/"), 502,
                      "the backend&#39;s answer is not valid JSON (Expecting value: line 1 column 1 (char 0))")


# A chunk size line of junk: the parser's complaint quotes it all, the page the cause in at most 120
# characters, cut to 117 and "...": the cause, not a screenful of what the backend sent.
@pytest.mark.parametrize(("junk", "cause"), [
    (77, "invalid literal for int() with base 16: b'" + "z" * 77 + "'"),  # 120 characters: whole
    (78, "invalid literal for int() with base 16: b'" + "z" * 75 + "..."),  # 121: cut
])
def test_an_answer_broken_off_mid_body_is_a_502_with_its_cause_in_short(client, answer, frontend_log, junk, cause):
    # (";": a chunk extension follows, so the size alone, no line ending, is what the parser quotes)
    answer(Answer(body=b"z" * junk + b";\r\n", headers={"Transfer-Encoding": "chunked"}))
    assert len(cause) == 120
    assert_error_page(client.get("/"), 502, "bad answer",
                      f"the backend call failed ({cause.replace(chr(39), '&#39;')})")
    assert f"the backend call failed ({cause}) (answered 502)" in frontend_log()[0]


def test_a_backend_redirecting_to_itself_is_a_502_not_a_loop(client, answer, stub_backend):
    answer(Answer(status=302, headers={"Location": "/"}))
    assert_error_page(client.get("/"), 502, "bad answer", "the backend call failed (Exceeded 30 redirects.)")
    assert stub_backend.requests == 31  # requests' own cap: the first try and 30 redirects


def test_proxy_variables_in_the_environment_are_not_used(client, answer, monkeypatch):
    # A call between two pods of the shop: an HTTP_PROXY meant for the internet (here: nothing listens
    # there) must not carry it.
    dead = f"http://127.0.0.1:{free_port()}"
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, dead)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    answer(Answer.json([GOOD_ITEM]))
    assert client.get("/").status_code == 200


@pytest.mark.parametrize(
    "body",
    [b"<html>not json</html>", b"", b'[{"id": 1,', b"\xff\xfe\xfa\x00not utf-8", b"[" * 100_000 + b"]" * 100_000],
    ids=["html", "empty", "truncated", "not-utf8", "deeply-nested"],
)
def test_backend_answer_that_is_not_json_is_a_502(client, answer, stub_backend, frontend_log, body):
    answer(Answer(body=body))
    response = client.get("/")
    if len(body) > MAX_RESPONSE_BYTES:
        assert_error_page(response, 502, "larger than")
    else:
        assert_error_page(response, 502, "not valid JSON")
    assert_logged_once(frontend_log, stub_backend.uri)


def test_deeply_nested_json_within_the_size_limit_is_a_502(client, answer):
    depth = MAX_RESPONSE_BYTES // 2 - 10
    answer(Answer(body=b"[" * depth + b"]" * depth))
    assert_error_page(client.get("/"), 502, "not valid JSON")


@pytest.mark.parametrize(
    ("payload", "phrase"),
    [
        ({"items": [GOOD_ITEM]}, "expected a JSON array of items, got an object"),
        ("Apple", "expected a JSON array of items, got a string"),
        ([GOOD_ITEM, "Banana"], "item 1 is a string, not an object"),
        ([{"id": 1, "name": "Apple", "price": 0.5}], "item 0 lacks count"),
        ([{**GOOD_ITEM, "id": [1]}], "item 0: id must be an integer, got an array"),
        ([{**GOOD_ITEM, "id": True}], "item 0: id must be an integer, got a boolean"),
        ([{**GOOD_ITEM, "name": None}], "item 0: name must be a string, got null"),
        ([{**GOOD_ITEM, "price": "0.50"}], "item 0: price must be a number, got a string"),
        ([{**GOOD_ITEM, "count": 1.5}], "item 0: count must be an integer, got a number"),
    ],
)
def test_items_of_the_wrong_shape_are_a_502(client, answer, stub_backend, frontend_log, payload, phrase):
    answer(Answer.json(payload))
    assert_error_page(client.get("/"), 502, "malformed", phrase)
    assert_logged_once(frontend_log, stub_backend.uri, phrase)


def test_non_finite_prices_are_rejected(client, answer):
    answer(Answer(body=b'[{"id": 1, "name": "Apple", "price": NaN, "count": 1}]'))
    assert_error_page(client.get("/"), 502, "price must be a number")


def test_oversized_answer_is_cut_off_at_the_limit(client, answer, frontend_log):
    big = [dict(GOOD_ITEM, id=i) for i in range(MAX_RESPONSE_BYTES // 40)]
    answer(Answer.json(big))
    assert_error_page(client.get("/"), 502, "larger than", str(MAX_RESPONSE_BYTES))


def test_oversized_answer_without_content_length_is_cut_off_while_reading(client, answer):
    # A chunked answer has no Content-Length to refuse up front.
    payload = b"[" + b",".join([json.dumps(GOOD_ITEM).encode()] * 4000) + b"]"
    pieces = [payload[i : i + 4096] for i in range(0, len(payload), 4096)]
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces)
    answer(Answer(body=chunked + b"0\r\n\r\n", headers={"Transfer-Encoding": "chunked"}, content_type="application/json"))
    assert_error_page(client.get("/"), 502, "larger than")


def test_the_page_recovers_once_the_backend_answers_again(client, answer):
    answer(Answer(status=500))
    assert client.get("/").status_code == 502
    answer(Answer.json([GOOD_ITEM]))
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("error", [socket.gaierror(socket.EAI_NONAME, "Name or service not known"),  # no such name
                                   socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")])  # DNS down
def test_either_failure_to_resolve_the_name_is_said_so(error):
    # The cluster's DNS failing is not something a hermetic test can make happen: the resolver's own error.
    assert backend_client._reason(error) == "name not resolved"


@pytest.mark.parametrize("error", [
    ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"),
    http.client.RemoteDisconnected("Remote end closed connection without response"),
    ConnectionResetError(),  # the type decides, whatever the words (they differ by platform and version)
])
def test_a_connection_the_backend_dropped_is_said_so(error):
    assert backend_client._reason(error) == "connection closed by the backend"


class _ArrivedLate:
    """An answer's body as urllib3 hands it over, all of it there, read after the deadline passed."""

    connection = None

    def __init__(self) -> None:
        self.chunks = [b"[]", b""]

    def read1(self, size: int) -> bytes:
        return self.chunks.pop(0)


def test_a_body_read_after_the_deadline_is_a_timeout_not_a_page():
    client = backend_client.BackendClient(connect_timeout=1, read_timeout=3, max_response_bytes=1024, pool_size=1)
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        client._read_body(_ArrivedLate(), deadline=time.monotonic() - 0.5)  # type: ignore[arg-type]
