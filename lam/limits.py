"""Limits on what one document may hold, enforced while it is parsed.

A few hundred bytes of YAML can name a billion values through aliases, a JSON file can nest
arrays deeper than Python's stack, and a 5,000-digit number cannot even be printed. So every
plan, policy, spec, recording and input value lam reads goes through the two readers here,
which refuse such input while parsing it, before any other code walks it:

* :func:`load_yaml` composes libyaml's events (or PyYAML's, without libyaml) itself, counting
  every node, an alias as a full copy of the node it names, so the count is what a walk of the
  result would meet; it refuses nesting, strings and numbers over the limits and an alias to a
  node that contains it.
* :func:`load_json` parses with :mod:`json`, numbers through hooks that refuse long or
  non-finite ones, then walks the result once for depth and string length.

A refusal is an :class:`OverLimit` carrying the place (``line 3, column 7`` or a path such as
``steps[0].body``); :mod:`lam.documents` turns it into the caller's error with the file name.
The limits themselves are listed in docs/limits.md.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import AliasEvent, ScalarEvent
from yaml.nodes import Node, ScalarNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

__all__ = [
    "DOCUMENT_LIMITS",
    "RESPONSE_LIMITS",
    "SPEC_LIMITS",
    "Limits",
    "OverLimit",
    "load_json",
    "load_yaml",
]


@dataclass(frozen=True)
class Limits:
    """How big one document may be once parsed. See docs/limits.md for why each value."""

    max_depth: int = 64
    """Nesting: a value inside this many mappings and lists (the top level is depth 1)."""
    max_nodes: int = 100_000
    """Keys, values and collections counted together; an alias counts as a copy of its node."""
    max_string: int = 1_000_000
    """Characters in one string or key."""
    max_number: int = 100
    """Characters in one number as written (``-1.5e10`` is 7)."""


DOCUMENT_LIMITS = Limits()
"""Plans, policies, recordings, seeds and input values: written or read by a person."""

SPEC_LIMITS = Limits(max_nodes=1_000_000)
"""OpenAPI documents: GitHub's REST spec, the biggest lam targets, has about 520,000 nodes."""


RESPONSE_LIMITS = Limits(max_depth=100, max_nodes=10_000_000, max_string=100_000_000)
"""JSON response bodies from the servers a run talks to: bigger, never lam's to refuse outright
(an over-limit body is kept as text and the step says why), but never deeper than lam's
recursive checks can follow."""


class OverLimit(Exception):
    """A document breaks a limit (or is not a finite, acyclic tree).

    ``location`` is ``line L, column C`` in the text, or the path of keys and indexes to the
    value (``["steps", 0, "body"]``) when only the parsed value knows where it is.
    """

    def __init__(
        self,
        message: str,
        location: str | list[str | int] | None = None,
        code: str = "too-large",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.code = code


def _where(mark: Any) -> str | None:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else None


# ------------------------------------------------------------------------------------ YAML

_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_NumberTags = (_INT_TAG, _FLOAT_TAG)


class _CountingComposer(Composer):
    """PyYAML's composer, counting nodes and depth as it builds the node graph.

    The composer is the one place where an alias is still visible as an alias, so this is
    where its cost is charged: each alias adds the node count and height its anchor had.
    """

    limits: Limits

    def __init__(self) -> None:
        super().__init__()
        self._nodes = 0
        self._depth = 0  # nodes open around the one being composed
        self._deepest = 0  # deepest level reached inside the node being composed
        self._sizes: dict[str, tuple[int, int]] = {}  # anchor -> (nodes, height)

    def _charge(self, nodes: int, mark: Any) -> None:
        self._nodes += nodes
        if self._nodes > self.limits.max_nodes:
            raise OverLimit(
                f"more than {self.limits.max_nodes:,} keys and values (an alias counts as a "
                "copy of what it names)",
                _where(mark),
            )

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()  # type: ignore[attr-defined]
        level = self._depth + 1
        if isinstance(event, AliasEvent):
            known = self._sizes.get(str(event.anchor))
            if known is None:
                if event.anchor in self.anchors:
                    raise OverLimit(
                        f"alias *{event.anchor} refers to a node that contains it",
                        _where(event.start_mark),
                        code="syntax",
                    )
                return super().compose_node(parent, index)  # PyYAML words "undefined"
            nodes, height = known
            self._too_deep(level + height - 1, event.start_mark)
            self._deepest = max(self._deepest, level + height - 1)
            self._charge(nodes, event.start_mark)
            return super().compose_node(parent, index)
        self._too_deep(level, event.start_mark)
        self._charge(1, event.start_mark)
        if isinstance(event, ScalarEvent):
            if len(event.value) > self.limits.max_string:
                raise OverLimit(
                    f"a string of {len(event.value):,} characters, more than the "
                    f"{self.limits.max_string:,} allowed",
                    _where(event.start_mark),
                )
            if "\x00" in event.value:  # only an escape ("\0") can put one there
                raise OverLimit(
                    "a NUL character (\\0), which no plan, policy or spec needs",
                    _where(event.start_mark),
                    code="syntax",
                )
        before, outer_deepest = self._nodes - 1, self._deepest
        self._depth, self._deepest = level, level
        node = super().compose_node(parent, index)
        height = self._deepest - level + 1
        self._depth, self._deepest = level - 1, max(outer_deepest, self._deepest)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self._sizes[str(anchor)] = (self._nodes - before, height)
        if (
            isinstance(node, ScalarNode)
            and node.tag in _NumberTags
            and len(node.value) > self.limits.max_number
        ):
            raise OverLimit(
                f"a number of {len(node.value):,} characters, more than the "
                f"{self.limits.max_number} allowed",
                _where(node.start_mark),
            )
        return node

    def _too_deep(self, level: int, mark: Any) -> None:
        if level > self.limits.max_depth:
            raise OverLimit(f"nested more than {self.limits.max_depth} deep", _where(mark))


def _construct_float(loader: SafeConstructor, node: ScalarNode) -> float:
    value = loader.construct_yaml_float(node)
    if not math.isfinite(value):
        raise OverLimit(
            f"{node.value!r} is not a finite number (JSON has no NaN or infinity)",
            _where(node.start_mark),
        )
    return value


def _construct_str(loader: SafeConstructor, node: ScalarNode) -> str:
    # Timestamps stay strings, as they would be in JSON.
    return str(loader.construct_scalar(node))


def _construct_unique_mapping(loader: SafeConstructor, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node)  # type: ignore[no-untyped-call]
        try:
            hash(key)
        except TypeError:
            raise ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            ) from None
        if key in mapping:
            raise ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        mapping[key] = loader.construct_object(value_node)  # type: ignore[no-untyped-call]
    return mapping


