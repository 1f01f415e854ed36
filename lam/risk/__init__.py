"""Risk classes: read, write or destructive, with reasons. Operations and requests
(:mod:`.classify`, :mod:`.http`), UI actions (:mod:`.ui`), and the words that raise a risk
(:mod:`.words`). docs/risk.md explains each rule. The rest of lam imports from here."""

from lam.risk.classify import (
    ElementFacts,
    OperationLike,
    classify_method,
    classify_operation,
    classify_request,
    classify_ui,
    classify_ui_action,
)

__all__ = [
    "ElementFacts",
    "OperationLike",
    "classify_method",
    "classify_operation",
    "classify_request",
    "classify_ui",
    "classify_ui_action",
]
