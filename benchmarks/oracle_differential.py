"""lam's call checker against openapi-core's request validator, on generated calls over real specs.

openapi-core is the oracle: for each sampled operation of a real spec (the Swagger Petstore,
GitHub, Stripe, Spotify, TMDB; shipped xz-compressed in tests/data/specs/real/),
benchmarks/oracle_calls.py builds one valid call from the operation's parameters and request
body schema, then one call per mutation that should make it invalid (a required parameter
left out, a wrong type, a value outside its enum, an extra property where
``additionalProperties`` is false, a bad format, a content type the operation does not take,
a number out of range, a pattern violated, a required body or body property left out, an
undeclared query parameter). Each call goes to
lam's :func:`lam.api_checks.check_call` as a plan's ``call:`` step gives it, and to
openapi-core's ``OpenAPI.validate_request`` as the HTTP request lam would send (credentials
added the way lam adds them, since lam's checker leaves credentials to the run). Everything is
seeded: the same arguments give the same calls.

Where the two disagree on valid versus invalid, :func:`reason` names why; every reason it can
name is documented in docs/risk.md ("Where lam and openapi-core disagree"), and
tests/test_oracle_differential.py fails on a disagreement with no documented reason.

    .venv/bin/python benchmarks/oracle_differential.py [--ops 60] [--seed 12] [--show 5] [SPEC ...]

Prints per spec: calls, agreements, disagreements by reason, and the seconds each checker took
(openapi-core is the baseline of the ratio).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import warnings
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from lam.api_checks import NO_BODY, check_call
from lam.spec import Operation, Spec, load_spec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from oracle_calls import MUTATIONS, Call, generate_calls, kind_of  # noqa: E402
from real_specs import real_spec  # noqa: E402  (tests/ holds the shipped specs)

__all__ = [
    "MUTATIONS",
    "REASONS",
    "SPECS",
    "Call",
    "Oracle",
    "Tally",
    "Verdict",
    "differential",
    "generate_calls",
    "names_place",
    "reason",
]

SPECS = {
    "petstore": "petstore_v3.openapi.yaml",
    "github": "github_api.github.com.json",
    "stripe": "stripe_spec3_2023-09-12.yaml",
    "spotify": "restbench_spotify_oas.json",
    "tmdb": "restbench_tmdb_oas.json",
}

REASONS = {
    "unknown-param": "lam refuses a parameter the operation does not declare (a typo in a "
    "plan); OpenAPI lets a server ignore one, and openapi-core does",
    "core-deepobject": "openapi-core reads style deepObject only one level deep and only for a "
    "parameter or form field whose schema says type object; Stripe also puts it on arrays "
    "(expand), on anyOf object-or-integer (created) and on nested objects (billing[address]), "
    "and openapi-core then refuses every request to the operation, the field sent or not",
    "core-readonly-param": "openapi-core refuses a parameter whose schema is readOnly (GitHub's "
    "alert_number shares its schema with the response); OpenAPI gives readOnly a meaning only "
    "for object properties",
    "spec-text-values": 'Spotify\'s spec writes booleans and numbers as text (required "true", '
    'explode "false", maximum "50", default "20"): lam reads them as meant, '
    'openapi-core crashes on them, reads required "true" as false, or checks the text '
    "default as if it were sent",
}
"""Every reason a disagreement may have; docs/risk.md documents each under the same key."""

_TEXT_NUMBERS = ("minimum", "maximum", "default")


# ----------------------------------------------------------------------------- the oracle


class Oracle:
    """openapi-core over one spec document, with requests built as lam would send them."""

    def __init__(self, document: Mapping[str, Any], spec: Spec) -> None:
        from openapi_core import Config, OpenAPI

        # The spec's own validity is not in question here (and costs 16 s on GitHub's); None
        # is openapi-core's switch for that, though its annotation leaves None out.
        config = Config(spec_validator_cls=None)  # type: ignore[arg-type]
        self.api = OpenAPI.from_dict(dict(document), config=config)
        self.spec = spec
        server = spec.servers[0] if spec.servers else "/"
        parts = urlsplit(server)
        self.host = f"{parts.scheme}://{parts.netloc}" if parts.netloc else "http://localhost"
        self.base = parts.path.rstrip("/")

    def raw_parameters(self, op: Operation) -> list[Mapping[str, Any]]:
        """The operation's parameter objects as the document writes them ($ref followed)."""
        item = self.spec.resolve(self.spec.document.get("paths", {}).get(op.path, {}))
        raw = item.get(op.method.lower(), {}) if isinstance(item, Mapping) else {}
        found = [*(raw.get("parameters") or ()), *(item.get("parameters") or ())]
        return [p for p in (self.spec.resolve(f) for f in found) if isinstance(p, Mapping)]

    def text_values(self, op: Operation) -> bool:
        """Whether a parameter writes a boolean or a number as text (Spotify's spec does)."""
        for param in self.raw_parameters(op):
            if any(isinstance(param.get(k), str) for k in ("required", "explode")):
                return True
            schema = self.spec.resolve(param.get("schema", {}))
            numeric = isinstance(schema, Mapping) and kind_of(schema) in ("integer", "number")
            if numeric and any(isinstance(schema.get(k), str) for k in _TEXT_NUMBERS):
                return True
        return False

    def _server(self, op: Operation) -> tuple[str, str]:
        """Host and base path: the operation's own servers first (GitHub's uploads host)."""
        item = self.spec.resolve(self.spec.document.get("paths", {}).get(op.path, {}))
        raw = item.get(op.method.lower(), {}) if isinstance(item, Mapping) else {}
        for servers in (raw.get("servers"), item.get("servers")):
            if isinstance(servers, list) and servers and isinstance(servers[0], Mapping):
                parts = urlsplit(str(servers[0].get("url", "")))
                if parts.netloc:
                    return f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/")
        return self.host, self.base

    def errors(self, call: Call) -> list[str]:
        """openapi-core's verdict on the request: empty when valid, else its first error."""
        from openapi_core.exceptions import OpenAPIError
        from openapi_core.testing import MockRequest

        path, query, headers, cookies = self._place(call)
        data: bytes | None = None
        content_type = "application/json"
        if call.body is not NO_BODY:
            content_type = call.content_type or "application/json"
            data = _encode(call.body, content_type)
            headers["Content-Type"] = content_type
        host, base = self._server(call.op)
        request = MockRequest(
            host,
            call.op.method.lower(),
            base + path,
            args=query,
            headers=headers,
            cookies=cookies,
            data=data,
            content_type=content_type,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Unsupported scheme type" for OAuth 2
            try:
                self.api.validate_request(request)
            except OpenAPIError as exc:
                return [f"{type(exc).__name__}: {_first_line(exc)}"]
            except Exception as exc:  # openapi-core itself failed: reported as its own kind
                return [f"CRASH {type(exc).__name__}: {_first_line(exc)}"]
        return []

    def _place(self, call: Call) -> tuple[str, dict[str, Any], dict[str, str], dict[str, str]]:
        path = call.op.path
        query: dict[str, Any] = {}
        headers: dict[str, str] = {}
        cookies: dict[str, str] = {}
        declared = {p.name: p for p in call.op.parameters}
        raw = {
            str(p.get("name")): p for p in self.raw_parameters(call.op) if p.get("in") == "query"
        }
        for name, value in call.params.items():
            param = declared.get(name)
            location = param.location if param is not None else "query"
            if location == "path":
                path = path.replace("{" + name + "}", quote(_text(value), safe=""))
            elif location == "query":
                _query(query, name, value, raw.get(name, {}))
            elif location == "header":
                headers[name] = _text(value)
            else:
                cookies[name] = _text(value)
        self._credentials(call.op, query, headers, cookies)
        return path, query, headers, cookies

    def _credentials(
        self,
        op: Operation,
        query: dict[str, Any],
        headers: dict[str, str],
        cookies: dict[str, str],
    ) -> None:
        """What lam adds to a request from the run's credentials: the first requirement met."""
        required = op.security
        if required is None:
            raw = self.spec.document.get("security")
            required = tuple(raw) if isinstance(raw, list) else ()
        if not required:
            return
        for name in required[0]:
            scheme = self.spec.security_schemes.get(name, {})
            if scheme.get("type") == "apiKey":
                where = {"query": query, "header": headers, "cookie": cookies}
                where.get(str(scheme.get("in")), headers)[str(scheme.get("name"))] = "key"
            elif scheme.get("type") == "http":
                kind = str(scheme.get("scheme", "bearer")).lower()
                headers["Authorization"] = "Basic dTpw" if kind == "basic" else f"{kind} token"


def _query(query: dict[str, Any], name: str, value: Any, raw: Mapping[str, Any]) -> None:
    """Query serialization as the parameter object ``raw`` says: form (exploded unless
    ``explode`` is false, then a comma list) or deepObject. Text flags (Spotify's ``explode:
    "false"``) are read as they say."""
    style = str(raw.get("style", "form"))
    explode = str(raw.get("explode", style == "form")).lower() == "true"
    if isinstance(value, list):
        query[name] = [_text(v) for v in value] if explode else _text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            query[f"{name}[{key}]" if style == "deepObject" else str(key)] = _text(item)
    else:
        query[name] = _text(value)


def _encode(body: Any, content_type: str) -> bytes:
    base = content_type.split(";")[0].strip().lower()
    if base == "application/x-www-form-urlencoded" and isinstance(body, dict):
        return urlencode(list(_form_pairs(body, ""))).encode()
    return json.dumps(body).encode()


def _form_pairs(value: Any, prefix: str) -> Iterator[tuple[str, str]]:
    """Stripe's bracket encoding: ``a[b]=1``, ``a[0]=x``."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _form_pairs(item, f"{prefix}[{key}]" if prefix else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _form_pairs(item, f"{prefix}[{i}]")
    else:
        yield prefix, _text(value)


# ----------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class Verdict:
    """Both checkers' answers on one call, and why they differ (None when they agree)."""

    call: Call
    lam: tuple[str, ...]
    core: tuple[str, ...]
    reason: str | None = field(default=None)

    @property
    def agree(self) -> bool:
        """Both valid or both invalid; a crash on either side is never an agreement."""
        crashed = any(p.startswith("CRASH") for p in (*self.lam, *self.core))
        return bool(self.lam) == bool(self.core) and not crashed


def reason(call: Call, lam: tuple[str, ...], core: tuple[str, ...], *, text_values: bool) -> str:
    """The documented reason of a disagreement (a key of :data:`REASONS`), or "unexplained".

    ``text_values``: the operation's parameters carry booleans or numbers written as text.
    """
    said = " ".join(core)
    form = (call.content_type or "").startswith("application/x-www-form-urlencoded")
    if "deepObject" in said or (form and "Failed to cast value to object" in said):
        return "core-deepobject"
    if not lam and "read-only property" in said and "parameter" in said:
        return "core-readonly-param"
    if text_values and ("CRASH" in said or (core and not lam) or call.kind == "missing-param"):
        return "spec-text-values"
    if lam and not core and call.kind == "unknown-param":
        return "unknown-param"
    return "unexplained"


def lam_problems(spec: Spec, call: Call) -> tuple[str, ...]:
    """lam's verdict, as ``validate`` gives a ``call:`` step its params and body."""
    try:
        problems = check_call(
            spec, call.op, params=call.params, body=call.body, content_type=call.content_type
        )
    except Exception as exc:  # a crash is a finding, reported as such
        return (f"CRASH {type(exc).__name__}: {exc}",)
    return tuple(f"{p.code} {p.location}: {p.message}" for p in problems)


def names_place(call: Call, lam: tuple[str, ...]) -> bool:
    """Whether one of lam's problems is at the mutated place (or inside or around it)."""
    for problem in lam:
        where = problem.split(" ", 2)[1].rstrip(":") if " " in problem else ""
        if where and (where.startswith(call.where) or call.where.startswith(where)):
            return True
    return False


@dataclass
class Tally:
    """Per spec: calls, agreements, disagreements by reason, and each checker's time."""

    calls: int = 0
    agree: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)
    by_kind: Counter[str] = field(default_factory=Counter)  # disagreements by mutation
    kinds: Counter[str] = field(default_factory=Counter)  # calls by mutation
    missed_by_both: int = 0  # mutated calls both accepted: the mutation was not a violation
    valid_flagged_by_both: int = 0  # "valid" calls both refused: the generator's limits
    hollow: int = 0  # agreements where openapi-core refused for its deepObject limit alone
    misplaced: int = 0  # mutated calls lam refused without naming the mutated place
    lam_s: float = 0.0
    core_s: float = 0.0


