"""Fixtures for the real-app suite: one Django admin per module (reset to its seeded state
before each test), json-server over a fresh db.json per test, TodoMVC's files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .apps import DjangoAdmin, django_template, start_django


@pytest.fixture(scope="session")
def django_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The migrated and seeded database, made once per test session (a few seconds)."""
    return django_template(tmp_path_factory.mktemp("django-template"))


@pytest.fixture(scope="module")
def django_server(
    django_db_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DjangoAdmin]:
    with start_django(django_db_template, tmp_path_factory.mktemp("django")) as server:
        yield server


@pytest.fixture
def django_admin(django_server: DjangoAdmin) -> DjangoAdmin:
    """The module's Django admin, back in its seeded state (admin, alice, bob, carol)."""
    django_server.reset()
    return django_server
