"""The demo app's server-rendered pages: login, pets (list, new, detail, edit, delete) and orders.

Pages sit behind a signed session cookie set by the login form. Forms post urlencoded bodies
and redirect (303) after a change, carrying a one-shot flash message ("Saved") in a cookie.
Every control has an accessible name: labels are tied to fields with ``for``, icon-only
buttons have ``aria-label``, because lam grounds its UI steps on names like these.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, unquote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from lam.sandbox.demo.auth import SESSION_PURPOSE, Signer
from lam.sandbox.demo.markup import e, form_fields, options, page
from lam.sandbox.demo.store import (
    PET_SPECIES,
    PET_STATUSES,
    Order,
    Pet,
    Store,
    StoreConflict,
)

__all__ = ["FLASH_COOKIE", "SESSION_COOKIE", "page_routes"]

SESSION_COOKIE = "lam_demo_session"
FLASH_COOKIE = "lam_demo_flash"

Page = Callable[[Request, str], Awaitable[Response]]


def _redirect(url: str, *, flash: str | None = None) -> Response:
    response = RedirectResponse(url, status_code=303)
    if flash:
        response.set_cookie(FLASH_COOKIE, quote(flash), path="/", httponly=True, samesite="lax")
    return response


def _flash(request: Request) -> str | None:
    raw = request.cookies.get(FLASH_COOKIE)
    return unquote(raw) if raw else None


def _local(url: str | None) -> str:
    """Only same-site paths may be a login's ``next`` (no open redirect)."""
    if url and url.startswith("/") and not url.startswith("//"):
        return url
    return "/pets"


def _pet_form(action: str, values: dict[str, Any], errors: list[str], submit: str) -> str:
    error_html = ""
    if errors:
        items = "".join(f"<li>{e(m)}</li>" for m in errors)
        error_html = f'<div class="error" role="alert"><ul>{items}</ul></div>'
    checked = " checked" if values.get("vaccinated") else ""
    return (
        f'{error_html}<form method="post" action="{e(action)}">'
        '<label for="name">Name</label>'
        f'<input id="name" name="name" required maxlength="100" value="{e(values.get("name", ""))}">'
        '<label for="species">Species</label>'
        f'<select id="species" name="species">{options(PET_SPECIES, values.get("species"))}</select>'
        '<label for="status">Status</label>'
        f'<select id="status" name="status">{options(PET_STATUSES, values.get("status"))}</select>'
        f'<label for="vaccinated"><input type="checkbox" id="vaccinated" name="vaccinated"'
        f' value="yes"{checked}> Vaccinated</label>'
        '<label for="notes">Notes</label>'
        f'<textarea id="notes" name="notes" rows="4" maxlength="2000">'
        f"{e(values.get('notes', ''))}</textarea>"
        f'<p><button type="submit">{e(submit)}</button></p></form>'
    )


def _pet_fields(form: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    fields: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "species": form.get("species", ""),
        "status": form.get("status", "available"),
        "vaccinated": "vaccinated" in form,
        "notes": form.get("notes", ""),
    }
    errors = []
    if not fields["name"]:
        errors.append("Name is required.")
    elif len(fields["name"]) > 100:
        errors.append("Name must be at most 100 characters.")
    if fields["species"] not in PET_SPECIES:
        errors.append(f"Species must be one of: {', '.join(PET_SPECIES)}.")
    if fields["status"] not in PET_STATUSES:
        errors.append(f"Status must be one of: {', '.join(PET_STATUSES)}.")
    if len(fields["notes"]) > 2000:
        errors.append("Notes must be at most 2000 characters.")
    return fields, errors


