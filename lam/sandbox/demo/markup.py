"""HTML building blocks for the demo app's server-rendered pages (html.escape, no templates)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse

__all__ = ["e", "form_fields", "options", "page"]

_STYLE = """
body{font-family:system-ui,sans-serif;margin:0;color:#222}
header{background:#2d5d7b;color:#fff;padding:.5rem 1rem;display:flex;gap:1rem;align-items:center}
header a{color:#fff}
header form{margin-left:auto}
main{padding:1rem;max-width:60rem}
table{border-collapse:collapse}td,th{border-bottom:1px solid #ccc;padding:.3rem .6rem;text-align:left}
label{display:block;margin-top:.6rem}
.flash{background:#e3f5e1;border:1px solid #6a6;padding:.4rem}
.error{background:#fbe3e3;border:1px solid #c66;padding:.4rem}
.danger{background:#b33;color:#fff}
.inline{display:inline}
.modal{position:fixed;inset:0;background:rgba(0,0,0,.4);display:flex;align-items:center;justify-content:center}
.modal>div{background:#fff;padding:1rem 1.5rem;border-radius:.3rem}
"""


def e(value: object) -> str:
    """``value`` as escaped HTML text (quotes included, so safe in attributes)."""
    return escape(str(value), quote=True)


def options(values: Iterable[str], selected: str | None, *, blank: str | None = None) -> str:
    """``<option>`` elements for ``values``, marking ``selected``; ``blank`` adds an empty one."""
    parts = []
    if blank is not None:
        parts.append(f'<option value=""{" selected" if not selected else ""}>{e(blank)}</option>')
    for value in values:
        mark = " selected" if value == selected else ""
        parts.append(f'<option value="{e(value)}"{mark}>{e(value.capitalize())}</option>')
    return "".join(parts)


def page(
    title: str,
    body: str,
    *,
    user: str | None = None,
    flash: str | None = None,
    status: int = 200,
    scripts: Iterable[str] = (),
    heading: bool = True,
    body_data: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """A whole page: navigation, a heading from ``title``, an optional flash, then ``body``.

    ``heading=False`` leaves the ``<h1>`` to ``body`` (pages whose script renders it);
    ``body_data`` becomes ``data-*`` attributes of ``<body>``.
    """
    nav = ""
    if user:
        nav = (
            '<nav aria-label="Main"><a href="/pets">Pets</a> <a href="/orders">Orders</a> '
            '<a href="/pets/new">New pet</a></nav>'
            '<form class="inline" method="post" action="/logout">'
            f'<span>{e(user)}</span> <button type="submit">Log out</button></form>'
        )
    flash_html = f'<p class="flash" role="status">{e(flash)}</p>' if flash else ""
    h1 = f"<h1>{e(title)}</h1>" if heading else ""
    data = "".join(f' data-{e(k)}="{e(v)}"' for k, v in (body_data or {}).items())
    script_tags = "".join(f'<script src="{e(src)}"></script>' for src in scripts)
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{e(title)} · Pet shop admin</title><style>{_STYLE}</style></head>"
        f"<body{data}><header><strong>Pet shop admin</strong>{nav}</header>"
        f"<main>{h1}{flash_html}{body}</main>{script_tags}</body></html>"
    )
    return HTMLResponse(html, status_code=status)


async def form_fields(request: Request) -> dict[str, str]:
    """An urlencoded form body as name -> first value (blank values kept)."""
    raw = (await request.body()).decode("utf-8", errors="replace")
    return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
