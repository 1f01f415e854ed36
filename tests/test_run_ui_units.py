"""The UI runner's pure parts, without a browser: app:PATH URLs, API routes and screenshot
annotation (what signs in is tested in test_dry_run_holds.py)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from lam.errors import StepFailed
from lam.runtime.network_guard import ApiRoute
from lam.runtime.screenshots import annotate
from lam.runtime.ui_step import resolve_goto
from lam.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
APPS = {"shop": "http://127.0.0.1:8000/", "admin": "https://example.test/admin/"}


@pytest.mark.parametrize(
    ("target", "url"),
    [
        ("shop:/pets/1", "http://127.0.0.1:8000/pets/1"),
        ("shop:", "http://127.0.0.1:8000/"),
        ("admin:/users?q=a", "https://example.test/admin/users?q=a"),  # root under a sub-path
        ("http://127.0.0.1:9/x", "http://127.0.0.1:9/x"),
        ("https://other.test/a:b", "https://other.test/a:b"),
    ],
)
def test_goto_targets_resolve_under_the_apps_root(target: str, url: str) -> None:
    assert resolve_goto(target, APPS) == url


def test_a_bare_path_needs_exactly_one_app() -> None:
    assert resolve_goto("/pets", {"shop": "http://h/"}) == "http://h/pets"
    with pytest.raises(StepFailed, match="not a URL and not APP:PATH"):
        resolve_goto("/pets", APPS)
    with pytest.raises(StepFailed, match="admin, shop"):
        resolve_goto("nowhere:/x", APPS)


def test_an_api_route_covers_urls_under_its_base_only() -> None:
    spec = load_spec(str(ROOT / "specs" / "demo.yaml"))
    route = ApiRoute("shop", "shop", spec, "http://h:1/api")
    assert route.covers("http://h:1/api/pets?x=1")
    assert route.covers("http://h:1/api")
    assert not route.covers("http://h:1/apis/pets")
    assert not route.covers("http://h:2/api/pets")


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (255, 255, 255)).save(out, format="PNG")
    return out.getvalue()


def test_annotation_boxes_the_element_and_labels_it() -> None:
    marked = Image.open(io.BytesIO(annotate(_png(200, 120), (50, 60, 40, 20), "save")))
    assert marked.getpixel((47, 80)) == (22, 130, 60)  # left edge of the box, outside by 3
    assert marked.getpixel((70, 70)) == (255, 255, 255)  # inside stays untouched
    assert marked.getpixel((49, 50)) == (22, 130, 60)  # the label's tab sits above the box


def test_annotation_scales_css_pixels_and_colours_a_blocked_step() -> None:
    marked = Image.open(
        io.BytesIO(annotate(_png(400, 240), (50, 60, 40, 20), "x", status="blocked", scale=2))
    )
    assert marked.getpixel((97, 140)) == (200, 20, 20)
    assert marked.getpixel((47, 80)) == (255, 255, 255)


def test_annotation_without_a_box_labels_the_corner() -> None:
    marked = Image.open(io.BytesIO(annotate(_png(100, 50), None, "open")))
    assert marked.getpixel((1, 1)) == (22, 130, 60)
