"""The one error type handlers raise on purpose, and the words readers see otherwise."""

from __future__ import annotations


class UserFacingError(Exception):
    """An expected failure; `message` is a short, kind Chinese sentence for the reader.

    The router turns it into the reply as it is. Anything else a handler raises is logged
    once (with the message id and a hashed user id) and answered with BUSY.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


BUSY = "系统繁忙，请稍后再试。"
