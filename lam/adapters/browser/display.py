"""A virtual display for headed browsers on machines without a screen.

``lam record`` opens a headed browser; on a headless server it starts Xvfb (installed by the
README's set-up) for the duration of the recording, so the page runs exactly as it would on a
desktop, with a real window manager-free X display.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["has_display", "virtual_display"]

_SOCKETS = Path("/tmp/.X11-unix")


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


@contextmanager
def virtual_display(*, width: int = 1280, height: int = 800) -> Iterator[str | None]:
    """Yield the DISPLAY to use: the existing one, a fresh Xvfb one, or None when neither.

    While inside, ``DISPLAY`` is set in this process's environment (the browser inherits it);
    the Xvfb server is stopped and the variable restored on the way out.
    """
    if has_display():
        yield os.environ.get("DISPLAY")
        return
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        yield None
        return
    number = _free_display()
    process = subprocess.Popen(
        [xvfb, f":{number}", "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,  # a killed lam leaves no display server behind
    )
    try:
        if not _wait_for_socket(number, process):
            yield None
            return
        os.environ["DISPLAY"] = f":{number}"
        try:
            yield f":{number}"
        finally:
            os.environ.pop("DISPLAY", None)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()


def _die_with_parent() -> None:
    """In the child: ask Linux to send SIGTERM when the parent dies (no-op elsewhere)."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _free_display() -> int:
    for number in range(99, 199):
        if not Path(f"/tmp/.X{number}-lock").exists() and not (_SOCKETS / f"X{number}").exists():
            return number
    raise RuntimeError("no free X display number between :99 and :198")


def _wait_for_socket(number: int, process: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if (_SOCKETS / f"X{number}").exists():
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.05)
    return False
