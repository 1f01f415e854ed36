"""HTTPS through the guard proxy: the run's CA is trusted by that browser alone, the proxy reads
inside TLS, and Playwright's own fetch (the route handler's) goes through the proxy too.

An HTTPS server on 127.0.0.1 with a certificate from a test CA stands for the app; the proxy is
told to trust that CA for servers (as an operator would for a private CA)."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Request, Route

from lam.adapters.browser import BrowserSession, find_chromium
from lam.egress.containment import Containment
from lam.egress.decide import UnattendedWrites
from lam.policy import default_policy

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine"),
]

PAGE = b"""<!doctype html><title>Edit</title>
<button type="button" onclick="new SharedWorker('/worker.js')">Save</button>"""
WORKER = b"fetch('/items/6', {method: 'DELETE'});"


def _name(text: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


def make_server_cert(folder: Path) -> tuple[Path, Path, Path]:
    """A test CA and a certificate for 127.0.0.1 it signed: (ca.pem, cert.pem, key.pem)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder().subject_name(_name("lam test CA")).issuer_name(_name("lam test CA"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


class HttpsApp:
    """Serves the page and the worker over HTTPS; logs every request."""

    def __init__(self, cert: Path, key: Path) -> None:
        log: list[tuple[str, str]] = []
        self.log = log

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                log.append((self.command, self.path))
                body = {"/page": PAGE, "/worker.js": WORKER}.get(self.path, b"{}")
                media = "text/javascript" if self.path.endswith(".js") else "text/html"
                self.send_response(200)
                self.send_header("content-type", media)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        # by name: Playwright's fetch through a proxy checks an IP literal's certificate
        # against "localhost" (a limit noted in docs/safety.md)
        self.url = f"https://localhost:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def https_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HttpsApp, Path]]:
    ca, cert, key = make_server_cert(tmp_path_factory.mktemp("tls"))
    app = HttpsApp(cert, key)
    yield app, ca
    app.close()


def test_https_is_read_by_the_proxy_and_a_worker_delete_is_refused(
    https_app: tuple[HttpsApp, Path],
) -> None:
    app, server_ca = https_app
    app.log.clear()
    host = app.url.removeprefix("https://")
    gate = Containment(
        policy=default_policy(), declared_hosts=[host], routes=(), writes=UnattendedWrites.POLICY, record=None,
        upstream_ca=server_ca,
    )  # fmt: skip
    gate.start()
    try:
        launch = gate.launch_options()
        assert gate.ca is not None
        with BrowserSession(
            proxy=launch["proxy"], browser_args=launch["args"], trust_ca=gate.ca.cert_pem
        ) as session:
            context = session.new_context(service_workers="block")

            def grant(route: Route, request: Request) -> None:  # what the network guard does
                headers = gate.grant_headers(
                    dict(request.headers), request.method, request.url, request.post_data_buffer
                )
                route.fulfill(response=route.fetch(headers=headers, max_redirects=0))

            context.route("**/*", grant)
            page = context.new_page()
            page.goto(app.url + "/page")  # through route.fetch: Node trusts the run's CA
            page.get_by_role("button", name="Save").click()
            page.wait_for_timeout(800)
            direct = session.browser.new_context()  # no routes: Chromium itself, via the proxy
            response = direct.new_page().goto(app.url + "/page")
            assert response is not None and b"Edit" in response.body()
            direct.close()
    finally:
        gate.close()
    assert ("GET", "/page") in app.log
    assert ("DELETE", "/items/6") not in app.log
    refused = [u.refusal for u in gate.take()]
    assert any(r.method == "DELETE" and r.url == app.url + "/items/6" for r in refused)


def test_the_run_ca_is_trusted_by_that_browser_only(https_app: tuple[HttpsApp, Path]) -> None:
    app, server_ca = https_app
    host = app.url.removeprefix("https://")
    gate = Containment(
        policy=default_policy(), declared_hosts=[host], routes=(), writes=UnattendedWrites.POLICY, record=None,
        upstream_ca=server_ca,
    )  # fmt: skip
    gate.start()
    try:
        launch = gate.launch_options()
        # the same proxy, without the run's pin: the browser refuses the proxy's certificate
        with (
            BrowserSession(proxy=launch["proxy"]) as session,
            pytest.raises(PlaywrightError, match="ERR_CERT"),
        ):
            session.page.goto(app.url + "/page")
    finally:
        gate.close()
