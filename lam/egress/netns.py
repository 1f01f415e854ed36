"""Strict containment: Chromium in a network namespace whose only way out is the guard proxy.

On Linux as root, the browser is started by a wrapper (``unshare --net``) in a fresh network
namespace where only loopback is up. Inside it, a relay listens on 127.0.0.1 at the proxy's
port and carries each connection over a unix socket (the file system is shared, the network is
not) to lam, which hands it to the proxy. A channel that ignores the proxy settings and dials an
address directly finds nothing there: no route, no other interface, no name resolution.

``python -m lam.egress.netns --port P --unix PATH -- CHROMIUM ARGS...`` is the part that runs
inside the namespace; :class:`NetnsGate` is lam's side.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import socket
import subprocess
import sys
import threading
from functools import cache
from pathlib import Path

__all__ = ["NetnsGate", "strict_available"]

_CHUNK = 65536


@cache
def strict_available() -> bool:
    """Whether this machine can run the browser in its own network namespace (Linux, root,
    ``unshare`` and ``ip`` present, and a namespace can be made)."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return False
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    try:
        done = subprocess.run(
            ["unshare", "--net", "true"], capture_output=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(_CHUNK):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _splice(one: socket.socket, other: socket.socket) -> None:
    """Copy bytes both ways between two sockets until either side ends."""
    back = threading.Thread(target=_pump, args=(other, one), daemon=True)
    back.start()
    _pump(one, other)
    back.join()
    one.close()
    other.close()


def _serve(listener: socket.socket, connect: object) -> None:
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        try:
            upstream = connect()  # type: ignore[operator]
        except OSError:
            client.close()
            continue
        threading.Thread(target=_splice, args=(client, upstream), daemon=True).start()


class NetnsGate:
    """lam's side of strict mode: a unix socket that leads to the proxy, and the wrapper that
    starts Chromium in its own namespace with a relay to that socket."""

    def __init__(self, folder: Path, proxy_port: int, chromium: str) -> None:
        self.socket_path = folder / "egress.sock"
        self.wrapper = folder / "chromium-netns"
        self._proxy_port = proxy_port
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(self.socket_path))
        self._listener.listen(128)
        os.chmod(self.socket_path, 0o600)
        self._thread = threading.Thread(
            target=_serve, args=(self._listener, self._to_proxy), daemon=True
        )
        self._thread.start()
        inner = [
            sys.executable, "-m", "lam.egress.netns", "--port", str(proxy_port),
            "--unix", str(self.socket_path), "--", chromium,
        ]  # fmt: skip
        here = str(Path(__file__).resolve().parents[2])  # the relay is this lam's own code
        self.wrapper.write_text(
            "#!/bin/sh\n# lam: Chromium in its own network namespace (lam.egress.netns)\n"
            f"PYTHONPATH={shlex.quote(here)}; export PYTHONPATH\n"
            f'exec unshare --net -- {shlex.join(inner)} "$@"\n'
        )
        self.wrapper.chmod(0o700)

    def _to_proxy(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self._proxy_port), timeout=10)

    def close(self) -> None:
        """Stop taking connections (those open end with the browser)."""
        with contextlib.suppress(OSError):
            self._listener.close()


def _inside(port: int, unix_path: str, command: list[str]) -> int:
    """In the new namespace: bring loopback up, relay 127.0.0.1:port to the unix socket, run
    Chromium with the descriptors Playwright gave us, and exit with it."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(128)

    def to_lam() -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(unix_path)
        return sock

    threading.Thread(target=_serve, args=(listener, to_lam), daemon=True).start()
    child = subprocess.Popen(command, pass_fds=(3, 4) if _has_fds(3, 4) else ())
    try:
        return child.wait()
    except KeyboardInterrupt:
        child.terminate()
        return child.wait()


def _has_fds(*fds: int) -> bool:
    try:
        for fd in fds:
            os.fstat(fd)
    except OSError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lam.egress.netns")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--unix", required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    return _inside(args.port, args.unix, command)


if __name__ == "__main__":
    sys.exit(main())
