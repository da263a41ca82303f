"""Welcome, greeting and help: what the bot can do, and the menu keys that do it."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from handlers.kit.actions import Events, LibraryAction
from handlers.kit.capability import HANDOFF_ACTION, Capability

WELCOME = "欢迎关注{name}！我是馆伴，图书馆的小助手📚"
GREETING = "你好呀👋 我是{name}的小助手馆伴，有什么可以帮你的？"
HELP_TITLE = "我现在可以帮你："
HELP_MENU = "底部菜单：{buttons}"
HELP_FOOTER = "随时发送「帮助」看这份说明，「取消」结束当前操作，「转人工」联系馆员。"
# For a bot built without the hand-off: the help never offers a command that goes nowhere.
HELP_FOOTER_ALONE = "随时发送「帮助」看这份说明，「取消」结束当前操作。"


def _library_name(action: LibraryAction) -> str:
    return str(action.services.library.get("library", {}).get("name", "图书馆"))


def help_text(action: LibraryAction) -> str:
    lines = [HELP_TITLE]
    capabilities = action.services.capabilities
    lines += [f"• {line}" for capability in capabilities for line in capability.help]
    buttons = _menu_button_names(action.services.library.get("menu", {}))
    if buttons:
        lines.append(HELP_MENU.format(buttons="、".join(f"「{b}」" for b in buttons)))
    handoff = any(a.NAME == HANDOFF_ACTION for c in capabilities for a in c.actions)
    lines.append(HELP_FOOTER if handoff else HELP_FOOTER_ALONE)
    return "\n".join(lines)


def _menu_button_names(menu: dict[str, Any]) -> list[str]:
    names = []
    for button in menu.get("buttons", []):
        if button.get("key"):
            names.append(button["name"])
        names += [sub["name"] for sub in button.get("sub", []) if sub.get("key")]
    return names


class ActionWelcome(LibraryAction):
    NAME = "action_welcome"
    quick = True

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        dispatcher.utter_message(
            text=WELCOME.format(name=_library_name(self)) + "\n\n" + help_text(self)
        )
        return []


class ActionGreet(LibraryAction):
    NAME = "action_greet"
    quick = True

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        dispatcher.utter_message(text=GREETING.format(name=_library_name(self)))
        return []


class ActionHelp(LibraryAction):
    NAME = "action_help"
    quick = True

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        dispatcher.utter_message(text=help_text(self))
        return []


CAPABILITY = Capability(
    name="greeting",
    actions=(ActionWelcome, ActionGreet, ActionHelp),
)
