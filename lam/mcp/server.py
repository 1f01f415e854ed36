"""``lam mcp``: an MCP server (the official ``mcp`` SDK's low-level server) over one
:class:`lam.Session`.

Two threads. The main thread owns the session: the browser driver is thread-bound, and in the
main thread the session routes SIGINT and SIGTERM to its kill switch as ``lam run`` does, so
``lam kill`` stops an MCP session like any run. The MCP transport (stdio, or streamable HTTP on
loopback) runs its event loop in a second thread and hands each tool call to the main thread
as a job; calls run one at a time, in order. When the session holds a step, the main thread
asks the person through the client's elicitation (a request the event loop sends on the tool
call's behalf) and waits for the answer, watching the kill switch.

One process serves one MCP session (the guard proxy is one per process): over HTTP a second
client is refused by the SDK's session limit; start another ``lam mcp`` for another agent.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import queue
import sys
import threading
from collections.abc import Callable
from io import TextIOWrapper
from typing import TYPE_CHECKING, Any

import jsonschema
import mcp.types as types
from mcp.server.lowlevel import NotificationOptions, Server

from lam.errors import EXIT_KILLED, EXIT_OK
from lam.mcp import approvals
from lam.mcp.calls import Calls, Held, Reply
from lam.mcp.plans import McpConfig
from lam.mcp.tools import MAX_ARGUMENT_BYTES, TOOLS, tool_list
from lam.runtime.kill import KILL_FILE

if TYPE_CHECKING:
    from lam.hands import Session

__all__ = ["serve"]

_TICK = 0.1  # how often the session thread looks at the kill switch while idle or asking
_SHOWN = 200  # characters of a bad argument value shown in an error


def serve(config: McpConfig, *, http_port: int | None = None, host: str = "127.0.0.1") -> int:
    """Serve one MCP session until the client goes away (exit 0) or ``lam kill`` (exit 4)."""
    from lam.facade import resolve_policy
    from lam.hands import Session
    from lam.policy_source import policy_line

    streams = _claim_stdio() if http_port is None else None
    policy = resolve_policy(config.policy)
    print(policy_line(policy), file=sys.stderr)
    session = Session(
        apps=dict(config.apps),
        apis={name: (spec, base) for name, (spec, base) in config.apis.items()},
        policy=policy,
        dry_run=config.dry_run,
        reads=config.reads,
        headed=config.headed,
        name="mcp-session",
        description="what an agent did through lam mcp",
    )
    where = f"http://{host}:{http_port}/mcp" if http_port is not None else "stdio"
    print(
        f"lam mcp: session {session.run_id} on {where} (record {session.directory})",
        file=sys.stderr,
        flush=True,
    )
    calls = Calls(session, config, policy)
    jobs: queue.Queue[tuple[Callable[[], Any], concurrent.futures.Future[Any]] | None] = (
        queue.Queue()
    )
    loop_box: list[asyncio.AbstractEventLoop] = []
    server = _build_server(calls, jobs, loop_box, session.run_id, config)
    transport = threading.Thread(
        target=_transport,
        args=(server, jobs, loop_box, streams, http_port, host),
        name="lam-mcp-transport",
        daemon=True,
    )
    transport.start()
    killed = False
    try:
        killed = _session_loop(jobs, calls)
    finally:
        killed = killed or calls.killed or _pulled(session)
        _close(session, killed=killed)
        approvals.clear(session.run_id)
    print(f"lam mcp: session {session.run_id} ended ({session.result.status})", file=sys.stderr)
    return EXIT_KILLED if killed else EXIT_OK


def _session_loop(
    jobs: queue.Queue[tuple[Callable[[], Any], concurrent.futures.Future[Any]] | None],
    calls: Calls,
) -> bool:
    """Run the tool calls' jobs until the transport ends; True when the run was killed."""
    while True:
        if calls.killed or _pulled(calls.session):
            return True
        try:
            job = jobs.get(timeout=_TICK)
        except queue.Empty:
            continue
        if job is None:
            return False
        work, future = job
        if not future.set_running_or_notify_cancel():
            continue
        try:
            future.set_result(work())
        except BaseException as exc:  # the event loop turns it into an error result
            future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise


