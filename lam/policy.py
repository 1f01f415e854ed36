"""The operator's policy: risk classes and matching rules to verdicts, and the hosts lam may reach.

A policy comes from the operator (``--policy FILE`` or the project's ``.lam/policy.yaml``),
never from a plan: nothing here reads or merges plan content. The file format is the JSON
Schema ``lam/schemas/policy.schema.json``::

    defaults: {read: allow, write: allow, destructive: approve}
    hosts: [127.0.0.1, "*.staging.example.com"]
    rules:
      - match: {method: DELETE, path: "/admin/**"}
        verdict: deny

Rules are tried in order; the first whose ``match`` keys all hold gives the verdict, else the
default for the action's risk class does. A match key whose fact the action lacks (``path`` for
a click) does not hold.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from lam.documents import format_path, load_document, schema_errors
from lam.errors import PolicyError
from lam.types import Decision, Risk, Verdict
from lam.url_path import path_readings

__all__ = [
    "DEFAULT_VERDICTS",
    "POLICY_FILE",
    "ActionFacts",
    "Policy",
    "Rule",
    "default_policy",
    "find_project_policy",
    "load_policy",
    "policy_from_data",
    "url_host",
]

DEFAULT_VERDICTS: Mapping[Risk, Verdict] = {
    Risk.READ: Verdict.ALLOW,
    Risk.WRITE: Verdict.ALLOW,
    Risk.DESTRUCTIVE: Verdict.APPROVE,
}
"""lam's verdicts when the operator says nothing: destructive actions need a human approval."""

POLICY_FILE = Path(".lam") / "policy.yaml"
"""Where a project keeps its policy, relative to the project root."""

ActionKind = Literal["api", "ui", "request"]


@dataclass(frozen=True)
class ActionFacts:
    """What the policy needs to know about one action about to happen.

    ``kind`` is a plan's API call (``api``), a UI action (``ui``) or a request a page sends
    (``request``); ``risk`` comes from :mod:`lam.risk`. Facts the action lacks stay None.
    """

    kind: ActionKind
    risk: Risk
    api: str | None = None
    operation: str | None = None
    method: str | None = None
    path: str | None = None
    host: str | None = None
    ui_text: str | None = None


