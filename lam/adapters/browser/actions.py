"""UI actions, one small function each, and ``expect`` postconditions.

:func:`perform` resolves the target (exactly one visible element, see
:mod:`lam.adapters.browser.locators`) and runs the action through Playwright, whose actions
auto-wait for the element to be attached, visible, stable, enabled and receiving events.
"""

from __future__ import annotations

import fnmatch
import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page

from lam.adapters.browser.datepicker import pick_date
from lam.adapters.browser.locators import Resolved, resolve_target
from lam.adapters.browser.snapshot import ElementInfo
from lam.adapters.browser.uploads import file_payloads  # bytes, not paths: see that module
from lam.errors import StepFailed
from lam.planner.conversions import parse_date

__all__ = ["ACTIONS", "ActionResult", "cannot_connect", "check_expect", "perform"]

# What Chromium (net::ERR_...) and Playwright's own fetch (Node's E... codes) say when nothing
# answered at the address: the server is not there, not a guard refusing the request. Playwright
# errors carry only text, so this adapter reads it here, once, and hands on a structured error.
_NO_CONNECTION = re.compile(
    r"net::ERR_(?:CONNECTION_(?:REFUSED|RESET|CLOSED|FAILED|TIMED_OUT)|NAME_NOT_RESOLVED"
    r"|ADDRESS_UNREACHABLE|INTERNET_DISCONNECTED|EMPTY_RESPONSE|TUNNEL_CONNECTION_FAILED)"
    r"|\b(?:ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT)\b"
)
_REQUEST_URL = re.compile(r"^[A-Z]+ (\S+?):? ")


def cannot_connect(error: BaseException, url: str | None = None) -> StepFailed | None:
    """``cannot connect to URL`` (exit 1) when ``error`` says the address did not answer, else
    None. ``url`` is what was being opened; without it, the URL the error's text starts with
    (``GET http://...: ...``, as the network guard writes its failures)."""
    found = _NO_CONNECTION.search(str(error))
    if found is None:
        return None
    if url is None:
        lead = _REQUEST_URL.match(getattr(error, "message", None) or str(error))
        url = lead.group(1) if lead else "the address"
    why = found.group(0).removeprefix("net::")
    return StepFailed(f"cannot connect to {url} ({why})", code="cannot-connect")


@dataclass(frozen=True)
class ActionResult:
    """What an action did: the element acted on, its box, any extracted value, the URL after."""

    element: ElementInfo | None
    box: tuple[float, float, float, float] | None
    extracted: Any
    url: str


_Action = Callable[[Page, Locator | None, Any, float], Any]


def _need(locator: Locator | None, action: str) -> Locator:
    if locator is None:
        raise StepFailed(f"{action} needs a target", code="bad-action")
    return locator


def _goto(page: Page, _: Locator | None, value: Any, timeout: float) -> None:
    response = page.goto(str(value), timeout=timeout, wait_until="load")
    if response is not None and _from_the_proxy(response.status, response.headers):
        raise StepFailed(
            f"cannot connect to {value} ({_proxy_reason(response.text())})", code="cannot-connect"
        )


def _from_the_proxy(status: int, headers: Mapping[str, str]) -> bool:
    """Whether an answer is the run's egress proxy (mitmproxy) saying it could not reach the
    server, rather than the server's own: a 502 with the proxy's ``Server`` header. A server
    that fakes it only makes its own step fail."""
    return status == 502 and headers.get("server", "").lower().startswith("mitmproxy")


def _proxy_reason(page_text: str) -> str:
    """The reason on the proxy's error page (``[Errno 111] Connect call failed ...``)."""
    text = html.unescape(re.sub(r"<[^>]*>", "\n", page_text))
    words = [w.strip() for w in text.splitlines() if w.strip()]
    reason = words[-1] if words else "no answer"
    return reason if len(reason) <= 120 else reason[:119] + "…"


def _click(page: Page, loc: Locator | None, _: Any, timeout: float) -> None:
    _need(loc, "click").click(timeout=timeout)


def _fill(page: Page, loc: Locator | None, value: Any, timeout: float) -> None:
    field = _need(loc, "fill")
    date = parse_date(str(value)) if value is not None else None
    if date is not None and field.evaluate("e => e.readOnly === true"):
        pick_date(page, field, date, timeout)  # a date field that takes its calendar's clicks
        return
    field.fill("" if value is None else str(value), timeout=timeout)


