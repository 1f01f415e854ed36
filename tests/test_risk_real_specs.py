"""The real-spec checks of benchmarks/risk_real_specs.py, over the specs shipped in
tests/data/specs/real (GitHub's, Stripe's and RestBench's Spotify)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from real_specs import real_spec

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "risk_real_specs.py"


def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("risk_real_specs", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["risk_real_specs"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["github", "stripe", "spotify"])
def test_real_spec_checks_hold(name: str) -> None:
    bench = _benchmark()
    path = real_spec(bench.SPECS[name])
    ops = list(bench.operations(bench.read_spec(path)))
    assert ops
    classified = {op.key: (op, bench.classify_operation(op)) for op in ops}
    assert bench.check(name, classified) == []
    if name == "stripe":
        for key in bench.STRIPE_MUST_BE_DESTRUCTIVE:
            assert classified[key][1].risk.value == "destructive", key
