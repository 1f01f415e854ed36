"""A plan's UI steps as a standalone Playwright pytest test (sync API, no lam import).

The test launches Chromium from ``LAM_CHROMIUM`` or ``chromium`` on ``PATH``, acts through each
step's main locator hints (candidates and fingerprints are lam's healing, not Playwright's),
and asserts the steps' ``expect``. App URLs and inputs default to the plan's and can be moved
with environment variables: ``LAM_APP_<NAME>`` and ``LAM_INPUT_<NAME>``; ``$secrets.NAME``
reads the variable ``NAME``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lam.errors import PlanError
from lam.expressions import Expression, Template, walk_expressions
from lam.plans import Plan, Step

__all__ = ["to_pytest"]

_HEADER = '''"""{title}

Exported by lam from {source}. Run: pytest {{this file}}
Environment: LAM_CHROMIUM (the browser), {env}.
"""

import fnmatch
import os
import shutil

import pytest
from playwright.sync_api import Page, expect, sync_playwright

APPS = {apps}
INPUTS = {inputs}
OUTPUTS: dict = {{}}


@pytest.fixture
def page():
    executable = os.environ.get("LAM_CHROMIUM") or shutil.which("chromium") or shutil.which(
        "chromium-browser"
    )
    # without these Chromium dials Google services at start-up and, on a closed network,
    # its own requests stall behind the refused connections
    args = [
        "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-sync",
        "--disable-background-networking", "--disable-component-update", "--disable-quic",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=args)
        context = browser.new_context()
        context.set_default_timeout(10_000)
        yield context.new_page()
        browser.close()


def app_url(app: str, path: str) -> str:
    return APPS[app].rstrip("/") + "/" + path.lstrip("/")


def url_matches(url: str, pattern: str) -> bool:
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(url, pattern) or fnmatch.fnmatchcase(url, "*" + pattern)
    return pattern in url

'''


def _env_name(prefix: str, name: str) -> str:
    return prefix + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def to_pytest(plan: Plan, *, source: str | None = None) -> str:
    """The text of a pytest module that performs the plan's UI steps in Chromium.

    API steps and targets given only as ``describe:`` text cannot be exported: a PlanError
    names the step.
    """
    apps = {
        name: f"os.environ.get({_env_name('LAM_APP_', name)!r}, {app.url!r})"
        for name, app in plan.apps.items()
    }
    inputs = {
        name: f"os.environ.get({_env_name('LAM_INPUT_', name)!r}, {str(decl.get('default', ''))!r})"
        for name, decl in plan.inputs.items()
    }
    secrets = sorted(
        {
            expr.name or ""
            for step in plan.steps
            for _, expr in walk_expressions([v for _, v in step.expression_fields()])
            if expr.source == "secrets"
        }
    )
    env = ", ".join(
        [
            *(_env_name("LAM_APP_", n) for n in apps),
            *(_env_name("LAM_INPUT_", n) for n in inputs),
            *secrets,
        ]
    )
    header = _HEADER.format(
        title=plan.description or plan.name,
        source=source or plan.file,
        env=env or "none",
        apps=_dict_code(apps),
        inputs=_dict_code(inputs),
    )
    body = [f"def test_{_ident(plan.name)}(page: Page) -> None:"]
    for step in plan.steps:
        body.append(f"    # {step.id}" + (f": {step.description}" if step.description else ""))
        body.extend("    " + line for line in _step_lines(step, plan))
    return header + "\n" + "\n".join(body) + "\n"


def _dict_code(entries: Mapping[str, str]) -> str:
    if not entries:
        return "{}"
    inner = "".join(f"    {k!r}: {v},\n" for k, v in entries.items())
    return "{\n" + inner + "}"


def _ident(name: str) -> str:
    ident = re.sub(r"[^A-Za-z0-9_]", "_", name).strip("_").lower()
    return ident if ident and not ident[0].isdigit() else f"plan_{ident}"


def _fail(step: Step, message: str) -> PlanError:
    return PlanError(message, location=step.place, step=step.id, code="not-exportable")


def _value(value: Any, step: Step) -> str:
    """Python code for a plan value: literals as literals, expressions read at run time."""
    if isinstance(value, Expression):
        return _expression(value, step)
    if isinstance(value, Template):
        parts = [
            f"str({_expression(p, step)})" if isinstance(p, Expression) else repr(p)
            for p in value.parts
        ]
        return " + ".join(parts) or "''"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v, step) for v in value) + "]"
    return repr(value)


def _expression(expr: Expression, step: Step) -> str:
    if expr.source == "inputs":
        return f"INPUTS[{expr.name!r}]"
    if expr.source == "secrets":
        return f"os.environ[{expr.name!r}]"
    if expr.source == "steps" and expr.pointer is None:
        return f"OUTPUTS[{expr.step!r}][{expr.name!r}]"
    raise _fail(step, f"{expr.text}: only $inputs, $secrets and step outputs can be exported")


def locator_code(hints: Mapping[str, Any], step: Step, *, base: str = "page") -> str:
    """Playwright code for a target's main hints (frame, role/name, text, ..., nth)."""
    code = base
    frame = hints.get("frame")
    for selector in [frame] if isinstance(frame, str) else list(frame or []):
        code += f".frame_locator({str(selector)!r})"
    exact = ", exact=True" if hints.get("exact") else ""
    parts: list[str] = []
    if "role" in hints:
        name = f", name={str(hints['name'])!r}" if "name" in hints else ""
        parts.append(f"get_by_role({str(hints['role'])!r}{name}{exact})")
    getters = {
        "text": "get_by_text", "label": "get_by_label", "placeholder": "get_by_placeholder",
        "title": "get_by_title", "alt": "get_by_alt_text",
    }  # fmt: skip
    for key, getter in getters.items():
        if key in hints:
            parts.append(f"{getter}({str(hints[key])!r}{exact})")
    if "testid" in hints:
        parts.append(f"get_by_test_id({str(hints['testid'])!r})")
    if "css" in hints:
        parts.append(f"locator({str(hints['css'])!r})")
    if "xpath" in hints:
        parts.append(f"locator({'xpath=' + str(hints['xpath'])!r})")
    if not parts:
        raise _fail(step, "a target with only 'describe' text needs lam's grounding to run")
    scope = code
    code = f"{scope}.{parts[0]}" + "".join(f".and_({scope}.{p})" for p in parts[1:])
    if "nth" in hints:
        code += f".nth({int(hints['nth'])})"
    return code


