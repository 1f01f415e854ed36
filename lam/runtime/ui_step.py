"""Running UI steps: one Chromium per run, every action through the guard, a screenshot after each.

The guard sees each action twice: at the element (before a click, fill, select... the element is
resolved, its facts read and the action classified) and at the network (every request the page
sends, see :mod:`lam.runtime.network_guard`). In a dry run the same browser opens the same pages;
state-changing requests are held and answered from the sandbox instead of reaching the app
(the run's mode, :mod:`lam.runtime.mode`, says which).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from lam.adapters.browser import (
    BrowserSession,
    Resolved,
    check_expect,
    guard_facts,
    perform,
    resolve_target,
    snapshot,
)
from lam.adapters.browser.actions import cannot_connect
from lam.egress.containment import Containment, strict_wanted
from lam.errors import KilledError, LamError, StepFailed
from lam.plans import Step, UiStep
from lam.policy import ActionFacts, url_host
from lam.risk import classify_ui_action
from lam.runtime.context import PageView, RunState, StepOutcome
from lam.runtime.guard import GuardCheck
from lam.runtime.network_guard import ApiRoute, NetworkGuard
from lam.runtime.screenshots import Box, ScreenshotWriter
from lam.runtime.sign_in import credentials_form
from lam.runtime.ui_wait import wait_on_page
from lam.types import Classification, Risk
from lam.validation import ValidationReport, upload_rule

if TYPE_CHECKING:
    from lam.runtime.start import RunOptions

__all__ = ["ABORT_GRACE_S", "GUARDED_ACTIONS", "UiStepExecutor", "resolve_goto"]

GUARDED_ACTIONS = frozenset({"click", "check", "uncheck", "select", "press", "fill", "upload"})
"""Actions that may change something: the guard sees the element before each one."""

ABORT_GRACE_S = 0.15
"""How long a killed run lets a UI step end on its own before its browser is killed."""

_TYPING = frozenset({"fill", "select", "upload"})
_APP_REF = re.compile(r"^([A-Za-z_][\w-]*):(/.*)?$")
_DEFAULT_TIMEOUT_MS = 10_000.0
_BOX_JS = """(els) => {
  if (els.length !== 1) return null;
  // (Through the prototypes: a form's controls could stand in for the form's own methods.)
  const r = Element.prototype.getBoundingClientRect.call(els[0]);
  const doc = Object.getOwnPropertyDescriptor(Node.prototype, "ownerDocument").get.call(els[0]);
  let x = r.x, y = r.y, view = doc.defaultView;
  try {  // inside frames: add each frame's place in its parent (cross-origin: not known)
    while (view && view.frameElement) {
      const f = view.frameElement, b = f.getBoundingClientRect();
      x += b.x + f.clientLeft; y += b.y + f.clientTop; view = view.parent;
    }
  } catch (e) { return null; }
  return r.width || r.height ? [x, y, r.width, r.height] : null;
}"""


def resolve_goto(target: str, app_urls: Mapping[str, str]) -> str:
    """``app:PATH`` as PATH under the app's URL (its root, even under a sub-path); a full URL
    as it is; a bare ``/path`` under the plan's only app."""
    found = _APP_REF.match(target)
    if found and found.group(1) in app_urls and not (found.group(2) or "").startswith("//"):
        root = app_urls[found.group(1)].rstrip("/")
        return root + (found.group(2) or "/")
    if target.startswith("/") and not target.startswith("//") and len(app_urls) == 1:
        return next(iter(app_urls.values())).rstrip("/") + target
    if "://" not in target:
        raise StepFailed(
            f"goto {target!r}: not a URL and not APP:PATH for one of the plan's apps "
            f"({', '.join(sorted(app_urls)) or 'none declared'})",
            code="bad-url",
        )
    scheme = urlsplit(target).scheme.lower()
    if scheme not in ("http", "https"):
        # javascript: and data: pages run the plan's own script, file: reads the disk
        raise StepFailed(
            f"goto {target[:80]!r}: only http and https URLs can be opened, not {scheme}:",
            code="bad-url",
        )
    return target


