"""HTTP requests that a kill can cut mid-flight.

:class:`CancellableTransport` is httpx's own transport whose connection pool opens its sockets
through :class:`TrackedSockets`, so :meth:`CancellableTransport.cut` can shut down every socket
it has open, from any thread: a request blocked waiting for an answer wakes at once, and the
server sees the connection drop. :func:`exchange` sends a request in a worker thread and
returns as soon as the request is done or the run is told to stop, whichever comes first (a
connect that hangs cannot be cut through its socket; the run does not wait for it).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import typing
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any, Protocol

import httpcore
import httpx

__all__ = ["CancellableTransport", "Interrupt", "TrackedSockets", "exchange"]

_POLL_S = 0.05


class Interrupt(Protocol):
    """What can stop a request: the run's kill switch (:class:`lam.runtime.kill.KillSwitch`)."""

    def pulled(self) -> bool: ...

    def abortable(
        self, abort: Callable[[], None], *, grace: float = 0.0
    ) -> AbstractContextManager[None]: ...


class _Stream(httpcore.NetworkStream):
    """A network stream that stays known to its :class:`TrackedSockets` (also after TLS)."""

    def __init__(self, inner: httpcore.NetworkStream, owner: TrackedSockets) -> None:
        self._inner = inner
        self._owner = owner
        owner.add(self)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._owner.discard(self)
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        self._owner.discard(self)
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, timeout), self._owner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)

    def shutdown(self) -> None:
        sock = self._inner.get_extra_info("socket")
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked read in another thread


class TrackedSockets(httpcore.NetworkBackend):
    """httpcore's synchronous backend, remembering the streams it opened until they close."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()
        self._open: set[_Stream] = set()
        self._lock = threading.Lock()

    def add(self, stream: _Stream) -> None:
        with self._lock:
            self._open.add(stream)

    def discard(self, stream: _Stream) -> None:
        with self._lock:
            self._open.discard(stream)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _Stream(stream, self)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_unix_socket(path, timeout, socket_options), self)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)

    def shutdown_all(self) -> int:
        """Shut every open socket down; returns how many."""
        with self._lock:
            streams = list(self._open)
        for stream in streams:
            stream.shutdown()
        return len(streams)


_SSL_CONTEXT: ssl.SSLContext | None = None
_SSL_LOCK = threading.Lock()


def _ssl_context() -> ssl.SSLContext:
    """httpx's default SSL context, built once per process: loading the CA bundle takes
    ~45 ms of CPU, and a transport is built for every API step (a batch of rows paid it
    twice a row). An SSLContext is safe to share between connections and threads."""
    global _SSL_CONTEXT
    with _SSL_LOCK:
        if _SSL_CONTEXT is None:
            _SSL_CONTEXT = httpx.create_ssl_context()
        return _SSL_CONTEXT


class CancellableTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport()`` (same defaults), whose open sockets :meth:`cut` shuts down."""

    def __init__(self) -> None:
        super().__init__(verify=_ssl_context())
        self.sockets = TrackedSockets()
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        # httpx builds its pool without a way to pass a network backend: build the same pool
        # with one (the transport's only state is this pool).
        self._pool = httpcore.ConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=self.sockets,
        )

    def cut(self) -> None:
        """Shut down every socket this transport has open (any thread may call it)."""
        self.sockets.shutdown_all()


T = typing.TypeVar("T")


def exchange(work: Callable[[], T], interrupt: Interrupt, cut: Callable[[], None]) -> T | None:
    """Run ``work`` in a worker thread; its result, or None when ``interrupt`` was pulled
    first (then ``cut`` was called). An exception of ``work`` is raised here."""
    done = threading.Event()
    box: dict[str, Any] = {}

    def worker() -> None:
        try:
            box["result"] = work()
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc
        finally:
            done.set()

    if interrupt.pulled():
        return None  # killed before it was sent (while a human was asked, say): never sent
    thread = threading.Thread(target=worker, name="lam-http", daemon=True)
    with interrupt.abortable(cut):
        thread.start()
        while not done.wait(_POLL_S):
            if interrupt.pulled():
                cut()
                return None
    if "error" in box:
        if interrupt.pulled():
            return None  # it failed because the kill cut it
        raise box["error"]
    return typing.cast(T, box["result"])
