"""The demo pet shop admin: lam's live target for API plans, browser plans and dry runs.

Run it with ``python -m lam.sandbox.demo``; build it in tests with :func:`create_app`, or
serve it in a background thread with :func:`running`.
Its JSON API is described by :data:`SPEC_PATH` (``openapi.yaml`` beside this file).
"""

from __future__ import annotations

from pathlib import Path

from lam.sandbox.demo.accesslog import read_access_log
from lam.sandbox.demo.app import create_app
from lam.sandbox.demo.live import DemoServer, running
from lam.sandbox.demo.store import ADMIN_PASSWORD, ADMIN_USER, Store, seed_database

__all__ = [
    "ADMIN_PASSWORD",
    "ADMIN_USER",
    "DEFAULT_PORT",
    "SPEC_PATH",
    "DemoServer",
    "Store",
    "create_app",
    "read_access_log",
    "running",
    "seed_database",
]

DEFAULT_PORT = 8321
SPEC_PATH = Path(__file__).with_name("openapi.yaml")