def page_routes(store: Store, signer: Signer) -> list[Route]:
    """The routes of the server-rendered pages."""

    def login_required(handler: Page) -> Callable[[Request], Awaitable[Response]]:
        async def wrapper(request: Request) -> Response:
            user = signer.verify(SESSION_PURPOSE, request.cookies.get(SESSION_COOKIE))
            if user is None:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return _redirect(f"/login?next={quote(target, safe='')}")
            response = await handler(request, user)
            if FLASH_COOKIE in request.cookies and "location" not in response.headers:
                response.delete_cookie(FLASH_COOKIE, path="/")
            return response

        return wrapper

    def not_found(user: str, what: str) -> Response:
        return page(
            "Not found",
            f"<p>{e(what)}</p><p><a href='/pets'>All pets</a></p>",
            user=user,
            status=404,
        )

    def find_pet(request: Request) -> Pet | None:
        text = request.path_params["pet_id"]
        return store.get_pet(int(text)) if text.isdigit() else None

    def login_form(next_url: str, error: str | None, status: int) -> Response:
        alert = f'<p class="error" role="alert">{e(error)}</p>' if error else ""
        body = (
            f'{alert}<form method="post" action="/login">'
            f'<input type="hidden" name="next" value="{e(next_url)}">'
            '<label for="username">Username</label>'
            '<input id="username" name="username" autocomplete="username" required>'
            '<label for="password">Password</label>'
            '<input id="password" name="password" type="password" '
            'autocomplete="current-password" required>'
            '<p><button type="submit">Log in</button></p></form>'
        )
        return page("Log in", body, status=status)

    async def home(request: Request) -> Response:
        return _redirect("/pets")

    async def login_page(request: Request) -> Response:
        return login_form(_local(request.query_params.get("next")), None, 200)

    async def login_submit(request: Request) -> Response:
        form = await form_fields(request)
        next_url = _local(form.get("next"))
        username = form.get("username", "")
        if not store.check_password(username, form.get("password", "")):
            return login_form(next_url, "Wrong username or password.", 401)
        response = _redirect(next_url)
        response.set_cookie(
            SESSION_COOKIE,
            signer.issue(SESSION_PURPOSE, username),
            path="/",
            httponly=True,
            samesite="lax",
        )
        return response

    async def logout(request: Request) -> Response:
        response = _redirect("/login")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def pets(request: Request, user: str) -> Response:
        status = request.query_params.get("status") or None
        if status not in (None, *PET_STATUSES):
            status = None
        rows = []
        for pet in store.list_pets(status=status):
            rows.append(
                f'<tr><td><a href="/pets/{pet.id}">{e(pet.name)}</a></td>'
                f"<td>{e(pet.species)}</td><td>{e(pet.status)}</td>"
                f"<td>{'Yes' if pet.vaccinated else 'No'}</td><td>"
                f'<form class="inline" method="get" action="/pets/{pet.id}/edit">'
                f'<button type="submit" aria-label="Edit {e(pet.name)}">✎</button></form> '
                f'<form class="inline" method="get" action="/pets/{pet.id}/delete">'
                f'<button type="submit" aria-label="Delete {e(pet.name)}">🗑</button></form>'
                "</td></tr>"
            )
        table = (
            "<table><caption>Pets</caption><thead><tr><th>Name</th><th>Species</th>"
            "<th>Status</th><th>Vaccinated</th><th>Actions</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
            if rows
            else "<p>No pets match.</p>"
        )
        body = (
            '<form method="get" action="/pets" role="search" aria-label="Filter pets">'
            '<label for="status-filter">Status</label>'
            f'<select id="status-filter" name="status">'
            f"{options(PET_STATUSES, status, blank='Any')}</select> "
            '<button type="submit">Filter</button></form>'
            f'<p><a href="/pets/new">Add a pet</a></p>{table}'
        )
        return page("Pets", body, user=user, flash=_flash(request))

    async def new_pet(request: Request, user: str) -> Response:
        values = {"species": "dog", "status": "available"}
        return page("New pet", _pet_form("/pets/new", values, [], "Save"), user=user)

    async def create_pet(request: Request, user: str) -> Response:
        fields, errors = _pet_fields(await form_fields(request))
        if errors:
            body = _pet_form("/pets/new", fields, errors, "Save")
            return page("New pet", body, user=user, status=422)
        pet = store.create_pet(fields)
        return _redirect(f"/pets/{pet.id}", flash="Saved")

    async def pet_detail(request: Request, user: str) -> Response:
        pet = find_pet(request)
        if pet is None:
            return not_found(user, "No such pet.")
        body = (
            "<dl>"
            f"<dt>Species</dt><dd>{e(pet.species)}</dd>"
            f"<dt>Status</dt><dd>{e(pet.status)}</dd>"
            f"<dt>Vaccinated</dt><dd>{'Yes' if pet.vaccinated else 'No'}</dd>"
            f"<dt>Notes</dt><dd>{e(pet.notes) or '—'}</dd></dl>"
            f'<p><a href="/pets/{pet.id}/edit">Edit</a></p>'
            f'<form method="get" action="/pets/{pet.id}/delete">'
            '<button type="submit" class="danger">Delete</button></form>'
            '<p><a href="/pets">Back to pets</a></p>'
        )
        return page(pet.name, body, user=user, flash=_flash(request))

    async def edit_pet(request: Request, user: str) -> Response:
        pet = find_pet(request)
        if pet is None:
            return not_found(user, "No such pet.")
        form = _pet_form(f"/pets/{pet.id}/edit", pet.to_json(), [], "Save")
        return page(f"Edit {pet.name}", form, user=user)

    async def update_pet(request: Request, user: str) -> Response:
        pet = find_pet(request)
        if pet is None:
            return not_found(user, "No such pet.")
        fields, errors = _pet_fields(await form_fields(request))
        if errors:
            form = _pet_form(f"/pets/{pet.id}/edit", fields, errors, "Save")
            return page(f"Edit {pet.name}", form, user=user, status=422)
        store.update_pet(pet.id, fields)
        return _redirect(f"/pets/{pet.id}", flash="Saved")

    async def confirm_delete(request: Request, user: str) -> Response:
        pet = find_pet(request)
        if pet is None:
            return not_found(user, "No such pet.")
        body = (
            f"<p>Delete {e(pet.name)}? This cannot be undone.</p>"
            f'<form method="post" action="/pets/{pet.id}/delete">'
            '<button type="submit" class="danger">Yes, delete</button> '
            f'<a href="/pets/{pet.id}">No, take me back</a></form>'
        )
        return page(f"Delete {pet.name}", body, user=user)

    async def delete_pet(request: Request, user: str) -> Response:
        pet = find_pet(request)
        if pet is None:
            return not_found(user, "No such pet.")
        store.delete_pet(pet.id)
        return _redirect("/pets", flash=f"Deleted {pet.name}")

    async def orders(request: Request, user: str) -> Response:
        rows = []
        for order in store.list_orders():
            action = (
                f'<form class="inline" method="get" action="/orders/{order.id}/cancel">'
                f'<button type="submit">Cancel order #{order.id}</button></form>'
                if order.status == "placed"
                else ""
            )
            rows.append(
                f"<tr><td>#{order.id}</td>"
                f'<td><a href="/pets/{order.pet_id}">{e(order.pet_name)}</a></td>'
                f"<td>{order.quantity}</td><td>{e(order.status)}</td><td>{action}</td></tr>"
            )
        body = (
            "<table><caption>Orders</caption><thead><tr><th>Order</th><th>Pet</th>"
            "<th>Quantity</th><th>Status</th><th>Actions</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
            if rows
            else "<p>No orders.</p>"
        )
        return page("Orders", body, user=user, flash=_flash(request))

    def find_order(request: Request) -> Order | None:
        text = request.path_params["order_id"]
        return store.get_order(int(text)) if text.isdigit() else None

    async def confirm_cancel(request: Request, user: str) -> Response:
        order = find_order(request)
        if order is None:
            return not_found(user, "No such order.")
        body = (
            f"<p>Cancel order #{order.id} for {e(order.pet_name)}?</p>"
            f'<form method="post" action="/orders/{order.id}/cancel">'
            '<button type="submit" class="danger">Yes, cancel order</button> '
            '<a href="/orders">No, take me back</a></form>'
        )
        return page(f"Cancel order #{order.id}", body, user=user)

    async def cancel_order(request: Request, user: str) -> Response:
        order = find_order(request)
        if order is None:
            return not_found(user, "No such order.")
        try:
            store.cancel_order(order.id)
        except StoreConflict:
            return _redirect("/orders", flash=f"Order #{order.id} was already cancelled")
        return _redirect("/orders", flash=f"Order #{order.id} cancelled")

    guarded = login_required
    return [
        Route("/", home, methods=["GET"]),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login_submit, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/pets", guarded(pets), methods=["GET"]),
        Route("/pets/new", guarded(new_pet), methods=["GET"]),
        Route("/pets/new", guarded(create_pet), methods=["POST"]),
        Route("/pets/{pet_id}", guarded(pet_detail), methods=["GET"]),
        Route("/pets/{pet_id}/edit", guarded(edit_pet), methods=["GET"]),
        Route("/pets/{pet_id}/edit", guarded(update_pet), methods=["POST"]),
        Route("/pets/{pet_id}/delete", guarded(confirm_delete), methods=["GET"]),
        Route("/pets/{pet_id}/delete", guarded(delete_pet), methods=["POST"]),
        Route("/orders", guarded(orders), methods=["GET"]),
        Route("/orders/{order_id}/cancel", guarded(confirm_cancel), methods=["GET"]),
        Route("/orders/{order_id}/cancel", guarded(cancel_order), methods=["POST"]),
    ]
