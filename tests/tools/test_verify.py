"""`make up`'s readiness check: the page must name the builds just deployed."""

import http.server
import threading

import pytest

from tools.targets import new_builds, node_port_page

NEW = {"frontend": "src-aaa111", "backend": "src-bbb222"}


def page(frontend: str, backend: str) -> str:
    return f'<head>\n  <meta name="shop-builds" content="frontend={frontend} backend={backend}">\n</head>'


def test_the_page_of_the_new_builds_passes():
    assert new_builds(page("src-aaa111", "src-bbb222"), NEW) == (True, "")


@pytest.mark.parametrize(("html", "named"), [
    (page("src-aaa111", "src-old000"), "{'frontend': 'src-aaa111', 'backend': 'src-old000'}"),  # old backend answered
    (page("src-old000", "src-bbb222"), "{'frontend': 'src-old000', 'backend': 'src-bbb222'}"),  # an old frontend pod
    ("<head></head>", "none"),  # a frontend from before builds were named
])
def test_a_page_from_an_old_build_does_not(html, named):
    assert new_builds(html, NEW) == (False, f"the page names builds {named}, not the new {NEW}")


def test_a_stack_without_builds_accepts_any_page():
    assert new_builds("<head></head>", None) == (True, "")


def test_the_node_port_probe_reads_the_page():
    body = page("src-aaa111", "src-bbb222").encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}/"
        assert node_port_page(url, NEW)() == (True, "")
        assert node_port_page(url, {"frontend": "src-next", "backend": "src-bbb222"})()[0] is False
        server.shutdown()
