"""Assembling the demo app: JSON API at ``/api``, pages, ``/app/`` and ``/lab/``, access log."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount

from lam.errors import DocumentError
from lam.sandbox.demo.accesslog import AccessLog
from lam.sandbox.demo.api import build_api
from lam.sandbox.demo.auth import Signer
from lam.sandbox.demo.pages import page_routes
from lam.sandbox.demo.spa import spa_routes
from lam.sandbox.demo.store import Store, seed_database

__all__ = ["create_app"]


def create_app(db_path: Path, access_log: Path | None = None) -> Starlette:
    """The demo app over the SQLite database at ``db_path`` (seeded first if missing).

    With ``access_log``, every request is appended to that file as one JSON line. A file that
    is not a demo database raises :class:`~lam.errors.DocumentError` naming it.
    """
    db_path = Path(db_path)
    if not db_path.exists():
        seed_database(db_path)
    store = Store(db_path)
    try:
        signer = Signer(store.secret())
    except (sqlite3.Error, TypeError) as exc:
        raise DocumentError(
            f"not a demo database ({exc}); seed it again with --reset",
            file=str(db_path),
            code="demo-database",
        ) from exc
    middleware = [Middleware(AccessLog, path=Path(access_log))] if access_log else []
    routes = [Mount("/api", app=build_api(store, signer)), *page_routes(store, signer)]
    return Starlette(routes=[*routes, *spa_routes()], middleware=middleware)
