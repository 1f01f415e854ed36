"""The words that make an action risky, and how identifiers are cut into words.

Risk words are matched as whole tokens, never as substrings: ``displayName`` is the tokens
``display`` and ``name``, so it does not say ``pay``. Identifiers in camelCase, PascalCase,
snake_case, kebab-case and URL paths all split the same way: :func:`tokens` is
:func:`lam.text.words`, the one rule lam cuts text by (grounding and the planner use it too).

The vocabulary is curated, not learned; docs/risk.md gives the reason for each word.
"""

from __future__ import annotations

from lam.text import words as tokens

__all__ = [
    "CLOSE_OBJECTS",
    "CONFIRM_PHRASES",
    "DANGER_MARKERS",
    "DESTRUCTIVE_VERBS",
    "DISMISS_LEADS",
    "DISMISS_WORDS",
    "MONEY_NOUNS",
    "PAYMENT_CONTEXT",
    "SETTLING_VERBS",
    "WRITE_WORDS",
    "leading_verb",
    "money_noun",
    "tokens",
    "verb",
]

DESTRUCTIVE_VERBS: frozenset[str] = frozenset(
    {
        # deleting
        "delete", "remove", "destroy", "purge", "erase", "wipe", "drop", "truncate",
        "redact", "uninstall",
        # ending something for good
        "cancel", "revoke", "terminate", "void", "reverse", "close", "expire", "reject",
        "decline", "unsubscribe",
        # moving money
        "pay", "capture", "charge", "refund", "transfer", "payout", "withdraw",
        # sending something outward
        "send", "resend",
    }
)  # fmt: skip
"""Verbs (base form) that make a non-read action destructive."""

MONEY_NOUNS: frozenset[str] = frozenset(
    {
        "refund", "payout", "transfer", "charge", "payment", "reversal", "withdrawal",
        "disbursement", "capture", "topup",
    }
)  # fmt: skip
"""Nouns that, as the thing a POST creates (``POST /v1/refunds``), mean money moves."""

_NOUN_PLURALS = {word + "s": word for word in MONEY_NOUNS}

SETTLING_VERBS: frozenset[str] = frozenset({"confirm", "process", "finalize"})
"""Verbs that move money when they act on a payment (``/v1/payment_intents/{id}/confirm``)."""

PAYMENT_CONTEXT: frozenset[str] = frozenset(
    {"payment", "payments", "invoice", "invoices", "charge", "charges", "order", "orders"}
)
"""Path words that make a settling verb (confirm, process, finalize) move money."""

WRITE_WORDS: frozenset[str] = frozenset(
    {
        "save", "create", "update", "submit", "add", "edit", "apply", "confirm", "post",
        "publish", "upload", "register", "sign", "login", "log", "continue", "next", "finish",
        "done", "accept", "approve", "rename", "change", "set", "enable", "disable", "invite",
        "import", "export", "restore", "undo", "reply", "comment", "new",
    }
)  # fmt: skip
"""Words of UI controls that change state but do not destroy anything."""

DISMISS_WORDS: frozenset[str] = frozenset(
    {"cancel", "close", "dismiss", "no", "back", "nevermind", "x", "×", "got", "it"}
)
"""Tokens of a plain dismiss control ("Cancel", "Close", "Got it")."""

DISMISS_LEADS: tuple[tuple[str, ...], ...] = (
    ("no",),
    ("dont",),
    ("do", "not"),
    ("keep",),
    ("never", "mind"),
    ("not", "now"),
    ("go", "back"),
    ("take", "me", "back"),
    ("back",),
    ("stay",),
)
"""Token sequences that open a label which declines or keeps things ("No, take me back")."""

CLOSE_OBJECTS: frozenset[str] = frozenset(
    {
        "account", "accounts", "profile", "subscription", "organization", "org", "workspace",
        "store", "shop", "project", "repository", "membership", "tenant",
    }
)  # fmt: skip
"""What "Close ..." must name in a UI label to be destructive ("Close account")."""

CONFIRM_PHRASES: tuple[tuple[str, ...], ...] = (
    ("yes",),
    ("im", "sure"),
    ("i", "am", "sure"),
    ("i", "understand"),
    ("confirm",),
    ("proceed",),
    ("ok",),
    ("continue",),
)
"""Token sequences of a confirming control; destructive when the dialog is about destroying."""

DANGER_MARKERS: frozenset[str] = frozenset(
    {"danger", "destroy", "destructive", "delete", "remove", "trash", "erase", "purge", "wipe"}
)
"""Tokens of an element's id, class, test id or icon (``fa-trash``, ``#icon-delete``) that mark
it as a destroying control."""


def verb(token: str, *, inflected: bool = False) -> str | None:
    """The destructive verb ``token`` is, or None.

    Identifiers use the base form (``delete-file``); ``inflected`` also accepts the forms
    of running text ("Deletes a pet", "Deleting", "Cancelled") for summaries and labels.
    """
    if token in DESTRUCTIVE_VERBS:
        return token
    if not inflected:
        return None
    for ending, restore in (
        ("ies", "y"), ("es", ""), ("s", ""), ("ied", "y"), ("led", ""), ("ed", "e"),
        ("ed", ""), ("ling", ""), ("ing", "e"), ("ing", ""), ("ion", "e"), ("ation", ""),
        ("lation", ""), ("al", "e"), ("id", "y"),
    ):  # fmt: skip
        if token.endswith(ending) and len(token) > len(ending) + 1:
            stem = token[: -len(ending)] + restore
            if stem in DESTRUCTIVE_VERBS:
                return stem
    return None


def money_noun(token: str) -> str | None:
    """The money noun ``token`` is (singular or plural), or None."""
    if token in MONEY_NOUNS:
        return token
    return _NOUN_PLURALS.get(token)


_ADVERB_LEADS = frozenset({"bulk", "batch", "mass", "force", "permanently", "immediately"})


def leading_verb(text: str) -> tuple[str, str] | None:
    """The destructive verb a summary starts with, as (word as written, base form), or None.

    Summaries are imperative ("Delete a pet", "Cancels a subscription"); only the leading
    verb counts, so "Update a refund" or "List deleted items" do not raise the risk.
    """
    words = tokens(text)[:3]
    for i, word in enumerate(words):
        base = verb(word, inflected=True)
        if base is not None:
            return word, base
        if word not in _ADVERB_LEADS or i >= 1:
            return None
    return None