class UiStepExecutor:
    """Executes UI steps for one run. The browser starts at the first UI step; :meth:`close`
    ends it."""

    def __init__(self, report: ValidationReport, options: RunOptions) -> None:
        self.report = report
        self.options = options
        self._session: BrowserSession | None = None
        self._net: NetworkGuard | None = None
        self._containment: Containment | None = None
        self._shots: ScreenshotWriter | None = None

    # -- the browser -----------------------------------------------------------------------

    def _start(self, state: RunState) -> NetworkGuard:
        if self._net is not None:
            return self._net
        routes = self._routes(state)
        # the run's egress chokepoint: everything the browser sends leaves through its proxy
        contained = Containment(
            policy=state.guard.policy, declared_hosts=state.guard.declared_hosts,
            routes=routes, writes=state.mode.egress, record=state.record, strict=strict_wanted(),
        )  # fmt: skip
        contained.start()
        self._containment = contained
        assert contained.ca is not None
        launch = contained.launch_options()
        session = BrowserSession(
            headed=self.options.headed, proxy=launch["proxy"], browser_args=launch["args"],
            trust_ca=contained.ca.cert_pem, executable=launch.get("executable"),
        )  # fmt: skip
        progress = self.options.on_progress
        if progress is not None:  # Chromium takes seconds to start: say so, then how long
            progress("starting Chromium")
        started = time.perf_counter()
        session.start()
        if progress is not None:
            progress(f"Chromium started in {time.perf_counter() - started:.1f} s")
        self._session = session
        context = session.new_context(service_workers="block")  # their requests dodge routes
        net = NetworkGuard(state, routes, containment=contained)
        contained.where = net.where
        net.attach(context)
        self._net = net
        self._shots = ScreenshotWriter(
            state.record.screenshots, state.record.directory, on_saved=state.record.attach
        )
        state.record.event("browser", headless=not self.options.headed,
                           containment=contained.describe(), routes=[
            {"app": r.app, "api": r.api, "base_url": r.base_url, "simulated": r.simulator is not None}
            for r in net.routes
        ])  # fmt: skip
        return net

    def _routes(self, state: RunState) -> list[ApiRoute]:
        routes = []
        for name, app in state.plan.apps.items():
            spec = self.report.specs.get(app.api or "")
            base = state.api_urls.get(app.api or "", "")
            if app.api is None or spec is None or "://" not in base:
                continue
            # a dry run's simulator of the API, shared with the plan's API steps; None live
            simulator = state.mode.simulator(app.api)
            routes.append(ApiRoute(name, app.api, spec, base.rstrip("/"), simulator))
        return routes

    def page(self, state: RunState) -> Page:
        """The run's page, starting the browser if no UI step has yet."""
        self._start(state)
        assert self._session is not None
        return self._session.page

    def observe(self, state: RunState) -> PageView:
        """The page as it is now, its interactive elements read (the browser starts if no UI
        step has yet): what :meth:`lam.runtime.runner.Runner.observe` shows a caller."""
        page = self.page(state)
        elements = tuple(snapshot(page))
        try:
            title = page.title()
        except PlaywrightError:  # the page is navigating: its title comes with the next look
            title = ""
        return PageView(page.url, elements, title=title)

    def screenshot(self, state: RunState, *, full_page: bool = False, jpeg: bool = False) -> bytes:
        """The page as an image (PNG, or JPEG), as it is now; the browser starts if no UI step
        has yet. Read only: nothing is clicked, the run record is not written."""
        page = self.page(state)
        return page.screenshot(type="jpeg" if jpeg else "png", full_page=full_page)

    def finish(self) -> None:
        """At the end of a run: a request the page sent after the last step settled is
        refused all the same, and the run does not end ``ok``."""
        if self._net is None or self._session is None:
            return
        if self._shots is not None:
            self._shots.ready()
        with contextlib.suppress(PlaywrightError):
            self._net.settle(self._session.page, limit_ms=1_000)
        refused = self._net.take_refusal()
        if refused is not None:
            raise refused

    def close(self) -> None:
        """Finish the screenshots; close the browser and its egress proxy."""
        if self._shots is not None:
            self._shots.close()
            self._shots = None
        if self._session is not None:
            self._session.close()
        if self._containment is not None:
            self._containment.close()
            self._containment = None
        self._session = None
        self._net = None

    # -- one step ----------------------------------------------------------------------------

    def run_step(self, step: Step, state: RunState) -> StepOutcome:
        """Run one UI step: resolve, guard, act, let the page settle, check, screenshot.

        A kill during the step: a wait ends within 50 ms; anything else still blocked in
        the browser after :data:`ABORT_GRACE_S` has its browser killed under it.
        """
        if step.kind != "ui":
            raise TypeError(f"step {step.id!r}: the UI executor runs UI steps only")
        with state.kill.abortable(self.abort, grace=ABORT_GRACE_S):
            try:
                return self._run_step(step, state)
            except PlaywrightError:
                if not state.kill.pulled():
                    raise
                # the kill closed the browser under a call that was still waiting
                raise KilledError(f"browser stopped: {state.kill.reason}", step=step.id) from None

    def abort(self) -> None:
        """Kill the browser now, from any thread: the kill switch's last resort under a call
        still blocked, and how a killed run ends it (:meth:`close` after)."""
        session = self._session
        if session is not None:
            session.abort()

    def _run_step(self, step: UiStep, state: RunState) -> StepOutcome:
        net = self._start(state)
        started = time.perf_counter()  # the step's own time, as an API step reports its own
        assert self._session is not None and self._shots is not None
        page, shots = self._session.page, self._shots
        net.watch(page)  # (a page opened anew after one was closed is watched anew)
        net.begin(step.id, acting=step.action in GUARDED_ACTIONS)
        box: Box | None = None
        try:
            pending = net.take_refusal()  # sent by the page between steps
            if pending is not None:
                raise pending
            timeout_ms = step.timeout * 1000 if step.timeout else _DEFAULT_TIMEOUT_MS
            value = state.resolve(step, step.value, "value")
            hints = state.resolve(step, dict(step.target), "target") if step.target else None
            if step.action == "goto":
                value = resolve_goto(
                    str(state.resolve(step, step.argument, "goto")), state.app_urls
                )
            elif hints is None and value is None and step.argument is not None:
                value = state.resolve(step, step.argument, step.action)
            resolved = None
            if hints is not None:
                resolved = resolve_target(page, hints, timeout_ms=timeout_ms, step=step.id)
                box = resolved.element.box
            summary = self._describe(step, resolved, value)
            if step.action in GUARDED_ACTIONS:
                summary = self._guard(step, state, net, resolved, value)
            shots.ready()  # the last step's picture is in before this one acts on the page
            state.kill.check(f"before {step.action}", step=step.id)  # (pulled at the prompt)
            mark, url_before = net.mark(), page.url
            stand_ins = _stand_ins(state)
            if step.action == "wait" and resolved is None:
                result = wait_on_page(page, value, timeout_ms, state.kill, step=step.id)
            else:
                result = perform(
                    page, step.action, hints, value, timeout_ms=timeout_ms, step=step.id,
                    resolved=resolved,
                )  # fmt: skip
            net.settle(page, limit_ms=min(timeout_ms, 3_000), since=mark)
            refused = net.take_refusal()
            if refused is not None:
                raise refused
            expect = state.resolve_with(step, dict(step.expect), "expect", None)
            unchecked = _unchecked(expect) if _stand_ins(state) > stand_ins else []
            failures = check_expect(page, expect) if expect and not unchecked else []
            if page.url == url_before and (failures or self.options.screenshots == "all"):
                box = _box_now(resolved, box)  # (after a navigation it went with its page)
        except LamError as failure:
            # an action that failed because the guard aborted its request is a refusal; one
            # the guard could not send on because nothing answered there is not
            exc = net.take_refusal() or failure
            if exc.code == "network-guard":
                exc = cannot_connect(exc) or exc
            status = "blocked" if exc.exit_code == 3 else "failed"
            # no picture of a killed step: its browser may be gone, and the kill must not wait
            shot = (
                None if state.kill.pulled() else shots.take(page, step.id, box=box, status=status)
            )
            exc.screenshot = shot  # type: ignore[attr-defined]  # the runner reads it
            if exc is failure:
                raise
            raise exc from None
        shot = None  # with --screenshots failures, a step that went well keeps no picture
        if failures:
            shot = shots.take(page, step.id, box=box, status="failed")
        elif self.options.screenshots == "all":  # collected while the next step looks up
            shot = shots.take(page, step.id, box=box, later=True)
        return StepOutcome(
            f"{summary} ({(time.perf_counter() - started) * 1000:.0f} ms)",
            response={"body": result.extracted, "url": result.url},
            detail={"url": result.url, "element": _element_json(resolved)},
            warnings=_warnings(resolved),
            expect_failures=failures,
            screenshot=shot,
            expect_unchecked=unchecked,
        )

    def _guard(
        self, step: Step, state: RunState, net: NetworkGuard, resolved: Resolved | None, value: Any
    ) -> str:
        page = self._session.page if self._session else None
        assert page is not None
        el = None
        if resolved is not None:
            el = guard_facts(
                page,
                resolved.locator,
                typing=step.action in _TYPING,
                info=resolved.element,
                read=resolved.facts,  # read with the element, in the same round trip
            )
        classification = classify_ui_action(step.action, el)
        if step.action == "upload":
            # which local file leaves is the plan's to say: a name an input, a row or an
            # upstream task hands in (".env") is a person's call, whatever folder it is in
            classification = upload_rule(
                step, _upload_risk(classification, value, state.plan.path), value
            )
        net.sign_in_forms.clear()  # an allowance lives for the one action that submits its form
        submits = step.action in ("click", "press") and el is not None and el.form_action
        if submits and credentials_form(el, classification.risk, state.app_urls.values()):
            assert el is not None and el.form_action is not None
            net.sign_in_forms.add((step.id, el.form_action.split("#", 1)[0]))
        label = el.label if el is not None else ""
        what = f"{el.role or el.tag or 'element'} {label!r}" if el is not None else "the page"
        summary = f"{step.action} {what}"
        if step.action == "press":
            summary += f" ({value})"
        facts = ActionFacts(
            kind="ui",
            risk=classification.risk,
            host=url_host(page.url) or None,
            ui_text=label or None,
        )
        check = GuardCheck(
            step=step.id,
            origin="ui",
            facts=facts,
            classification=classification,
            summary=summary,
            detail={"url": page.url, "element": _element_json(resolved)},
        )
        state.guard.check(check)  # LiveGuard raises BlockedError; DryRunGuard records
        return summary

    @staticmethod
    def _describe(step: Step, resolved: Resolved | None, value: Any) -> str:
        if step.action == "goto":
            return f"goto {value}"
        if resolved is not None:
            el = resolved.element
            return f"{step.action} {el.role or el.tag} {el.name!r}"
        return f"{step.action} {value}" if value is not None else step.action


