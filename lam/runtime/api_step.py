"""Running ``call`` steps: resolve, build the request from the spec, guard it, send it
through the adapter's transport (live, or the sandbox simulator in a dry run), check it."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import httpx

from lam.adapters.http import ApiClient, PreparedCall, decode_body, prepare_call, response_problems
from lam.errors import BlockedError, StepFailed
from lam.plans import NO_BODY, Step
from lam.policy import ActionFacts, url_host
from lam.risk import classify_request
from lam.risk.http import decode_escapes, effective_method
from lam.runtime.context import STAND_IN, RunState, StepOutcome
from lam.runtime.effects import Effect
from lam.runtime.guard import GuardCheck
from lam.runtime.sign_in import PASSED_LIVE
from lam.sandbox.transport import SANDBOX_ANSWER
from lam.spec import Operation, Spec
from lam.types import Classification, Risk

__all__ = ["PASSED_THROUGH", "ApiStepExecutor"]

PASSED_THROUGH = "lam_passed_through"
"""Set on a dry run's response that the live system answered (signing in)."""


class ApiStepExecutor:
    """Executes API steps. ``transports`` maps an api name to the httpx transport to use."""

    def __init__(
        self,
        specs: Mapping[str, Spec],
        operations: Mapping[str, Operation],
        *,
        transports: Mapping[str, httpx.BaseTransport] | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.specs = specs
        self.operations = operations
        self._transports = dict(transports or {})
        self._timeout = timeout
        self._clients: dict[str, ApiClient] = {}

    def _client(self, api: str, state: RunState) -> ApiClient:
        if api not in self._clients:
            self._clients[api] = ApiClient(
                transport=self._transports.get(api),
                timeout=self._timeout,
                sleep=state.kill.sleep,
                interrupt=state.kill,  # a kill cuts the request in flight
            )
        return self._clients[api]

    def run_step(self, step: Step, state: RunState) -> StepOutcome:
        if step.kind != "api":
            raise TypeError(f"step {step.id!r}: the API executor runs call steps only")
        api = step.api_name
        spec = self.specs[api]
        op = self.operations.get(step.id) or spec.operation(step.operation_ref)
        base_url = state.api_urls.get(api)
        if not base_url or "://" not in base_url:
            raise StepFailed(
                f"api {api!r} has no absolute base URL ({base_url or 'none'}): "
                f"set apis.{api}.base_url or pass --api {api}=URL",
                step=step.id,
                code="base-url",
            )
        params = state.resolve(step, step.params, "params")
        body = NO_BODY if step.body is NO_BODY else state.resolve(step, step.body, "body")
        try:
            call = prepare_call(
                spec,
                op,
                base_url=base_url,
                params=params,
                body=body,
                content_type=step.content_type,
                auth=state.plan.apis[api].auth,
                secret=state.context().secret,
            )
        except Exception as exc:  # a secret that is not set, mostly
            raise StepFailed(str(exc), step=step.id, code="prepare") from None
        for value in call.secret_values:
            state.record.add_secret(value)
        effect = self._guard(step, call, api, state)
        state.record.event(
            "request", step=step.id, method=call.method, url=call.url,
            headers=dict(call.headers), body=call.trace_body(),
        )  # fmt: skip
        started = time.perf_counter()
        response, attempts = self._client(api, state).send(call, step=step.id, timeout=step.timeout)
        elapsed = time.perf_counter() - started
        if effect is not None:  # to the mode's sink: held in a dry run, nothing live
            why = response.extensions.get(PASSED_THROUGH)
            if why:  # a dry run's sign-in sent live (lam.runtime.sign_in): listed, never hidden
                state.record.event(
                    "passthrough", step=step.id, method=call.method, url=call.url,
                    reason=f"sign-in ({why}): the dry run goes on as the signed-in user",
                )  # fmt: skip
                effect = replace(effect, body="(credentials not recorded)", answered_by=PASSED_LIVE)
            state.mode.effects.add(effect)
        body_value, decode_problem = decode_body(response)
        media = response.headers.get("content-type", "")
        warnings = [decode_problem] if decode_problem else []
        warnings += response_problems(spec, op, response.status_code, body_value, media)
        state.record.event(
            "response", step=step.id, status=response.status_code,
            headers=dict(response.headers), body=body_value, attempts=attempts,
            seconds=round(elapsed, 4), problems=warnings,
        )  # fmt: skip
        if warnings and state.strict:
            raise StepFailed(
                f"{call.describe()}: the response breaks the spec: {warnings[0]}",
                step=step.id,
                code="response-invalid",
            )
        outcome = StepOutcome(
            summary=f"{call.describe()} -> {response.status_code} ({elapsed * 1000:.0f} ms)",
            response={
                "status": response.status_code,
                "headers": dict(response.headers),
                "body": body_value,
                "url": call.url,
                "method": call.method,
                # the sandbox made this answer up from the spec (lam.sandbox.transport)
                STAND_IN: bool(response.extensions.get(SANDBOX_ANSWER)),
            },
            detail={"attempts": attempts},
            warnings=warnings,
        )
        expect = state.resolve_with(step, step.expect, "expect", outcome.response)
        status_line = f"{call.describe()} -> {_status_text(response)}"
        outcome.expect_failures = _expect_failures(expect, outcome.response, status_line)
        if outcome.expect_failures and outcome.expect_failures[0].startswith(status_line):
            # The status says what went wrong; outputs read from an error body would only hide it.
            failed = StepFailed(
                "; ".join(outcome.expect_failures),
                step=step.id,
                location=f"{step.place}.expect",
                code="expect",
            )
            failed.response = outcome.response  # type: ignore[attr-defined]  # onFailure criteria
            raise failed
        if response.is_error and step.outputs:
            try:
                state.resolve_with(step, dict(step.outputs), "outputs", outcome.response)
            except StepFailed as exc:
                exc.message = f"{status_line}{_error_text(outcome.response)}: {exc.message}"
                raise
        return outcome

    def _guard(self, step: Step, call: PreparedCall, api: str, state: RunState) -> Effect | None:
        """Check the call with the guard; the effect it would have, if it changes anything."""
        _same_operation(self.specs[api], call, step.id)
        form = call.body if isinstance(call.body, Mapping) and _is_form(call.content_type) else None
        method = effective_method(call.method, call.headers, call.url, form)
        classification = classify_request(
            call.method, call.url, body=call.body, operation=call.operation
        )
        if method != call.method.upper():
            by_override = classify_request(method, call.url)
            if by_override.risk.rank > classification.risk.rank:
                note = f"a method override makes this {call.method} a {method}"
                classification = Classification(by_override.risk, (note, *by_override.reasons))
        facts = ActionFacts(
            kind="api",
            risk=classification.risk,
            api=api,
            operation=call.operation.operation_id,
            method=method,
            path=call.operation.path,
            host=url_host(call.url) or None,
            ui_text=None,
        )
        check = GuardCheck(
            step=step.id,
            origin="api",
            facts=facts,
            classification=classification,
            summary=call.describe(),
            detail={"body": call.trace_body()},
        )
        decision = state.guard.check(check)
        if classification.risk is Risk.READ:
            return None
        return Effect(step.id, call.method, call.url, call.trace_body(),
                      classification.risk.value, decision.verdict.value)  # fmt: skip

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


def _is_form(media: str | None) -> bool:
    kind = (media or "").split(";")[0].strip().lower()
    return kind in ("application/x-www-form-urlencoded", "multipart/form-data")


def _same_operation(spec: Spec, call: PreparedCall, step: str) -> None:
    """Refuse a call whose concrete URL is not the operation the plan named: a parameter value
    such as ``..`` or ``1%2F..%2Forders`` can move a request to another path once the client or
    the server normalizes it, past rules written for the named operation."""
    wire = urlsplit(str(httpx.URL(call.url))).path  # httpx removes dot segments
    plain = decode_escapes(wire)
    segments = plain.split("/")
    named = f"{call.operation.method.upper()} {call.operation.path}"
    problem = None
    if wire != urlsplit(call.url).path or "." in segments or ".." in segments:
        problem = "its parameters make it leave the operation's path"
    else:
        found = spec.match(call.method, plain)
        other = found[0] if found is not None else None
        if other is not None and (other.method, other.path) != (
            call.operation.method,
            call.operation.path,
        ):
            problem = f"a server reads it as {other.method.upper()} {other.path}"
    if problem is not None:
        raise BlockedError(
            f"{call.method} {call.url}: denied: the step names {named} but {problem}",
            step=step,
            steps=[step],
            code="denied",
        )


def _status_text(response: httpx.Response) -> str:
    """``404 Not Found``: the status code with its reason (the standard one if none was sent)."""
    reason = response.reason_phrase
    if not reason:
        try:
            reason = HTTPStatus(response.status_code).phrase
        except ValueError:
            reason = ""
    return f"{response.status_code} {reason}".rstrip()


def _expect_failures(
    expect: Mapping[str, Any], response: Mapping[str, Any], status_line: str
) -> list[str]:
    """What did not hold; a status that did not is first, led by ``status_line``."""
    status = response["status"]
    failures = []
    wanted = expect.get("status")
    if wanted is None:
        if not 200 <= status < 300:
            failures.append(f"{status_line}{_error_text(response)}, expected 2xx")
    elif status not in (wanted if isinstance(wanted, list) else [wanted]):
        failures.append(f"{status_line}{_error_text(response)}, expected {wanted}")
    if "body" in expect and not _contains(response["body"], expect["body"]):
        failures.append(f"body does not contain {expect['body']!r}")
    headers = {k.lower(): v for k, v in response["headers"].items()}
    for name, value in (expect.get("headers") or {}).items():
        if headers.get(name.lower()) != str(value):
            failures.append(f"header {name} is {headers.get(name.lower())!r}, expected {value!r}")
    return failures


def _error_text(response: Mapping[str, Any]) -> str:
    body = response.get("body")
    if isinstance(body, Mapping):
        for key in ("error", "message", "detail", "title"):
            if isinstance(body.get(key), str):
                return f" ({body[key][:120]})"
    return ""


def _contains(actual: Any, expected: Any) -> bool:
    """Expected is a subset of actual: mappings by key, everything else by equality."""
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            k in actual and _contains(actual[k], v) for k, v in expected.items()
        )
    return bool(actual == expected)
