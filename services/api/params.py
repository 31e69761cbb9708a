"""Path and query parameters shared by several routes, as OpenAPI describes them.

Ids arrive as text and are read by ``parse_id`` (plain ASCII digits only, so
``1e3``, ``+5``, `` 5``, ``5.0`` and ``0x10`` are a 400, not a number Litestar
coerced); the document still says what a valid one is: a positive int64.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar.openapi.spec import OpenAPIType
from litestar.params import PathParameter, QueryParameter

from services.api.errors import MAX_ID

_ID_SCHEMA: dict[str, Any] = {
    "type": OpenAPIType.INTEGER,
    "format": "int64",
    "minimum": 1,
    "maximum": MAX_ID,
}
_ID_TEXT = "a positive 64-bit integer in plain decimal digits"

IdPath = Annotated[str, PathParameter(description=f"The id: {_ID_TEXT}", schema_extra=_ID_SCHEMA)]
PageIdQuery = Annotated[
    str, QueryParameter(description=f"The page's id: {_ID_TEXT}", schema_extra=_ID_SCHEMA)
]
