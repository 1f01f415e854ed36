"""Reading an OpenAPI document and its relative-file ``$ref`` targets into one document.

Files reached by a relative ``$ref`` (``./common.yaml#/components/schemas/Pet``) are bundled
into the main document under ``x-lam-files`` and their refs rewritten to local ones, so the rest
of lam (and the cache) only ever sees one document with local refs. Every ``$ref`` is then checked
once: its target must exist and a chain of refs must end somewhere (A -> B -> A never does).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin

from lam import json_pointer
from lam.documents import parse_text, read_text
from lam.errors import SpecError
from lam.limits import SPEC_LIMITS

__all__ = [
    "BUNDLE_KEY",
    "FAST_PARSE_BYTES",
    "MAX_BUNDLE_FILES",
    "MAX_REF_CHAIN",
    "MAX_SPEC_BYTES",
    "Bundle",
    "SourceText",
    "bundle_document",
    "check_refs",
    "lookup_pointer",
    "read_source",
]

BUNDLE_KEY = "x-lam-files"
"""Where files reached by relative refs live inside the bundled document."""

MAX_SPEC_BYTES = 40 * 1024 * 1024
"""Larger specs are refused unread: three times GitHub's REST spec, the biggest lam targets."""

MAX_BUNDLE_FILES = 1_000
"""A spec may reach at most this many other files through relative ``$ref``."""

FAST_PARSE_BYTES = 1_000_000
"""Documents larger than this are parsed with the fast (C) parser."""

_MISSING = object()


class SourceText:
    """One file's bytes with the name used in errors and its content hash.

    The text is decoded only when asked for: a cache hit needs the hash, not the text.
    """

    __slots__ = ("_text", "data", "name", "sha256")

    def __init__(self, name: str, data: bytes, text: str | None = None) -> None:
        self.name = name
        self.data = data
        self.sha256 = hashlib.sha256(data).hexdigest()
        self._text = text

    @property
    def text(self) -> str:
        """The file as text; SpecError (with the line) when it is not UTF-8."""
        if self._text is None:
            try:
                self._text = self.data.decode("utf-8").removeprefix("\ufeff")
            except UnicodeDecodeError:
                # read_text words the error with its line; the file said it would fail.
                self._text = read_text(Path(self.name), error=SpecError, max_bytes=MAX_SPEC_BYTES)
        return self._text


def read_source(name: str) -> SourceText:
    """Read a spec file or URL; every failure is a SpecError naming it."""
    if name.startswith(("http://", "https://")):
        return _fetch(name)
    path = Path(name)
    try:
        if path.is_file() and path.stat().st_size <= MAX_SPEC_BYTES:
            return SourceText(name, path.read_bytes())
    except OSError:
        pass  # read_text below says what is wrong, in lam's words
    text = read_text(path, error=SpecError, max_bytes=MAX_SPEC_BYTES)
    return SourceText(name, text.encode("utf-8"), text)


FETCH_SECONDS = 60.0
"""A spec given by URL must arrive within this long, however slowly its server sends it."""


def _fetch(url: str) -> SourceText:
    import httpx  # only when a spec is given by URL

    too_big = f"more than the {MAX_SPEC_BYTES / 1e6:.0f} MB allowed"
    deadline = time.monotonic() + FETCH_SECONDS
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=30.0) as response:
            if response.status_code != 200:
                raise SpecError(
                    f"cannot fetch: HTTP {response.status_code}", file=url, code="unreadable"
                )
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_SPEC_BYTES:
                raise SpecError(
                    f"{int(declared) / 1e6:.1f} MB, {too_big}", file=url, code="too-large"
                )
            chunks: list[bytes] = []
            size = 0
            # Read in pieces so a server that never stops (or drips) is cut off, not buffered.
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_SPEC_BYTES:
                    raise SpecError(f"the response is {too_big}", file=url, code="too-large")
                if time.monotonic() > deadline:
                    raise SpecError(
                        f"cannot fetch: not complete after {FETCH_SECONDS:.0f} s",
                        file=url,
                        code="unreadable",
                    )
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise SpecError(f"cannot fetch: {exc}", file=url, code="unreadable") from None
    content = b"".join(chunks)
    try:
        text = content.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise SpecError("not UTF-8 text", file=url, code="encoding") from None
    return SourceText(url, content, text)


