"""Classify every operation of real OpenAPI specs and check the classes that must hold.

Reads GitHub's, Stripe's and RestBench Spotify's specs from tests/data/specs/real/ (shipped,
xz-compressed; see the NOTICE.md there), or plain or compressed from SPECS_DIR (a spec whose
file is absent there is skipped), prints counts per risk class per spec and per method, the words that
raised operations to destructive, and the time per operation as a ratio against a baseline
(classifying by method alone) measured in the same run. Exits 1 if a check fails.

    .venv/bin/python benchmarks/risk_real_specs.py [SPECS_DIR]
"""

from __future__ import annotations

import collections
import json
import lzma
import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from lam.risk import classify_method, classify_operation, classify_request
from lam.types import Classification, Risk

SPECS = {
    "github": "github_api.github.com.json",
    "stripe": "stripe_spec3_2023-09-12.yaml",
    "spotify": "restbench_spotify_oas.json",
}
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
STRIPE_MUST_BE_DESTRUCTIVE = (
    "POST /v1/invoices/{invoice}/pay",
    "POST /v1/refunds",
    "POST /v1/charges/{charge}/capture",
    "POST /v1/payment_intents/{intent}/capture",
    "POST /v1/payment_intents/{intent}/cancel",
    "POST /v1/payouts/{payout}/reverse",
    "POST /v1/payouts/{payout}/cancel",
)


@dataclass(frozen=True)
class Op:
    """The fields of an operation that risk reads (lam.spec's Operation has these too)."""

    method: str
    path: str
    operation_id: str | None
    summary: str
    description: str
    extensions: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def default_specs_dir() -> Path:
    return Path(__file__).resolve().parents[1] / "tests" / "data" / "specs" / "real"


def spec_file(specs_dir: Path, name: str) -> Path:
    """``name`` in ``specs_dir``, or its ``.xz`` copy when only that is there."""
    plain = specs_dir / name
    packed = specs_dir / f"{name}.xz"
    return packed if not plain.is_file() and packed.is_file() else plain


def read_spec(path: Path) -> Mapping[str, Any]:
    if path.suffix == ".xz":
        text = lzma.decompress(path.read_bytes()).decode("utf-8")
        path = path.with_suffix("")
    else:
        text = path.read_text("utf-8")
    if path.suffix == ".json":
        return json.loads(text)  # type: ignore[no-any-return]
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)  # type: ignore[no-any-return]


def operations(doc: Mapping[str, Any]) -> Iterator[Op]:
    for path, item in (doc.get("paths") or {}).items():
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            yield Op(
                method=method.upper(),
                path=path,
                operation_id=op.get("operationId"),
                summary=op.get("summary") or "",
                description=op.get("description") or "",
                extensions={k: v for k, v in op.items() if k.startswith("x-")},
            )


def check(name: str, classified: dict[str, tuple[Op, Classification]]) -> list[str]:
    """The failed checks for one spec, as lines."""
    failures = []
    for key, (op, found) in classified.items():
        declared = "x-lam-risk" in op.extensions
        if op.method == "GET" and found.risk is Risk.DESTRUCTIVE and not declared:
            failures.append(f"{name}: {key} is a GET but classified destructive")
        if op.method == "DELETE" and found.risk is not Risk.DESTRUCTIVE and not declared:
            failures.append(f"{name}: {key} is a DELETE but classified {found.risk}")
    if name == "stripe":
        for key in STRIPE_MUST_BE_DESTRUCTIVE:
            if key not in classified:
                continue
            if classified[key][1].risk is not Risk.DESTRUCTIVE:
                failures.append(f"stripe: {key} must be destructive, got {classified[key][1]}")
        for key, (op, found) in classified.items():
            last = op.path.rstrip("/").rsplit("/", 1)[-1]
            must = last in {"pay", "capture", "cancel", "reverse", "refunds"}
            if op.method == "POST" and must and found.risk is not Risk.DESTRUCTIVE:
                failures.append(f"stripe: {key} must be destructive, got {found.risk}")
    return failures


def _by_method(ops: list[Op]) -> list[Classification]:
    return [classify_method(op.method) for op in ops]


def _by_words(ops: list[Op]) -> list[Classification]:
    return [classify_operation(op) for op in ops]


def _best_of(work: Callable[[], object], rounds: int = 5) -> float:
    """The fastest of a few timed rounds (the least disturbed by the machine)."""
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - t0)
    return best


_TEMPLATE = re.compile(r"\{[^}]+\}")
_WORD = re.compile(r"says '([^']+)'|starts with '([^']+)'|creating an? (\w+)|: to (\w+) a")


def _word(reason: str) -> str:
    """The word a reason names (for the tally of what raised operations)."""
    found = _WORD.search(reason)
    return next((g for g in found.groups() if g), reason) if found else reason


def main(argv: list[str]) -> int:
    specs_dir = Path(argv[1]) if len(argv) > 1 else default_specs_dir()
    failures: list[str] = []
    seen = 0
    for name, file_name in SPECS.items():
        path = spec_file(specs_dir, file_name)
        if not path.is_file():
            print(f"{name}: {path} absent, skipped")
            continue
        ops = list(operations(read_spec(path)))
        seen += 1
        baseline = _best_of(partial(_by_method, ops))
        elapsed = _best_of(partial(_by_words, ops))
        classified = {op.key: (op, classify_operation(op)) for op in ops}
        per_class = collections.Counter(c.risk.value for _, c in classified.values())
        per_method: dict[str, collections.Counter[str]] = collections.defaultdict(
            collections.Counter
        )
        raised: collections.Counter[str] = collections.Counter()
        for op, found in classified.values():
            per_method[op.method][found.risk.value] += 1
            if found.risk is Risk.DESTRUCTIVE and op.method != "DELETE":
                raised[_word(found.reasons[1])] += 1
        print(
            f"\n{name}: {len(ops)} operations  "
            + "  ".join(f"{r.value} {per_class[r.value]}" for r in Risk)
        )
        for method in sorted(per_method):
            counts = per_method[method]
            print(f"  {method:<7}" + "  ".join(f"{r.value} {counts[r.value]}" for r in Risk))
        print(
            "  raised to destructive by: " + ", ".join(f"{w} {n}" for w, n in raised.most_common())
        )
        # the network guard's URL rule on concrete URLs (templates filled with an id-like
        # value): what a page's request to each operation would be called without the spec
        urls = collections.Counter(
            op.method
            for op in ops
            if classify_request(op.method, "http://h" + _TEMPLATE.sub("abc123XyZ9", op.path)).risk
            is Risk.DESTRUCTIVE
        )
        print(
            f"  url rule: {sum(urls.values())} concrete URLs destructive ("
            + ", ".join(f"{m} {n}" for m, n in sorted(urls.items()))
            + ")"
        )
        ratio = elapsed / baseline if baseline else float("inf")
        print(f"  time: {elapsed * 1e6 / max(len(ops), 1):.1f} µs/op, {ratio:.1f}x method-only")
        failures += check(name, classified)
    if seen == 0:
        print(f"no specs found in {specs_dir}; nothing checked")
        return 0
    for line in failures:
        print("FAIL", line)
    print(f"\n{len(failures)} failed checks" if failures else "\nall checks hold")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
