"""One StaffError, one place that answers it (bot.console.errors): on a console page a flash
of its Chinese message, under /api/ the API's error shape with its status and English
message — for a plugin's blueprints exactly as the app registers every capability's."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Blueprint, render_template_string
from flask_smorest import Blueprint as ApiBlueprint

from bot.core.errors import Conflict, Invalid, NotFound, StaffError
from handlers.kit import console_auth as auth
from handlers.kit.capability import Capability
from handlers.kit.console import Plugin
from handlers.kit.console_errors import on_refusal
from handlers.registry import CAPABILITIES
from tests.conftest import Console

pages = Blueprint("trial_errors", __name__)
api = ApiBlueprint("api_trial_errors", __name__)

REFUSALS: dict[str, StaffError] = {
    "conflict": Conflict("这条违约已经免除过了。", english="the violation was waived already"),
    "missing": NotFound("没有编号为 7 的记录。", english="no such record"),
    "invalid": Invalid("请写明原因。", english="a reason is required", field="reason"),
    "whole": Invalid("没有要修改的内容。", english="nothing to change"),
    "plain": StaffError("这件事现在做不了。"),
}


def _form_again(error: StaffError, what: str) -> tuple[str, int]:
    return render_template_string(
        "{% for m in get_flashed_messages() %}<p>{{ m }}</p>{% endfor %}again {{ what }}",
        what=what,
    ), error.status


@pages.post("/<what>")
@auth.page_access()
@on_refusal(_form_again)
def refuse_page(what: str) -> str:
    raise REFUSALS[what]


@pages.post("/<what>/plain")
@auth.page_access()
def refuse_plain_page(what: str) -> str:
    raise REFUSALS[what]


@api.post("/<what>")
@auth.api_access()
def refuse_api(what: str) -> dict[str, Any]:
    raise REFUSALS[what]


TRIAL = Capability(
    name="trial_errors",
    console=lambda: [Plugin(name="trial_errors", pages=pages, api=api)],
)


@pytest.fixture
def console(make_app: Any) -> Console:
    console = Console(make_app(cookie_secure=False, capabilities=(*CAPABILITIES, TRIAL)))
    console.add_staff("ann", "staff")
    return console


def test_a_page_flashes_the_message_and_answers_as_it_says(console: Console) -> None:
    console.login("ann")
    response = console.post("/console/trial_errors/conflict")
    assert response.status_code == 409
    assert response.get_data(as_text=True) == "<p>这条违约已经免除过了。</p>again conflict"


def test_a_page_without_its_own_answer_goes_back_where_the_form_was(console: Console) -> None:
    console.login("ann")
    response = console.post(
        "/console/trial_errors/invalid/plain",
        headers={"Referer": "http://localhost/console/readers/"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/readers/"
    page = console.client.get("/console/readers/").get_data(as_text=True)
    assert '<div class="flash error" role="status">请写明原因。</div>' in page
    # Another site, or none: the dashboard.
    response = console.post("/console/trial_errors/plain/plain")
    assert response.headers["Location"] == "/console/"
    assert "这件事现在做不了。" in console.client.get("/console/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("what", "status", "body"),
    [
        ("conflict", 409, ("conflict", "the violation was waived already", None)),
        ("missing", 404, ("not_found", "no such record", None)),
        (
            "invalid",
            422,
            (
                "invalid",
                "the request's data is not valid; see details",
                {"json": {"reason": ["a reason is required"]}},
            ),
        ),
        (
            "whole",
            422,
            (
                "invalid",
                "the request's data is not valid; see details",
                {"json": {"_schema": ["nothing to change"]}},
            ),
        ),
        ("plain", 400, ("bad_request", "这件事现在做不了。", None)),
    ],
)
def test_the_api_answers_with_its_error_shape_and_status(
    console: Console, what: str, status: int, body: tuple[str, str, Any]
) -> None:
    response = console.api("POST", f"/api/v1/trial_errors/{what}", console.api_token("ann"))
    assert response.status_code == status
    code, message, details = body
    assert response.json == {"error": {"code": code, "message": message, "details": details}}


def test_a_refusal_reads_like_the_apis_own_validation_error(console: Console) -> None:
    token = console.api_token("ann")
    # A body the schema refuses, and a value the code refuses: one shape.
    schema = console.api("POST", "/api/v1/spaces/closures", token, json={})
    ours = console.api("POST", "/api/v1/trial_errors/invalid", token)
    assert schema.status_code == ours.status_code == 422
    assert schema.json["error"].keys() == ours.json["error"].keys()
    assert schema.json["error"]["message"] == ours.json["error"]["message"]
    assert list(schema.json["error"]["details"]) == list(ours.json["error"]["details"]) == ["json"]
