"""The console's shell and the API's base: accounts, sessions, CSRF, throttling, tokens, the
audit log, error shape, the OpenAPI document — and that nobody without a staff account
reaches any of it."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest

from bot.core import staff
from tests.conftest import CSRF_FIELD, STAFF_PASSWORD, Clock, Console, bot_env, python


@pytest.fixture
def admin(console: Console) -> Console:
    console.add_staff("libadmin", "admin")
    assert console.login("libadmin").status_code == 302
    return console


def public(rule: Any) -> bool:
    return rule.endpoint in {"console.login", "swagger_assets", "static"}


def routes(app: Any, prefix: str) -> list[tuple[str, str]]:
    """Every (method, path) under prefix, with sample values for its parameters."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(prefix) or public(rule):
            continue
        path = re.sub(r"<(?:int:)?[^>]+>", "1", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, path))
    return found


# -- nobody without a staff account reaches anything ------------------------------------------


def test_every_console_page_sends_strangers_to_the_login(console: Console) -> None:
    pages = routes(console.app, "/console")
    assert len(pages) >= 8
    for method, path in pages:
        response = console.client.open(path, method=method)
        if method == "GET":
            assert response.status_code == 302, path
            assert response.headers["Location"].startswith("/console/login"), path
        else:  # a POST without a session has no valid CSRF token either
            assert response.status_code in (302, 400), (method, path)


def test_every_api_endpoint_refuses_without_a_token(console: Console) -> None:
    endpoints = routes(console.app, "/api/")
    assert any(path.endswith("openapi.json") for _, path in endpoints)
    for method, path in endpoints:
        response = console.api(method, path)
        assert response.status_code == 401, (method, path)
        assert response.json["error"]["code"] == "unauthorized", path


def test_a_bad_or_revoked_token_is_refused(console: Console) -> None:
    console.add_staff("ann", "admin")
    token = console.api_token("ann")
    assert console.api("GET", "/api/v1/accounts/staff", token).status_code == 200
    for bad in ("gb_nonsense", token + "x", "Basic abc"):
        assert console.api("GET", "/api/v1/accounts/staff", bad).status_code == 401
    account = staff.by_username(console.services.db(), "ann")
    assert account is not None
    [row] = staff.tokens_of(console.services.db(), account.id)
    staff.revoke_token(console.services.db(), account.id, row["id"], console.services.now())
    assert console.api("GET", "/api/v1/accounts/staff", token).status_code == 401


def test_a_disabled_account_is_out_at_once(admin: Console) -> None:
    admin.add_staff("bob", "staff")
    other = Console(admin.app)
    assert other.login("bob").status_code == 302
    assert other.client.get("/console/").status_code == 200
    bob = staff.by_username(admin.services.db(), "bob")
    assert bob is not None
    token = admin.api_token("bob")
    staff.update(admin.services.db(), bob.id, active=False)
    assert other.client.get("/console/").status_code == 302
    assert other.api("GET", "/api/v1/openapi.json", token).status_code == 401
    assert other.login("bob").status_code == 401


def test_staff_without_admin_get_403_on_admin_pages_and_api(console: Console) -> None:
    console.add_staff("bob", "staff")
    console.login("bob")
    assert console.client.get("/console/accounts/").status_code == 403
    assert console.client.get("/console/accounts/audit").status_code == 403
    token = console.api_token("bob")
    response = console.api("GET", "/api/v1/accounts/audit", token)
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"
    # And the menu does not offer them.
    assert "审计日志" not in console.client.get("/console/").get_data(as_text=True)


# -- logging in -----------------------------------------------------------------------------------


def test_login_logout_and_the_next_page(console: Console) -> None:
    console.add_staff("ann", "staff")
    response = console.post(
        "/console/login",
        {"username": "ann", "password": STAFF_PASSWORD, "next": "/console/tokens/"},
    )
    assert response.headers["Location"] == "/console/tokens/"
    assert "ann" in console.client.get("/console/").get_data(as_text=True)
    console.post("/console/logout")
    assert console.client.get("/console/").status_code == 302