def _pulled(session: Session) -> bool:
    """Whether the session's kill switch is pulled (lam kill, a signal). The ``KILL`` file
    ``lam kill`` leaves in the record's folder is also looked at directly: the switch reads
    files only every so often, and the server answers no call once the file is there."""
    return session.killed or (session.directory / KILL_FILE).exists()


def _close(session: Session, *, killed: bool) -> None:
    """Finish the record: as killed when the switch was pulled (a ``killed`` event, then
    ``end``, exit 4), else as a finished session."""
    if session.closed:
        return
    if killed:
        session.stop("lam kill (while serving MCP)")  # a pulled switch keeps its own reason
    else:
        session.close()


# -- the MCP side (its own thread and event loop) -------------------------------------------------


def _build_server(
    calls: Calls,
    jobs: queue.Queue[tuple[Callable[[], Any], concurrent.futures.Future[Any]] | None],
    loop_box: list[asyncio.AbstractEventLoop],
    run_id: str,
    config: McpConfig,
) -> Server[Any, Any]:
    from lam import __version__

    server: Server[Any, Any] = Server(
        "lam",
        version=__version__,
        instructions=(
            f"lam session {run_id}: every action is validated, guarded by the operator's policy "
            "and recorded. A destructive step is held until a person approves it. Take a "
            "browser_snapshot and act on its [ref=eN]."
        ),
    )
    offered = tool_list(browser=bool(config.apps), api=bool(config.apis))
    names = {tool.name for tool in offered}

    @server.list_tools()  # type: ignore[no-untyped-call, untyped-decorator]
    async def list_tools() -> list[types.Tool]:
        return offered

    @server.call_tool(validate_input=False)  # type: ignore[untyped-decorator]
    async def call_tool(name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        problem = _check_arguments(name, arguments, names)
        if problem is not None:
            return _result(Reply(problem, error=True))
        context = server.request_context
        ask = _asker(context, loop_box, lambda: _pulled(calls.session))
        future: concurrent.futures.Future[Reply] = concurrent.futures.Future()
        jobs.put((lambda: calls.call(name, arguments, ask), future))
        try:
            reply = await asyncio.wrap_future(future)
        except Exception as exc:  # a bug in lam: an error result, and the server goes on
            reply = Reply(f"internal error: {type(exc).__name__}: {exc}", error=True)
        return _result(reply)

    return server


def _check_arguments(name: str, arguments: Any, names: set[str]) -> str | None:
    """Why a call cannot run (unknown tool, too large, arguments off the schema), or None."""
    if name not in names:
        known = "" if name not in TOOLS else " in this session (start lam mcp with --app/--api)"
        return f"unknown tool {name[:_SHOWN]!r}{known}"
    size = len(json.dumps(arguments, default=str))
    if size > MAX_ARGUMENT_BYTES:
        return (
            f"{name}: the arguments are {size} bytes, more than the {MAX_ARGUMENT_BYTES} "
            "a tool call may carry"
        )
    schema = TOOLS[name][1]
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(arguments)
    )
    if error is None:
        return None
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    if error.validator == "type":
        what = f"expected {error.validator_value}, got {type(error.instance).__name__}"
    elif error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        what = f"unknown argument {', '.join(map(str, extra))[:_SHOWN]}"
    elif error.validator in ("required", "anyOf"):
        what = error.message[:_SHOWN] if error.validator == "required" else (
            "give one of: " + ", ".join(
                "/".join(s.get("required", [])) for s in error.validator_value
            )
        )  # fmt: skip
    else:
        what = f"{error.validator} {str(error.validator_value)[:_SHOWN]} not met"
    return f"{name}: arguments{where}: {what}"


