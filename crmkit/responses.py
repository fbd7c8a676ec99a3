"""A response model's JSON, serialised once, as the route's answer."""

from __future__ import annotations

from pydantic import BaseModel
from starlette.responses import Response


def model_json(model: BaseModel, *, status_code: int = 200) -> Response:
    """The bytes FastAPI would send for ``model`` (``by_alias``, ``application/json``), without its
    second pass: a returned model is validated again against the route's ``response_model`` before
    it is serialised. The route keeps ``response_model=`` for its OpenAPI; headers go on the
    returned response (``set_etag(answer, ...)``)."""
    return Response(
        model.__pydantic_serializer__.to_json(model, by_alias=True),
        status_code=status_code,
        media_type="application/json",
    )