def test_an_outside_next_is_never_followed(console: Console) -> None:
    console.add_staff("ann", "staff")
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        response = console.post(
            "/console/login", {"username": "ann", "password": STAFF_PASSWORD, "next": target}
        )
        assert response.headers["Location"] == "/console/", target
        console.post("/console/logout")


def test_wrong_username_and_wrong_password_look_the_same(console: Console) -> None:
    console.add_staff("ann", "staff")
    first = console.login("nobody")
    second = console.login("ann", "wrong password!")
    assert first.status_code == second.status_code == 401
    assert "用户名或密码不正确" in first.get_data(as_text=True)
    # The same page but for its CSRF token (which carries a timestamp).
    assert CSRF_FIELD.sub("", first.get_data(as_text=True)) == CSRF_FIELD.sub(
        "", second.get_data(as_text=True)
    )


def test_five_failures_lock_the_login_for_fifteen_minutes(make_app: Any) -> None:
    from tests.wechat.test_router import NOW

    clock = Clock(NOW)
    console = Console(make_app(cookie_secure=False, clock=clock))
    console.add_staff("ann", "staff")
    for _ in range(5):
        assert console.login("ann", "wrong password!").status_code == 401
    locked = console.login("ann")  # even the right password
    assert locked.status_code == 429
    assert "登录失败次数过多" in locked.get_data(as_text=True)
    clock.now += timedelta(minutes=15, seconds=1)
    assert console.login("ann").status_code == 302


def test_session_cookie_flags(make_app: Any) -> None:
    console = Console(make_app())  # LIBBOT_COOKIE_SECURE on by default
    console.add_staff("ann", "staff")
    response = console.client.post(
        "/console/login",
        data={"username": "ann", "password": STAFF_PASSWORD, "csrf_token": "x"},
        base_url="https://localhost",
    )
    assert response.status_code == 400  # no valid CSRF token: refused before any check
    page = console.client.get("/console/login", base_url="https://localhost")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert token
    form = {"username": "ann", "password": STAFF_PASSWORD, "csrf_token": token.group(1)}
    # Over HTTPS the form must also come from this site (Flask-WTF checks the Referer).
    refused = console.client.post("/console/login", data=form, base_url="https://localhost")
    assert refused.status_code == 400
    response = console.client.post(
        "/console/login",
        data=form,
        base_url="https://localhost",
        headers={"Referer": "https://localhost/console/login"},
    )
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "guanban_session=" in cookie
    for flag in ("Secure", "HttpOnly", "SameSite=Lax"):
        assert flag in cookie


def test_every_console_form_needs_its_csrf_token(admin: Console) -> None:
    for method, path in routes(admin.app, "/console"):
        if method == "POST":
            response = admin.client.post(path, data={"x": "1"})
            assert response.status_code == 400, path
            assert "表单已过期" in response.get_data(as_text=True)


# -- API tokens, the audit log --------------------------------------------------------------------


def test_tokens_are_made_shown_once_used_and_revoked_in_the_console(admin: Console) -> None:
    page = admin.post("/console/tokens/", {"name": "教务同步"}).get_data(as_text=True)
    token = re.search(r'<code id="new-token">(gb_[^<]+)</code>', page)
    assert token
    assert admin.api("GET", "/api/v1/accounts/staff", token.group(1)).status_code == 200
    listing = admin.client.get("/console/tokens/").get_data(as_text=True)
    assert token.group(1) not in listing and f"…{token.group(1)[-4:]}" in listing
    account = staff.by_username(admin.services.db(), "libadmin")
    assert account is not None
    [row] = staff.tokens_of(admin.services.db(), account.id)
    admin.post(f"/console/tokens/{row['id']}/revoke")
    assert admin.api("GET", "/api/v1/accounts/staff", token.group(1)).status_code == 401


