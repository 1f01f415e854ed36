"""Issue 11, "words in selectors and icon-only controls": a target given as a CSS or
Playwright selector is read for risk words at validate time (class names, ids, test ids,
aria-label, title, ``:has-text()``/``text=``), and an icon-only control is read by its icons
at run time, against a real server on 127.0.0.1 that logs every request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from servers import serve_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from lam.adapters.browser import find_chromium
from lam.cli.main import main
from lam.risk.ui import ElementFacts, classify_ui, selector_facts
from lam.types import Risk

PAGES = Path(__file__).parent / "pages" / "words"


@pytest.mark.parametrize(
    "css",
    [
        "li:nth-child(1) button.destroy",  # TodoMVC's delete control
        "button:has-text('Delete Project')",
        'button:has-text("Remove member")',
        "text=Delete",
        "#delete-account",
        "[data-testid=remove-item]",
        "[data-test='trash-button']",
        "[aria-label='Delete row']",
        'a[title="Remove"]',
        "button:has(i.fa-trash)",
        "button:has(svg.icon-delete)",
        'role=button[name="Delete"]',
        ".btn-danger",
        "ul > li:last-child .actions button.remove, .fallback",
    ],
)
def test_words_in_a_selector_make_the_click_destructive(css: str) -> None:
    found = classify_ui(ElementFacts(attributes={"css": css}))
    assert found.risk is Risk.DESTRUCTIVE, found.reasons


@pytest.mark.parametrize(
    "css",
    [
        "button.save",
        "#submit",
        "li:has-text('Delete me') input.toggle",  # the item's text, not the control's
        "div.danger-zone button.rename",  # an ancestor's class is not the control's
        "[data-testid=add-item]",
    ],
)
def test_a_selector_without_risk_words_on_its_element_stays_a_write(css: str) -> None:
    found = classify_ui(ElementFacts(attributes={"css": css}))
    assert found.risk is Risk.WRITE, found.reasons


@pytest.mark.parametrize(
    ("xpath", "risk"),
    [
        ("//li[1]//button[contains(@class,'destroy')]", Risk.DESTRUCTIVE),
        ("//button[text()='Delete']", Risk.DESTRUCTIVE),
        ("//button[contains(., 'Remove member')]", Risk.DESTRUCTIVE),
        ("//button[@data-testid='trash']", Risk.DESTRUCTIVE),
        ("//div[@id='delete-zone']//button[@class='save']", Risk.WRITE),
    ],
)
def test_words_in_an_xpath_count_too(xpath: str, risk: Risk) -> None:
    found = classify_ui(ElementFacts(attributes={"xpath": xpath}))
    assert found.risk is risk, found.reasons


def test_selector_facts_name_the_parts() -> None:
    facts = selector_facts(ElementFacts(attributes={"css": "button#go.btn.primary[title='Go']"}))
    assert facts.attributes["id"] == "go"
    assert facts.attributes["class"] == "btn primary"
    assert facts.attributes["title"] == "Go"


@pytest.mark.parametrize(
    ("icon", "risk"),
    [
        ("fa fa-trash", Risk.DESTRUCTIVE),
        ("#icon-delete", Risk.DESTRUCTIVE),
        ("fa fa-pencil", Risk.WRITE),
    ],
)
def test_an_icon_only_control_is_read_by_its_icon(icon: str, risk: Risk) -> None:
    found = classify_ui(ElementFacts(tag="button", role="button", attributes={"icon": icon}))
    assert found.risk is risk, found.reasons


def test_lam_validate_reads_selector_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = {
        "lam": 1,
        "name": "todo",
        "apps": {"todo": {"url": "http://127.0.0.1:9/"}},
        "steps": [
            {"id": "open", "goto": "todo:/"},
            {"id": "destroy", "click": {"css": "li:nth-child(1) button.destroy"}},
            {"id": "drop", "click": {"css": "button:has-text('Delete Project')"}},
            {"id": "toggle", "click": {"css": "li:nth-child(1) input.toggle"}},
            {"id": "trash", "click": {"xpath": "//li[2]//button[contains(@class, 'trash')]"}},
        ],
    }
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    main(["validate", str(path), "--json"])
    report = json.loads(capsys.readouterr().out)
    risks = {s["id"]: s["risk"] for s in report["steps"]}
    assert risks == {"open": "read", "destroy": "destructive", "drop": "destructive",
                     "toggle": "write", "trash": "destructive"}, report  # fmt: skip


# -- at run time, against a server that logs ---------------------------------------------------


class Logged:
    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []
        self.url = ""
        self.app = Starlette(
            routes=[
                Route("/pages/{name}", self.page),
                Route("/{path:path}", self.anything, methods=["GET", "POST", "DELETE"]),
            ]
        )

    async def page(self, request: Request) -> Response:
        return FileResponse(PAGES / request.path_params["name"])

    async def anything(self, request: Request) -> Response:
        self.log.append((request.method, request.url.path))
        return JSONResponse({})


@pytest.fixture(scope="module")
def site() -> Iterator[Logged]:
    found = Logged()
    with serve_app(found.app) as url:
        found.url = url
        yield found


@pytest.mark.integration
@pytest.mark.browser
@pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine")
@pytest.mark.parametrize(("button", "blocked"), [("#b1", True), ("#b2", True), ("#b3", False)])
def test_an_icon_only_delete_button_needs_approval_in_a_live_run(
    button: str, blocked: bool, site: Logged, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site.log.clear()
    steps: list[dict[str, Any]] = [
        {"id": "open", "goto": "app:/pages/icons.html"},
        {"id": "click", "click": {"css": button}},
    ]
    plan = {"lam": 1, "name": "icons", "apps": {"app": {"url": site.url + "/"}}, "steps": steps}
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    code = main(["run", str(path), "--json"])
    result = json.loads(capsys.readouterr().out)
    if blocked:
        assert code == 3, result
        assert site.log == [], result
    else:
        assert code == 0, result
        assert site.log == [("POST", "/items/3")]
