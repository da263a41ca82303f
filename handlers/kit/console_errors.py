"""How a console page answers a StaffError: its message flashed, then the page's way back.

The console's one error handler (bot.console.errors) hands a StaffError raised by a page to
`refused_page`. A page that must answer otherwise than by going back where the form was (the
form again with what was typed, the list for an unknown record) says so once, with
`@on_refusal(recover)`; no page catches the error itself.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import flash, g, redirect, request, url_for

from bot.core.errors import StaffError

T = TypeVar("T")
Recover = Callable[..., Any]  # (error, **the view's arguments) -> the page's response


def on_refusal(recover: Recover) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The page's answer to a StaffError, once its message is flashed:
    `recover(error, **the view's arguments)`."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(**kwargs: Any) -> Any:
            # Kept for this request only: the error handler runs outside the view.
            g.on_refusal = functools.partial(recover, **kwargs)
            return view(**kwargs)

        return wrapped

    return decorate


def back_to(endpoint: str, *params: str) -> Recover:
    """A recovery that goes to the page `endpoint`, given these of the view's arguments."""

    def recover(_: StaffError, **kwargs: Any) -> Any:
        return redirect(url_for(endpoint, **{name: kwargs[name] for name in params}))

    return recover


def flash_refusal(error: StaffError) -> None:
    flash(error.message, "error")


def refused_page(error: StaffError) -> Any:
    """A page's answer to a StaffError: the message flashed, then its `on_refusal`, else back
    to the page the form was on."""
    flash_refusal(error)
    recover = g.pop("on_refusal", None)
    return recover(error) if recover is not None else _back()


def flashed(read: Callable[[], T], default: T) -> T:
    """A page's lenient reading of its own query (a filter, a period): a StaffError is
    flashed and `default` taken, and the page goes on showing what it can."""
    try:
        return read()
    except StaffError as error:
        flash_refusal(error)
        return default


def _back() -> Any:
    # Only a page of this site, and never the page that just refused (no redirect loop).
    came_from = urlsplit(request.referrer or "")
    if came_from.netloc == request.host and came_from.path not in ("", request.path):
        return redirect(came_from._replace(scheme="", netloc="").geturl())
    return redirect(url_for("console.dashboard"))
