"""The demo app's JSON API, mounted at ``/api`` and described by ``openapi.yaml`` beside it.

Request bodies are checked against the spec's own component schemas, so the API accepts
exactly what its spec says. Every error is JSON ``{"error": message}``: 400 for malformed
input, 401 for a missing or wrong token, 404 for an unknown id, 422 for an invalid body.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from functools import cache
from importlib import resources
from typing import Any

import yaml
from jsonschema import ValidationError
from openapi_schema_validator import OAS30Validator
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lam.sandbox.demo.auth import API_PURPOSE, Signer
from lam.sandbox.demo.store import ORDER_STATUSES, PET_STATUSES, Store, StoreConflict

__all__ = ["ApiError", "build_api", "openapi_document"]

Handler = Callable[[Request], Awaitable[Response]]


class ApiError(Exception):
    """An error the API answers as ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@cache
def openapi_document() -> Mapping[str, Any]:
    """The API's OpenAPI document as shipped (parsed once)."""
    text = resources.files("lam.sandbox.demo").joinpath("openapi.yaml").read_text("utf-8")
    document: Mapping[str, Any] = yaml.safe_load(text)
    return document


@cache
def _validator(schema_name: str) -> OAS30Validator:
    components = openapi_document()["components"]
    return OAS30Validator({"$ref": f"#/components/schemas/{schema_name}", "components": components})


def _message(err: ValidationError) -> str:
    place = ".".join(str(p) for p in err.absolute_path)
    return f"{place}: {err.message}" if place else err.message


async def _body(request: Request, schema_name: str) -> dict[str, Any]:
    raw = await request.body()
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, f"request body is not JSON: {exc}") from exc
    errors = sorted(_validator(schema_name).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        raise ApiError(422, _message(errors[0]))
    assert isinstance(data, dict)
    return data


def _id(request: Request, name: str) -> int:
    text = request.path_params[name]
    if not text.isdigit() or int(text) < 1:
        raise ApiError(400, f"{name} must be a positive integer, got {text!r}")
    return int(text)


def _enum_query(request: Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.query_params.get(name)
    if value is not None and value not in allowed:
        raise ApiError(400, f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def build_api(store: Store, signer: Signer) -> Starlette:
    """The API as a Starlette app, to be mounted at ``/api``."""

    def authorized(handler: Handler) -> Handler:
        async def wrapper(request: Request) -> Response:
            header = request.headers.get("authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or signer.verify(API_PURPOSE, token.strip()) is None:
                raise ApiError(401, "missing or invalid bearer token")
            return await handler(request)

        return wrapper

    def pet_or_404(pet_id: int) -> dict[str, Any]:
        pet = store.get_pet(pet_id)
        if pet is None:
            raise ApiError(404, f"no pet with id {pet_id}")
        return pet.to_json()

    async def login(request: Request) -> Response:
        creds = await _body(request, "Credentials")
        if not store.check_password(creds["username"], creds["password"]):
            raise ApiError(401, "wrong username or password")
        return JSONResponse({"token": signer.issue(API_PURPOSE, creds["username"])})

    async def list_pets(request: Request) -> Response:
        status = _enum_query(request, "status", PET_STATUSES)
        pets = store.list_pets(status=status, name=request.query_params.get("name"))
        return JSONResponse([p.to_json() for p in pets])

    async def create_pet(request: Request) -> Response:
        pet = store.create_pet(await _body(request, "NewPet"))
        return JSONResponse(pet.to_json(), 201, headers={"Location": f"/api/pets/{pet.id}"})

    async def get_pet(request: Request) -> Response:
        return JSONResponse(pet_or_404(_id(request, "petId")))

    async def change_pet(request: Request) -> Response:
        pet_id = _id(request, "petId")
        pet_or_404(pet_id)
        schema = "PetReplacement" if request.method == "PUT" else "PetPatch"
        pet = store.update_pet(pet_id, await _body(request, schema))
        if pet is None:
            raise ApiError(404, f"no pet with id {pet_id}")
        return JSONResponse(pet.to_json())

    async def delete_pet(request: Request) -> Response:
        pet_id = _id(request, "petId")
        if not store.delete_pet(pet_id):
            raise ApiError(404, f"no pet with id {pet_id}")
        return Response(status_code=204)

    async def list_orders(request: Request) -> Response:
        status = _enum_query(request, "status", ORDER_STATUSES)
        return JSONResponse([o.to_json() for o in store.list_orders(status=status)])

    async def create_order(request: Request) -> Response:
        fields = await _body(request, "NewOrder")
        try:
            order = store.create_order(fields["petId"], fields.get("quantity", 1))
        except KeyError as exc:
            raise ApiError(422, f"petId: no pet with id {fields['petId']}") from exc
        except StoreConflict as exc:
            raise ApiError(422, str(exc)) from exc
        return JSONResponse(order.to_json(), 201, headers={"Location": f"/api/orders/{order.id}"})

    async def get_order(request: Request) -> Response:
        order_id = _id(request, "orderId")
        order = store.get_order(order_id)
        if order is None:
            raise ApiError(404, f"no order with id {order_id}")
        return JSONResponse(order.to_json())

    async def delete_order(request: Request) -> Response:
        order_id = _id(request, "orderId")
        if not store.delete_order(order_id):
            raise ApiError(404, f"no order with id {order_id}")
        return Response(status_code=204)

    async def cancel_order(request: Request) -> Response:
        order_id = _id(request, "orderId")
        try:
            order = store.cancel_order(order_id)
        except StoreConflict as exc:
            raise ApiError(422, str(exc)) from exc
        if order is None:
            raise ApiError(404, f"no order with id {order_id}")
        return JSONResponse(order.to_json())

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse({"error": exc.message}, exc.status, headers=headers)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return JSONResponse({"error": exc.detail}, exc.status_code, headers=exc.headers)

    routes = [
        Route("/login", login, methods=["POST"]),
        Route("/pets", authorized(list_pets), methods=["GET"]),
        Route("/pets", authorized(create_pet), methods=["POST"]),
        Route("/pets/{petId}", authorized(get_pet), methods=["GET"]),
        Route("/pets/{petId}", authorized(change_pet), methods=["PUT", "PATCH"]),
        Route("/pets/{petId}", authorized(delete_pet), methods=["DELETE"]),
        Route("/orders", authorized(list_orders), methods=["GET"]),
        Route("/orders", authorized(create_order), methods=["POST"]),
        Route("/orders/{orderId}", authorized(get_order), methods=["GET"]),
        Route("/orders/{orderId}", authorized(delete_order), methods=["DELETE"]),
        Route("/orders/{orderId}/cancel", authorized(cancel_order), methods=["POST"]),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={ApiError: api_error, HTTPException: http_error},
    )
