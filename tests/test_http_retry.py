"""lam.http_retry: the one reading of ``Retry-After``, and both HTTP clients waiting by it."""

from __future__ import annotations

import email.utils
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from servers import serve_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lam.adapters.http import ApiClient, PreparedCall
from lam.http_retry import retry_after
from lam.spec import load_spec

NOW = 1_800_000_000.0  # a fixed clock: 2027-01-15 08:00:00 UTC


def _http_date(seconds_from_now: float) -> str:
    return email.utils.formatdate(NOW + seconds_from_now, usegmt=True)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("1.5", 1.5),  # not RFC 9110's digits, but plain enough to honour
        (_http_date(90), 90.0),
        (_http_date(-3600), 0.0),  # a date gone by: no wait
        ("Fri, 15 Jan 2027 08:01:00 -0000", 60.0),  # "-0000": a GMT date all the same
        ("9" * 400, float("inf")),  # huge: the caller caps it
    ],
)
def test_seconds_and_http_dates_are_read(value: str, seconds: float) -> None:
    assert retry_after(value, now=NOW) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "value",
    [None, "", "soon", "-5", "nan", "inf", "1e3", "+3", "²", "٣", "Fri, 99 Foo 2027", "12 s"],
)
def test_garbage_negatives_and_non_numbers_are_unreadable(value: str | None) -> None:
    assert retry_after(value, now=NOW) is None


# The API client against a real server on 127.0.0.1 that says "busy" once, then answers.


class _Busy:
    def __init__(self, header: str) -> None:
        self.header = header
        self.calls = 0
        self.lock = threading.Lock()

    async def handle(self, request: Request) -> Response:
        with self.lock:
            self.calls += 1
            first = self.calls == 1
        if first:
            return Response(status_code=503, headers={"Retry-After": self.header})
        return Response(b"{}", media_type="application/json")


class _Waits:
    """The client's sleep: records each wait, never says "killed"."""

    def __init__(self) -> None:
        self.seen: list[float] = []

    def __call__(self, seconds: float) -> bool:
        self.seen.append(seconds)
        return False


@contextmanager
def _busy_server(header: str) -> Iterator[tuple[_Busy, str]]:
    busy = _Busy(header)
    with serve_app(Starlette(routes=[Route("/pets", busy.handle)])) as url:
        yield busy, url


def _get(url: str, tmp_path: Path) -> PreparedCall:
    spec_file = tmp_path / "api.yaml"
    spec_file.write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n"
        "paths:\n  /pets:\n    get:\n      operationId: listPets\n"
        "      responses: {'200': {description: ok}}\n",
        encoding="utf-8",
    )
    op = load_spec(spec_file).operation("listPets")
    return PreparedCall(operation=op, method="GET", url=f"{url}/pets", headers={})


@pytest.mark.parametrize(
    ("header", "low", "high"),
    [
        ("3", 3.0, 3.0),
        ("600", 30.0, 30.0),  # capped
        ("-5", 0.2, 0.2),  # unreadable: the client's own backoff (time.sleep(-5) raises)
        ("nan", 0.2, 0.2),
        ("whenever", 0.2, 0.2),
    ],
)
def test_the_api_client_waits_as_the_server_asks(
    header: str, low: float, high: float, tmp_path: Path
) -> None:
    waits = _Waits()
    with _busy_server(header) as (busy, url):
        client = ApiClient(sleep=waits)
        response, attempts = client.send(_get(url, tmp_path), step="list")
        client.close()
    assert (response.status_code, attempts, busy.calls) == (200, 2, 2)
    assert len(waits.seen) == 1 and low <= waits.seen[0] <= high


def test_the_api_client_reads_an_http_date(tmp_path: Path) -> None:
    """The API client used to ignore HTTP dates and fall back on its backoff."""
    import time

    waits = _Waits()
    header = email.utils.formatdate(time.time() + 20, usegmt=True)
    with _busy_server(header) as (_, url):
        client = ApiClient(sleep=waits)
        client.send(_get(url, tmp_path), step="list")
        client.close()
    assert len(waits.seen) == 1 and 15.0 <= waits.seen[0] <= 20.0
