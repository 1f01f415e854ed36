"""The page model and grounding are pure: they import, and work, where Playwright is not."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import textwrap

from lam.adapters.browser import page_model
from lam.adapters.browser.page_model import ElementInfo, elements_from_json

# A finder that refuses Playwright, as if it were not installed, and says who asked for it.
_BLOCK_PLAYWRIGHT = textwrap.dedent(
    """
    import sys, traceback

    class NoPlaywright:
        def find_spec(self, name, path=None, target=None):
            if name == "playwright" or name.startswith("playwright."):
                traceback.print_stack()
                raise ImportError("playwright is not installed here")
            return None

    sys.meta_path.insert(0, NoPlaywright())
    """
)


def _run_without_playwright(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _BLOCK_PLAYWRIGHT + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_blocker_does_block_playwright() -> None:
    """The control: the same subprocess cannot import the browser adapter's driver parts."""
    done = _run_without_playwright("import lam.adapters.browser.actions")
    assert done.returncode != 0 and "playwright is not installed here" in done.stderr


def test_grounding_and_the_no_model_planner_import_and_work_without_playwright() -> None:
    done = _run_without_playwright(
        """
        from lam.adapters.browser import ElementInfo
        from lam.adapters.browser.grounding import ground
        from lam.adapters.browser.page_model import elements_from_json
        from lam.adapters.browser.snapshot import ElementInfo as Again
        from lam.planner import UiGoalPlanner, Observation
        from lam.planner.ui_goals import UiGoalPlanner as Direct

        assert ElementInfo is Again
        page = [
            ElementInfo(index=0, role="button", name="Save", tag="button", visible=True,
                        css="#save", box=(0.0, 0.0, 10.0, 10.0)),
            ElementInfo(index=1, role="link", name="Help", tag="a", visible=True,
                        css="#help", box=(0.0, 20.0, 10.0, 10.0)),
        ]
        print(ground("the save button", page).element.css)
        proposal = Direct().propose(Observation("click Save", page), ())
        print(proposal.steps[0]["click"])
        print(len(elements_from_json('{"strings": [], "items": []}')))
        """
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "#save"
    assert lines[1] == "{'css': '#save'}"
    assert lines[2] == "0"


def test_snapshot_names_the_page_model_it_reads_into() -> None:
    # (the package's attribute ``snapshot`` is the function, as it always was)
    snapshot_module = importlib.import_module("lam.adapters.browser.snapshot")
    assert snapshot_module.ElementInfo is page_model.ElementInfo
    assert snapshot_module.elements_from_json is page_model.elements_from_json


def test_elements_from_json_reads_snapshot_js_output() -> None:
    text = json.dumps(
        {
            "strings": ["Order 17", "Orders"],
            "items": [
                {
                    "role": "button",
                    "name": "Refund",
                    "tag": "button",
                    "visible": True,
                    "css": "main > button:nth-of-type(2)",
                    "loc": "r",
                    "box": [1, 2, 3, 4],
                    "context": [0, 1],
                }
            ],
        }
    )
    (el,) = elements_from_json(text, start=5, frame=("iframe#pay",))
    assert isinstance(el, ElementInfo)
    assert (el.index, el.text, el.context, el.box) == (
        5,
        "Refund",
        ("Order 17", "Orders"),
        (1, 2, 3, 4),
    )
    assert el.hints() == {"role": "button", "name": "Refund", "frame": ["iframe#pay"]}
    assert el.locators[-1] == {"xpath": "/main/button[2]"}
