"""Annotated screenshots for the run record: the page after a UI step, the acted-on element boxed
and labelled with the step id, so a reader of the trace sees what lam touched."""

from __future__ import annotations

import io
import re
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

__all__ = ["annotate", "take_screenshot"]

Box = tuple[float, float, float, float]  # x, y, width, height in CSS pixels

_COLOURS = {"ok": (22, 130, 60), "failed": (200, 110, 0), "blocked": (200, 20, 20)}


def annotate(
    png: bytes, box: Box | None, label: str, *, status: str = "ok", scale: float = 1.0
) -> bytes:
    """``png`` with ``box`` outlined and ``label`` written on a tab above it (top-left without
    a box). ``scale`` converts CSS pixels to image pixels (the device scale factor)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    draw = ImageDraw.Draw(image)
    colour = _COLOURS.get(status, _COLOURS["failed"])
    font = ImageFont.load_default(size=max(12, round(13 * scale)))
    if box is not None:
        x, y, w, h = (v * scale for v in box)
        x0, y0 = max(0.0, x - 3), max(0.0, y - 3)
        draw.rectangle([x0, y0, x + w + 3, y + h + 3], outline=colour, width=3)
        anchor = (x0, y0)
    else:
        anchor = (0.0, 0.0)
    left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
    tab_w, tab_h = right - left + 8, bottom - top + 6
    tx = min(anchor[0], max(0.0, image.width - tab_w))
    ty = anchor[1] - tab_h if anchor[1] >= tab_h else anchor[1]
    draw.rectangle([tx, ty, tx + tab_w, ty + tab_h], fill=colour)
    draw.text((tx + 4, ty + 3 - top), label, fill=(255, 255, 255), font=font)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def take_screenshot(
    page: Page,
    directory: Path,
    run_dir: Path,
    step: str,
    *,
    box: Box | None = None,
    status: str = "ok",
) -> str | None:
    """Save the annotated page as ``directory/NN-STEP.png``; the path relative to ``run_dir``.

    Returns None when the page cannot be captured (closed, crashed): a missing screenshot must
    not change a step's outcome.
    """
    try:
        png = page.screenshot(timeout=5_000)
        scale = float(page.evaluate("window.devicePixelRatio") or 1.0)
    except PlaywrightError:
        return None
    label = step if status == "ok" else f"{step} ({status})"
    directory.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", step)[:60] or "step"
    number = len(list(directory.glob("*.png"))) + 1
    path = directory / f"{number:02d}-{safe}.png"
    path.write_bytes(annotate(png, box, label, status=status, scale=scale))
    return path.relative_to(run_dir).as_posix()