def parse_source(source: SourceText) -> Any:
    """Parse a file's text as JSON or YAML."""
    fast = len(source.text) > FAST_PARSE_BYTES
    return parse_text(source.text, name=source.name, error=SpecError, fast=fast, limits=SPEC_LIMITS)


def lookup_pointer(document: Any, pointer: str) -> Any:
    """The node a ``$ref`` fragment's pointer (``/components/schemas/Pet``, percent-encoded as
    in a URI) reaches, or ``_MISSING``."""
    try:
        return json_pointer.resolve(document, pointer, fragment=True)
    except (json_pointer.PointerNotFound, ValueError):
        return _MISSING


@dataclass
class Bundle:
    """The merged document and the files it was made from."""

    document: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)  # bundle key -> file name
    hashes: dict[str, str] = field(default_factory=dict)  # file name -> sha256

    def file_of(self, pointer: str) -> tuple[str | None, str]:
        """The file a bundled pointer lies in and the pointer inside that file."""
        prefix = f"/{BUNDLE_KEY}/"
        if pointer.startswith(prefix):
            key, _, rest = pointer[len(prefix) :].partition("/")
            name = self.files.get(json_pointer.unescape(key))
            return name, "/" + rest if rest else ""
        return None, pointer


def _walked(key: Any) -> bool:
    # Examples are data and x-* extensions are opaque: a "$ref" there is not a Reference.
    return key != "example" and (not str(key).startswith("x-") or key == BUNDLE_KEY)


def _iter_refs(node: Any, path: list[str]) -> Iterator[tuple[dict[str, Any], list[str]]]:
    """Every mapping holding a string ``$ref``, with its pointer tokens (examples skipped)."""
    stack: list[tuple[Any, list[str]]] = [(node, path)]
    while stack:
        current, where = stack.pop()
        if isinstance(current, dict):
            if isinstance(current.get("$ref"), str):
                yield current, where
            for key, value in current.items():
                if _walked(key) and isinstance(value, dict | list):
                    stack.append((value, [*where, str(key)]))
        elif isinstance(current, list):
            for i, value in enumerate(current):
                if isinstance(value, dict | list):
                    stack.append((value, [*where, str(i)]))


_EXTERNAL_REF = re.compile(r"""\$ref['"]?\s*:\s*['"]?(?!['"#])\S""")


def _has_external_refs(text: str) -> bool:
    # Cheap pre-check: a document whose every $ref starts with '#' needs no bundling walk.
    return _EXTERNAL_REF.search(text) is not None


def bundle_document(root: SourceText, document: dict[str, Any]) -> Bundle:
    """Bring every file reached by a relative ``$ref`` into ``document`` (in place)."""
    bundle = Bundle(document, hashes={root.name: root.sha256})
    if not _has_external_refs(root.text):
        return bundle
    keys: dict[str, str] = {}  # file name -> bundle key
    total = len(root.data)  # every file counts against one spec's size limit
    pending: list[tuple[str, Any, str]] = [(root.name, document, "")]
    while pending:
        name, doc, prefix = pending.pop()
        for holder, where in list(_iter_refs(doc, [])):
            ref: str = holder["$ref"]
            target, _, fragment = ref.partition("#")
            if not target:
                holder["$ref"] = f"#{prefix}{fragment}"
                continue
            target_name = _join(name, target)
            if target_name not in keys:
                if len(keys) >= MAX_BUNDLE_FILES:
                    raise SpecError(
                        f"$ref to {target_name}: more than {MAX_BUNDLE_FILES} files in one spec",
                        file=name,
                        location=_pointer(where) + "/$ref",
                        code="too-large",
                    )
                loaded = _load_external(target_name, name, where)
                total += len(loaded[0].data)
                if total > MAX_SPEC_BYTES:
                    raise SpecError(
                        f"$ref to {target_name}: the spec and the files it refers to hold "
                        f"more than the {MAX_SPEC_BYTES / 1e6:.0f} MB allowed for one spec",
                        file=name,
                        location=_pointer(where) + "/$ref",
                        code="too-large",
                    )
                key = f"f{len(keys)}"
                keys[target_name] = key
                bundle.files[key] = target_name
                bundle.hashes[target_name] = loaded[0].sha256
                document.setdefault(BUNDLE_KEY, {})[key] = loaded[1]
                pending.append((target_name, loaded[1], f"/{BUNDLE_KEY}/{key}"))
            holder["$ref"] = f"#/{BUNDLE_KEY}/{keys[target_name]}{fragment}"
    return bundle


