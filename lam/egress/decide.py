"""The decision for one outgoing request, shared by both places that enforce it.

The network guard's route handler (:mod:`lam.runtime.network_guard`) and the run's guard proxy
(:mod:`lam.egress.proxy`) read a request the same way (:func:`read_outgoing`) and assess it
the same way (:func:`assess`: the plan's API route and operation, the classification, the
policy facts, whether it changes state, whether its host is the plan's). The route handler then
asks the run's guard, which knows the running step and its approvals. A request that reaches
the proxy without a grant from the route handler was sent by a channel the routes never saw;
:func:`judge_unattended` decides it on its own, without a step to credit and never prompting.

Nothing here imports the browser driver or the proxy: it is pure logic on values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs, urlsplit

from lam.policy import ActionFacts, Policy, url_host
from lam.risk import classify_request
from lam.risk.http import READ_METHODS, effective_method, url_classification
from lam.sandbox.simulator import Simulator
from lam.spec import Operation, Spec
from lam.types import Classification, Decision, Risk, Verdict

__all__ = [
    "ApiRoute",
    "Assessment",
    "Outgoing",
    "UnattendedWrites",
    "assess",
    "changes_state",
    "judge_unattended",
    "read_outgoing",
]

_MULTIPART_FIELD = re.compile(r'name="([^"]+)"\r?\n\r?\n([^\r\n]*)')


class UnattendedWrites(StrEnum):
    """What becomes of a state-changing request to the plan's hosts that no step sent: a run
    mode's rule (:attr:`lam.runtime.mode.RunMode.egress`), applied by :func:`judge_unattended`."""

    POLICY = "policy"  # a live run: it goes only if the policy allows it outright
    REFUSED = "refused"  # a dry run sends no state-changing request


@dataclass(frozen=True)
class ApiRoute:
    """An app's declared backend API: requests under ``base_url`` are matched to ``spec``."""

    app: str
    api: str
    spec: Spec
    base_url: str  # absolute, no trailing slash
    simulator: Simulator | None = None  # dry runs only

    def covers(self, url: str) -> bool:
        """Whether ``url`` lies under this API's base URL."""
        bare = url.split("?", 1)[0].split("#", 1)[0]
        return bare == self.base_url or bare.startswith(self.base_url + "/")


@dataclass(frozen=True)
class Outgoing:
    """A request as the guard reads it: the effective method (overrides applied), the URL,
    its ``host:port``, the parsed body (a form's fields, JSON, or text) and the raw bytes."""

    method: str
    url: str
    host: str
    body: Any
    raw: bytes
    form: bool


def read_outgoing(method: str, url: str, headers: Mapping[str, str], raw: bytes) -> Outgoing:
    """Read one request: its body by media type, and the method it really asks for (a
    method-override header or a ``_method`` form field counts)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    media = lowered.get("content-type", "").split(";")[0].strip().lower()
    form = media in ("application/x-www-form-urlencoded", "multipart/form-data")
    body: Any = None
    if raw:
        text = raw.decode("utf-8", "replace")
        if media == "application/x-www-form-urlencoded":
            fields = parse_qs(text, keep_blank_values=True)
            body = {k: v[0] if len(v) == 1 else v for k, v in fields.items()}
        elif media.endswith("json"):
            try:
                body = json.loads(text)
            except ValueError:
                body = text[:2000]
        else:
            body = text[:2000]
    named: Mapping[str, Any] | None = body if form and isinstance(body, Mapping) else None
    if media == "multipart/form-data" and raw:
        named = dict(_MULTIPART_FIELD.findall(raw.decode("utf-8", "replace")))
    real = effective_method(method, lowered, url, named)
    return Outgoing(real, url, url_host(url), body, raw, form)


def changes_state(method: str, url: str) -> bool:
    """Whether a request may change something: a method other than GET/HEAD/OPTIONS, or a read
    whose URL says it acts (``GET /items/3/delete``)."""
    return method not in READ_METHODS or url_classification(method, url).risk is not Risk.READ


@dataclass(frozen=True)
class Assessment:
    """What the guard knows about one request before anyone decides."""

    request: Outgoing
    api_route: ApiRoute | None
    operation: Operation | None
    classification: Classification
    facts: ActionFacts
    changing: bool
    allowed_host: bool


def assess(
    out: Outgoing, routes: Sequence[ApiRoute], policy: Policy, declared_hosts: Iterable[str]
) -> Assessment:
    """Classify ``out`` (through the plan's API spec when one covers it) and gather the facts
    a policy rule matches on."""
    api_route = next((r for r in routes if r.covers(out.url)), None)
    op = None
    if api_route is not None:
        found = api_route.spec.match(out.method, urlsplit(out.url).path)
        op = found[0] if found else None
    classification = classify_request(out.method, out.url, body=out.body, operation=op)
    facts = ActionFacts(
        kind="request",
        risk=classification.risk,
        api=api_route.api if api_route and op else None,
        operation=op.operation_id if op else None,
        method=out.method,
        path=op.path if op else urlsplit(out.url).path,
        host=out.host,
        ui_text=None,
    )
    return Assessment(
        out,
        api_route,
        op,
        classification,
        facts,
        changing=changes_state(out.method, out.url),
        allowed_host=policy.host_allowed(out.host, declared_hosts),
    )


def judge_unattended(found: Assessment, policy: Policy, *, writes: UnattendedWrites) -> Decision:
    """The verdict for a request no step sent through the route handler (it reached the proxy
    without a grant). Nobody can approve it, so anything that would need approval is refused:

    - a host outside the plan: refused;
    - destructive: refused;
    - with ``writes`` REFUSED (a dry run), anything that changes state: refused;
    - a read on the plan's hosts: allowed;
    - a plain write in a live run: allowed only if the policy allows it outright.
    """
    out = found.request
    if not found.allowed_host:
        return Decision(Verdict.DENY, (f"host {out.host or '(none)'} is outside the plan",))
    if found.classification.risk is Risk.DESTRUCTIVE:
        return Decision(
            Verdict.DENY,
            ("destructive, and no step of the plan sent it", *found.classification.reasons),
        )
    if not found.changing:
        return Decision(Verdict.ALLOW, ("a read on one of the plan's hosts",))
    if writes is UnattendedWrites.REFUSED:
        return Decision(Verdict.DENY, ("a dry run sends no state-changing request",))
    decision = policy.decide(found.facts)
    if decision.verdict is Verdict.ALLOW:
        return decision
    return Decision(
        Verdict.DENY, ("no step of the plan sent it, so nobody can approve it", *decision.reasons)
    )
