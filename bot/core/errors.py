"""The error types raised on purpose, and the words readers see otherwise.

- `UserFacingError`: a reader's request cannot be done; its sentence is the reply.
- `StaffError`: a librarian's or an API client's request cannot be done; it carries the
  HTTP status and a precise message, and one place (bot.console) turns it into a flash on
  the page or the API's error shape. Subclasses name the status of a common case.
"""

from __future__ import annotations

from typing import Any


class UserFacingError(Exception):
    """An expected failure; `message` is a short, kind Chinese sentence for the reader.

    The router turns it into the reply as it is. Anything else a handler raises is logged
    once (with the message id and a hashed user id) and answered with BUSY.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StaffError(Exception):
    """An expected failure of a staff or API request: `message` says precisely what is wrong
    (in Chinese on the console, as the API's `message`), `status` is the HTTP status, and
    `field` names the form field or request key at fault, when one is."""

    status = 400

    def __init__(
        self, message: str, *, status: int | None = None, field: str = "", details: Any = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.field = field
        self.details = details


class NotFound(StaffError):
    status = 404


class Conflict(StaffError):
    status = 409


class Invalid(StaffError):
    status = 422


BUSY = "系统繁忙，请稍后再试。"
