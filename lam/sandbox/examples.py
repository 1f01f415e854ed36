"""Deterministic, schema-valid example values generated from OpenAPI schemas.

The spec's own ``example``/``examples``/``default``/``enum`` come first; otherwise a value is
built from the schema's type and constraints. Values depend only on the schema, the place they
are generated for (a JSON-pointer-like path) and the seed number, so a seeded simulator answers
the same way on every run.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["ExampleGenerator", "media_example"]

_sre_parser: Any = sys.modules.get("re._parser") or __import__("sre_parse")

Resolver = Callable[[Any], Any]

_MAX_DEPTH = 8
_OPTIONAL_DEPTH = 3
"""Optional properties are generated only this deep, so huge schemas give small values."""


def media_example(media: Mapping[str, Any], resolve: Resolver) -> tuple[bool, Any]:
    """The example a media type object carries (``example``, else the first ``examples``)."""
    if "example" in media:
        return True, media["example"]
    examples = media.get("examples")
    if isinstance(examples, Mapping):
        for entry in examples.values():
            entry = resolve(entry)
            if isinstance(entry, Mapping) and "value" in entry:
                return True, entry["value"]
    return False, None


class ExampleGenerator:
    """Builds example values for schemas; ``resolve`` follows ``$ref`` (``Spec.resolve``)."""

    def __init__(
        self,
        resolve: Resolver,
        *,
        seed: int = 0,
        use_examples: bool = True,
        check: Callable[[Mapping[str, Any], Any], bool] | None = None,
    ) -> None:
        self._resolve = resolve
        self._seed = seed
        self._use_examples = use_examples
        self._check = check
        """``check(schema, value)``: is the value valid? Spec examples that are not are skipped,
        and the ``oneOf`` branch that matches exactly one is preferred."""

    def generate(self, schema: Any, where: str = "", *, writing: bool = False) -> Any:
        """A value for ``schema``. ``writing`` leaves out readOnly properties (request bodies)."""
        value = self._value(schema, where, 0, frozenset(), writing)
        return None if value is _Omit else value

    def number(self, where: str, low: int, high: int) -> int:
        """A deterministic integer in ``[low, high]`` for the place ``where``."""
        digest = hashlib.blake2b(f"{self._seed}:{where}".encode(), digest_size=8).digest()
        span = max(high - low, 0) + 1
        return low + int.from_bytes(digest, "big") % span

    # -- internals ------------------------------------------------------------------------

    def _value(
        self, schema: Any, where: str, depth: int, seen: frozenset[str], writing: bool
    ) -> Any:
        if isinstance(schema, Mapping) and "$ref" in schema:
            ref = str(schema["$ref"])
            if ref in seen or depth > _MAX_DEPTH:
                return _Omit
            seen = seen | {ref}
            schema = self._resolve(schema)
        if not isinstance(schema, Mapping) or not schema:
            return "example"
        if self._use_examples:
            for key in ("example", "examples", "default"):
                if key not in schema:
                    continue
                value = schema[key]
                if key == "examples":
                    if not isinstance(value, list) or not value:
                        continue
                    value = value[0]
                if self._check is None or self._check(schema, value):
                    return value
        if "const" in schema:
            return schema["const"]
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            non_null = [v for v in enum if v is not None]
            return non_null[0] if non_null else enum[0]
        if "allOf" in schema:
            return self._all_of(schema, where, depth, seen, writing)
        for key in ("oneOf", "anyOf"):
            branches = schema.get(key)
            if isinstance(branches, list) and branches:
                first: Any = _Omit
                for branch in branches:
                    value = self._value(branch, where, depth + 1, seen, writing)
                    if value is _Omit:
                        continue
                    if key == "anyOf" or self._check is None or self._check(schema, value):
                        return value
                    first = value if first is _Omit else first
                return None if first is _Omit else first
        kind = _type_of(schema)
        if kind == "null":
            return None
        if kind == "object":
            return self._object(schema, where, depth, seen, writing)
        if kind == "array":
            return self._array(schema, where, depth, seen, writing)
        if kind == "integer":
            return self._integer(schema, where)
        if kind == "number":
            return float(self._integer(schema, where))
        if kind == "boolean":
            return self.number(where, 0, 1) == 1
        return self._string(schema, where)

    def _all_of(
        self, schema: Mapping[str, Any], where: str, depth: int, seen: frozenset[str], writing: bool
    ) -> Any:
        merged: dict[str, Any] = {}
        other: Any = _Omit
        objects = False
        for part in [*schema["allOf"], {k: v for k, v in schema.items() if k != "allOf"}]:
            value = self._value(part, where, depth + 1, seen, writing)
            if isinstance(value, dict):
                merged.update(value)
                objects = True
            elif value is not _Omit and other is _Omit:
                other = value
        # an object part wins over a string the annotations beside allOf (a description) gave:
        # {allOf: [ExternalUrlObject], description: ...} is an object, even when empty
        return merged if objects or other is _Omit else other

    def _object(
        self, schema: Mapping[str, Any], where: str, depth: int, seen: frozenset[str], writing: bool
    ) -> Any:
        props = schema.get("properties") or {}
        required = set(schema.get("required") or ())
        out: dict[str, Any] = {}
        for name, sub in props.items():
            if name not in required and depth >= _OPTIONAL_DEPTH:
                continue
            resolved = self._resolve(sub) if isinstance(sub, Mapping) else sub
            if isinstance(resolved, Mapping):
                if writing and resolved.get("readOnly"):
                    continue
                if not writing and resolved.get("writeOnly") and name not in required:
                    continue
            value = self._value(sub, f"{where}/{name}", depth + 1, seen, writing)
            if value is _Omit:
                if name in required:
                    out[name] = None if _nullable(resolved) else {}
                continue
            out[name] = value
        minimum = int(schema.get("minProperties") or 0)
        extra = schema.get("additionalProperties")
        index = 0
        while len(out) < minimum:
            value = self._value(extra, f"{where}/key{index}", depth + 1, seen, writing)
            out[f"key{index}"] = "value" if value is _Omit or extra in (None, True) else value
            index += 1
        return out

    def _array(
        self, schema: Mapping[str, Any], where: str, depth: int, seen: frozenset[str], writing: bool
    ) -> Any:
        count = max(int(schema.get("minItems") or 0), 1 if depth < _OPTIONAL_DEPTH else 0)
        maximum = schema.get("maxItems")
        if isinstance(maximum, int):
            count = min(count, maximum)
        items = schema.get("items", {})
        out = []
        for index in range(count):
            value = self._value(items, f"{where}/{index}", depth + 1, seen, writing)
            if value is _Omit:
                break
            out.append(value)
        return out

    def _integer(self, schema: Mapping[str, Any], where: str) -> int:
        low = schema.get("minimum")
        high = schema.get("maximum")
        if isinstance(schema.get("exclusiveMinimum"), int | float) and not isinstance(
            schema.get("exclusiveMinimum"), bool
        ):
            low = int(schema["exclusiveMinimum"]) + 1
        elif schema.get("exclusiveMinimum") is True and low is not None:
            low = int(low) + 1
        if isinstance(schema.get("exclusiveMaximum"), int | float) and not isinstance(
            schema.get("exclusiveMaximum"), bool
        ):
            high = int(schema["exclusiveMaximum"]) - 1
        elif schema.get("exclusiveMaximum") is True and high is not None:
            high = int(high) - 1
        lo = int(low) if low is not None else 1
        hi = int(high) if high is not None else lo + 999
        value = self.number(where, lo, max(lo, hi))
        step = schema.get("multipleOf")
        if isinstance(step, int) and step > 0:
            value = (value // step) * step
            if value < lo:
                value += step
        return value

    def _string(self, schema: Mapping[str, Any], where: str) -> str:
        fmt = schema.get("format")
        n = self.number(where, 1, 9999)
        text = _FORMATS[fmt](n) if fmt in _FORMATS else f"{_leaf(where)}-{n}"
        pattern = schema.get("pattern")
        if isinstance(pattern, str) and not _matches(pattern, text):
            text = next((c for c in _candidates(n) if _matches(pattern, c)), None) or _from_pattern(
                pattern, text
            )
        low = int(schema.get("minLength") or 0)
        if len(text) < low:
            text = text + "x" * (low - len(text))
        high = schema.get("maxLength")
        if isinstance(high, int) and len(text) > high:
            text = text[:high]
        return text


class _OmitType:
    """Marks a value that cannot be generated here (a recursive reference)."""


_Omit: Any = _OmitType()


def _type_of(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        non_null = [k for k in kind if k != "null"]
        return str(non_null[0]) if non_null else "null"
    if isinstance(kind, str):
        return kind
    if "properties" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return "string"


def _nullable(schema: Any) -> bool:
    if not isinstance(schema, Mapping):
        return True
    kind = schema.get("type")
    return bool(schema.get("nullable")) or (isinstance(kind, list) and "null" in kind)


def _leaf(where: str) -> str:
    leaf = where.rsplit("/", 1)[-1]
    return leaf if leaf and not leaf.isdigit() else "value"


def _matches(pattern: str, text: str) -> bool:
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return True


def _from_pattern(pattern: str, otherwise: str) -> str:
    """The shortest string the regex parser's tree of ``pattern`` spells, else ``otherwise``."""
    try:
        tree = _sre_parser.parse(pattern)
        text = _spell(list(tree))
    except (re.error, ValueError, TypeError, IndexError, RecursionError):
        return otherwise
    return text if _matches(pattern, text) else otherwise