def _join(base: str, target: str) -> str:
    if base.startswith(("http://", "https://")) or target.startswith(("http://", "https://")):
        return urljoin(base, target)
    return str((Path(base).parent / unquote(target)).resolve())


def _load_external(name: str, referrer: str, where: list[str]) -> tuple[SourceText, Any]:
    try:
        source = read_source(name)
        return source, parse_source(source)
    except SpecError as exc:
        raise SpecError(
            f"$ref to {name}: {exc.message}",
            file=referrer,
            location=_pointer(where) + "/$ref",
            code="bad-ref",
        ) from None


def _pointer(tokens: list[str]) -> str:
    return "#" + json_pointer.join(tokens)


def _all_refs(node: Any) -> set[str]:
    found: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if type(current) is dict:
            ref = current.get("$ref")
            if type(ref) is str:
                found.add(ref)
            stack.extend(v for k, v in current.items() if _walked(k) and type(v) in (dict, list))
        elif type(current) is list:
            stack.extend(v for v in current if type(v) in (dict, list))
    return found


def check_refs(bundle: Bundle) -> None:
    """Every ``$ref`` in the bundle must point at something, and no ref chain may loop."""
    document = bundle.document
    bad = {}
    # What is known of refs already followed: a chain stops at the first it meets, so a spec
    # of many long chains costs each ref once.
    settled: set[str] = set()
    broken: dict[str, str] = {}
    for ref in _all_refs(document):
        problem = _ref_problem(document, ref, settled, broken)
        if problem:
            bad[ref] = problem
    if not bad:
        return
    # Slow path only on failure: find where the first bad ref is written.
    for holder, where in sorted(_iter_refs(document, []), key=lambda hw: hw[1]):
        problem = bad.get(holder["$ref"])
        if problem:
            file, pointer = bundle.file_of(json_pointer.join(where))
            raise SpecError(
                problem,
                file=file or next(iter(bundle.hashes)),
                location="#" + pointer + "/$ref",
                code="bad-ref",
            )


MAX_REF_CHAIN = 64
"""A ``$ref`` may lead to another at most this many times (as :meth:`Spec.resolve` follows)."""


def _ref_problem(document: Any, ref: str, settled: set[str], broken: dict[str, str]) -> str | None:
    problem = _follow(document, ref, settled, broken)
    if problem is not None:
        broken[ref] = problem
    return problem


def _follow(document: Any, ref: str, settled: set[str], broken: dict[str, str]) -> str | None:
    chain = [ref]
    current = ref
    while True:
        if current in settled:
            settled.update(chain)
            return None
        if current in broken:
            return broken[current]
        if not current.startswith("#"):
            return f"$ref {current!r} is not a local or relative-file reference"
        target = lookup_pointer(document, current[1:])
        if target is _MISSING:
            shown = ref if current == ref else f"{current} (via {ref})"
            return f"$ref target {shown} does not exist"
        if not (isinstance(target, dict) and isinstance(target.get("$ref"), str)):
            settled.update(chain)
            return None
        current = target["$ref"]
        if current in chain:
            loop = " -> ".join([*chain, current])
            return f"$ref cycle that never resolves: {loop}"
        if len(chain) >= MAX_REF_CHAIN:
            return f"$ref {ref!r} leads through more than {MAX_REF_CHAIN} other refs"
        chain.append(current)