def _asker(
    context: Any, loop_box: list[asyncio.AbstractEventLoop], stopped: Callable[[], bool]
) -> Callable[[Held], Any]:
    """Ask the person about a held step through the client's elicitation, from the session
    thread: True on an explicit yes, False on anything else, None when the client cannot."""
    session = context.session
    request_id = context.request_id
    params = getattr(session, "client_params", None)
    can = params is not None and params.capabilities.elicitation is not None

    def ask(held: Held) -> bool | None:
        if not can:
            return None
        schema = {
            "type": "object",
            "properties": {
                "approve": {
                    "type": "boolean",
                    "title": f"Approve {held.approval}",
                    "description": "Yes runs exactly this step, once",
                }
            },
            "required": ["approve"],
        }
        coro = session.elicit_form(held.message(), schema, related_request_id=request_id)
        future = asyncio.run_coroutine_threadsafe(coro, loop_box[0])
        while True:  # the person may take their time; lam kill does not wait for them
            try:
                answer = future.result(timeout=_TICK)
                break
            except concurrent.futures.TimeoutError:
                if stopped():
                    future.cancel()
                    return False
            except Exception:
                return False  # no answer is no approval
        return bool(answer.action == "accept" and (answer.content or {}).get("approve") is True)

    return ask


def _result(reply: Reply) -> types.CallToolResult:
    import base64

    content: list[Any] = [types.TextContent(type="text", text=reply.text)]
    for data, mime in reply.images:
        encoded = base64.b64encode(data).decode("ascii")
        content.append(types.ImageContent(type="image", data=encoded, mimeType=mime))
    return types.CallToolResult(content=content, isError=reply.error)


def _claim_stdio() -> tuple[Any, Any]:
    """The process's stdin and stdout for the MCP messages alone: file descriptors 0 and 1
    are pointed elsewhere (/dev/null, stderr), so nothing lam or Chromium prints can corrupt
    the protocol."""
    mcp_in = os.fdopen(os.dup(0), "rb", buffering=0)
    mcp_out = os.fdopen(os.dup(1), "wb", buffering=0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return mcp_in, mcp_out


def _transport(
    server: Server[Any, Any],
    jobs: queue.Queue[tuple[Callable[[], Any], concurrent.futures.Future[Any]] | None],
    loop_box: list[asyncio.AbstractEventLoop],
    streams: tuple[Any, Any] | None,
    http_port: int | None,
    host: str,
) -> None:
    try:
        asyncio.run(_run_transport(server, loop_box, streams, http_port, host))
    except Exception as exc:
        print(f"lam mcp: transport stopped: {type(exc).__name__}: {exc}", file=sys.stderr)
    finally:
        jobs.put(None)  # the client is gone: the session ends


async def _run_transport(
    server: Server[Any, Any],
    loop_box: list[asyncio.AbstractEventLoop],
    streams: tuple[Any, Any] | None,
    http_port: int | None,
    host: str,
) -> None:
    import anyio

    loop_box.append(asyncio.get_running_loop())
    options = server.create_initialization_options(NotificationOptions())
    if http_port is None:
        from mcp.server.stdio import stdio_server

        assert streams is not None
        stdin = anyio.wrap_file(TextIOWrapper(streams[0], encoding="utf-8", errors="replace"))
        stdout = anyio.wrap_file(TextIOWrapper(streams[1], encoding="utf-8"))
        async with stdio_server(stdin, stdout) as (read, write):
            await server.run(read, write, options)
        return
    await _serve_http(server, http_port, host)


async def _serve_http(server: Server[Any, Any], port: int, host: str) -> None:
    """Streamable HTTP on ``host:port`` (loopback), one MCP session, DNS rebinding refused."""
    import uvicorn
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
    from mcp.server.transport_security import TransportSecuritySettings
    from starlette.applications import Starlette
    from starlette.routing import Route

    hosts = [f"{host}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"]
    manager = StreamableHTTPSessionManager(
        app=server,
        max_sessions=1,
        max_request_body_size=4 * MAX_ARGUMENT_BYTES + 1_000_000,
        security_settings=TransportSecuritySettings(
            allowed_hosts=hosts,
            allowed_origins=[f"http://{h}" for h in hosts],
        ),
    )

    app = Starlette(
        routes=[Route("/mcp", endpoint=_Endpoint(manager))], lifespan=lambda _: manager.run()
    )
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    await uvicorn.Server(config).serve()


class _Endpoint:
    """The MCP endpoint as a plain ASGI app (Starlette hands it the raw request)."""

    def __init__(self, manager: Any) -> None:
        self.manager = manager

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.manager.handle_request(scope, receive, send)
