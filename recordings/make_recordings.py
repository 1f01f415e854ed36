"""Re-make the example recordings in this folder by driving the demo app with ``lam.record``.

    python recordings/make_recordings.py

Starts the demo pet shop (in-process) on a port the system picks with a fresh database, records each workflow below,
and rewrites the app's URL to the demo's default address (http://127.0.0.1:8321/) so the files
do not carry a random port. Replay one on any instance with::

    PASSWORD=admin-pass lam run recordings/demo_rename_pet.yaml --app app=http://HOST:PORT/

The password field was recorded as ``$secrets.PASSWORD``: it is read from the environment.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page

import lam
from lam.sandbox.demo import DEFAULT_PORT, running

HERE = Path(__file__).resolve().parent
PUBLISHED = f"http://127.0.0.1:{DEFAULT_PORT}/"


def log_in(page: Page) -> None:
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("admin-pass")
    page.get_by_role("button", name="Log in").click()


def rename_pet(page: Page) -> None:
    log_in(page)
    page.get_by_role("link", name="Rex").click()
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Name").fill("Rexy")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved").wait_for()


def filter_pets(page: Page) -> None:
    log_in(page)
    page.get_by_label("Status").select_option("sold")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**status=sold*")


def add_pet(page: Page) -> None:
    log_in(page)
    page.get_by_role("link", name="Add a pet").click()
    page.get_by_label("Name").fill("Biscuit")
    page.get_by_label("Species").select_option("cat")
    page.get_by_label("Vaccinated").check()
    page.get_by_label("Notes").fill("Shy at first.")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved").wait_for()


WORKFLOWS: dict[str, tuple[Callable[[Page], None], dict[str, str]]] = {
    "demo_rename_pet": (rename_pet, {"new_name": "Name"}),
    "demo_filter_pets": (filter_pets, {}),
    "demo_add_pet": (add_pet, {"pet_name": "Name", "notes": "Notes"}),
}


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        for name, (workflow, params) in WORKFLOWS.items():
            # lam.sandbox.demo.running seeds the database and waits until the app answers
            with running(Path(tmp) / f"{name}.db") as shop:
                url = shop.url + "/"
                out = HERE / f"{name}.yaml"
                with lam.record(url + "login", out=out, params=params) as page:
                    workflow(page)
                out.write_text(out.read_text().replace(url, PUBLISHED))
                print(f"wrote {out.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
