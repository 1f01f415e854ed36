"""Run modes (lam.runtime.mode, lam.runtime.sandbox_mode): live and dry differ by one object, chosen
in one place; the sandbox builds one simulator per API, shared by API steps and pages."""

from __future__ import annotations

import json
import re
from pathlib import Path

from lam.egress.decide import UnattendedWrites
from lam.plans import load_plan
from lam.policy import default_policy
from lam.runtime.effects import Effect
from lam.runtime.guard import DryRunGuard, LiveGuard
from lam.runtime.mode import LiveMode, ModeName, NoEffects, mode_for
from lam.runtime.record import RunRecord
from lam.runtime.sandbox_mode import SandboxMode, SignInPassThrough
from lam.runtime.start import RunOptions
from lam.sandbox.transport import SimulatorTransport
from lam.validation import validate_loaded

ROOT = Path(__file__).resolve().parents[1]
LAM = ROOT / "lam"


def test_the_options_choose_the_mode_in_one_place() -> None:
    live = mode_for(RunOptions(policy=default_policy()))
    dry = mode_for(RunOptions(policy=default_policy(), dry_run=True, seed=7))
    assert isinstance(live, LiveMode) and live.name is ModeName.LIVE
    assert isinstance(dry, SandboxMode) and dry.name is ModeName.DRY_RUN and dry.seed == 7
    assert live.egress is UnattendedWrites.POLICY and dry.egress is UnattendedWrites.REFUSED
    assert live.stand_in("TOKEN") is None
    assert dry.stand_in("TOKEN") == "lam-dry-run-placeholder-TOKEN"


def test_each_mode_supplies_its_guard_and_sink(tmp_path: Path) -> None:
    record = RunRecord.create(tmp_path / "runs")
    kwargs = {"declared_hosts": ["127.0.0.1"], "record": record, "approvals": (), "prompt": None}
    live, dry = LiveMode(), SandboxMode()
    assert type(live.guard(default_policy(), **kwargs)) is LiveGuard  # type: ignore[arg-type]
    assert type(dry.guard(default_policy(), **kwargs)) is DryRunGuard  # type: ignore[arg-type]
    effect = Effect("s", "DELETE", "http://127.0.0.1/x", None, "destructive", "approve")
    live.effects.add(effect)
    dry.effects.add(effect)
    assert isinstance(live.effects, NoEffects) and live.effects.held == ()
    assert dry.effects.held == (effect,)
    assert live.write_effects(record) is None
    assert dry.write_effects(record) == [effect.to_json()]
    record.close()
    written = json.loads((record.directory / "effects.json").read_text())
    assert written == [effect.to_json()]


def test_the_sandbox_builds_one_simulator_per_api_shared_with_the_steps() -> None:
    plan = load_plan(ROOT / "examples" / "demo_mixed.yaml")
    report = validate_loaded(plan, [], policy=default_policy(), api_overrides={},
                             app_overrides={})  # fmt: skip
    urls = {"shop": "http://127.0.0.1:9/api"}
    mode = SandboxMode()
    mode.start(plan, report, urls)
    try:
        sim = mode.simulator("shop")
        assert sim is not None and set(mode.transports) == {"shop"}
        transport = mode.transports["shop"]
        # the API is behind the plan's app: signing in goes live, the rest to the simulator
        assert isinstance(transport, SignInPassThrough)
        inner = transport._simulated
        assert isinstance(inner, SimulatorTransport) and inner.simulator is sim
    finally:
        mode.close()
    assert LiveMode().simulator("shop") is None and dict(LiveMode().transports) == {}


def test_no_dry_run_flag_is_read_outside_the_mode() -> None:
    """The convention the modes stand for: a mode in disguise (a ``dry_run`` flag, an effect
    log tested for None) does not come back in the run package, the egress or lam do."""
    allowed = {
        ("run/mode.py", "if options.dry_run:"),  # the one place the flag chooses a mode
        ("run/start.py", "dry_run: bool = False"),  # the option itself
        ("run/runner.py", "def dry_run(self) -> bool:"),  # a result's answer, for callers
    }
    pattern = re.compile(r"dry_run|effects is None|effects is not None")
    found = []
    for path in [*(LAM / "run").glob("*.py"), *(LAM / "egress").glob("*.py"), LAM / "agent.py"]:
        for line in path.read_text().splitlines():
            code = line.split("#", 1)[0].strip()
            if pattern.search(code):
                where = str(path.relative_to(LAM))
                if not any(where == w and code.startswith(c) for w, c in allowed):
                    found.append(f"{where}: {code}")
    assert found == []
