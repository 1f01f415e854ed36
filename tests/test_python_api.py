"""The functional Python API (``lam.validate``, ``lam.dry_run``, ``lam.run``, ``lam.replay``,
``lam.plan``) against the demo shop's API: the objects the commands render, and LamError
subclasses for what stops a run from starting. State is read from the shop's own database."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from servers import DemoServer, start_demo

import lam
from lam.errors import BlockedError, LamError, PlanError, UsageError
from lam.policy import default_policy

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
DEMO_SPEC = ROOT / "specs" / "demo.yaml"
PETSTORE = ROOT / "specs" / "petstore.yaml"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    with start_demo(tmp_path_factory.mktemp("shop")) as server:
        yield server


def pets(db: Path) -> dict[int, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT id, name FROM pets").fetchall())


def test_import_lam_loads_no_browser_and_lam_plan_is_the_function() -> None:
    code = (
        "import sys, lam;"
        "assert 'playwright' not in sys.modules and 'yaml' not in sys.modules;"
        "import lam.plans, lam.runtime.record, lam.validation, lam.replayer;"
        "names = ('plan', 'run', 'validate', 'replay', 'dry_run');"
        "assert all(getattr(lam, n).__module__ == 'lam.facade' for n in names);"
        "assert all(getattr(lam, n).__name__ == n for n in names)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    assert {"Session", "validate", "run", "dry_run", "replay", "plan"} <= set(lam.__all__)


def test_validate_returns_the_report_an_invalid_plan_too() -> None:
    report = lam.validate(EXAMPLES / "demo_delete_pet.yaml", policy=default_policy())
    assert report.ok and [s.id for s in report.held] == ["remove"] and report.exit_code == 3
    bad = lam.validate(ROOT / "tests" / "data" / "plans" / "unknown_operation.yaml")
    assert not bad.ok and bad.errors[0].code and bad.exit_code == 1
    with pytest.raises(UsageError, match="plan not found"):
        lam.validate(ROOT / "no-such-plan.yaml")
    with pytest.raises(UsageError, match="--app"):
        lam.validate(EXAMPLES / "demo_delete_pet.yaml", apps={"shop": "not a url"})
    with pytest.raises(PlanError):
        lam.validate(ROOT / "tests" / "data" / "plans" / "malformed.yaml")


def test_a_policy_file_is_loaded_and_a_bad_one_is_a_usage_error(tmp_path: Path) -> None:
    strict = tmp_path / "policy.yaml"
    strict.write_text("rules:\n  - match: {api: shop, operation: deletePet}\n    verdict: deny\n")
    report = lam.validate(EXAMPLES / "demo_delete_pet.yaml", policy=strict)
    assert report.held[0].verdict is not None and report.held[0].verdict.value == "deny"
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: 3\n")
    with pytest.raises(LamError) as caught:
        lam.validate(EXAMPLES / "demo_delete_pet.yaml", policy=broken)
    assert caught.value.exit_code == 2


def test_dry_run_holds_the_writes_and_run_makes_them(demo: DemoServer) -> None:
    plan, api = EXAMPLES / "demo_api_pets.yaml", {"shop": demo.api}
    before = pets(demo.db)
    dry = lam.dry_run(plan, apis=api, inputs={"name": "Dryad"})
    assert dry.status == "ok" and dry.dry_run and pets(demo.db) == before
    assert {e["method"] for e in dry.effects_json or []} == {"POST", "PATCH"}

    seen: list[str] = []
    live = lam.run(plan, apis=api, inputs={"name": "Livia", "new_name": "Livvy"},
                   hooks=lam.Hooks(on_step=lambda step: seen.append(step.id)))  # fmt: skip
    assert live.status == "ok" and live.exit_code == 0 and not live.dry_run
    assert "Livvy" in pets(demo.db).values()
    assert seen == ["login", "add", "rename", "check"]
    assert (Path(live.directory) / "trace.jsonl").is_file()


def test_run_refuses_to_start_without_the_operators_approval(demo: DemoServer) -> None:
    plan, api = EXAMPLES / "demo_delete_pet.yaml", {"shop": demo.api}
    with pytest.raises(BlockedError, match="remove needs approval") as blocked:
        lam.run(plan, apis=api, inputs={"pet": 4})
    assert blocked.value.exit_code == 3 and 4 in pets(demo.db)
    digest = str(blocked.value).rsplit("--approve remove@", 1)[1].split()[0]
    done = lam.run(plan, apis=api, inputs={"pet": 4}, approvals=[f"remove@{digest}"])
    assert done.status == "ok" and 4 not in pets(demo.db)


def test_an_invalid_plan_raises_with_its_report(tmp_path: Path) -> None:
    plan = tmp_path / "bad.yaml"
    steps = [{"id": "x", "call": "shop.noSuchThing"}, {"id": "y", "call": "shop.nope"}]
    document = {"lam": 1, "name": "bad", "apis": {"shop": {"spec": str(DEMO_SPEC)}}}
    plan.write_text(yaml.safe_dump({**document, "steps": steps}))
    with pytest.raises(lam.InvalidPlanError) as caught:
        lam.dry_run(plan)
    assert caught.value.location == "steps[0].call" and "and 1 more" in caught.value.message
    assert len(caught.value.report.errors) == 2
    assert isinstance(caught.value, PlanError) and caught.value.exit_code == 1


def test_replay_runs_a_plan_and_reports_nothing_healed(demo: DemoServer) -> None:
    result = lam.replay(EXAMPLES / "demo_api_pets.yaml", apis={"shop": demo.api}, dry_run=True)
    assert result.run is not None and result.run.status == "ok" and result.healed == ()
    assert result.report.ok


def test_plan_turns_a_goal_into_a_validated_plan(tmp_path: Path) -> None:
    out = tmp_path / "plans" / "find.yaml"
    out.parent.mkdir()
    planned = lam.plan("find available pets", apis=[PETSTORE], output=out)
    assert planned.ok and planned.steps == 1 and 0 < planned.confidence <= 1
    assert planned.document is not None
    assert planned.document["steps"][0]["call"] == "petstore.findPetsByStatus"
    assert not Path(planned.document["apis"]["petstore"]["spec"]).is_absolute()
    assert out.read_text() == planned.text and lam.validate(out).ok
    named = lam.plan("show pet 4", apis={"shop": DEMO_SPEC})
    assert named.document is not None and named.document["steps"][0]["call"] == "shop.getPet"
    with pytest.raises(lam.CannotPlanError, match="cannot plan") as unsure:
        lam.plan("fix order 3", apis=[DEMO_SPEC])
    assert unsure.value.planned.candidates and not unsure.value.planned.ok
    with pytest.raises(UsageError, match="apis"):
        lam.plan("list pets")
    with pytest.raises(UsageError, match="spec not found"):
        lam.plan("list pets", apis=[tmp_path / "missing.yaml"])