@dataclass(frozen=True)
class Rule:
    """One policy rule: all of its ``match`` keys must hold for ``verdict`` to apply."""

    index: int
    match: Mapping[str, Any]
    verdict: Verdict
    note: str = ""
    _tests: tuple[tuple[str, Any], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_tests", _compile_match(self.index, self.match))

    def matches(self, action: ActionFacts) -> bool:
        """Whether every match key of this rule holds for ``action``.

        A ``path`` is read the ways a server may route it (:func:`lam.url_path.path_readings`:
        decoded, dot segments resolved, slashes merged): an ``allow`` rule holds only when its
        glob matches every reading, exactly; a ``deny`` or ``approve`` rule holds when it
        matches any reading, ignoring case, so ``/%61dmin``, ``/Admin`` and ``//admin`` meet a
        rule on ``/admin/**``.
        """
        loosens = self.verdict is Verdict.ALLOW
        return all(_holds(key, test, action, loosens=loosens) for key, test in self._tests)

    def describe(self) -> str:
        """``rules[1] (method: DELETE, path: /admin/**)``."""
        keys = ", ".join(f"{k}: {_show(v)}" for k, v in self.match.items())
        return f"rules[{self.index}] ({keys})"


@dataclass(frozen=True)
class Policy:
    """A loaded policy. Build it with :func:`load_policy` or :func:`default_policy`.

    ``defaults`` holds the operator's verdict per risk class; a class it lacks gets
    :data:`DEFAULT_VERDICTS`. ``hosts`` are allowed besides the plan's declared hosts (None or
    empty: only those).
    """

    defaults: Mapping[Risk, Verdict] = field(default_factory=dict)
    hosts: tuple[str, ...] | None = None
    rules: tuple[Rule, ...] = ()
    source: str | None = None
    sha256: str | None = None  # of the file's text, when loaded from one (lam.policy_source)
    _host_patterns: tuple[tuple[re.Pattern[str], str | None], ...] | None = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        patterns = None
        if self.hosts is not None:
            patterns = tuple(
                _host_pattern(h, format_path(["hosts", i])) for i, h in enumerate(self.hosts)
            )
        object.__setattr__(self, "_host_patterns", patterns)

    def decide(self, action: ActionFacts) -> Decision:
        """The verdict for ``action``: the first matching rule's, else the risk's default."""
        where = f" of {self.source}" if self.source else ""
        for rule in self.rules:
            if rule.matches(action):
                reason = f"{rule.describe()}{where} says {rule.verdict.value}"
                if rule.note:
                    reason += f" ({rule.note})"
                return Decision(rule.verdict, (reason,))
        verdict = self.defaults.get(action.risk, DEFAULT_VERDICTS[action.risk])
        origin = f"the default{where}" if action.risk in self.defaults else "lam's default"
        return Decision(
            verdict, (f"no rule matched; {origin} for {action.risk.value} is {verdict.value}",)
        )

    def host_allowed(self, host: str, declared_hosts: Iterable[str]) -> bool:
        """Whether lam may reach ``host`` (``name`` or ``name:port``).

        The hosts of the plan's declared apis and apps (``declared_hosts``: host names,
        ``host:port`` or URLs) are always allowed, and the policy's ``hosts`` globs extend
        them (a page's CDN, a sign-in provider). Restricting is a deny rule: a rule whose only
        match key is ``host`` and whose verdict is ``deny`` shuts that host out, the plan's own
        too. localhost and 127.0.0.1 are not special. A pattern without a port allows any port;
        the plan's declared hosts carry their ports (see :func:`url_host`).
        """
        name, port = _split_host(host)
        if not name:
            return False
        patterns = tuple(_literal_host(h) for h in declared_hosts if h)
        if self._host_patterns is not None:
            patterns += self._host_patterns
        if not any(rx.fullmatch(name) and (want is None or want == port) for rx, want in patterns):
            return False
        return not any(
            rule.verdict is Verdict.DENY
            and set(rule.match) == {"host"}
            and rule.matches(ActionFacts(kind="request", risk=Risk.READ, host=host))
            for rule in self.rules
        )


_DEFAULT_PORTS = {"http": "80", "ws": "80", "https": "443", "wss": "443"}


def url_host(url: str) -> str:
    """The ``host:port`` a URL reaches, with the scheme's default port when it names none
    (``http://127.0.0.1/`` -> ``127.0.0.1:80``), so a declared app on one port does not open
    every other service on the same machine. Empty when the URL has no host, or one that cannot
    be read (``http://[]x/``): no rule allows the empty host."""
    try:
        parts = urlsplit(url)
        name = parts.hostname or ""
    except ValueError:
        return ""
    if not name:
        return ""
    try:
        port = str(parts.port) if parts.port is not None else _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return name  # a port that is not a number: the name alone, which no port rule allows
    shown = f"[{name}]" if ":" in name else name
    return f"{shown}:{port}" if port else shown


def default_policy() -> Policy:
    """lam's policy when the operator gives none: read and write allowed, destructive approve,
    only the plan's declared hosts reachable."""
    return Policy(source=None)


def load_policy(path: Path) -> Policy:
    """Read and check a policy file; every bad input is a PolicyError naming file and place."""
    data = load_document(Path(path), error=PolicyError)
    return policy_from_data(data, file=str(path))


def policy_from_data(data: object, *, file: str | None = None) -> Policy:
    """Build a Policy from parsed YAML/JSON (the operator's, never a plan's)."""
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise PolicyError(
            f"a policy must be a mapping (defaults, hosts, rules), got {kind}",
            file=file,
            location="(top level)",
            code="not-a-mapping",
        )
    _refuse_odd_keys(data, [], file)
    errors = schema_errors(data, "policy")
    if errors:
        place, message = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise PolicyError(message + more, file=file, location=place, code="schema")
    defaults: dict[Risk, Verdict] = {}
    for risk_name, verdict in (data.get("defaults") or {}).items():
        defaults[Risk(risk_name)] = Verdict(verdict)
    hosts = data.get("hosts")
    try:
        rules = tuple(
            Rule(i, dict(raw["match"]), Verdict(raw["verdict"]), raw.get("note", ""))
            for i, raw in enumerate(data.get("rules") or [])
        )
        return Policy(
            defaults=defaults,
            hosts=tuple(hosts) if hosts is not None else None,
            rules=rules,
            source=file,
        )
    except PolicyError as exc:
        exc.file = file
        raise


def find_project_policy(start: Path) -> Path | None:
    """The project's ``.lam/policy.yaml`` for a command run in ``start``, or None.

    Looked for up to the first project root (``.git`` or ``pyproject.toml``) or the home
    directory; files others could have planted are skipped. The rule and its warnings:
    :func:`lam.policy_source.discover_policy`.
    """
    from lam.policy_source import discover_policy

    return discover_policy(start).path


def _refuse_odd_keys(node: object, where: list[str | int], file: str | None) -> None:
    """YAML allows keys that are numbers or null; a policy's keys are all strings."""
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str):
                raise PolicyError(
                    f"key {key!r} is not a string",
                    file=file,
                    location=format_path(where),
                    code="schema",
                )
            _refuse_odd_keys(value, [*where, key], file)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _refuse_odd_keys(value, [*where, i], file)


