"""The OpenAPI document served at ``/doc``: what Litestar generates, made to tell the truth.

- Request bodies are described by msgspec itself (``msgspec.json.schema``): the
  Struct that decodes a body also states it, ``additionalProperties: false``
  (``forbid_unknown_fields``), exact 64-bit bounds, item patterns and all, plus
  the rules across fields that a Struct lists in ``__rules__``.
- Links let a client (and schemathesis' stateful phase) chain create -> read ->
  update -> delete. They are derived from the routes' shapes (``links``): see
  "OpenAPI and fuzzing" in services/api/README.md.
"""

from __future__ import annotations

import copy
from typing import Any

import msgspec
from litestar import Litestar, MediaType
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.routes import HTTPRoute

# Litestar's own OpenAPI router lives here (its 404s are HTML); /doc is ours.
OPENAPI_ROUTER_PATH = "/_openapi"
REF = "#/components/schemas/"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def config() -> OpenAPIConfig:
    """The OpenAPI document, served at exactly `/doc` (and Scalar at `/reference`)."""
    return OpenAPIConfig(
        title="Uptimatum API",
        version="1.0.0",
        description=(
            "Status pages, monitored endpoints, check history, incidents and badges. "
            'Responses are camelCase; errors are {"error": "..."}. Every POST, PATCH '
            "and DELETE needs 'Authorization: Bearer <API key or ADMIN_TOKEN>' with the "
            "scope the route names (read < incidents < write < admin), or the "
            "uptimatum_session cookie of /api/login and a same-origin Origin header."
        ),
        path=OPENAPI_ROUTER_PATH,
        render_plugins=[JsonRenderPlugin(path=["/", "/openapi.json"], media_type=MediaType.JSON)],
        components=Components(
            security_schemes={
                "adminToken": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="The server's ADMIN_TOKEN, or an API key (upt_...)",
                ),
                "sessionCookie": SecurityScheme(
                    type="apiKey",
                    name="uptimatum_session",
                    security_scheme_in="cookie",
                    description="The session cookie set by POST /api/login",
                ),
            }
        ),
    )


def document(app: Litestar) -> dict[str, Any]:
    """The document served at ``/doc``."""
    doc = copy.deepcopy(app.openapi_schema.to_schema())
    _describe_bodies(app, doc)
    _add_links(doc)
    return doc


# -- request bodies ------------------------------------------------------------


def _body_types(app: Litestar) -> dict[tuple[str, str], type[msgspec.Struct]]:
    """(path, method) -> the Struct a route decodes its body as."""
    found = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not isinstance(handler, HTTPRouteHandler):
                continue
            data = handler.parsed_fn_signature.parameters.get("data")
            # A handler that reads its body itself names its Struct: opt={"body": Login}.
            kind = data.annotation if data is not None else handler.opt.get("body")
            if isinstance(kind, type) and issubclass(kind, msgspec.Struct):
                for method in handler.http_methods:
                    found[(route.path_format, method.lower())] = kind
    return found


def _describe_bodies(app: Litestar, doc: dict[str, Any]) -> None:
    """Each request body's component becomes msgspec's schema of its Struct."""
    schemas = doc["components"]["schemas"]
    for (path, method), kind in _body_types(app).items():
        operation = doc["paths"].get(path, {}).get(method)
        if operation is None:
            continue
        body = operation.setdefault(
            "requestBody",
            {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": REF + kind.__name__}}},
            },
        )
        ref = body["content"]["application/json"]["schema"].get("$ref", "")
        if not ref.startswith(REF):
            continue
        (_,), components = msgspec.json.schema_components([kind], ref_template=REF + "{name}")
        schema = components.pop(kind.__name__)
        schema.pop("title", None)
        if not schema.get("required", True):
            del schema["required"]
        schema.update(getattr(kind, "__rules__", {}))
        schemas.update(components)
        schemas[ref.removeprefix(REF)] = {"title": kind.__name__, **schema}


# -- links ---------------------------------------------------------------------


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    return doc["components"]["schemas"].get(ref.removeprefix(REF), {}) if ref else schema


def _created(doc: dict[str, Any], op: dict[str, Any]) -> tuple[str, set[str]] | None:
    """The success status of ``op`` and the properties of the object it answers."""
    for status, response in op.get("responses", {}).items():
        if not status.startswith("2"):
            continue
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            continue
        properties = set(_resolve(doc, schema).get("properties", {}))
        if "id" in properties:
            return status, properties
    return None


def _targets(
    doc: dict[str, Any], collection: str, properties: set[str]
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """What a resource of ``collection`` with ``properties`` can feed: (operation, link)."""
    singular = collection.rsplit("/", 1)[-1].removesuffix("s")
    reference = f"{singular}_id"
    found = []
    for path, _method, op in _operations(doc):
        parameters: dict[str, str] = {}
        for param in op.get("parameters", []):
            name, where = param["name"], param["in"]
            if where == "path" and path.startswith(f"{collection}/{{{name}}}"):
                field = name if name in properties else "id"  # /api/pages/{slug}, /{x_id}
                parameters[f"path.{name}"] = f"$response.body#/{field}"
            elif where == "path" and name in properties and name != "id":
                parameters[f"path.{name}"] = f"$response.body#/{name}"  # /badge/{slug}
            elif name == reference:
                parameters[f"{where}.{name}"] = "$response.body#/id"  # ?page_id=
        body = {}
        ref = op.get("requestBody", {}).get("content", {}).get("application/json", {})
        if reference in _resolve(doc, ref.get("schema", {})).get("properties", {}):
            body = {reference: "$response.body#/id"}  # {"page_id": ...}
        path_params = [p for p in op.get("parameters", []) if p["in"] == "path"]
        if path_params and not all(f"path.{p['name']}" in parameters for p in path_params):
            continue  # a path this resource cannot fill alone
        if parameters or body:
            link: dict[str, Any] = {"operationId": op["operationId"]}
            if parameters:
                link["parameters"] = parameters
            if body:
                link["requestBody"] = body
            found.append((op, link))
    return found


def _add_links(doc: dict[str, Any]) -> None:
    """Links from each create (and each update) to what its answer identifies."""
    for path, method, op in _operations(doc):
        if method not in ("post", "patch"):
            continue
        created = _created(doc, op)
        if created is None:
            continue
        status, properties = created
        collection = path if method == "post" else path.rsplit("/", 1)[0]
        links = {
            target["operationId"]: link
            for target, link in _targets(doc, collection, properties)
            if target is not op
        }
        if links:
            op["responses"][status]["links"] = links
