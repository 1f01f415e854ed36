"""The recorder on a page whose form's controls clobber the form's properties (a select named
``action``, controls named ``querySelector``, ``closest``, ``textContent``...): every event is
recorded, with the element's real attributes (see tests/test_dom_clobbering.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from servers import serve_directory

import lam
from lam.adapters.browser import find_chromium

PAGES = Path(__file__).parent / "pages"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium installed"),
]


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve_directory(PAGES) as url:
        yield url


def test_the_recorder_records_on_a_clobbered_form(base_url: str, tmp_path: Path) -> None:
    out = tmp_path / "bulk.yaml"
    with lam.record(base_url + "clobber.html", out=out) as page:
        page.get_by_label("Action:").select_option("delete_selected")
        page.get_by_role("checkbox", name="Select bob").check()
        page.get_by_role("link", name="Next page").click()
        page.wait_for_url("**/next")
    steps = yaml.safe_load(out.read_text())["steps"]
    kinds = [
        next(k for k in ("select", "check", "click") if k in s) for s in steps if "goto" not in s
    ]
    assert kinds == ["select", "check", "click"]
    select = next(s for s in steps if "select" in s)
    assert select["value"] == "delete_selected"
    attributes = select["select"]["fingerprint"]["attributes"]
    assert attributes["name"] == "action" and attributes["id"] == "act"
