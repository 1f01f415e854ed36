"""A copy-on-write overlay over a live API: the simulator of ``lam dry-run --reads live``.

An :class:`Overlay` is a :class:`~lam.sandbox.simulator.Simulator` whose reads of objects and
lists it has not changed go to the live system (through ``live``, a read-only fallback such as
:class:`lam.runtime.sandbox_mode.LiveReader`), and whose writes change only its own copy: a later
read sees the simulated writes layered over the live data. Without ``live`` (the default dry
run) it is the plain simulator, and what it invents is labelled so.

For every write it records a :class:`Change`: the resource, its state before (read first, the
same way a read step would be), the predicted state after, and where each came from
(:data:`Source`). A record the live system does not have answers with the live system's own 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from lam.sandbox.collections import Route, Router, build_resources, split_path
from lam.sandbox.simulator import Fallback, SimRequest, SimResponse, Simulator

if TYPE_CHECKING:
    from lam.spec import Spec

__all__ = ["Action", "Change", "Overlay", "Source"]

Source = Literal["live", "simulated", "assumed", "none"]
"""How a state was obtained: ``live`` read from the live system; ``simulated`` predicted by the
simulator from the spec (a write of this dry run made it); ``assumed`` invented from the spec's
examples because no read was possible (no ``--reads live``, a read the policy refused, or no
read operation); ``none`` for the before-state of a create, which has no resource yet."""

Action = Literal["create", "update", "delete", "fails", "other"]
"""What a write is predicted to do; ``fails``: the write would be answered with an error;
``other``: a write to no object the spec lets the sandbox follow (``POST /login``, an RPC)."""

_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_PROBE_HEADERS = ("authorization", "cookie", "accept", "api_key", "x-api-key")


@dataclass(frozen=True)
class Change:
    """One write as the overlay predicts it."""

    method: str
    path: str  # the request's path, as sent
    resource: str | None  # the object's path under the API's base path (/posts/3); None: unknown
    action: Action
    status: int
    before: Any
    before_source: Source
    after: Any
    after_source: Source


class Overlay(Simulator):
    """Simulated writes over live reads (see the module docstring). ``changes``, when given, is
    the list every write's :class:`Change` is appended to (a run shares one across its APIs so
    their order is the order the writes happened)."""

    def __init__(
        self,
        spec: Spec,
        *,
        seed: int = 0,
        base_path: str | None = None,
        live: Fallback | None = None,
        changes: list[Change] | None = None,
    ) -> None:
        self._live = live
        self._live_answers: dict[str, SimResponse] = {}  # local path -> its last live answer
        self._written: set[str] = set()
        # what a read answers that could not go live (the policy refused it, the app is
        # down): invented from the spec, as the default dry run does, and labelled assumed
        self._invented = Simulator(spec, seed=seed, base_path=base_path) if live else None
        self.changes: list[Change] = changes if changes is not None else []
        super().__init__(
            spec, seed=seed, base_path=base_path, fallback=self._read_live if live else None
        )
        operations = tuple(spec.operations)
        resources = build_resources([op.path for op in operations], operations)
        self._routes = Router(operations, resources)

    @property
    def reads_live(self) -> bool:
        """Whether reads of what the overlay has not changed go to the live system."""
        return self._live is not None

    def _read_live(self, request: SimRequest) -> SimResponse | None:
        assert self._live is not None
        answer = self._live(request)
        if answer is None and self._invented is not None and request.method.upper() == "GET":
            return self._invented.handle(request)
        if answer is not None and request.method.upper() == "GET":
            self._live_answers[self._local(request.path.split("?", 1)[0])] = answer
        return answer

    def handle(self, request: SimRequest) -> SimResponse:
        """Answer one request: reads from the overlay over live data, writes into the overlay
        (recorded as a :class:`Change`)."""
        method = request.method.upper()
        path = self._local(request.path.split("?", 1)[0])
        if method in _READS:
            return self._as_live(path, super().handle(request))
        route = self._routes.match(method, path)
        if not isinstance(route, Route):
            return super().handle(request)
        resource = _resource(route, path)
        before: tuple[Any, Source] = (None, "none")
        if resource is not None:
            before = self._peek(resource, request)
        journal = len(self.journal)
        answer = super().handle(request)
        if not 200 <= answer.status < 300:
            action: Action = "fails"
            after = before
        elif method == "DELETE":
            action, after = "delete", (None, "simulated")
        elif resource is None and route.resource.kind != "collection":
            action, after = "other", (answer.json, "simulated")
        elif resource is None:  # a create: the new object's id is in the journal
            entry = self.journal[-1] if len(self.journal) > journal else None
            if entry is not None and entry.object_id is not None:
                resource = f"{path.rstrip('/')}/{entry.object_id}"
            action = "create" if method == "POST" else "update"  # PUT /things {id: ..}
            after = (answer.json, "simulated")
            if resource is not None:
                self._written.add(resource)
                found = self._peek(resource, request)
                after = found if found[0] is not None else after
        else:
            action = "update"
            self._written.add(resource)
            after = self._peek(resource, request)
            if after[0] is None:
                after = (answer.json, "simulated")
        if resource is not None and action not in ("fails", "other"):
            self._written.add(resource)
        self.changes.append(
            Change(method, request.path, resource, action, answer.status, *before, *after)
        )
        return self._as_live(resource or path, answer)

    def _peek(self, resource: str, request: SimRequest) -> tuple[Any, Source]:
        """The object at ``resource`` as a read now would see it, and where that came from."""
        if not isinstance(self._routes.match("GET", resource), Route):
            return None, "assumed"  # no operation reads it
        headers = {k: v for k, v in request.headers.items() if k.lower() in _PROBE_HEADERS}
        answer = super().handle(SimRequest("GET", self.base_path + resource, {}, headers, b""))
        live = self._live_answers.get(resource)
        if resource in self._written:
            source: Source = "simulated"
        elif live is not None and live.status == answer.status:
            source = "live"
        else:
            source = "assumed"
        if 200 <= answer.status < 300:
            return answer.json, source
        return None, source  # absent (404), or a read that could not be made

    def _as_live(self, path: str, answer: SimResponse) -> SimResponse:
        """A 404 for an object the live system does not have is the live system's own answer."""
        live = self._live_answers.get(path)
        missing_live = live is not None and live.status == 404
        if answer.status == 404 and path not in self._written and missing_live:
            assert live is not None
            return live
        return answer


def _resource(route: Route, path: str) -> str | None:
    """The object a write acts on (``/posts/3``), or None for a create in a collection."""
    parts = split_path(path)
    kind = route.resource.kind
    if kind == "item":
        return "/" + "/".join(parts)
    if kind == "action" and len(parts) >= 2:
        return "/" + "/".join(parts[:-1])
    return None
