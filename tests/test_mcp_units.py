"""`lam mcp`'s parts without a browser: the tool schemas, the arguments check every call meets
first, the operator's grants (`lam approve`), `--api` values, and what a person is shown."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from lam.cli.main import main
from lam.cli.mcp_cmd import api_specs
from lam.errors import UsageError
from lam.mcp import approvals
from lam.mcp.calls import Held
from lam.mcp.server import _check_arguments
from lam.mcp.tools import BROWSER_TOOLS, MAX_ARGUMENT_BYTES, TOOLS, tool_list
from lam.runtime.registry import registered

ROOT = Path(__file__).resolve().parents[1]
ALL = set(TOOLS)


def test_tool_lists_follow_the_sessions_apps_and_apis() -> None:
    assert {t.name for t in tool_list(browser=True, api=False)} == set(TOOLS) - {
        "api_operations",
        "api_call",
    }
    assert not any(t.name.startswith("browser_") for t in tool_list(browser=False, api=True))
    assert all(t.inputSchema["type"] == "object" for t in tool_list())


@pytest.mark.parametrize(
    "name", sorted(n for n in BROWSER_TOOLS if "ref" in TOOLS[n][1]["properties"])
)
def test_element_tools_take_element_and_ref_or_target(name: str) -> None:
    extra: dict[str, dict[str, Any]] = {
        "browser_type": {"text": "a"},
        "browser_select_option": {"values": ["a"]},
    }
    base = extra.get(name, {})
    assert _check_arguments(name, {"element": "Save", "ref": "e3", **base}, ALL) is None
    assert _check_arguments(name, {"target": "e3", **base}, ALL) is None
    if name != "browser_take_screenshot":  # a screenshot of the whole page needs no element
        assert "give one of: ref, target" in (_check_arguments(name, dict(base), ALL) or "")


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("browser_fly", {}, "unknown tool 'browser_fly'"),
        ("browser_click", {"ref": 3}, "browser_click: arguments.ref: expected string, got int"),
        ("browser_click", {"ref": "e1", "x": 1}, "unknown argument x"),
        ("browser_select_option", {"ref": "e1", "values": "a"}, "arguments.values: expected"),
        ("browser_wait_for", {"time": 3600}, "arguments.time: maximum 30 not met"),
        ("api_call", {"api": "shop"}, "give one of: operation, method/path"),
        ("plan_run", {"plan": 5}, "arguments.plan"),
        ("session_plan", [], "expected object"),
    ],
)
def test_bad_arguments_get_one_short_line(name: str, arguments: object, expected: str) -> None:
    problem = _check_arguments(name, arguments, ALL)
    assert problem is not None and expected in problem, problem


def test_ten_megabytes_of_arguments_are_refused_without_being_echoed() -> None:
    huge = {"ref": "e1", "text": "x" * 10_000_000}
    problem = _check_arguments("browser_type", huge, ALL)
    assert problem is not None and f"more than the {MAX_ARGUMENT_BYTES}" in problem
    assert len(problem) < 300


def test_a_tool_of_another_kind_of_session_is_unknown_here() -> None:
    problem = _check_arguments("api_call", {"api": "a", "operation": "b"}, {"browser_click"})
    assert problem is not None and "start lam mcp with --app/--api" in problem


def test_an_operator_grant_is_used_once_and_only_for_its_digest(tmp_path: Path) -> None:
    with registered("20261129-120000-abcdef", tmp_path):
        path = approvals.grant("last", "s3_click@0123456789")
        assert path.name == "s3_click@0123456789" and (path.stat().st_mode & 0o077) == 0
        assert not approvals.take("20261129-120000-abcdef", "s3_click@9999999999")
        assert approvals.take("20261129-120000-abcdef", "s3_click@0123456789")
        assert not approvals.take("20261129-120000-abcdef", "s3_click@0123456789")  # used up
        approvals.grant("20261129-120000-abcdef", "s4_go@0123456789:destructive")
        assert approvals.take("20261129-120000-abcdef", "s4_go@0123456789:destructive")
        assert not approvals.take("20261129-120000-abcdef", "../../etc@0123456789")


def test_grants_in_a_folder_others_can_write_count_for_nothing(tmp_path: Path) -> None:
    with registered("20261129-120000-abcdef", tmp_path):
        path = approvals.grant("20261129-120000-abcdef", "s3_click@0123456789")
        os.chmod(path.parent, 0o777)  # planted, or loosened: not the operator's alone
        assert not approvals.take("20261129-120000-abcdef", "s3_click@0123456789")
        with pytest.raises(UsageError, match="approvals folder"):
            approvals.grant("20261129-120000-abcdef", "s3_click@0123456789")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["approve", "20261129-120000-abcdef", "s3_click"], "is not STEP@DIGEST"),
        (["approve", "20261129-120000-abcdef", "s3_click@0123456789"], "no running session"),
        (["approve", "../x", "s3_click@0123456789"], "no running session"),
    ],
)
def test_lam_approve_refuses_what_it_cannot_grant(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert expected in capsys.readouterr().err


def test_api_values_name_a_spec_and_maybe_where_the_api_lives(tmp_path: Path) -> None:
    spec = ROOT / "specs" / "demo.yaml"
    parsed = api_specs([f"shop={spec}=http://127.0.0.1:9/api", f"plain={spec}"])
    assert parsed == {"shop": (str(spec), "http://127.0.0.1:9/api"), "plain": (str(spec), None)}
    assert api_specs(["remote=https://example.test/openapi.json"])["remote"][1] is None
    for bad in ("shop", "shop=", f"shop={tmp_path}/missing.yaml"):
        with pytest.raises(UsageError):
            api_specs([bad])


def test_lam_mcp_without_an_app_or_api_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["mcp"]) == 2
    assert "needs --app" in capsys.readouterr().err


def test_the_person_sees_the_exact_step_its_risk_and_its_digest() -> None:
    step = {
        "id": "s4_click",
        "click": {"role": "button", "name": "Delete Rex"},
        "description": "Save the form",  # what the agent says it is
    }
    held = Held(step, "s4_click@0123456789", "destructive", ("the words say delete",), "held")
    shown = held.message()
    assert "name: Delete Rex" in shown and "s4_click@0123456789" in shown
    assert "risk: destructive (the words say delete)" in shown
    assert json.dumps(step["click"]) not in shown  # YAML, as a person reads it
    assert "description:" not in shown  # the agent's words are not part of the step shown
    assert "the agent calls it (its words, not checked): Save the form" in shown


def test_a_plan_named_by_path_stays_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lam.mcp.plans import McpConfig, run_plan, validate
    from lam.policy import default_policy

    monkeypatch.chdir(tmp_path)
    for outside in ("/etc/passwd", "../plan.yaml", str(ROOT / "examples" / "demo_mixed.yaml")):
        with pytest.raises(UsageError, match="under the working directory"):
            validate(outside, default_policy())
    with pytest.raises(UsageError, match="not an input name"):
        run_plan({"lam": 1}, {"--approve=x": "1"}, McpConfig(), dry_run=False)
