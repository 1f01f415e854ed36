"""What each tool does, on the session's side: a tool call becomes one lam step (or a read of
the page), handed to :class:`lam.Session`, which validates, guards, performs and records it.

Nothing here decides what is allowed: the session's validator, policy and guard do, as for
``lam run``. This module only says what the agent asked for in lam's plan format and, when the
session holds a step, asks the person (the client's elicitation) or looks for the operator's
grant (``lam approve``), then hands the session the approval through its operator channel
(:meth:`lam.Session.approve`). An approval is always for one step as it is now
(``STEP@DIGEST``) and comes from a person, never from the arguments of a call.

Everything here runs on the server's session thread: the browser is driven from it alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from lam.errors import BlockedError, KilledError, LamError, StepFailed, UsageError
from lam.mcp import approvals, plans

if TYPE_CHECKING:
    from lam.hands import ActResult, Session

__all__ = ["Ask", "Calls", "Held", "Reply"]

_RETRIES = 3  # held again after an approval (the page's request, then its own hold): ask again


@dataclass(frozen=True)
class Held:
    """A step the session holds until a person approves it."""

    step: Mapping[str, Any]
    approval: str  # STEP@DIGEST, with :RISK for the requests the step sends
    risk: str | None
    reasons: tuple[str, ...]
    summary: str

    @property
    def id(self) -> str:
        return self.approval.partition("@")[0]

    def message(self) -> str:
        """What the person is shown: the exact step, its risk and reasons (lam's), its
        digest; the agent's own description apart, marked as the agent's words, since an agent
        may call a Delete button "Save"."""
        step = {k: v for k, v in self.step.items() if k != "description"}
        shown = yaml.safe_dump(step, sort_keys=False, allow_unicode=True).strip()
        reasons = "; ".join(self.reasons) or self.summary
        said = self.step.get("description")
        words = f"\nthe agent calls it (its words, not checked): {said}" if said else ""
        return (
            f"lam holds this step for your approval:\n\n{shown}\n\n"
            f"risk: {self.risk or 'unknown'} ({reasons}){words}\n"
            f"approval: {self.approval}\n\nApprove exactly this step, once?"
        )


@dataclass
class Reply:
    """A tool's answer: text (and images) for the agent; ``error`` makes it an error result."""

    text: str
    error: bool = False
    images: list[tuple[bytes, str]] = field(default_factory=list)


Ask = Callable[[Held], "bool | None"]
"""Asks the person about a held step: True approves, False declines, None: cannot ask."""


class Calls:
    """The tools of one MCP session, over one :class:`lam.Session`."""

    def __init__(self, session: Session, config: plans.McpConfig, policy: Any) -> None:
        self.session = session
        self.config = config
        self.policy = policy
        self._count = 0
        self._held: dict[str, str] = {}  # a held step's content -> the id it was held under
        self._history: list[str] = []  # page URLs, for browser_navigate_back
        self._snapshot: Any = None
        self.killed = False

    # -- the one entry ------------------------------------------------------------------------

    def call(self, name: str, args: Mapping[str, Any], ask: Ask) -> Reply:
        """Run tool ``name``; every lam error is an error result, never an exception."""
        method = getattr(self, f"_{name}", None)
        if method is None or not name.startswith(("browser_", "api_", "plan_", "session_")):
            return Reply(f"unknown tool {name!r}", error=True)
        if self.session.closed:
            return Reply("this lam session is closed (stopped by lam kill?)", error=True)
        try:
            reply: Reply = method(dict(args), ask)
            return reply
        except KilledError as exc:
            self.killed = True
            return Reply(f"stopped: {exc.one_line()}", error=True)
        except LamError as exc:
            return Reply(exc.one_line(), error=True)

    # -- stepping -------------------------------------------------------------------------------

    def _new_id(self, content: str, action: str) -> str:
        if content in self._held:  # the agent retries a held step: same id, same digest
            return self._held[content]
        self._count += 1
        return f"s{self._count}_{action}"

    def _act(self, step: dict[str, Any], ask: Ask) -> ActResult:
        """One step through the session; a held step approved by a person runs; anything
        else that is not ok raises, to become the tool's error result."""
        from lam.hands import ActStatus

        content = json.dumps(step, sort_keys=True, default=str)
        doc = {"id": self._new_id(content, next(iter(step))), **step}
        result = self.session.act(doc)
        for _ in range(_RETRIES):
            if result.status is not ActStatus.HELD or result.approval is None:
                break
            self._held[content] = doc["id"]
            held = Held(doc, result.approval, result.risk, result.reasons, result.summary)
            self._approve(held, ask)
            result = self.session.act(doc)
        if result.status is ActStatus.OK:
            self._held.pop(content, None)
            return result
        if result.status is ActStatus.KILLED:
            self.killed = True
        if result.error is not None:
            raise result.error
        raise StepFailed(result.summary, step=result.step)

    def _approve(self, held: Held, ask: Ask) -> None:
        """The operator's grant (``lam approve``), else the person at the client; an approval
        goes to the session through its operator channel. Else the held step is the error."""
        run = self.session.run_id
        answer = self._granted(held, ask)
        if answer is True:
            self.session.approve(held.approval)
            return
        reasons = "; ".join(held.reasons) or held.summary
        if answer is False:
            raise BlockedError(
                f"step {held.approval} was not approved by the person ({held.risk}: {reasons})",
                step=held.id,
                code="declined",
            )
        raise BlockedError(
            f"step {held.approval} is held for approval ({held.risk}: {reasons}). The operator "
            f"grants it with `lam approve {run} {held.approval}`; then call the same tool "
            "again with the same arguments",
            step=held.id,
            code="needs-approval",
        )

    def _granted(self, held: Held, ask: Ask, *, plan_run: bool = False) -> bool | None:
        """The operator's grant (``lam approve``), else the person's answer through the
        client (None: the client cannot ask). A person's yes or no is written into the
        session's record, with the channel it came through."""
        said = "for a step of a plan_run plan (its own run)" if plan_run else ""
        if approvals.take(self.session.run_id, held.approval):
            self.session.record_decision(
                held.approval, "approved", channel="lam approve", reason=said
            )
            return True
        answer = ask(held)
        if answer is not None:
            self.session.record_decision(
                held.approval, "approved" if answer else "declined", channel="elicitation",
                reason=said,
            )  # fmt: skip
        return answer

    def _page_step(self, step: dict[str, Any], ask: Ask, what: str) -> Reply:
        """One browser step, then the page as it is now (its refs the current ones)."""
        result = self._act(step, ask)
        return self._ran(what, result.summary)

    def _ran(self, what: str, summary: str = "") -> Reply:
        text = self._snap_text()
        url = self._snapshot.url
        if url and (not self._history or self._history[-1] != url):
            self._history.append(url)
        said = f"\n{summary}" if summary and summary != what else ""
        return Reply(f"### Ran\n{what}{said}\n\n### Page\n{text}")

    def _snap_text(self) -> str:
        self._snapshot = self.session.observe()
        return str(self._snapshot.text())

    def _target(self, args: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
        """The locator hints a ref stands for on the last snapshot, and what to call it."""
        ref = str(args.get("ref") or args.get("target") or "").strip()
        if self._snapshot is None:
            raise StepFailed(f"ref {ref!r}: take a browser_snapshot first", code="stale-ref")
        target = self._snapshot.target(ref)  # a ref not on the last snapshot: an error
        element = self._snapshot.element(ref)
        said = " ".join(str(args.get("element") or "").split())[:200]
        described = said or f"{element.role or element.tag} {element.name!r}"
        return target, described

    # -- browser tools -------------------------------------------------------------------------

    def _browser_navigate(self, args: dict[str, Any], ask: Ask) -> Reply:
        url = str(args["url"])
        return self._page_step({"goto": self._app_ref(url)}, ask, f"navigate to {url}")

    def _app_ref(self, url: str) -> str:
        """A URL under one of the session's apps as ``APP:/PATH``, so the session's plan runs
        again wherever ``--app`` moves the app; any other URL as it is (the guard judges it)."""
        for name, root in self.config.apps.items():
            base = root.rstrip("/")
            if url == base or url.startswith(base + "/"):
                return f"{name}:{url[len(base) :] or '/'}"
        return url

    def _browser_snapshot(self, args: dict[str, Any], ask: Ask) -> Reply:
        return Reply(self._snap_text())

    def _browser_click(self, args: dict[str, Any], ask: Ask) -> Reply:
        unsupported = [
            k for k, default in (("doubleClick", False), ("button", "left"), ("modifiers", []))
            if args.get(k, default) != default
        ]  # fmt: skip
        if unsupported:
            raise StepFailed(
                f"lam clicks once with the left button and no modifier keys "
                f"(not supported: {', '.join(unsupported)})",
                code="unsupported",
            )
        target, described = self._target(args)
        step = {"click": target, "description": described}
        return self._page_step(step, ask, f"click {described}")

    def _browser_type(self, args: dict[str, Any], ask: Ask) -> Reply:
        target, described = self._target(args)
        fill = {"fill": target, "value": str(args["text"]), "description": described}
        result = self._act(fill, ask)
        if args.get("submit"):
            press = {"press": dict(target), "value": "Enter", "description": described}
            result = self._act(press, ask)
        said = " and press Enter" if args.get("submit") else ""
        return self._ran(f"type into {described}{said}", result.summary)

    def _browser_select_option(self, args: dict[str, Any], ask: Ask) -> Reply:
        target, described = self._target(args)
        values = [str(v) for v in args["values"]]
        value: Any = values[0] if len(values) == 1 else values
        step = {"select": target, "value": value, "description": described}
        return self._page_step(step, ask, f"select {', '.join(values)} in {described}")

    def _browser_press_key(self, args: dict[str, Any], ask: Ask) -> Reply:
        key = str(args["key"])
        return self._page_step({"press": key}, ask, f"press {key}")

    def _browser_hover(self, args: dict[str, Any], ask: Ask) -> Reply:
        target, described = self._target(args)
        step = {"hover": target, "description": described}
        return self._page_step(step, ask, f"hover over {described}")

    def _browser_wait_for(self, args: dict[str, Any], ask: Ask) -> Reply:
        if args.get("text"):
            step: dict[str, Any] = {"wait": {"text": str(args["text"])}}
        elif args.get("textGone"):
            step = {"wait": 0, "expect": {"no_text": str(args["textGone"])}}
        else:
            step = {"wait": int(float(args.get("time") or 0) * 1000)}
        return self._page_step(step, ask, "wait")

    def _browser_navigate_back(self, args: dict[str, Any], ask: Ask) -> Reply:
        if len(self._history) < 2:
            raise StepFailed("there is no previous page in this session", code="no-history")
        self._history.pop()
        url = self._history.pop()  # _page_step puts it back as the current page
        return self._page_step({"goto": url}, ask, f"go back to {url}")

    def _browser_take_screenshot(self, args: dict[str, Any], ask: Ask) -> Reply:
        if args.get("filename"):
            raise StepFailed(
                "lam writes no file where a tool call says; the screenshot comes back in the "
                "result (and each step's screenshot is in the session's record)",
                code="unsupported",
            )
        kind = "jpeg" if args.get("type") == "jpeg" else "png"
        data = self.session.screenshot(full_page=bool(args.get("fullPage")), jpeg=kind == "jpeg")
        url = self._snapshot.url if self._snapshot is not None else None
        return Reply(f"screenshot of {url or 'the page'}", images=[(data, f"image/{kind}")])

    def _browser_tabs(self, args: dict[str, Any], ask: Ask) -> Reply:
        if args["action"] != "list":
            raise StepFailed(
                "a lam session has one tab: new, close and select are not supported "
                "(browser_navigate opens another page in it)",
                code="unsupported",
            )
        seen = self.session.observe()
        return Reply(f"### Open tabs\n- 0: (current) [{seen.title}]({seen.url})")

    # -- API tools ------------------------------------------------------------------------------

    def _api_operations(self, args: dict[str, Any], ask: Ask) -> Reply:
        rows = plans.operations(self.config, self.policy)
        if args.get("api"):
            rows = [r for r in rows if r["api"] == args["api"]]
        if args.get("risk"):
            rows = [r for r in rows if r["risk"] == args["risk"]]
        words = str(args.get("query") or "").lower().split()
        if words:
            rows = [r for r in rows if all(w in json.dumps(r).lower() for w in words)]
        return Reply(json.dumps({"operations": rows}, indent=1))

    def _api_call(self, args: dict[str, Any], ask: Ask) -> Reply:
        api = str(args["api"])
        if args.get("operation"):
            call = f"{api}.{args['operation']}"
        else:
            call = f"{api} {str(args.get('method', '')).upper()} {args.get('path', '')}"
        step: dict[str, Any] = {"call": call}
        if args.get("params"):
            step["params"] = args["params"]
        if "body" in args:
            step["body"] = args["body"]
        # what the agent reads back; also kept in the session's plan and record
        step["outputs"] = {"status": "$statusCode", "body": "$response.body"}
        result = self._act(step, ask)
        answer = {"step": result.step, "summary": result.summary, **dict(result.outputs)}
        return Reply(json.dumps(answer, indent=1, default=str))

    # -- plan tools -----------------------------------------------------------------------------

    def _plan_validate(self, args: dict[str, Any], ask: Ask) -> Reply:
        report = plans.validate(args["plan"], self.policy)
        return Reply(json.dumps(report, indent=1, default=str), error=not report.get("ok"))

    def _plan_dry_run(self, args: dict[str, Any], ask: Ask) -> Reply:
        code, out = plans.run_plan(
            args["plan"], args.get("inputs") or {}, self.config, dry_run=True
        )
        return Reply(json.dumps(out, indent=1, default=str), error=code != 0)

    def _plan_run(self, args: dict[str, Any], ask: Ask) -> Reply:
        plan, inputs = args["plan"], args.get("inputs") or {}
        code, out = plans.run_plan(plan, inputs, self.config, dry_run=False)
        if code == 3:  # held before it started: the person (or the operator) may approve
            report = plans.validate(plan, self.policy) if _offered(out) else {}
            held = _held_steps(out, report, plan)
            granted = [h.approval for h in held if self._granted(h, ask, plan_run=True)]
            if held and len(granted) == len(held):
                code, out = plans.run_plan(
                    plan, inputs, self.config, dry_run=False, approvals=granted
                )
            else:
                out["held"] = [
                    f"lam approve {self.session.run_id} {h.approval}"
                    for h in held
                    if h.approval not in granted
                ]
        return Reply(json.dumps(out, indent=1, default=str), error=code != 0)

    def _session_plan(self, args: dict[str, Any], ask: Ask) -> Reply:
        from lam.agent import secret_passwords

        document = self.session.plan()
        document["steps"] = [dict(step) for step in document["steps"]]
        secret_passwords(document["steps"])  # a typed password: $secrets.PASSWORD
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
        path = self.session.directory / "session-plan.yaml"
        path.write_text(text, encoding="utf-8")
        used = self.session.approvals_used()
        flags = " ".join(f"--approve {a}" for a in used)
        # lam replay runs any plan as lam run does (same validation, guard and record) and
        # also heals a changed target by its fingerprint; this plan has none, so it runs as is
        head = (
            f"# lam replay {path}{' ' + flags if flags else ''}\n"
            "# (lam run PATH with the same flags runs it the same way)\n"
        )
        return Reply(head + text)


def _offered(out: Mapping[str, Any]) -> list[str]:
    """The approvals ``lam run --json`` held a plan for before it started: its error object's
    ``approvals`` (``STEP@DIGEST``, data lam wrote), never its message, into which a plan's
    or a page's words are quoted. A run that started offers none: running it again would
    repeat its steps."""
    error = out.get("error")
    given = error.get("approvals") if isinstance(error, Mapping) else None
    if out.get("results") or not isinstance(given, list):
        return []
    offered = []
    for approval in given:
        try:
            offered.append(approvals.parse_approval(str(approval)))
        except UsageError:
            continue  # not STEP@DIGEST[:RISK]: nothing to ask anyone about
    return offered


def _held_steps(out: Mapping[str, Any], report: Mapping[str, Any], plan: Any) -> list[Held]:
    """The steps :func:`_offered` names, each with the step as the plan writes it (an inline
    plan) and the risk and reasons ``report`` (``lam validate --json`` of the plan) gives it."""
    found = {s.get("id"): s for s in report.get("steps") or [] if isinstance(s, Mapping)}
    steps = plan.get("steps") if isinstance(plan, Mapping) else None
    written = {s.get("id"): s for s in steps or [] if isinstance(s, Mapping)}
    held = []
    for approval in _offered(out):
        step_id = approval.partition("@")[0]
        seen = found.get(step_id) or {}
        step = written.get(step_id) or {"id": step_id, "action": seen.get("action")}
        reasons = tuple(str(r) for r in seen.get("reasons") or ())
        held.append(Held(step, approval, seen.get("risk"), reasons, "held before it started"))
    return held