def _spell(items: list[Any]) -> str:
    out = ""
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            out += chr(arg)
        elif name == "ANY":
            out += "a"
        elif name == "NOT_LITERAL":
            out += "b" if chr(arg) == "a" else "a"
        elif name == "IN":
            out += _spell_class(arg)
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _high, sub = arg
            out += _spell(list(sub)) * int(low)
        elif name == "SUBPATTERN":
            out += _spell(list(arg[-1]))
        elif name == "BRANCH":
            out += _spell(list(arg[1][0]))
        elif name == "CATEGORY":
            out += _spell_class([(op, arg)])
        elif name in ("AT", "ASSERT", "ASSERT_NOT", "GROUPREF"):
            continue
        else:
            raise ValueError(name)
    return out


def _spell_class(items: list[Any]) -> str:
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            return chr(arg)
        if name == "RANGE":
            return chr(arg[0])
        if name == "CATEGORY":
            return {"CATEGORY_DIGIT": "1", "CATEGORY_SPACE": " "}.get(str(arg), "a")
        if name == "NEGATE":
            return "~" if len(items) > 1 else "a"
    return "a"


def _candidates(n: int) -> list[str]:
    return [str(n), "a", "abc", f"a{n}", "A", "ABC", "a-b", "a_b", "a.b", "1.0", "v1", "#000000"]


_FORMATS: dict[str, Callable[[int], str]] = {
    "date-time": lambda n: f"2024-{n % 12 + 1:02d}-{n % 28 + 1:02d}T12:00:00Z",
    "date": lambda n: f"2024-{n % 12 + 1:02d}-{n % 28 + 1:02d}",
    "time": lambda n: f"12:{n % 60:02d}:00Z",
    "email": lambda n: f"user{n}@example.com",
    "uuid": lambda n: f"00000000-0000-4000-8000-{n:012d}",
    "uri": lambda n: f"https://example.com/{n}",
    "url": lambda n: f"https://example.com/{n}",
    "uri-reference": lambda n: f"/items/{n}",
    "uri-template": lambda n: f"https://example.com/{n}{{/id}}",
    "hostname": lambda n: f"host{n}.example.com",
    "ipv4": lambda n: f"192.0.2.{n % 250 + 1}",
    "ipv6": lambda n: f"2001:db8::{n % 9999:x}",
    "byte": lambda n: "ZXhhbXBsZQ==",
    "binary": lambda n: "example",
    "password": lambda n: f"secret-{n}",
}
