"""What every API endpoint of the console shares: pagination alike everywhere —
`?page=1&per_page=20` → `{"items", "page", "per_page", "total"}`."""

from __future__ import annotations

from typing import Any

import marshmallow as ma


class PageArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1))
    per_page = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=100))


def page_of(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A paginated list schema for `item_schema` (one class per item kind, for OpenAPI)."""
    return ma.Schema.from_dict(
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema)),
            "page": ma.fields.Integer(),
            "per_page": ma.fields.Integer(),
            "total": ma.fields.Integer(),
        },
        name=name,
    )


def paginate(rows: list[Any], total: int, args: dict[str, Any]) -> dict[str, Any]:
    return {"items": rows, "page": args["page"], "per_page": args["per_page"], "total": total}


def offset(args: dict[str, Any]) -> tuple[int, int]:
    """(limit, offset) for SQL."""
    return args["per_page"], (args["page"] - 1) * args["per_page"]
