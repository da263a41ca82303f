"""Rasa's action-server protocol at POST /actions/webhook, serving the same actions.

A library that runs its own Rasa server points its `action_endpoint` here. Access: with
LIBBOT_ACTIONS_TOKEN set, the caller must send it as `?token=` (Rasa's EndpointConfig
does); without it, only callers on this machine (loopback) are served.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging

from flask import Blueprint, Response, current_app, jsonify, request
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import (
    ActionExecutionRejection,
    ActionMissingDomainException,
    ActionNotFoundException,
)

from bot.core.errors import UserFacingError

log = logging.getLogger("guanban.actions")

blueprint = Blueprint("actions", __name__)


def build_executor(actions: list) -> ActionExecutor:
    executor = ActionExecutor()
    for action in actions:
        executor.register_action(action)
    return executor


def _allowed() -> bool:
    token = current_app.extensions["guanban"].settings.actions_token
    if token:
        return hmac.compare_digest(request.args.get("token", "").encode(), token.encode())
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


@blueprint.post("/actions/webhook")
def webhook() -> tuple[Response, int]:
    if not _allowed():
        return jsonify(error="forbidden: set LIBBOT_ACTIONS_TOKEN and send ?token="), 403
    action_call = request.get_json(silent=True)
    if not isinstance(action_call, dict) or not isinstance(action_call.get("tracker"), dict):
        return jsonify(error="Invalid body request: expected an action call with a tracker"), 400
    executor: ActionExecutor = current_app.extensions["guanban_actions"]
    try:
        result = asyncio.run(executor.run(action_call))
    except ActionNotFoundException as error:
        return jsonify(error=error.message, action_name=error.action_name), 404
    except ActionExecutionRejection as error:
        return jsonify(error=error.message, action_name=error.action_name), 400
    except ActionMissingDomainException as error:
        return jsonify(error=error.message, action_name=error.action_name), 449
    except UserFacingError as error:
        # An expected refusal is still an answer: say it to the user, change nothing.
        return jsonify(events=[], responses=[{"text": error.message}]), 200
    except Exception:
        log.exception("action %s failed", action_call.get("next_action"))
        return jsonify(error="the action failed; see the bot's log"), 500
    if result is None:
        return jsonify(error="no next_action in the action call"), 400
    return jsonify(result.model_dump()), 200
