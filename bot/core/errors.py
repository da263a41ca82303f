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
    (the console flashes it, in Chinese), `english` is the same for the API (the message
    itself when not given), `status` the HTTP status, and `field` the form field or request
    key at fault, when one is. `details` is the API error's `details` when the default (a
    422 names the field like a schema's validation error) does not fit."""

    status = 400

    def __init__(
        self,
        message: str,
        *,
        english: str = "",
        status: int | None = None,
        field: str = "",
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.english = english or message
        if status is not None:
            self.status = status
        self.field = field
        self.details = details

    def api_details(self) -> Any:
        """The API error's `details`: for a 422, the field at fault in the shape of
        flask-smorest's own validation errors, so a client reads both alike."""
        if self.details is not None or self.status != 422:
            return self.details
        return {"json": {self.field or "_schema": [self.english]}}


class NotFound(StaffError):
    status = 404


class Conflict(StaffError):
    status = 409


class Invalid(StaffError):
    status = 422


BUSY = "系统繁忙，请稍后再试。"
