"""Risk classes of API operations and HTTP requests: read, write or destructive, with reasons.

An operation's risk starts from its HTTP method (GET/HEAD/OPTIONS read, POST/PUT/PATCH write,
DELETE destructive) and is raised to destructive by the words that name its action: the
operationId, the path's action segment (``/v1/invoices/{id}/pay``) and the summary's leading
verb. ``x-lam-risk`` on the operation wins over everything and says so. A GET is never raised
by words: the spec author says so with ``x-lam-risk`` when a GET destroys.

UI elements are classified in :mod:`lam.risk.ui`; its names are re-exported here.
docs/risk.md explains each rule and word.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from lam.risk.http import action_segment, body_reasons, classify_method, url_classification
from lam.risk.ui import ElementFacts, classify_ui, classify_ui_action
from lam.risk.words import PAYMENT_CONTEXT, SETTLING_VERBS, leading_verb, tokens, verb
from lam.types import Classification, Risk

__all__ = [
    "ElementFacts",
    "OperationLike",
    "classify_method",
    "classify_operation",
    "classify_request",
    "classify_ui",
    "classify_ui_action",
]


class OperationLike(Protocol):
    """What risk needs of :class:`lam.spec.Operation` (so it need not import lam.spec)."""

    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def operation_id(self) -> str | None: ...
    @property
    def summary(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def extensions(self) -> Mapping[str, Any]: ...


def classify_operation(op: OperationLike) -> Classification:
    """Classify one OpenAPI operation; every classification says why."""
    declared = _declared_risk(op.extensions)
    if isinstance(declared, Classification):
        return declared
    base = classify_method(op.method)
    reasons = list(base.reasons)
    if declared is not None:
        reasons.append(declared)
    if base.risk is Risk.READ:
        return Classification(Risk.READ, tuple(reasons))
    word_reasons = _operation_words(op)
    if word_reasons:
        return Classification(Risk.DESTRUCTIVE, (*reasons, *word_reasons))
    return Classification(base.risk, tuple(reasons))


def classify_request(
    method: str,
    url: str,
    *,
    body: object = None,
    operation: OperationLike | None = None,
) -> Classification:
    """Classify one HTTP request for the network guard.

    With ``operation`` (the caller matched the request to the app's spec) the operation's
    classification counts; an ``x-lam-risk`` on it is final, otherwise the URL's own words can
    still raise it (a safety net against specs that under-describe). ``body`` (a parsed form
    or JSON body) raises it when a field frameworks read as the action says a destructive verb
    (``action=delete_selected``, ``{"op": "purge"}``); other fields hold data, not intent.
    """
    own = url_classification(method, url)
    said = body_reasons(body) if own.risk is not Risk.DESTRUCTIVE else []
    if said:
        own = Classification(Risk.DESTRUCTIVE, (*own.reasons, *said))
    if operation is None:
        return own
    found = classify_operation(operation)
    if isinstance(_declared_risk(operation.extensions), Classification):
        return found
    op_name = operation.operation_id or f"{operation.method.upper()} {operation.path}"
    reasons = [f"operation {op_name}: {r}" for r in found.reasons]
    if own.risk.rank > found.risk.rank:
        return Classification(own.risk, (*reasons, *own.reasons))
    return Classification(found.risk, tuple(reasons))


def _declared_risk(extensions: Mapping[str, Any]) -> Classification | str | None:
    """``x-lam-risk`` as a final Classification, a note on a bad value, or None."""
    if "x-lam-risk" not in extensions:
        return None
    value = extensions["x-lam-risk"]
    if isinstance(value, str):
        try:
            risk = Risk(value.strip().lower())
        except ValueError:
            pass
        else:
            return Classification(risk, (f"x-lam-risk: {risk.value} (declared by the spec)",))
    return f"x-lam-risk {value!r} ignored: not read, write or destructive"


def _segments(path: str) -> list[tuple[str, bool]]:
    """Path segments as (text, is_template)."""
    out = []
    for seg in path.split("/"):
        if seg:
            out.append((seg, seg.startswith("{") and seg.endswith("}")))
    return out


def _operation_words(op: OperationLike) -> list[str]:
    reasons: list[str] = []
    segs = _segments(op.path)
    literal = [s for s, templ in segs if not templ]
    ends_literal = bool(segs) and not segs[-1][1]
    action = literal[-1] if literal else None
    if op.operation_id:
        # Tokens the operationId borrows from the path's other segments and parameters
        # (Stripe's PostApplePayDomains, PostRefundsRefund) name things, not the action.
        borrowed = {t for s, _ in segs if s != action for t in tokens(s)}
        for tok in tokens(op.operation_id):
            base = verb(tok)
            if base and tok not in borrowed:
                reasons.append(f"operationId {op.operation_id!r} says {tok!r}")
                break
    if action is not None:
        reason = action_segment(action, nouns=ends_literal)
        if reason:
            reasons.append(reason)
    if action is not None and ends_literal:
        settling = _settles_payment(action, literal)
        if settling:
            reasons.append(settling)
    lead = leading_verb(op.summary or "")
    if lead:
        reasons.append(f"summary {op.summary.strip()!r} starts with {lead[0]!r}")
    return reasons


def _settles_payment(action: str, literal: list[str]) -> str | None:
    """A reason when the action confirms, processes or finalizes a payment-like resource."""
    first = tokens(action)[0] if tokens(action) else ""
    if first not in SETTLING_VERBS:
        return None
    context = {t for seg in literal for t in tokens(seg)} & PAYMENT_CONTEXT
    if not context:
        return None
    return f"path segment {action!r}: to {first} a {sorted(context)[0]} moves money"
