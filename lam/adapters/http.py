"""API calls over HTTP with httpx: building the request from the spec, sending it with
timeouts and careful retries, and checking the response against the spec.

The transport is the seam: the live adapter uses httpx's own, a dry run hands in the sandbox
simulator's (:class:`lam.sandbox.transport.SimulatorTransport`), so the same code path builds,
guards and checks every request in both modes.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from lam import http_retry
from lam.adapters.http_cancel import CancellableTransport, Interrupt, exchange
from lam.documents import format_path
from lam.errors import KilledError, StepFailed
from lam.expressions import as_text  # a value in a path, query, header, cookie or form
from lam.limits import RESPONSE_LIMITS, OverLimit, load_json
from lam.plans import NO_BODY
from lam.spec import Operation, Spec

__all__ = [
    "ApiClient",
    "PreparedCall",
    "credential_headers",
    "prepare_call",
    "response_problems",
]

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class PreparedCall:
    """A resolved API call, ready for the guard and then the wire."""

    operation: Operation
    method: str
    url: str  # with the query string
    headers: Mapping[str, str]
    body: Any = NO_BODY  # the resolved body, for display and the trace
    content: bytes = b""
    content_type: str | None = None
    secret_values: tuple[str, ...] = field(default_factory=tuple)

    def describe(self) -> str:
        return f"{self.method} {self.url}"

    def to_request(self) -> httpx.Request:
        return httpx.Request(
            self.method, self.url, headers=dict(self.headers), content=self.content
        )

    def trace_body(self) -> Any:
        return None if self.body is NO_BODY else self.body


def credential_headers(spec: Spec, op: Operation) -> frozenset[str]:
    """Header names (lower case) that carry credentials for this operation."""
    names = {"authorization"}
    for scheme in spec.security_schemes.values():
        if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
            names.add(str(scheme.get("name", "")).lower())
    return frozenset(names)


def prepare_call(
    spec: Spec,
    op: Operation,
    *,
    base_url: str,
    params: Mapping[str, Any],
    body: Any = NO_BODY,
    content_type: str | None = None,
    auth: Mapping[str, str] | None = None,
    secret: Callable[[str], str],
) -> PreparedCall:
    """Serialize resolved params and body as the operation describes them."""
    by_name = {p.name: p for p in op.parameters}
    path = op.path
    query: list[tuple[str, str]] = []
    headers: dict[str, str] = {}
    cookies: list[str] = []
    credentials = credential_headers(spec, op)
    for name, value in params.items():
        param = by_name.get(name)
        location = (
            param.location if param else ("header" if name.lower() in credentials else "query")
        )
        if location == "path":
            path = path.replace("{" + name + "}", quote(as_text(value), safe=""))
        elif location == "query":
            values = value if isinstance(value, list) else [value]
            query.extend((name, as_text(v)) for v in values)
        elif location == "header":
            headers[name] = as_text(value)
        else:
            cookies.append(f"{name}={as_text(value)}")
    if cookies:
        headers["Cookie"] = "; ".join(cookies)
    secrets_used: list[str] = []
    if auth:
        secrets_used.append(_apply_auth(spec, auth, headers, query, secret))
    content = b""
    media = None
    if body is not NO_BODY:
        found = op.request_schema(content_type)
        media = content_type or (found[0] if found else "application/json")
        content = _encode_body(body, media)
        headers.setdefault("Content-Type", media)
    headers.setdefault("Accept", "application/json")
    url = base_url.rstrip("/") + path
    if query:
        url += "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query)
    return PreparedCall(op, op.method, url, headers, body, content, media, tuple(secrets_used))


def _apply_auth(
    spec: Spec,
    auth: Mapping[str, str],
    headers: dict[str, str],
    query: list[tuple[str, str]],
    secret: Callable[[str], str],
) -> str:
    value = secret(auth["secret"])
    scheme_name = auth.get("scheme", "bearer")
    scheme = spec.security_schemes.get(scheme_name, {})
    kind = str(scheme.get("type", scheme_name)).lower()
    if kind == "apikey":
        target = str(scheme.get("name", auth.get("name", "X-API-Key")))
        if scheme.get("in") == "query":
            query.append((target, value))
        else:
            headers[target] = value
    elif kind in ("http", "bearer", "basic"):
        http_scheme = str(scheme.get("scheme", kind)).lower()
        if http_scheme == "basic":
            headers["Authorization"] = "Basic " + base64.b64encode(value.encode()).decode()
        else:
            headers["Authorization"] = f"Bearer {value}"
    elif kind == "header":
        headers[auth.get("name", "Authorization")] = value
    elif kind == "query":
        query.append((auth.get("name", "api_key"), value))
    else:
        headers["Authorization"] = f"Bearer {value}"
    return value


def _encode_body(body: Any, media: str) -> bytes:
    base = media.split(";")[0].strip().lower()
    if base == "application/x-www-form-urlencoded" and isinstance(body, Mapping):
        return "&".join(
            f"{quote(str(k), safe='')}={quote(as_text(v), safe='')}" for k, v in body.items()
        ).encode()
    if isinstance(body, bytes):
        return body
    if isinstance(body, str) and not base.endswith("json"):
        return body.encode()
    return json.dumps(body, separators=(",", ":")).encode()


class ApiClient:
    """Sends prepared calls with a timeout, retrying only what is safe to retry.

    With an ``interrupt`` (the run's kill switch) a request in flight is cut the moment the
    switch is pulled: its sockets are shut down and :class:`KilledError` is raised.
    """

    def __init__(
        self,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        attempts: int = 3,
        backoff: float = 0.2,
        sleep: Callable[[float], bool] | None = None,
        interrupt: Interrupt | None = None,
    ) -> None:
        if transport is None and interrupt is not None:
            transport = CancellableTransport()
        self._cut = transport.cut if isinstance(transport, CancellableTransport) else _no_cut
        self._client = httpx.Client(transport=transport, timeout=timeout, follow_redirects=False)
        self.attempts = attempts
        self.backoff = backoff
        self._sleep = sleep or _plain_sleep
        self._interrupt = interrupt

    def send(
        self, call: PreparedCall, *, step: str, timeout: float | None = None
    ) -> tuple[httpx.Response, int]:
        """Send; return the response and the number of attempts it took."""
        retry = call.method in IDEMPOTENT
        attempt = 0
        while True:
            attempt += 1
            try:
                request = call.to_request()
                if timeout is not None:
                    request.extensions["timeout"] = httpx.Timeout(timeout).as_dict()
                response = self._exchange(request, call)
            except httpx.TimeoutException:
                if retry and attempt < self.attempts:
                    self._pause(attempt, None)
                    continue
                raise StepFailed(
                    f"{call.describe()}: timed out", step=step, code="timeout"
                ) from None
            except httpx.ConnectError as exc:
                if retry and attempt < self.attempts:
                    self._pause(attempt, None)
                    continue
                raise StepFailed(
                    f"{call.describe()}: cannot connect: {_why(exc)}", step=step, code="connect"
                ) from None
            except httpx.HTTPError as exc:
                raise StepFailed(
                    f"{call.describe()}: {type(exc).__name__}: {_why(exc)}", step=step, code="http"
                ) from None
            if retry and response.status_code in RETRY_STATUSES and attempt < self.attempts:
                self._pause(attempt, response.headers.get("retry-after"))
                continue
            return response, attempt

    def _exchange(self, request: httpx.Request, call: PreparedCall) -> httpx.Response:
        def work() -> httpx.Response:
            response = self._client.send(request)
            response.read()
            return response

        if self._interrupt is None:
            return work()
        response = exchange(work, self._interrupt, self._cut)
        if response is None:
            raise KilledError(f"{call.describe()}: cancelled in flight by the kill switch")
        return response

    def _pause(self, attempt: int, retry_after: str | None) -> None:
        delay = self.backoff * (2 ** (attempt - 1))
        asked = http_retry.retry_after(retry_after)
        if asked is not None:
            delay = min(asked, 30.0)
        if self._sleep(delay):
            raise StepFailed("stopped while waiting to retry", code="killed")

    def close(self) -> None:
        self._client.close()


def _no_cut() -> None:
    """A transport without sockets of its own (the sandbox's) has nothing to cut."""


def _plain_sleep(seconds: float) -> bool:
    time.sleep(seconds)
    return False


def _why(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    if "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text:
        return "TLS error: " + text.split("]")[-1].strip()
    return text


def decode_body(response: httpx.Response) -> tuple[Any, str | None]:
    """The response body as JSON when it says so; else text. Also a problem, if any."""
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if not response.content:
        return None, None
    if media.endswith("json") or media.endswith("+json"):
        try:  # lam's JSON reader: a hostile server's deep or huge body cannot crash a run
            return load_json(response.text, RESPONSE_LIMITS), None
        except ValueError as exc:
            return response.text, f"body says {media} but is not JSON ({exc})"
        except OverLimit as exc:
            place = exc.location
            where = (
                f" at {place if isinstance(place, str) else format_path(place)}" if place else ""
            )
            return response.text, f"body is over lam's limits{where}: {exc.message}"
    return response.text, None


def response_problems(spec: Spec, op: Operation, status: int, body: Any, media: str) -> list[str]:
    """Where a response breaks the spec: an undocumented status, or a body off its schema."""
    if not any(_status_matches(code, status) for code in op.responses):
        documented = ", ".join(sorted(op.responses)) or "none"
        return [f"status {status} is not documented for {op.key} (documented: {documented})"]
    found = op.response_schema(status)
    if found is None or body is None:
        return []
    wanted_media, schema = found
    both_json = media.endswith("json") and wanted_media.endswith("json")
    if (
        media
        and wanted_media
        and media.split(";")[0] != wanted_media.split(";")[0]
        and not both_json
    ):
        return [f"content type {media} where the spec says {wanted_media}"]
    return [
        f"response body{pointer or ''}: {message}"
        for pointer, message in spec.validator(schema).errors(body)[:5]
    ]


def _status_matches(code: str, status: int) -> bool:
    code = str(code).upper()
    if code == "DEFAULT":
        return True
    if code.endswith("XX"):
        return code[0] == str(status)[0]
    return code == str(status)


__all__ += ["decode_body"]