def differential(
    spec_name: str, *, ops: int | None, seed: int, include: tuple[str, ...] = ()
) -> tuple[list[Verdict], Tally]:
    """Generate calls over a sample of ``ops`` operations (all when None) and compare;
    ``include`` names operations (``"GET /path"``) taken besides the sample."""
    path = real_spec(SPECS[spec_name])
    spec = load_spec(path)
    # The parsed document is shared (parsing Stripe's 4 MB of YAML twice costs seconds); what
    # each checker reads from it, and how, is its own.
    oracle = Oracle(spec.document, spec)
    chosen = list(spec.operations)
    if ops is not None and ops < len(chosen):
        sample = random.Random(f"{seed}:{spec_name}").sample(chosen, ops)
        sample += [spec.operation(key) for key in include if spec.operation(key) not in sample]
        chosen = sorted(sample, key=_order(spec))
    verdicts: list[Verdict] = []
    tally = Tally()
    for op in chosen:
        for call in generate_calls(spec_name, spec, op, seed):
            t0 = time.perf_counter()
            lam = lam_problems(spec, call)
            t1 = time.perf_counter()
            core = tuple(oracle.errors(call))
            t2 = time.perf_counter()
            tally.lam_s += t1 - t0
            tally.core_s += t2 - t1
            tally.calls += 1
            tally.kinds[call.kind] += 1
            if call.kind != "valid" and lam and not names_place(call, lam):
                tally.misplaced += 1
            verdict = Verdict(call, lam, core)
            if verdict.agree:
                tally.agree += 1
                tally.hollow += any("deepObject" in c for c in core)
                if call.kind == "valid" and lam:
                    tally.valid_flagged_by_both += 1
                elif call.kind != "valid" and not lam:
                    tally.missed_by_both += 1
            else:
                texts = oracle.text_values(call.op)
                verdict = replace(verdict, reason=reason(call, lam, core, text_values=texts))
                tally.by_reason[verdict.reason or ""] += 1
                tally.by_kind[call.kind] += 1
            verdicts.append(verdict)
    return verdicts, tally