def _select(page: Page, loc: Locator | None, value: Any, timeout: float) -> list[str]:
    options = [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]
    target = _need(loc, "select")
    try:  # an option's value first, then its visible label
        return target.select_option(options, timeout=timeout)
    except PlaywrightError:
        return target.select_option(label=options, timeout=timeout)


def _check(page: Page, loc: Locator | None, _: Any, timeout: float) -> None:
    _need(loc, "check").check(timeout=timeout)


def _uncheck(page: Page, loc: Locator | None, _: Any, timeout: float) -> None:
    _need(loc, "uncheck").uncheck(timeout=timeout)


def _press(page: Page, loc: Locator | None, value: Any, timeout: float) -> None:
    if loc is None:
        page.keyboard.press(str(value))
    else:
        loc.press(str(value), timeout=timeout)


def _hover(page: Page, loc: Locator | None, _: Any, timeout: float) -> None:
    _need(loc, "hover").hover(timeout=timeout)


_WHEEL = {"bottom": 10**6, "top": -(10**6), "down": 600, "up": -600}


def _scroll(page: Page, loc: Locator | None, value: Any, timeout: float) -> None:
    if loc is not None:
        loc.scroll_into_view_if_needed(timeout=timeout)
        if str(value) in _WHEEL:  # "scroll the textarea to the bottom": the wheel over it
            box = loc.bounding_box(timeout=timeout)
            if box is None:
                raise StepFailed("the element to scroll has no box on the page", code="bad-action")
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.wheel(0, float(_WHEEL[str(value)]))
    else:
        page.mouse.wheel(0, float(_WHEEL.get(str(value), 600)))


def _wait(page: Page, loc: Locator | None, value: Any, timeout: float) -> None:
    if loc is not None:
        return  # resolving the target already waited for it to be visible
    if isinstance(value, int | float):
        page.wait_for_timeout(min(float(value), timeout))
    elif isinstance(value, str) and value:
        page.get_by_text(value).first.wait_for(state="visible", timeout=timeout)
    else:
        page.wait_for_load_state("load", timeout=timeout)


def _assert(page: Page, loc: Locator | None, value: Any, timeout: float) -> None:
    if loc is not None and value is not None:
        actual = _read(loc)
        if str(value) not in actual:
            raise StepFailed(
                f"expected {value!r} in the target, found {actual[:80]!r}", code="assert-failed"
            )
    elif value is not None and not page.get_by_text(str(value)).filter(visible=True).count():
        raise StepFailed(f"expected text {value!r} is not visible", code="assert-failed")


# The tag and shown text through the prototypes' getters: a form's controls named "localName"
# or "innerText" would stand in for the form's own (DOM clobbering).
_READ_JS = """e => {
  const get = (proto, name) => Object.getOwnPropertyDescriptor(proto, name).get.call(e);
  const text = e instanceof HTMLElement ? get(HTMLElement.prototype, "innerText") :
    get(Node.prototype, "textContent");
  return [get(Element.prototype, "localName"), text || ""];
}"""


def _read(loc: Locator) -> str:
    tag, text = loc.evaluate(_READ_JS)
    if tag in ("input", "textarea", "select"):
        return loc.input_value()
    return " ".join(str(text).split())


def _extract(page: Page, loc: Locator | None, value: Any, timeout: float) -> Any:
    if loc is None:
        return page.title() if value == "title" else page.url
    if isinstance(value, str) and value.startswith("attr:"):
        return loc.get_attribute(value[5:], timeout=timeout)
    return _read(loc)


def _upload(page: Page, loc: Locator | None, value: Any, timeout: float) -> None:
    files = [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]
    _need(loc, "upload").set_input_files(file_payloads(files), timeout=timeout)


ACTIONS: Mapping[str, _Action] = {
    "goto": _goto, "click": _click, "fill": _fill, "select": _select, "check": _check,
    "uncheck": _uncheck, "press": _press, "hover": _hover, "scroll": _scroll, "wait": _wait,
    "assert": _assert, "extract": _extract, "upload": _upload,
}  # fmt: skip
"""Every UI action by its plan name."""