def _goto(step: Step, plan: Plan) -> str:
    if isinstance(step.argument, Template | Expression):
        return f"page.goto({_value(step.argument, step)})"
    text = str(step.argument)
    app, sep, path = text.partition(":")
    if sep and "://" not in text and app in plan.apps:
        return f"page.goto(app_url({app!r}, {path!r}))"
    return f"page.goto({text!r})"


def _step_lines(step: Step, plan: Plan) -> list[str]:
    if step.kind == "api":
        raise _fail(step, "API steps do not export to pytest; export the plan to arazzo")
    action, hints, value = step.action, step.target, step.value
    loc = locator_code(hints, step) if hints is not None else None
    val = _value(value, step)
    simple = {
        "click": "click()", "check": "check()", "uncheck": "uncheck()", "hover": "hover()",
        "fill": f"fill({val})" if isinstance(value, str | Template) else f"fill(str({val}))", "select": f"select_option({val})",
        "upload": f"set_input_files({val})", "press": f"press({val})",
    }  # fmt: skip
    lines: list[str]
    if action == "goto":
        lines = [_goto(step, plan)]
    elif loc is not None and action in simple:
        lines = [f"{loc}.{simple[action]}"]
    elif action == "press":
        lines = [f"page.keyboard.press({_value(step.argument, step)})"]
    elif action == "assert" and loc is not None:
        check = f"to_contain_text(str({val}))" if value is not None else "to_be_visible()"
        lines = [f"expect({loc}).{check}"]
    elif action == "extract" and loc is not None:
        lines = [f"OUTPUTS[{step.id!r}] = {{'value': {loc}.inner_text()}}"]
    elif action == "wait" and loc is not None:
        lines = [f"{loc}.wait_for(state='visible')"]
    elif action == "wait":
        lines = [f"page.wait_for_timeout({float(str(step.argument))})"]
    elif action == "scroll" and loc is not None:
        lines = [f"{loc}.scroll_into_view_if_needed()"]
    elif action == "scroll":
        lines = [
            f"page.mouse.wheel(0, {10**6 if step.argument == 'bottom' else -(10**6) if step.argument == 'top' else 600})"
        ]
    else:
        raise _fail(step, f"a {action} step without a target cannot be exported")
    return lines + _expect_lines(step)


def _expect_lines(step: Step) -> list[str]:
    lines: list[str] = []
    for key, want in step.expect.items():
        if key == "text":
            lines.append(f"expect(page.get_by_text({_value(want, step)}).first).to_be_visible()")
        elif key == "no_text":
            lines.append(f"expect(page.get_by_text({_value(want, step)})).to_have_count(0)")
        elif key == "url":
            lines.append(
                f"page.wait_for_load_state()\n    assert url_matches(page.url, {_value(want, step)}), page.url"
            )
        elif key == "title":
            lines.append(f"assert {_value(want, step)} in page.title()")
        elif key in ("visible", "enabled", "checked") and isinstance(want, Mapping):
            lines.append(f"expect({locator_code(want, step)}).to_be_{key}()")
        elif key == "hidden" and isinstance(want, Mapping):
            lines.append(f"expect({locator_code(want, step)}).to_be_hidden()")
        elif key == "value" and isinstance(want, Mapping):
            hints = dict(want)
            wanted = hints.pop("value", hints.pop("equals", ""))
            hints = dict(hints.pop("target", hints))
            lines.append(
                f"expect({locator_code(hints, step)}).to_have_value(str({_value(wanted, step)}))"
            )
        else:
            raise _fail(step, f"expect.{key} cannot be exported to pytest")
    return lines
