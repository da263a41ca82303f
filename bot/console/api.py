"""The JSON API under /api/v1: flask-smorest, so the OpenAPI 3 document at
/api/v1/openapi.json is generated from the code's schemas, and a docs page at /api/v1/docs
(Swagger UI, served from the swagger-ui-bundle package: no CDN).

Errors have one shape everywhere under /api/: `{"error": {"code", "message", "details"}}`,
with `code` a stable word (not_found, unauthorized, forbidden, invalid, conflict, …).
Lists are paginated alike: `?page=1&per_page=20` → `{"items", "page", "per_page", "total"}`.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, request, send_from_directory
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

API_PREFIX = "/api/v1"
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    500: "internal_error",
}


def error_response(error: HTTPException) -> Response:
    code = error.code or 500
    details: Any = None
    data = getattr(error, "data", None)  # webargs puts validation messages here
    if isinstance(data, dict):
        details = data.get("messages") or data.get("errors")
    message = error.description if isinstance(error.description, str) else error.name
    return problem(code, message, details)


def problem(code: int, message: str, details: Any = None) -> Response:
    """The API's error shape, for an HTTP error and a StaffError (bot.console.errors) alike."""
    if code == 422:
        message = "the request's data is not valid; see details"
    body = {"error": {"code": CODES.get(code, "error"), "message": message, "details": details}}
    response = jsonify(body)
    response.status_code = code
    if code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="guanban"'
    return response


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def build_api(app: Flask) -> Api:
    import swagger_ui_bundle

    app.config.update(
        API_TITLE="Guanban staff API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=f"{API_PREFIX}/docs/assets/",
    )
    api = Api(
        app,
        spec_kwargs={
            "info": {"description": "What the staff console does, for scripts and other systems."}
        },
    )
    api.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "An API token (gb_…)"}
    )
    api.spec.options["security"] = [{"bearer": []}]

    @app.get(f"{API_PREFIX}/docs/assets/<path:name>")
    def swagger_assets(name: str) -> Response:
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, name, max_age=86400)

    return api