_CParser: type[Any] | None
try:
    from yaml._yaml import CParser as _CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _CParser = None

if _CParser is not None:

    class _Base(_CountingComposer, _CParser, SafeConstructor, Resolver):  # type: ignore[misc, valid-type]
        """libyaml's scanner and parser feeding the counting composer."""

        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)  # type: ignore[misc]
            _CountingComposer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

else:  # pragma: no cover - PyYAML built without libyaml: its own parser, same events

    class _Base(  # type: ignore[no-redef]
        _CountingComposer, Reader, Scanner, Parser, SafeConstructor, Resolver
    ):
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            _CountingComposer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)


def _loader_class(limits: Limits, *, unique_keys: bool) -> type[Any]:
    class _Loader(_Base):
        pass

    _Loader.limits = limits
    _Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_str)  # type: ignore[type-var]
    _Loader.add_constructor(_FLOAT_TAG, _construct_float)  # type: ignore[type-var]
    if unique_keys:
        _Loader.add_constructor(  # type: ignore[type-var]
            yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
        )
    return _Loader


_LOADERS: dict[tuple[Limits, bool], type[Any]] = {}


def load_yaml(text: str, limits: Limits, *, unique_keys: bool = True) -> Any:
    """Parse YAML within ``limits``; ``unique_keys=False`` lets a later duplicate key win.

    Raises :class:`OverLimit` or a :class:`yaml.YAMLError` (bad syntax).
    """
    key = (limits, unique_keys)
    if key not in _LOADERS:
        _LOADERS[key] = _loader_class(limits, unique_keys=unique_keys)
    loader = _LOADERS[key](text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


# ------------------------------------------------------------------------------------ JSON


class _NumberRefused(Exception):
    pass


def _number_hooks(limits: Limits) -> dict[str, Callable[[str], Any]]:
    def parse_int(text: str) -> int:
        if len(text) > limits.max_number:
            raise _NumberRefused
        return int(text)

    def parse_float(text: str) -> float:
        value = float(text)
        if len(text) > limits.max_number or not math.isfinite(value):
            raise _NumberRefused
        return value

    def parse_constant(text: str) -> Any:
        raise _NumberRefused

    return {"parse_int": parse_int, "parse_float": parse_float, "parse_constant": parse_constant}


_ODD_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_ODD = re.compile("[\x00\ud800-\udfff]")


def load_json(text: str, limits: Limits) -> Any:
    """Parse JSON within ``limits``. Raises :class:`OverLimit` or :class:`json.JSONDecodeError`."""
    try:
        document = json.loads(text, **_number_hooks(limits))  # type: ignore[arg-type]
    except (_NumberRefused, RecursionError):
        raise _locate(text, limits) from None
    # A NUL or a lone surrogate can only come from an escape: look for them in the parsed
    # strings only when the text has such an escape.
    escaped = _ODD_ESCAPE.search(text) is not None
    problem = _tree_problem(document, limits, escaped=escaped)
    if problem is not None:
        raise _locate_in_tree(document, limits, problem, escaped=escaped) from None
    return document


def _tree_problem(document: Any, limits: Limits, *, escaped: bool) -> str | None:
    """The first limit a parsed JSON value breaks ('depth', 'nodes' or 'string'), fast and
    without paths: _locate_in_tree finds the place once one is known to be broken."""
    max_string = limits.max_string
    if type(document) is str:
        return "string" if _string_problem(document, limits, escaped=escaped) else None
    if type(document) is not dict and type(document) is not list:
        return None  # a number, true, false or null (numbers were checked by the hooks)
    stack: list[tuple[Any, int]] = [(document, 1)]
    nodes = 1
    while stack:
        node, depth = stack.pop()
        if depth > limits.max_depth:
            return "depth"
        children = node.values() if type(node) is dict else node
        if type(node) is dict:
            nodes += 2 * len(node)
            for key in node:
                if len(key) > max_string or (escaped and _ODD.search(key)):
                    return "string"
        else:
            nodes += len(node)
        if nodes > limits.max_nodes:
            return "nodes"
        for child in children:
            kind = type(child)
            if kind is dict or kind is list:
                if child:
                    stack.append((child, depth + 1))
                elif depth + 1 > limits.max_depth:
                    return "depth"
            elif kind is str and (len(child) > max_string or (escaped and _ODD.search(child))):
                return "string"
    return None


def _string_problem(text: str, limits: Limits, *, escaped: bool) -> str | None:
    if len(text) > limits.max_string:
        return f"{len(text):,} characters, more than the {limits.max_string:,} allowed"
    odd = _ODD.search(text) if escaped else None
    if odd and odd.group() == "\x00":
        return "a NUL character (\\u0000), which no plan, policy or spec needs"
    if odd:
        return f"\\u{ord(odd.group()):04x} alone is not a character (half a surrogate pair)"
    return None


def _locate_in_tree(document: Any, limits: Limits, problem: str, *, escaped: bool) -> OverLimit:
    """The path to the first node breaking ``problem`` (slow path: only on refusal)."""
    stack: list[tuple[Any, list[str | int]]] = [(document, [])]
    nodes = 0
    while stack:
        node, path = stack.pop()
        nodes += 1 if not path or isinstance(path[-1], int) else 2  # a key and its value
        if problem == "nodes" and nodes > limits.max_nodes:
            return OverLimit(f"more than {limits.max_nodes:,} keys and values", path)
        if problem == "depth" and len(path) + 1 > limits.max_depth:
            return OverLimit(f"nested more than {limits.max_depth} deep", path)
        if isinstance(node, str) and (why := _string_problem(node, limits, escaped=escaped)):
            return OverLimit(f"a string of {why}" if why[0].isdigit() else why, path)
        if isinstance(node, dict | list):
            items = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
            for key, child in reversed(items):
                if isinstance(key, str) and (why := _string_problem(key, limits, escaped=escaped)):
                    return OverLimit(f"a key of {why}" if why[0].isdigit() else why, path)
                stack.append((child, [*path, key]))
    return OverLimit("the document breaks a limit")  # not reached: _tree_problem found one


# A JSON token that matters for depth or numbers; strings are matched whole so that brackets
# and digits inside them are skipped.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[{]|[\]}]|-?(?:NaN|Infinity)|-?[0-9][0-9.eE+\-]*')


def _locate(text: str, limits: Limits) -> OverLimit:
    """Line and column of the first token that nests too deep or is a refused number."""
    depth = 0
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        first = token[0]
        if first == "[" or first == "{":
            depth += 1
            if depth > limits.max_depth:
                return OverLimit(
                    f"nested more than {limits.max_depth} deep", _text_place(text, match.start())
                )
        elif first == "]" or first == "}":
            depth -= 1
        elif first != '"':
            if len(token) > limits.max_number:
                message = (
                    f"a number of {len(token):,} characters, more than the "
                    f"{limits.max_number} allowed"
                )
            elif "N" in token or "I" in token or not _finite(token):
                message = f"{token[:20]!r} is not a finite number"
            else:
                continue
            return OverLimit(message, _text_place(text, match.start()))
    return OverLimit(f"nested more than {limits.max_depth} deep")


def _text_place(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


def _finite(token: str) -> bool:
    try:
        return math.isfinite(float(token))
    except ValueError:
        return True  # not a number json accepted: not the one it refused