def perform(
    page: Page,
    action: str,
    target_hints: Mapping[str, Any] | None,
    value: Any = None,
    *,
    timeout_ms: float = 5_000,
    step: str | None = None,
    resolved: Resolved | None = None,
) -> ActionResult:
    """Run one UI action on the page; raises GroundingError or StepFailed when it cannot.

    ``resolved`` is the target already resolved by the caller (the runner resolves first so
    the guard sees the element before anything happens to it); the hints are then not used.
    """
    run = ACTIONS.get(action)
    if run is None:
        raise StepFailed(f"unknown UI action {action!r}", step=step, code="bad-action")
    if resolved is None and target_hints is not None:
        resolved = resolve_target(page, target_hints, timeout_ms=timeout_ms, step=step)
    locator = resolved.locator if resolved else None
    try:
        extracted = run(page, locator, value, timeout_ms)
    except StepFailed as err:
        err.step = err.step or step
        raise
    except PlaywrightError as err:
        unreachable = cannot_connect(err, str(value) if action == "goto" else None)
        if unreachable is not None:  # one line, not Playwright's call log
            unreachable.step = step
            raise unreachable from None
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise StepFailed(f"{action} failed: {first}", step=step, code="action-failed") from err
    element = resolved.element if resolved else None
    return ActionResult(element, element.box if element else None, extracted, page.url)


def _url_matches(url: str, pattern: str) -> bool:
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(url, pattern) or fnmatch.fnmatchcase(url, f"*{pattern}")
    return pattern in url


def check_expect(page: Page, expect: Mapping[str, Any], *, timeout_ms: float = 3_000) -> list[str]:
    """Check ``expect`` postconditions; returns the failures (an empty list means all held).

    Keys: ``url`` and ``title`` (glob or substring), ``text`` (visible text) and ``no_text``
    (no such visible text), ``visible``/``hidden``/
    ``enabled``/``checked`` (a target), ``value`` (``{target: ..., equals: ...}`` or a
    mapping of hints plus ``value``). Each waits up to ``timeout_ms`` for its condition.
    """
    failures: list[str] = []
    for key, want in expect.items():
        try:
            problem = _check_one(page, key, want, timeout_ms)
        except PlaywrightError as err:
            problem = f"{key}: {str(err).splitlines()[0]}"
        if problem:
            failures.append(problem)
    return failures


def _check_one(page: Page, key: str, want: Any, timeout_ms: float) -> str | None:
    from playwright.sync_api import expect as pw_expect

    from lam.adapters.browser.locators import build_locator

    def held(check: Callable[[], None]) -> bool:
        try:
            check()
            return True
        except AssertionError:
            return False

    if key == "url":
        deadline = page.wait_for_timeout
        for _ in range(max(1, int(timeout_ms // 100))):
            if _url_matches(page.url, str(want)):
                return None
            deadline(100)
        return f"url: expected {want!r}, page is at {page.url}"
    if key == "title":
        for _ in range(max(1, int(timeout_ms // 100))):
            if _url_matches(page.title(), str(want)):
                return None
            page.wait_for_timeout(100)
        return f"title: expected {want!r}, the page's title is {page.title()!r}"
    if key == "text":
        loc = page.get_by_text(str(want)).filter(visible=True).first
        ok = held(lambda: pw_expect(loc).to_be_visible(timeout=timeout_ms))
        return None if ok else f"text: {want!r} is not visible"
    if key == "no_text":
        shown = page.get_by_text(str(want)).filter(visible=True)
        ok = held(lambda: pw_expect(shown).to_have_count(0, timeout=timeout_ms))
        return None if ok else f"no_text: {want!r} is still visible"
    if key in ("visible", "hidden", "enabled", "checked"):
        target = build_locator(page, want)
        loc = target.first if key == "hidden" else target.filter(visible=True).first
        checks = {
            "visible": lambda: pw_expect(loc).to_be_visible(timeout=timeout_ms),
            "hidden": lambda: pw_expect(target.filter(visible=True)).to_have_count(
                0, timeout=timeout_ms
            ),
            "enabled": lambda: pw_expect(loc).to_be_enabled(timeout=timeout_ms),
            "checked": lambda: pw_expect(loc).to_be_checked(timeout=timeout_ms),
        }
        return None if held(checks[key]) else f"{key}: {want} is not {key}"
    if key == "value":
        hints = dict(want)
        wanted = str(hints.pop("value", hints.pop("equals", "")))
        hints = dict(hints.pop("target", hints))
        loc = build_locator(page, hints).filter(visible=True).first
        ok = held(lambda: pw_expect(loc).to_have_value(wanted, timeout=timeout_ms))
        return None if ok else f"value: {hints} does not hold {wanted!r}"
    if key == "status":
        return None  # an API expectation: checked by the HTTP adapter, not here
    return f"{key}: unknown expectation"
