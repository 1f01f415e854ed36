"""The guard proxy's own properties, without a browser: grants, the unattended decision, and
bad input sent straight to the proxy's port (malformed requests, huge headers, a thousand
connections). A logging server on 127.0.0.1 says what got through."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from lam.egress.containment import Containment
from lam.egress.decide import UnattendedWrites, assess, judge_unattended, read_outgoing
from lam.egress.grants import GRANT_HEADER, Grants, canonical_url
from lam.policy import default_policy, policy_from_data
from lam.types import Verdict

# -- grants -----------------------------------------------------------------------------------


def test_a_grant_is_good_once_for_its_own_request() -> None:
    grants = Grants()
    grant = grants.issue("POST", "http://127.0.0.1:9/items", b'{"a": 1}')
    assert grants.verify(grant, "POST", "http://127.0.0.1:9/items", b'{"a": 1}')
    assert not grants.verify(grant, "POST", "http://127.0.0.1:9/items", b'{"a": 1}')  # spent


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("DELETE", "http://127.0.0.1:9/items", b'{"a": 1}'),
        ("POST", "http://127.0.0.1:9/items/1/delete", b'{"a": 1}'),
        ("POST", "http://127.0.0.1:10/items", b'{"a": 1}'),
        ("POST", "http://127.0.0.1:9/items", b'{"a": 2}'),
    ],
    ids=["method", "path", "port", "body"],
)
def test_a_grant_cannot_move_to_another_request(method: str, url: str, body: bytes) -> None:
    grants = Grants()
    grant = grants.issue("POST", "http://127.0.0.1:9/items", b'{"a": 1}')
    assert not grants.verify(grant, method, url, body)


def test_a_grant_expires_and_another_run_s_grant_is_worthless() -> None:
    grants = Grants(ttl_s=-5)
    assert not grants.verify(grants.issue("GET", "http://a/", None), "GET", "http://a/", None)
    other = Grants().issue("GET", "http://a/", None)
    assert not Grants().verify(other, "GET", "http://a/", None)


@pytest.mark.parametrize("junk", ["", "v1", "v1.x.y.z", "v2.1.2.3", "v1.99999999999.n." + "0" * 64])
def test_a_malformed_grant_is_refused(junk: str) -> None:
    assert not Grants().verify(junk, "GET", "http://a/", None)


def test_both_ends_see_the_same_url() -> None:
    assert canonical_url("HTTP://127.0.0.1:80/a?b=1#frag") == "http://127.0.0.1/a?b=1"
    assert canonical_url("https://Example.com:443") == "https://example.com/"
    assert canonical_url("http://[::1]:8080/x") == "http://[::1]:8080/x"


# -- the decision for a request no route saw ------------------------------------------------------

HOSTS = ["127.0.0.1:8000"]


def unattended(method: str, url: str, *, dry_run: bool = False, body: bytes = b"") -> Verdict:
    out = read_outgoing(method, url, {"content-type": "application/json"}, body)
    found = assess(out, (), default_policy(), HOSTS)
    writes = UnattendedWrites.REFUSED if dry_run else UnattendedWrites.POLICY  # a dry run's rule
    return judge_unattended(found, default_policy(), writes=writes).verdict


@pytest.mark.parametrize(
    ("method", "url", "dry_run", "verdict"),
    [
        ("GET", "http://127.0.0.1:8000/items", False, Verdict.ALLOW),
        ("GET", "http://127.0.0.1:8000/items", True, Verdict.ALLOW),
        ("GET", "http://127.0.0.1:8001/items", False, Verdict.DENY),  # another port
        ("GET", "http://localhost:8000/items", False, Verdict.DENY),  # another name
        ("DELETE", "http://127.0.0.1:8000/items/6", False, Verdict.DENY),
        ("GET", "http://127.0.0.1:8000/items/5/delete", False, Verdict.DENY),
        ("POST", "http://127.0.0.1:8000/items", False, Verdict.ALLOW),  # default: writes allowed
        ("POST", "http://127.0.0.1:8000/items", True, Verdict.DENY),  # a dry run sends none
    ],
)
def test_a_request_no_route_saw_is_judged_on_its_own(
    method: str, url: str, dry_run: bool, verdict: Verdict
) -> None:
    assert unattended(method, url, dry_run=dry_run) is verdict


def test_a_write_the_policy_would_ask_about_is_refused_without_a_step_to_approve_it() -> None:
    policy = policy_from_data({"rules": [{"match": {"risk": "write"}, "verdict": "approve"}]})
    out = read_outgoing("POST", "http://127.0.0.1:8000/items", {}, b"")
    found = assess(out, (), policy, HOSTS)
    assert judge_unattended(found, policy, writes=UnattendedWrites.POLICY).verdict is Verdict.DENY


def test_a_method_override_counts_at_the_proxy_too() -> None:
    out = read_outgoing(
        "POST", "http://127.0.0.1:8000/items/1", {"X-HTTP-Method-Override": "DELETE"}, b""
    )
    found = assess(out, (), default_policy(), HOSTS)
    verdict = judge_unattended(found, default_policy(), writes=UnattendedWrites.POLICY).verdict
    assert verdict is Verdict.DENY


# -- the proxy, with bad input straight to its port ---------------------------------------------


class Upstream:
    """A server on 127.0.0.1 that logs each request it gets and the grant header, if any."""

    def __init__(self) -> None:
        log: list[tuple[str, str, str | None]] = []
        self.log = log

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                log.append((self.command, self.path, self.headers.get(GRANT_HEADER)))
                self.send_response(200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.close()


@pytest.fixture
def contained(upstream: Upstream) -> Iterator[Containment]:
    gate = Containment(
        policy=default_policy(),
        declared_hosts=[upstream.url.removeprefix("http://")],
        routes=(),
        writes=UnattendedWrites.POLICY,
        record=None,
    )
    gate.start()
    yield gate
    gate.close()


def via(gate: Containment) -> httpx.Client:
    return httpx.Client(proxy=gate.proxy_url, timeout=10)


def test_the_proxy_lets_reads_through_and_refuses_destructive_requests(
    upstream: Upstream, contained: Containment
) -> None:
    with via(contained) as client:
        assert client.get(upstream.url + "/items").status_code == 200
        refused = client.delete(upstream.url + "/items/6")
    assert refused.status_code == 403 and refused.headers["x-lam"] == "blocked"
    assert upstream.log == [("GET", "/items", None)]
    taken = contained.take()
    assert [(u.refusal.method, u.refusal.destructive) for u in taken] == [("DELETE", True)]


def test_a_granted_request_goes_through_without_its_grant(
    upstream: Upstream, contained: Containment
) -> None:
    url = upstream.url + "/items/6"
    headers = contained.grant_headers({}, "DELETE", url, b"")
    with via(contained) as client:
        assert client.delete(url, headers=headers).status_code == 200
        assert client.delete(url, headers=headers).status_code == 403  # a grant is good once
    assert upstream.log == [("DELETE", "/items/6", None)]


def test_an_outside_host_is_refused_before_any_connection(contained: Containment) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen(5)
        other.settimeout(0.5)
        port = other.getsockname()[1]
        with via(contained) as client:
            assert client.get(f"http://127.0.0.1:{port}/collect").status_code == 403
            with pytest.raises(httpx.ProxyError):
                client.get(f"https://127.0.0.1:{port}/collect")  # CONNECT refused
        with pytest.raises(TimeoutError):
            other.accept()


def raw(port: int, data: bytes, *, timeout: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
        return b"".join(chunks)


def proxy_port(gate: Containment) -> int:
    return int(gate.proxy_url.rsplit(":", 1)[1])


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\xff garbage that is not HTTP\r\n\r\n",
        b"GET http://127.0.0.1:1/ HTTP/1.1\r\nHost: \r\nContent-Length: -5\r\n\r\n",
        b"DELETE /relative-form HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        b"GET http://127.0.0.1:1/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"CONNECT nowhere HTTP/1.1\r\n\r\n",
    ],
    ids=["garbage", "negative-length", "relative-form", "bad-chunk", "bad-connect"],
)
def test_malformed_requests_are_answered_and_the_proxy_goes_on(
    data: bytes, upstream: Upstream, contained: Containment
) -> None:
    answer = raw(proxy_port(contained), data, timeout=2)
    assert not answer or answer.startswith(b"HTTP/1.1 4") or answer.startswith(b"HTTP/1.1 5")
    assert [m for m, _, _ in upstream.log if m != "GET"] == []
    with via(contained) as client:
        assert client.get(upstream.url + "/still-up").status_code == 200


def test_huge_headers_do_not_take_the_proxy_down(
    upstream: Upstream, contained: Containment
) -> None:
    huge = b"X-Big: " + b"a" * 2_000_000 + b"\r\n"
    request = b"GET " + upstream.url.encode() + b"/big HTTP/1.1\r\nHost: x\r\n" + huge + b"\r\n"
    answer = raw(proxy_port(contained), request, timeout=2)
    assert answer.startswith(b"HTTP/1.1 403")
    many = b"".join(b"X-%d: v\r\n" % n for n in range(20_000))
    raw(
        proxy_port(contained),
        b"GET " + upstream.url.encode() + b"/many HTTP/1.1\r\n" + many + b"\r\n",
    )
    with via(contained) as client:
        assert client.get(upstream.url + "/still-up").status_code == 200


def test_a_thousand_connections_do_not_hang_the_proxy(
    upstream: Upstream, contained: Containment
) -> None:
    port = proxy_port(contained)
    opened = []
    try:
        for _ in range(1000):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"GET " + upstream.url.encode() + b"/slow HTTP/1.1\r\n")  # never ends
            opened.append(sock)
        started = time.monotonic()
        with via(contained) as client:
            assert client.get(upstream.url + "/still-up").status_code == 200
        assert time.monotonic() - started < 5
    finally:
        for sock in opened:
            sock.close()


def test_the_proxy_stops_cleanly_with_connections_open(upstream: Upstream, tmp_path: Path) -> None:
    gate = Containment(
        policy=default_policy(),
        declared_hosts=[],
        routes=(),
        writes=UnattendedWrites.POLICY,
        record=None,
    )
    gate.start()
    socks = [socket.create_connection(("127.0.0.1", proxy_port(gate))) for _ in range(50)]
    started = time.monotonic()
    gate.close()
    assert time.monotonic() - started < 6
    for sock in socks:
        sock.close()
