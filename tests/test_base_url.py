"""One rule for where an API's calls go: the override, else the plan's base_url, else the
spec's first server (Plan.api_base_url), used by validation and by runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lam.plans import parse_plan
from lam.validation import declared_hosts

PLAN = """\
lam: 1
name: where
apis:
  declared: {spec: a.yaml, base_url: 'http://declared.test:8001/v1'}
  served: {spec: b.yaml}
  nowhere: {spec: c.yaml}
steps:
  - {id: one, call: declared.listPets}
"""


@dataclass(frozen=True)
class _Spec:
    servers: tuple[str, ...]


SPECS = {
    "declared": _Spec(("http://spec-a.test/",)),
    "served": _Spec(("http://spec-b.test:9000/api", "http://second.test/")),
    "nowhere": _Spec(()),
}


def test_override_then_declared_then_first_server_then_none() -> None:
    plan = parse_plan(PLAN, base=Path("."))
    assert plan.api_base_url("declared", SPECS, {}) == "http://declared.test:8001/v1"
    assert plan.api_base_url("served", SPECS, {}) == "http://spec-b.test:9000/api"
    assert plan.api_base_url("nowhere", SPECS, {}) is None
    assert plan.api_base_url("unknown", SPECS, {}) is None
    over = {"declared": "http://127.0.0.1:5000", "nowhere": "http://127.0.0.1:5001"}
    assert plan.api_base_url("declared", SPECS, over) == "http://127.0.0.1:5000"
    assert plan.api_base_url("nowhere", SPECS, over) == "http://127.0.0.1:5001"
    assert plan.api_base_url("served", {}, {}) is None  # no spec loaded: nothing to fall back on


def test_validation_declares_the_hosts_the_rule_gives() -> None:
    plan = parse_plan(PLAN, base=Path("."))
    hosts = declared_hosts(plan, SPECS, {"declared": "http://127.0.0.1:5000"}, {})  # type: ignore[arg-type]
    assert hosts == {"127.0.0.1:5000", "spec-b.test:9000"}