def _compile_match(index: int, match: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    if not match:
        raise PolicyError(
            "a rule needs at least one match key", location=format_path(["rules", index, "match"])
        )
    tests: list[tuple[str, Any]] = []
    for key, value in match.items():
        place = format_path(["rules", index, "match", key])
        if key == "method":
            values = value if isinstance(value, list) else [value]
            tests.append((key, frozenset(v.upper() for v in values)))
        elif key == "risk":
            values = value if isinstance(value, list) else [value]
            tests.append((key, frozenset(Risk(v) for v in values)))
        elif key == "path":
            tests.append((key, _path_glob(value, place)))
        elif key == "host":
            tests.append((key, _host_pattern(value, place)))
        elif key == "ui_text":
            tests.append((key, _text_test(value, place)))
        elif key == "operation":
            tests.append((key, _operation_key(value)))
        elif key not in {"api", "kind"}:
            raise PolicyError(f"unknown match key {key!r}", location=place, code="schema")
        else:
            tests.append((key, value))
    return tuple(tests)


def _holds(key: str, test: Any, action: ActionFacts, *, loosens: bool = False) -> bool:
    if key == "kind":
        return bool(action.kind == test)
    if key == "risk":
        return action.risk in test
    if key == "operation":
        return _operation_holds(test, action)
    fact = getattr(action, key)
    if fact is None:
        return False
    if key == "method":
        return fact.upper() in test
    if key == "path":
        exact, folded = test
        readings = path_readings(fact)
        if loosens:
            return all(exact.fullmatch(r) for r in readings)
        return any(folded.fullmatch(r) for r in readings)
    if key == "host":
        rx, want = test
        name, port = _split_host(fact)
        return bool(rx.fullmatch(name)) and (want is None or want == port)
    if key == "ui_text":
        return bool(test(" ".join(fact.split()).lower()))
    return bool(fact == test)


def _operation_holds(test: str, action: ActionFacts) -> bool:
    """An operation rule names an operationId or ``METHOD /path``; either identifies it."""
    if action.operation is not None and _operation_key(action.operation) == test:
        return True
    if action.method and action.path:
        return f"{action.method.upper()} {action.path}" == test
    return False


def _operation_key(ref: str) -> str:
    """``delete /pets/{id}`` and ``DELETE /pets/{id}`` name the same operation."""
    method, _, rest = ref.strip().partition(" ")
    if rest.startswith("/") and method.isalpha():
        return f"{method.upper()} {rest.strip()}"
    return ref.strip()


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def _glob_regex(pattern: str, one: str, place: str) -> str:
    """Translate a glob: ``**`` any text, ``*`` and ``?`` text matching ``one``, ``[...]``."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("***", i):
            raise PolicyError(f"bad glob {pattern!r}: '***'", location=place, code="glob")
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append(f"{one}*")
        elif c == "?":
            out.append(one)
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                raise PolicyError(
                    f"bad glob {pattern!r}: '[' at {i} is never closed",
                    location=place,
                    code="glob",
                )
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            out.append("[" + ("^" if negate else "") + body.replace("\\", "\\\\") + "]")
            i = end + 1
            continue
        else:
            out.append(re.escape(c))
        i += 1
    text = "".join(out)
    try:
        re.compile(text)
    except re.error as exc:
        raise PolicyError(f"bad glob {pattern!r}: {exc}", location=place, code="glob") from None
    return text


def _path_glob(pattern: str, place: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The glob as a regex, and the same regex ignoring case (for rules that restrict)."""
    if not pattern.startswith(("/", "*")):
        raise PolicyError(
            f"bad path glob {pattern!r}: a path starts with '/' (or '*')",
            location=place,
            code="glob",
        )
    text = _glob_regex(pattern, "[^/]", place)
    if text.endswith("/.*"):
        text = text[:-3] + "(?:/.*)?"  # "/admin/**" also covers "/admin" itself
    return re.compile(text, re.DOTALL), re.compile(text, re.DOTALL | re.IGNORECASE)


def _split_host(host: str) -> tuple[str, str | None]:
    """``Example.COM:8080`` -> (``example.com``, ``8080``); brackets kept off IPv6 names."""
    text = host.strip().lower()
    if "://" in text:
        parts = urlsplit(text)
        text = parts.netloc.rsplit("@", 1)[-1]
    if text.startswith("["):
        name, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") and rest[1:] else None
        return name, port
    if text.count(":") == 1:
        name, port = text.split(":")
        return name.rstrip("."), port or None
    return text.rstrip("."), None


def _host_pattern(pattern: str, place: str) -> tuple[re.Pattern[str], str | None]:
    name, port = _split_host(pattern)
    if not name or any(c.isspace() or c in "/@" for c in name):
        raise PolicyError(
            f"bad host glob {pattern!r}: expected a host name such as '*.example.com'",
            location=place,
            code="glob",
        )
    if port is not None and not port.isdigit():
        raise PolicyError(
            f"bad host glob {pattern!r}: port {port!r} is not a number",
            location=place,
            code="glob",
        )
    return re.compile(_glob_regex(name, "[^.]", place)), port


def _literal_host(host: str) -> tuple[re.Pattern[str], str | None]:
    name, port = _split_host(host)
    return re.compile(re.escape(name)), port


def _text_test(pattern: str, place: str) -> Any:
    wanted = " ".join(pattern.split()).lower()
    if any(c in wanted for c in "*?["):
        rx = re.compile(_glob_regex(wanted, ".", place))
        return rx.fullmatch
    return lambda text: wanted in text
