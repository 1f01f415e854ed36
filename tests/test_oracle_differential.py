"""lam's call checker against openapi-core, the oracle, on generated calls over real specs.

benchmarks/oracle_differential.py generates, for a seeded sample of operations of each shipped
real spec, a valid call and mutated ones (a required parameter left out, a wrong type, an enum
violated, an extra property, a bad format, a wrong content type, a number out of range, a
pattern violated, ...) and asks both checkers. Every disagreement must have a reason documented
in docs/risk.md ("Where lam and openapi-core disagree"): a new one fails here.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from real_specs import real_spec

import lam.spec.loader
from lam.api_checks import NO_BODY, check_call
from lam.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
BENCHMARK = ROOT / "benchmarks" / "oracle_differential.py"
RISK_DOC = ROOT / "docs" / "risk.md"
OPS_PER_SPEC = 25  # the benchmark runs more (--ops 0: every operation)
PINNED = {  # besides the sample: operations that show a documented reason
    "github": ("GET /repos/{owner}/{repo}/code-scanning/alerts/{alert_number}",),
}
SEED = 12


def _benchmark() -> ModuleType:
    found = sys.modules.get("oracle_differential")
    if found is not None:
        return found
    spec = importlib.util.spec_from_file_location("oracle_differential", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["oracle_differential"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _fresh_specs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lam.spec.loader, "_LOADED", {})


@functools.cache
def _differential(name: str) -> tuple[list[Any], Any]:
    """The benchmark's verdicts and tally over the test's sample of one spec (run once).

    The specs are loaded through a spec cache kept beside their unpacked copies (entries are
    keyed by content hash), so a second run of the suite skips parsing Stripe's 4 MB of YAML.
    """
    before = os.environ.get("LAM_CACHE_DIR")
    os.environ["LAM_CACHE_DIR"] = str(real_spec(_benchmark().SPECS[name]).parent / "lam-cache")
    try:
        result: tuple[list[Any], Any] = _benchmark().differential(
            name, ops=OPS_PER_SPEC, seed=SEED, include=PINNED.get(name, ())
        )
    finally:
        if before is None:
            del os.environ["LAM_CACHE_DIR"]
        else:
            os.environ["LAM_CACHE_DIR"] = before
    return result


def documented_reasons() -> set[str]:
    """The reason keys listed in docs/risk.md's section on disagreements with openapi-core."""
    text = RISK_DOC.read_text(encoding="utf-8")
    start = text.index("## Where lam and openapi-core disagree")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end != -1 else len(text)]
    return set(re.findall(r"^\| `([a-z0-9-]+)` \|", section, flags=re.MULTILINE))


# ----------------------------------------------------------------------------- lam's fixes


def test_a_bound_written_as_text_in_the_spec_is_read_as_its_number() -> None:
    """Spotify's spec gives ``limit`` ``"maximum": "50"`` (a string): lam crashed comparing."""
    spec = load_spec(real_spec("restbench_spotify_oas.json"))
    op = spec.operation("GET /search")
    params = {"q": "doxy", "type": ["album"], "limit": 10}
    assert check_call(spec, op, params=params) == []
    problems = check_call(spec, op, params={**params, "limit": 51})
    assert [(p.location, p.code) for p in problems] == [("params.limit", "invalid-param")]


def test_required_written_as_text_means_what_it_says() -> None:
    """Spotify's ``market`` says ``"required": "false"``, ``q`` ``"required": "true"``;
    bool("false") made market required."""
    spec = load_spec(real_spec("restbench_spotify_oas.json"))
    albums = spec.operation("GET /albums/{id}")
    assert check_call(spec, albums, params={"id": "4aawyAB9vmqN3uQ7FjRGTy"}) == []
    assert next(p for p in albums.parameters if p.name == "market").required is False
    search = spec.operation("GET /search")
    problems = check_call(spec, search, params={"type": ["album"]})
    assert [(p.location, p.code) for p in problems] == [("params.q", "missing-param")]


def test_a_path_parameter_stays_required() -> None:
    spec = load_spec(real_spec("restbench_spotify_oas.json"))
    problems = check_call(spec, spec.operation("GET /albums/{id}"), params={}, body=NO_BODY)
    assert [p.code for p in problems] == ["missing-param"]


# ----------------------------------------------------------------------------- the oracle


def test_every_reason_the_benchmark_can_give_is_documented() -> None:
    bench = _benchmark()
    assert set(bench.REASONS) == documented_reasons()


@pytest.mark.parametrize("name", ["petstore", "github", "stripe", "spotify", "tmdb"])
def test_lam_and_openapi_core_agree_but_for_documented_reasons(name: str) -> None:
    verdicts, tally = _differential(name)
    kinds = {v.call.kind for v in verdicts}
    assert "valid" in kinds and len(kinds) >= 3, kinds  # the sample exercises mutations
    unexplained = [
        f"{v.call.label}\n  lam: {v.lam or 'valid'}\n  openapi-core: {v.core or 'valid'}"
        for v in verdicts
        if not v.agree and v.reason not in documented_reasons()
    ]
    assert unexplained == [], "\n".join(unexplained)
    crashes = [v.call.label for v in verdicts if any(p.startswith("CRASH") for p in v.lam)]
    assert crashes == []
    assert tally.calls == len(verdicts) and tally.agree > 0
    assert tally.misplaced == 0  # a refused mutation is refused at the place it was made


def test_the_disagreements_seen_are_the_documented_ones() -> None:
    """Over the test's sample of all five specs, each documented reason shows up."""
    bench = _benchmark()
    seen: set[str] = set()
    for name in bench.SPECS:
        _, tally = _differential(name)
        seen |= set(tally.by_reason)
    assert seen == documented_reasons()


def test_the_generator_is_deterministic() -> None:
    bench = _benchmark()
    first, _ = bench.differential("petstore", ops=8, seed=SEED)
    again, _ = bench.differential("petstore", ops=8, seed=SEED)
    assert [(v.call.label, v.lam, v.core) for v in first] == [
        (v.call.label, v.lam, v.core) for v in again
    ]