def _order(spec: Spec) -> Any:
    index = {id(op): i for i, op in enumerate(spec.operations)}
    return lambda op: index[id(op)]


# ----------------------------------------------------------------------------- helpers


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    return str(value)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    detail = text[0] if text else ""
    cause = exc.__cause__ or exc.__context__
    if cause is not None and str(cause).strip():
        detail += f" ({str(cause).strip().splitlines()[0]})"
    return detail[:200]


# ----------------------------------------------------------------------------- report


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("specs", nargs="*", metavar="SPEC", help=f"of {', '.join(SPECS)}")
    parser.add_argument("--ops", type=int, default=60, help="operations per spec (0: all)")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--show", type=int, default=3, help="disagreements shown per reason")
    args = parser.parse_args()
    unknown = sorted(set(args.specs) - set(SPECS))
    if unknown:
        parser.error(f"unknown spec {', '.join(unknown)} (choose from {', '.join(SPECS)})")
    unexplained = 0
    print(f"{'spec':9} {'ops':>5} {'calls':>6} {'agree':>6} {'differ':>6}  by reason")
    for name in args.specs or list(SPECS):
        verdicts, tally = differential(name, ops=args.ops or None, seed=args.seed)
        ops = len({id(v.call.op) for v in verdicts})
        reasons = ", ".join(f"{k} {n}" for k, n in sorted(tally.by_reason.items())) or "-"
        differ = tally.calls - tally.agree
        print(f"{name:9} {ops:5} {tally.calls:6} {tally.agree:6} {differ:6}  {reasons}")
        kinds = ", ".join(f"{k} {tally.by_kind[k]}/{n}" for k, n in sorted(tally.kinds.items()))
        print(f"{'':9} by mutation (disagreeing/calls): {kinds}")
        print(
            f"{'':9} mutations both accepted {tally.missed_by_both}, valid calls both refused "
            f"{tally.valid_flagged_by_both}; agreements where openapi-core refused for "
            f"deepObject alone {tally.hollow}; lam refusals not naming the mutated place "
            f"{tally.misplaced}"
        )
        print(
            f"{'':9} seconds lam {tally.lam_s:.3f}, openapi-core "
            f"{tally.core_s:.3f} (lam / openapi-core {tally.lam_s / max(tally.core_s, 1e-9):.3f})"
        )
        shown: Counter[str] = Counter()
        for v in verdicts:
            if v.agree or shown[v.reason or ""] >= args.show:
                continue
            shown[v.reason or ""] += 1
            print(f"    [{v.reason}] {v.call.label}")
            print(f"        lam:  {'; '.join(v.lam) or 'valid'}")
            print(f"        core: {'; '.join(v.core) or 'valid'}")
        unexplained += tally.by_reason["unexplained"]
    if unexplained:
        print(f"\n{unexplained} disagreements have no documented reason")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
