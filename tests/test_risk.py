"""Risk of API operations and HTTP requests: method, words, x-lam-risk, and the reasons."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from lam.risk import classify_method, classify_operation, classify_request
from lam.risk.words import leading_verb, tokens, verb
from lam.types import Risk


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    operation_id: str | None = None
    summary: str = ""
    description: str = ""
    extensions: Mapping[str, Any] = field(default_factory=dict)


def test_tokens_split_every_identifier_style() -> None:
    assert tokens("cancelSubscription") == ("cancel", "subscription")
    assert tokens("PostPaymentIntentsIntentCapture") == (
        "post", "payment", "intents", "intent", "capture",
    )  # fmt: skip
    assert tokens("repos/delete-file") == ("repos", "delete", "file")
    assert tokens("payment_methods") == ("payment", "methods")
    assert tokens("getHTTPStatus") == ("get", "http", "status")
    assert tokens("Yes, I'm sure") == ("yes", "i", "am", "sure")  # lam.text spells it out
    assert tokens("/v1/invoices/{invoice}/pay") == ("v", "1", "invoices", "invoice", "pay")


def test_words_are_tokens_not_substrings() -> None:
    assert verb("display") is None
    assert verb("payment") is None
    assert verb("pay") == "pay"
    assert verb("deletes") is None  # identifiers use the base form
    assert verb("deletes", inflected=True) == "delete"
    assert verb("cancelled", inflected=True) == "cancel"
    assert verb("paid", inflected=True) == "pay"
    assert verb("removal", inflected=True) == "remove"


def test_leading_verb_of_summaries() -> None:
    assert leading_verb("Deletes a pet") == ("deletes", "delete")
    assert leading_verb("Bulk delete attestations") == ("delete", "delete")
    assert leading_verb("Update a refund") is None
    assert leading_verb("List deleted items") is None
    assert leading_verb("") is None


@pytest.mark.parametrize(
    ("method", "risk"),
    [("GET", Risk.READ), ("head", Risk.READ), ("OPTIONS", Risk.READ), ("POST", Risk.WRITE),
     ("PUT", Risk.WRITE), ("PATCH", Risk.WRITE), ("DELETE", Risk.DESTRUCTIVE),
     ("TRACE", Risk.WRITE)],
)  # fmt: skip
def test_method_alone(method: str, risk: Risk) -> None:
    found = classify_method(method)
    assert found.risk is risk
    assert found.reasons


def test_delete_method_is_destructive_with_reason() -> None:
    found = classify_operation(Op("DELETE", "/pets/{petId}", "deletePet", "Deletes a pet"))
    assert found.risk is Risk.DESTRUCTIVE
    assert found.reasons[0] == "DELETE method"


def test_operation_id_word_raises_post() -> None:
    found = classify_operation(Op("POST", "/subscriptions/{id}/actions", "cancelSubscription"))
    assert found.risk is Risk.DESTRUCTIVE
    assert "operationId 'cancelSubscription' says 'cancel'" in found.reasons
    assert found.reasons[0] == "POST method"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/v1/invoices/{invoice}/pay", "path segment 'pay' says 'pay'"),
        ("/v1/charges/{charge}/capture", "path segment 'capture' says 'capture'"),
        ("/v1/payment_intents/{intent}/cancel", "path segment 'cancel' says 'cancel'"),
        ("/v1/payouts/{payout}/reverse", "path segment 'reverse' says 'reverse'"),
        ("/v1/refunds", "path segment 'refunds': creating a refund moves money"),
        ("/v1/transfers", "path segment 'transfers': creating a transfer moves money"),
        ("/v1/treasury/outbound_payments", "path segment 'outbound_payments': creating a payment moves money"),
        ("/actions/runs/{id}/force-cancel", "path segment 'force-cancel' says 'cancel'"),
        ("/v1/payment_intents/{intent}/confirm", "path segment 'confirm': to confirm a payment moves money"),
    ],
)  # fmt: skip
def test_stripe_style_posts_are_destructive(path: str, reason: str) -> None:
    found = classify_operation(Op("POST", path))
    assert found.risk is Risk.DESTRUCTIVE
    assert reason in found.reasons


@pytest.mark.parametrize(
    ("path", "operation_id"),
    [
        ("/v1/refunds/{refund}", "PostRefundsRefund"),  # updates a refund's metadata
        ("/v1/apple_pay/domains", "PostApplePayDomains"),  # 'pay' names a product here
        ("/v1/payment_methods", "PostPaymentMethods"),  # a payment method is not a payment
        ("/v1/payment_intents", "PostPaymentIntents"),
        ("/v1/setup_intents/{intent}/confirm", "PostSetupIntentsIntentConfirm"),
        ("/users/{id}/display", "setDisplayName"),
    ],
)
def test_posts_that_only_name_risky_things_stay_write(path: str, operation_id: str) -> None:
    found = classify_operation(Op("POST", path, operation_id))
    assert found.risk is Risk.WRITE, found.reasons


def test_summary_leading_verb_raises_but_description_does_not() -> None:
    by_summary = classify_operation(Op("POST", "/pets/{id}/archive", None, "Remove a pet"))
    assert by_summary.risk is Risk.DESTRUCTIVE
    assert "summary 'Remove a pet' starts with 'remove'" in by_summary.reasons
    by_description = classify_operation(
        Op("POST", "/pets", None, "Add a pet", "Pets can later be deleted or removed.")
    )
    assert by_description.risk is Risk.WRITE


def test_get_is_never_raised_by_words() -> None:
    found = classify_operation(Op("GET", "/v1/payment_methods", "listPaymentMethods"))
    assert found.risk is Risk.READ
    found = classify_operation(Op("GET", "/pets/{id}/delete", "deletePetPreview", "Delete a pet"))
    assert found.risk is Risk.READ
    assert found.reasons == ("GET method",)


@pytest.mark.parametrize("value", ["read", "write", "destructive", " Destructive "])
def test_x_lam_risk_wins_and_says_so(value: str) -> None:
    op = Op("DELETE", "/pets/{id}", "deletePet", extensions={"x-lam-risk": value})
    found = classify_operation(op)
    assert found.risk is Risk(value.strip().lower())
    assert found.reasons == (f"x-lam-risk: {found.risk.value} (declared by the spec)",)


def test_x_lam_risk_can_raise_a_get() -> None:
    op = Op("GET", "/logout-everywhere", extensions={"x-lam-risk": "destructive"})
    assert classify_operation(op).risk is Risk.DESTRUCTIVE


def test_bad_x_lam_risk_is_ignored_with_a_reason() -> None:
    op = Op("POST", "/pets", "addPet", extensions={"x-lam-risk": "scary"})
    found = classify_operation(op)
    assert found.risk is Risk.WRITE
    assert any("x-lam-risk 'scary' ignored" in r for r in found.reasons)


def test_lam_spec_operation_satisfies_the_protocol() -> None:
    spec = pytest.importorskip("lam.spec")
    op = spec.Operation(
        method="POST", path="/v1/invoices/{invoice}/pay", operation_id="PostInvoicesInvoicePay",
        summary="", description="", tags=(), parameters=(), request_body=None, responses={},
        extensions={}, security=None,
    )  # fmt: skip
    assert classify_operation(op).risk is Risk.DESTRUCTIVE


# --- requests (the network guard) ---


@pytest.mark.parametrize(
    ("method", "url", "risk"),
    [
        ("GET", "http://127.0.0.1:8080/pets/3", Risk.READ),
        ("GET", "http://127.0.0.1:8080/pets/3/delete", Risk.DESTRUCTIVE),
        ("GET", "http://h/admin?action=delete&id=3", Risk.DESTRUCTIVE),
        ("GET", "http://h/deleted-items", Risk.READ),
        ("GET", "http://h/v1/payouts", Risk.READ),
        ("GET", "http://h/display/settings", Risk.READ),
        ("POST", "http://h/api/pets", Risk.WRITE),
        ("POST", "http://h/v1/invoices/in_123/pay", Risk.DESTRUCTIVE),
        ("POST", "http://h/v1/refunds", Risk.DESTRUCTIVE),
        ("POST", "http://h/v1/refunds/re_123", Risk.WRITE),
        ("POST", "http://h/api/delete/5", Risk.DESTRUCTIVE),
        ("DELETE", "http://h/api/pets/5", Risk.DESTRUCTIVE),
    ],
)
def test_request_by_method_and_url_words(method: str, url: str, risk: Risk) -> None:
    found = classify_request(method, url)
    assert found.risk is risk, found.reasons


def test_request_reason_names_the_word() -> None:
    found = classify_request("GET", "http://h/pets/3/delete")
    assert found.reasons == ("GET method", "path segment 'delete' says 'delete'")


def test_request_uses_the_operation_found_in_the_spec() -> None:
    op = Op("POST", "/v1/invoices/{invoice}/pay", "PostInvoicesInvoicePay")
    found = classify_request("POST", "http://h/v1/invoices/in_1/pay", operation=op)
    assert found.risk is Risk.DESTRUCTIVE
    assert found.reasons[0] == "operation PostInvoicesInvoicePay: POST method"


def test_request_words_still_raise_an_operation_without_x_lam_risk() -> None:
    op = Op("GET", "/pets/{id}/delete", "deletePreview")
    found = classify_request("GET", "http://h/pets/1/delete", operation=op)
    assert found.risk is Risk.DESTRUCTIVE
    assert "path segment 'delete' says 'delete'" in found.reasons


def test_request_with_x_lam_risk_operation_is_final() -> None:
    op = Op("GET", "/pets/{id}/delete", "deletePreview", extensions={"x-lam-risk": "read"})
    found = classify_request("GET", "http://h/pets/1/delete", operation=op, body=b"x")
    assert found.risk is Risk.READ
    assert found.reasons == ("x-lam-risk: read (declared by the spec)",)
