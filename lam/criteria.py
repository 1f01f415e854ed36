"""Arazzo 1.0 Criterion objects: parsed when a plan loads, evaluated after a step.

A criterion is ``{condition, context?, type?}`` (Arazzo 1.0, "Criterion Object"):

- ``simple`` (the default): a condition over runtime expressions and literals with ``==``,
  ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``!``, ``&&``, ``||`` and parentheses, e.g.
  ``$statusCode == 200 || $statusCode == 201``, ``$response.body#/token != null``.
  Literals are ``null``, ``true``, ``false``, numbers and quoted strings (``'text'``). Strings
  compare case-insensitively, as Arazzo says; a number and a numeric string (a header value)
  compare as numbers. An expression that names something absent (a JSON pointer into a body
  without that member, the outputs of a step a ``goto`` skipped) is ``null``.
- ``regex``: ``condition`` is a regular expression searched for in the ``context`` value (as
  text). It runs with a time limit: a response cannot stall the run with a pathological match.
- ``jsonpath``: ``condition`` is an RFC 9535 JSONPath query applied to the ``context`` value
  (``$response.body`` when no context is given); it holds when the query selects at least one
  node. The type may also be written as a Criterion Expression Type Object
  (``{type: jsonpath, version: draft-goessner-dispatch-jsonpath-00}``): lam evaluates it with
  RFC 9535, the standard that draft became.
- ``xpath`` is refused: lam's responses are JSON.

``evaluate(criterion, context)`` is the public entry; ``parse_criterion`` checks one when a plan
loads (a malformed one is a :class:`CriterionError` naming what is wrong).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import jsonpath_rfc9535
import regex

from lam.errors import LamError
from lam.expressions import Context, Expression, ExpressionError, as_text

__all__ = [
    "MAX_CRITERION_CHARS",
    "REGEX_SECONDS",
    "Criterion",
    "CriterionError",
    "criterion_expressions",
    "evaluate",
    "parse_criterion",
]

MAX_CRITERION_CHARS = 4_000
"""A condition longer than this is refused when the plan loads: criteria are for reading."""

REGEX_SECONDS = 1.0
"""A ``regex`` criterion that has not matched after this long does not hold."""

_MAX_TEXT = 1_000_000  # a regex is searched in at most the first million characters
_JSONPATH_VERSIONS = frozenset({"draft-goessner-dispatch-jsonpath-00", "rfc9535"})

Kind = Literal["simple", "regex", "jsonpath"]


class CriterionError(LamError):
    """A criterion that is malformed (an unknown type, a condition that does not parse)."""


@dataclass(frozen=True)
class Criterion:
    """One criterion, parsed: its kind, its condition and the context it reads."""

    kind: Kind
    condition: str
    context: Expression | None = None
    tree: Any = None  # a simple condition's syntax tree, a compiled regex or JSONPath query


def parse_criterion(raw: Any) -> Criterion:
    """A Criterion object (a mapping, as Arazzo writes it) checked and compiled."""
    if isinstance(raw, Criterion):
        return raw
    if not isinstance(raw, Mapping):
        raise CriterionError("a criterion is a mapping with a condition", code="criterion")
    unknown = sorted(k for k in raw if k not in ("condition", "context", "type") and not
                     str(k).startswith("x-"))  # fmt: skip
    if unknown:
        raise CriterionError(f"a criterion takes condition, context and type, not {unknown}",
                             code="criterion")  # fmt: skip
    condition = raw.get("condition")
    if not isinstance(condition, str) or not condition.strip():
        raise CriterionError("a criterion needs a condition (text)", code="criterion")
    if len(condition) > MAX_CRITERION_CHARS:
        raise CriterionError(
            f"a condition of {len(condition):,} characters (at most {MAX_CRITERION_CHARS:,})",
            code="criterion",
        )
    kind = _kind(raw.get("type", "simple"))
    context = None
    if raw.get("context") is not None:
        context = _expression(raw["context"], "context")
    if kind == "regex":
        if context is None:
            raise CriterionError("a regex criterion needs a context to search", code="criterion")
        try:
            return Criterion(kind, condition, context, regex.compile(condition))
        except regex.error as exc:
            raise CriterionError(f"regex {condition!r}: {exc}", code="criterion") from None
    if kind == "jsonpath":
        try:
            query = jsonpath_rfc9535.compile(condition)
        except jsonpath_rfc9535.JSONPathError as exc:
            raise CriterionError(f"JSONPath {condition!r}: {exc}", code="criterion") from None
        return Criterion(kind, condition, context, query)
    return Criterion(kind, condition, context, _Parser(condition).parse())


def criterion_expressions(criterion: Criterion) -> list[Expression]:
    """The runtime expressions a criterion reads (for the plan's reference checks)."""
    found = [criterion.context] if criterion.context is not None else []
    if criterion.kind == "simple":
        found += _expressions_in(criterion.tree)
    return found


def evaluate(criterion: Criterion | Mapping[str, Any], context: Context) -> bool:
    """Whether ``criterion`` holds against ``context`` (inputs, outputs, the step's response).

    A malformed criterion is a :class:`CriterionError`; one that reads something absent does
    not raise: the absent value is ``null``."""
    parsed = parse_criterion(criterion)
    if parsed.kind == "simple":
        return _truthy(_eval(parsed.tree, context))
    if parsed.kind == "regex":
        assert parsed.context is not None
        text = as_text(_value(parsed.context, context))[:_MAX_TEXT]
        try:
            return parsed.tree.search(text, timeout=REGEX_SECONDS) is not None
        except TimeoutError:
            return False
    target = (
        _value(parsed.context, context)
        if parsed.context is not None
        else _value(Expression.parse("$response.body"), context)
    )
    return len(parsed.tree.find(target)) > 0


def _kind(raw: Any) -> Kind:
    if isinstance(raw, Mapping):  # a Criterion Expression Type Object
        kind, version = raw.get("type"), raw.get("version")
        if kind == "jsonpath":
            if version not in _JSONPATH_VERSIONS:
                raise CriterionError(
                    f"jsonpath version {version!r} (lam reads "
                    f"{', '.join(sorted(_JSONPATH_VERSIONS))})",
                    code="criterion",
                )
            return "jsonpath"
        raw = kind
    if raw == "xpath":
        raise CriterionError("xpath criteria are not supported: lam reads JSON responses",
                             code="criterion-xpath")  # fmt: skip
    if raw not in ("simple", "regex", "jsonpath"):
        raise CriterionError(f"criterion type {raw!r} (simple, regex or jsonpath)",
                             code="criterion")  # fmt: skip
    return raw  # type: ignore[no-any-return]


def _expression(text: Any, what: str) -> Expression:
    if not isinstance(text, str):
        raise CriterionError(f"{what} is a runtime expression, not {text!r}", code="criterion")
    try:
        return Expression.parse(text)
    except ExpressionError as exc:
        raise CriterionError(f"{what}: {exc}", code="criterion") from None


def _value(expr: Expression, context: Context) -> Any:
    try:
        return context.resolve(expr)
    except ExpressionError:
        return None  # absent: a member the body lacks, a step that did not run




# -- simple conditions -------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<op>==|!=|<=|>=|&&|\|\||[<>!()\[\]])
      | (?P<expr>\$[^\s()\[\]!=<>&|]+)
      | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
_COMPARE = ("==", "!=", "<", "<=", ">", ">=")
_WORDS = {"null": None, "true": True, "false": False}


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    at: int


class _Parser:
    """A recursive-descent parser for Arazzo's simple conditions into nested tuples:
    ``("or", a, b)``, ``("and", a, b)``, ``("not", a)``, ``(OP, a, b)``, ``("index", a, i)``,
    ``("expr", Expression)``, ``("lit", value)``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = self._tokens(text)
        self.pos = 0

    def _tokens(self, text: str) -> list[_Token]:
        tokens, pos = [], 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                raise self._error(f"cannot read {text[pos:].strip()[:30]!r}")
            kind = match.lastgroup or ""
            tokens.append(_Token(kind, match.group(kind), match.start(kind)))
            pos = match.end()
        return tokens

    def _error(self, what: str) -> CriterionError:
        return CriterionError(f"condition {self.text!r}: {what}", code="criterion")

    def parse(self) -> Any:
        if not self.tokens:
            raise self._error("empty")
        tree = self._or()
        if self.pos < len(self.tokens):
            raise self._error(f"unexpected {self.tokens[self.pos].text!r}")
        return tree

    def _peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self, text: str) -> bool:
        token = self._peek()
        if token is not None and token.kind == "op" and token.text == text:
            self.pos += 1
            return True
        return False

    def _or(self) -> Any:
        tree = self._and()
        while self._take("||"):
            tree = ("or", tree, self._and())
        return tree

    def _and(self) -> Any:
        tree = self._not()
        while self._take("&&"):
            tree = ("and", tree, self._not())
        return tree

    def _not(self) -> Any:
        if self._take("!"):
            return ("not", self._not())
        return self._compare()

    def _compare(self) -> Any:
        left = self._operand()
        token = self._peek()
        if token is not None and token.kind == "op" and token.text in _COMPARE:
            self.pos += 1
            return (token.text, left, self._operand())
        return left

    def _operand(self) -> Any:
        token = self._peek()
        if token is None:
            raise self._error("ends where a value was expected")
        self.pos += 1
        tree: Any
        if token.kind == "op" and token.text == "(":
            tree = self._or()
            if not self._take(")"):
                raise self._error("a '(' is not closed")
        elif token.kind == "expr":
            tree = ("expr", _expression(token.text, f"condition {self.text!r}"))
        elif token.kind == "string":
            tree = ("lit", _unquote(token.text))
        elif token.kind == "number":
            number = float(token.text)
            tree = ("lit", int(number) if number.is_integer() and "." not in token.text
                    and "e" not in token.text.lower() else number)  # fmt: skip
        elif token.kind == "word" and token.text in _WORDS:
            tree = ("lit", _WORDS[token.text])
        else:
            raise self._error(
                f"{token.text!r} is not a value (quote text: '{token.text}')"
                if token.kind == "word"
                else f"unexpected {token.text!r}"
            )
        while self._take("["):
            index = self._operand()
            if not self._take("]"):
                raise self._error("a '[' is not closed")
            tree = ("index", tree, index)
        return tree


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


def _expressions_in(tree: Any) -> list[Expression]:
    if not isinstance(tree, tuple):
        return []
    if tree[0] == "expr":
        return [tree[1]]
    if tree[0] == "lit":
        return []
    return [e for part in tree[1:] for e in _expressions_in(part)]


def _eval(tree: Any, context: Context) -> Any:
    head = tree[0]
    if head == "lit":
        return tree[1]
    if head == "expr":
        return _value(tree[1], context)
    if head == "or":
        return _truthy(_eval(tree[1], context)) or _truthy(_eval(tree[2], context))
    if head == "and":
        return _truthy(_eval(tree[1], context)) and _truthy(_eval(tree[2], context))
    if head == "not":
        return not _truthy(_eval(tree[1], context))
    if head == "index":
        return _index(_eval(tree[1], context), _eval(tree[2], context))
    return _compare(head, _eval(tree[1], context), _eval(tree[2], context))


def _index(value: Any, key: Any) -> Any:
    if isinstance(value, Sequence) and not isinstance(value, str) and isinstance(key, int):
        return value[key] if -len(value) <= key < len(value) else None
    if isinstance(value, Mapping):
        return value.get(key if isinstance(key, str) else str(key))
    return None


def _truthy(value: Any) -> bool:
    return value is True


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _compare(op: str, left: Any, right: Any) -> bool:
    a, b = _number(left), _number(right)
    x: Any
    y: Any
    if a is not None and b is not None and not (isinstance(left, str) and isinstance(right, str)):
        x, y = a, b
    elif isinstance(left, str) and isinstance(right, str):
        x, y = left.casefold(), right.casefold()  # Arazzo: strings compare case-insensitively
    elif op in ("==", "!="):
        return _same(left, right) is (op == "==")
    else:
        return False  # no order between a number and text, or with null
    if op == "==":
        return bool(x == y)
    if op == "!=":
        return bool(x != y)
    if op == "<":
        return bool(x < y)
    if op == "<=":
        return bool(x <= y)
    if op == ">":
        return bool(x > y)
    return bool(x >= y)


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left is right
    return bool(left == right)