def test_the_audit_log_keeps_who_what_when_before_and_after(admin: Console) -> None:
    admin.post(
        "/console/accounts/",
        {"username": "bob", "password": STAFF_PASSWORD, "role": "staff", "display_name": "鲍勃"},
    )
    bob = staff.by_username(admin.services.db(), "bob")
    assert bob is not None
    admin.post(f"/console/accounts/{bob.id}", {"role": "counsellor", "active": "1"})
    token = admin.api_token("libadmin")
    page = admin.api("GET", "/api/v1/accounts/audit?per_page=2", token).json
    assert page["total"] >= 3 and page["per_page"] == 2 and len(page["items"]) == 2
    update, create = page["items"]
    assert (update["username"], update["action"], update["target"]) == (
        "libadmin",
        "staff.update",
        f"staff:{bob.id}",
    )
    assert update["before"]["role"] == "staff" and update["after"]["role"] == "counsellor"
    assert create["action"] == "staff.create" and create["after"]["display_name"] == "鲍勃"
    second = admin.api("GET", "/api/v1/accounts/audit?per_page=2&page=2", token).json
    assert second["items"][-1]["action"] == "login"


def test_an_admin_cannot_lock_themselves_out(admin: Console) -> None:
    me = staff.by_username(admin.services.db(), "libadmin")
    assert me is not None
    admin.post(f"/console/accounts/{me.id}", {"role": "staff", "active": "1"})
    assert staff.by_username(admin.services.db(), "libadmin").role == "admin"  # type: ignore[union-attr]


def test_bad_account_input_is_said_in_a_sentence(admin: Console) -> None:
    page = admin.post(
        "/console/accounts/",
        {"username": "x", "password": "short", "role": "staff"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "密码至少 10 个字符" in page


# -- the API's shape ------------------------------------------------------------------------------


def test_api_errors_have_one_shape(admin: Console) -> None:
    token = admin.api_token("libadmin")
    missing = admin.api("GET", "/api/v1/nothing-here", token)
    assert missing.status_code == 404
    assert missing.json == {
        "error": {"code": "not_found", "message": missing.json["error"]["message"], "details": None}
    }
    invalid = admin.api("GET", "/api/v1/accounts/audit?per_page=500", token)
    assert invalid.status_code == 422
    assert invalid.json["error"]["code"] == "invalid"
    assert "per_page" in json.dumps(invalid.json["error"]["details"])


def test_the_openapi_document_is_generated_and_valid(admin: Console) -> None:
    from openapi_spec_validator import validate

    token = admin.api_token("libadmin")
    document = admin.api("GET", "/api/v1/openapi.json", token).json
    validate(document)
    assert document["openapi"].startswith("3.")
    assert "/api/v1/accounts/audit" in document["paths"]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_the_docs_page_is_served_without_a_cdn(admin: Console) -> None:
    page = admin.client.get("/api/v1/docs").get_data(as_text=True)
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in page
    assert "http" not in page.split("<body>")[1].split("</body>")[0].replace("{{", "")
    assert admin.client.get("/api/v1/docs/assets/swagger-ui-bundle.js").status_code == 200


# -- the first account ------------------------------------------------------------------------


def test_create_staff_makes_the_first_admin(tmp_path: Any) -> None:
    env = bot_env(tmp_path)
    made = python(
        "-m",
        "bot",
        "create-staff",
        "libadmin",
        "--role",
        "admin",
        "--password-stdin",
        env=env,
        stdin=STAFF_PASSWORD + "\n",
    )
    assert made.returncode == 0, made.stderr
    assert "created admin account libadmin" in made.stdout
    again = python(
        "-m",
        "bot",
        "create-staff",
        "libadmin",
        "--password-stdin",
        env=env,
        stdin=STAFF_PASSWORD + "\n",
    )
    assert again.returncode == 2 and "已存在" in again.stderr and "Traceback" not in again.stderr
    weak = python("-m", "bot", "create-staff", "bob", "--password-stdin", env=env, stdin="x\n")
    assert weak.returncode == 2 and "密码至少" in weak.stderr