STAND_IN = "not checked in a dry run (the page after a held write is a stand-in)"


def _stand_ins(state: RunState) -> int:
    """How many writes the dry run has answered with a synthetic response so far (0 live)."""
    return sum(1 for e in state.mode.effects.held if e.answered_by == "synthetic")


def _unchecked(expect: Mapping[str, Any]) -> list[str]:
    """A step's expectations after its write was held and answered by a stand-in page: they
    cannot be checked truthfully, so they are said to be unchecked (docs/safety.md)."""
    return [f"{key}: {value!r}: {STAND_IN}" for key, value in expect.items()]


def _upload_risk(found: Classification, value: Any, plan: Path | None) -> Classification:
    """An upload of a file from outside the plan's folder and the working directory sends a
    local file outward (a key, a credentials file): destructive, so a human approves it."""
    roots = [Path.cwd().resolve()] + ([plan.resolve().parent] if plan is not None else [])
    files = value if isinstance(value, list | tuple) else [value]
    for name in files:
        path = Path(str(name)).expanduser().resolve()
        if not any(path.is_relative_to(root) for root in roots):
            why = f"uploads {path}, outside the plan's folder and the working directory"
            return Classification(Risk.DESTRUCTIVE, (*found.reasons, why))
    return found


def _box_now(resolved: Resolved | None, before: Box | None) -> Box | None:
    """Where the acted-on element is now (pages re-render after actions), else where it was."""
    if resolved is None:
        return before
    try:  # evaluate_all does not wait: an element gone with its page is simply not there
        now = resolved.locator.evaluate_all(_BOX_JS)
    except PlaywrightError:
        return before
    if not now:
        return before
    return (now[0], now[1], now[2], now[3])


def _element_json(resolved: Resolved | None) -> dict[str, Any] | None:
    if resolved is None:
        return None
    el = resolved.element
    found: dict[str, Any] = {
        "role": el.role, "name": el.name, "tag": el.tag, "how": resolved.how, "box": el.box,
    }  # fmt: skip
    if resolved.how == "healed":
        found.update(score=resolved.score, runner_up=resolved.runner_up, hints=resolved.hints)
    return found


def _warnings(resolved: Resolved | None) -> list[str]:
    if resolved is None or resolved.how != "healed":
        return []
    return [
        f"target healed by its fingerprint (score {resolved.score or 0.0:.2f}); "
        f"it is now found by {dict(resolved.hints or {})}"
    ]
