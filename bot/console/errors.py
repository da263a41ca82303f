"""The one place a StaffError becomes an answer: under /api/ the API's error shape with the
error's status and English message, on the console's pages a flash of its Chinese message
(handlers.kit.console_errors says where the page goes then)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from bot.console.api import is_api_request, problem
from bot.core.errors import StaffError
from handlers.kit.console_errors import refused_page


def init_errors(app: Flask) -> None:
    app.register_error_handler(StaffError, staff_error)


def staff_error(error: StaffError) -> Any:
    if is_api_request():
        return problem(error.status, error.english, error.api_details())
    return refused_page(error)
