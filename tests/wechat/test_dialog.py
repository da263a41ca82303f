"""The conversation around the intent layer: crisis first, asking when unsure, follow-ups,
what is not understood, and forms that ask, check, confirm and abort.

Most tests talk through the webhook with the real NLU; the ones about how the router treats
a parse of a given shape (a faint guess, two close guesses) give it that parse directly, so
they do not depend on where a retrained model puts a sentence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.dev.callback_client import WeChatPeer
from bot.wechat import words as messages
from handlers import crisis
from handlers.kit import forms
from handlers.kit.actions import Events
from handlers.kit.capability import Capability
from handlers.kit.forms import FormAction, Slot, open_day, within_opening_hours
from handlers.registry import CAPABILITIES
from intents.catalogue import label
from intents.nlu import NLU
from intents.result import ParseResult
from tests.conftest import ROOT, Clock
from tests.wechat.test_router import NOW, rows, say

# -- a booking-shaped form, for the engine (the real reservation form is its own capability)

SUBMITTED: list[dict[str, Any]] = []


def _party(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < int(text) < 50 else None


class ActionTrialBooking(FormAction):
    NAME = "action_reserve"
    FORM = "trial_booking_form"
    SLOTS: ClassVar[tuple[Slot, ...]] = (
        Slot("resource_type", "想约座位还是研讨间？"),
        Slot("date", "哪一天？", validate=open_day),
        Slot("start_time", "几点开始？", validate=within_opening_hours),
        Slot("end_time", "到几点结束？", answers=("start_time",), validate=within_opening_hours),
        Slot(
            "party_size",
            "一共几个人？",
            from_text=_party,
            needed=lambda slots: slots.get("resource_type") == "discussion_room",
        ),
    )

    def derive(
        self,
        found: dict[str, Any],
        slots: Mapping[str, Any],
        entities: list[dict[str, Any]],
        text: str,
    ) -> None:
        minutes = next((e["value"] for e in entities if e["entity"] == "duration_minutes"), None)
        start = found.get("start_time") or slots.get("start_time")
        if minutes and start and "end_time" not in found:
            hour, minute = map(int, str(start).split(":"))
            total = hour * 60 + minute + int(minutes)
            found["end_time"] = f"{total // 60:02d}:{total % 60:02d}"

    def summary(self, slots: Mapping[str, Any]) -> str:
        when = f"{slots['date']} {slots['start_time']}-{slots['end_time']}"
        return f"预约{slots['resource_type']} {when}"

    def submit(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, slots: Mapping[str, Any]
    ) -> Events:
        SUBMITTED.append(dict(slots))
        dispatcher.utter_message(text="已预约")
        return []


TRIAL = Capability(
    name="trial_booking",
    actions=(ActionTrialBooking,),
    forms={ActionTrialBooking.FORM: ActionTrialBooking.NAME},
)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def booking(make_app: Any, mp_peer: WeChatPeer, clock: Clock) -> Any:
    SUBMITTED.clear()
    client = make_app(clock=clock, capabilities=(*CAPABILITIES, TRIAL)).test_client()
    return lambda text, user="oBooker": say(client, mp_peer, text, user)


@pytest.fixture
def chat(make_app: Any, mp_peer: WeChatPeer, clock: Clock) -> Any:
    client = make_app(clock=clock).test_client()
    return lambda text, user="oDialog": say(client, mp_peer, text, user)


def scripted(parses: dict[str, ParseResult]) -> Any:
    """The real NLU, except for texts given a parse of a chosen shape."""
    nlu = NLU.load(ROOT / "instance" / "models")

    def parse(text: str, now: datetime) -> ParseResult:
        return parses.get(text.strip()) or nlu.parse(text, now)

    return parse


@pytest.fixture
def scripted_chat(make_app: Any, mp_peer: WeChatPeer, clock: Clock) -> Any:
    def build(parses: dict[str, ParseResult]) -> Any:
        client = make_app(clock=clock, parser=scripted(parses)).test_client()
        return lambda text, user="oDialog": say(client, mp_peer, text, user)

    return build


def unsure(text: str, *ranking: tuple[str, float]) -> ParseResult:
    return ParseResult(text, ranking[0][0], ranking[0][1], (), ranking, ambiguous=True)


# -- crisis first ----------------------------------------------------------------------------


def test_a_crisis_message_gets_hotlines_and_an_urgent_ticket(chat: Any, tmp_path: Any) -> None:
    reply = chat("我不想活了")
    assert reply.startswith(crisis.OPENING)
    assert "12356" in reply and "0315-8805120" in reply and "120" in reply
    [(ref, kind, text, created, due)] = rows(
        tmp_path, "SELECT ref, kind, text, created_at, due_at FROM tickets"
    )
    assert ref in reply and kind == "handoff" and text == crisis.TICKET_PREFIX + "我不想活了"
    assert datetime.fromisoformat(due) - datetime.fromisoformat(created) == crisis.URGENT_WITHIN


def test_crisis_wins_inside_a_form_and_ends_it(chat: Any, tmp_path: Any) -> None:
    chat("我要反馈")
    assert chat("活着好累 想结束这一切").startswith(crisis.OPENING)
    # The feedback form is over: the next words are not stored as feedback.
    assert chat("今天天气怎么样") == messages.NOT_UNDERSTOOD
    kinds = rows(tmp_path, "SELECT kind FROM tickets")
    assert kinds == [("handoff",)]


def test_crisis_wins_inside_a_booking_form(booking: Any) -> None:
    assert booking("明天帮我约个座") == "几点开始？"
    assert booking("我想自杀").startswith(crisis.OPENING)
    assert booking("确认") == messages.AFFIRM_ALONE
    assert SUBMITTED == []


@pytest.mark.parametrize("text", ["热死了", "饿死了", "困死了", "有《自杀论》这本书吗"])
def test_hyperbole_and_titles_raise_no_alarm(chat: Any, tmp_path: Any, text: str) -> None:
    assert crisis.OPENING not in chat(text)
    assert rows(tmp_path, "SELECT count(*) FROM tickets") == [(0,)]


def test_hotlines_come_from_config_and_fall_back_when_it_is_broken(
    make_app: Any, mp_peer: WeChatPeer, clock: Clock, tmp_path: Any
) -> None:
    config = (ROOT / "config" / "library.example.toml").read_text(encoding="utf-8")
    start = config.index("[safety]")
    broken = config[:start] + '[safety]\nhotlines = [{ name = "少了号码" }]\n'
    path = tmp_path / "library.toml"
    path.write_text(broken, encoding="utf-8")
    client = make_app(clock=clock, library_config=str(path)).test_client()
    reply = say(client, mp_peer, "我想割腕")
    for name, phone in crisis.DEFAULT_HOTLINES:
        assert f"{name} {phone}" in reply
    assert "少了号码" not in reply


def test_a_faint_crisis_guess_is_no_alarm_but_leaves_the_door_open(
    scripted_chat: Any, tmp_path: Any
) -> None:
    chat = scripted_chat(
        {"我想借阅古籍": unsure("我想借阅古籍", ("crisis", 0.27), ("search_catalog", 0.21))}
    )
    reply = chat("我想借阅古籍")
    assert reply.startswith(messages.GENTLE_CARE)
    assert messages.ASK_IF.format(label=label("search_catalog")) in reply
    assert rows(tmp_path, "SELECT count(*) FROM tickets") == [(0,)]


# -- unsure: ask which of the two ------------------------------------------------------------

TWO_WAYS = unsure("周末能来吗", ("opening_hours", 0.40), ("feedback", 0.35), ("help", 0.1))


def test_two_close_guesses_are_offered_and_the_answer_runs_on_the_first_words(
    scripted_chat: Any, tmp_path: Any
) -> None:
    chat = scripted_chat({"周末能来吗": TWO_WAYS})
    assert chat("周末能来吗") == messages.ASK_WHICH.format(
        first=label("opening_hours"), second=label("feedback")
    )
    reply = chat("2")
    assert re.search(r"FK\d{6}", reply)
    assert rows(tmp_path, "SELECT text FROM tickets") == [("周末能来吗",)]
    [(reason, guesses, chosen)] = rows(
        tmp_path, "SELECT reason, guesses, chosen_intent FROM unrecognised"
    )
    assert reason == "ambiguous" and chosen == "feedback"
    assert [g[0] for g in json.loads(guesses)] == ["opening_hours", "feedback", "help"]


@pytest.mark.parametrize("answer", ["1", "第一个", "前者"])
def test_the_first_guess_can_be_chosen_in_words(scripted_chat: Any, answer: str) -> None:
    chat = scripted_chat({"周末能来吗": TWO_WAYS})
    chat("周末能来吗")
    assert "开馆" in chat(answer)


def test_a_new_message_instead_of_a_choice_is_understood_as_itself(
    scripted_chat: Any, tmp_path: Any
) -> None:
    chat = scripted_chat({"周末能来吗": TWO_WAYS})
    chat("周末能来吗")
    assert chat("你好").startswith("你好呀")
    # The offer is gone: a later 「2」 is not taken as a choice.
    assert "FK" not in chat("2")
    assert rows(tmp_path, "SELECT chosen_intent FROM unrecognised WHERE text = '周末能来吗'") == [
        (None,)
    ]


def test_one_offered_guess_is_confirmed_with_yes(scripted_chat: Any) -> None:
    chat = scripted_chat({"周末呢": unsure("周末呢", ("opening_hours", 0.3), ("affirm", 0.2))})
    assert chat("周末呢") == messages.ASK_IF.format(label=label("opening_hours"))
    assert "开馆" in chat("是的")


def test_when_the_best_guess_is_none_of_ours_the_bot_says_so_and_keeps_it(
    scripted_chat: Any, tmp_path: Any
) -> None:
    chat = scripted_chat({"qwerty": unsure("qwerty", ("out_of_scope", 0.2), ("subscribe", 0.1))})
    assert chat("qwerty") == messages.NOT_UNDERSTOOD
    [(channel, user, text, reason, guesses)] = rows(
        tmp_path, "SELECT channel, user_id, text, reason, guesses FROM unrecognised"
    )
    assert (channel, user, text, reason) == ("mp", "oDialog", "qwerty", "out_of_scope")
    assert json.loads(guesses)[0] == ["out_of_scope", 0.2]


# -- understood, but not built yet; yes and no on their own ---------------------------------


def test_an_intent_without_a_handler_is_named_and_not_stored_as_unknown(
    chat: Any, tmp_path: Any
) -> None:
    reply = chat("荐购《原则》")
    assert reply == messages.COMING_SOON.format(label=label("suggest_purchase"))
    assert rows(tmp_path, "SELECT count(*) FROM unrecognised") == [(0,)]


def test_off_topic_text_is_stored_for_staff(chat: Any, tmp_path: Any) -> None:
    assert chat("食堂的饭越来越贵了") == messages.NOT_UNDERSTOOD
    assert rows(tmp_path, "SELECT text, reason FROM unrecognised") == [
        ("食堂的饭越来越贵了", "out_of_scope")
    ]


def test_yes_and_no_alone_get_a_short_answer(chat: Any) -> None:
    assert chat("好的") == messages.AFFIRM_ALONE
    assert chat("不用") == messages.DENY_ALONE


# -- follow-ups ------------------------------------------------------------------------------


def test_a_follow_up_keeps_the_last_intent_with_the_new_date(chat: Any) -> None:
    # NOW is Monday 2026-11-23.
    assert chat("明天开门吗").startswith("明天（11月24日 周二）")
    assert chat("那后天呢？").startswith("后天（11月25日 周三）")
    assert chat("周六呢").startswith("11月28日（周六）")


def test_a_follow_up_after_a_menu_click_works_too(chat: Any, mp_peer: WeChatPeer) -> None:
    assert chat("今天几点关门")
    assert chat("12月31日呢").startswith("12月31日（周四）闭馆")


def test_without_an_earlier_answer_a_bare_date_is_not_a_follow_up(chat: Any) -> None:
    assert "11月25日" not in chat("那后天呢？")


def test_a_confident_new_request_is_not_taken_as_a_follow_up(chat: Any) -> None:
    chat("明天开门吗")
    assert chat("那明天我要荐购《原则》呢") == messages.COMING_SOON.format(
        label=label("suggest_purchase")
    )


# -- forms -----------------------------------------------------------------------------------


def test_a_form_asks_one_missing_slot_at_a_time_then_confirms(booking: Any) -> None:
    # Thursday 2026-11-26, 07:30: the date, the start and the type in one sentence.
    assert booking("周四早上七点半帮我占个座") == "到几点结束？"
    reply = booking("两个小时")
    assert reply.startswith("预约seat 2026-11-26 07:30-09:30")
    assert forms.ASK_CONFIRM in reply
    assert SUBMITTED == []
    assert booking("确认") == "已预约"
    assert SUBMITTED == [
        {
            "resource_type": "seat",
            "date": "2026-11-26",
            "start_time": "07:30",
            "end_time": "09:30",
            "party_size": None,
        }
    ]
    # The form is over: another 「确认」 books nothing.
    booking("确认")
    assert len(SUBMITTED) == 1


def test_group_size_is_asked_only_for_rooms_and_a_bare_number_answers_it(booking: Any) -> None:
    assert booking("礼拜二晚上七点到九点讨论室") == "一共几个人？"
    assert booking("5").startswith("预约discussion_room 2026-11-24 19:00-21:00")
    booking("好的")
    assert SUBMITTED[0]["party_size"] == 5


def test_a_closed_day_is_refused_with_the_reason_and_asked_again(booking: Any) -> None:
    reply = booking("12月31日上午九点到十一点约个座")
    assert reply == "12月31日（周四）图书馆闭馆（年终设备检修），换一天吧～\n哪一天？"
    assert booking("明天").startswith("预约seat 2026-11-24 09:00-11:00")


def test_a_time_outside_opening_hours_is_refused(booking: Any) -> None:
    reply = booking("明天早上6点到8点约座位")
    assert reply.startswith(
        forms.OUTSIDE_HOURS.format(day="明天（11月24日 周二）", opens="07:00", closes="22:30")
    )
    assert reply.endswith("几点开始？")


def test_an_end_before_the_start_is_refused(booking: Any) -> None:
    booking("明天下午三点约个座")
    assert booking("两点结束").startswith(forms.END_BEFORE_START.format(start="15:00"))


def test_a_change_at_the_confirmation_updates_and_asks_again(booking: Any) -> None:
    booking("明天上午九点到十一点约个座")
    reply = booking("改成后天")
    assert reply.startswith("预约seat 2026-11-25 09:00-11:00")
    assert booking("不") == forms.NOT_DONE
    assert SUBMITTED == []


def test_an_unclear_answer_at_the_confirmation_asks_again(booking: Any) -> None:
    booking("明天上午九点到十一点约个座")
    assert booking("嗯？让我想想") == forms.CONFIRM_AGAIN
    assert booking("确定").startswith("已预约")


@pytest.mark.parametrize("words", ["不用了", "算了", "取消"])
def test_abort_words_end_a_form_without_submitting(booking: Any, words: str) -> None:
    booking("明天帮我约个座")
    assert booking(words) == messages.CANCELLED
    assert booking("确认") == messages.AFFIRM_ALONE
    assert SUBMITTED == []


def test_a_no_to_a_question_ends_the_form(booking: Any) -> None:
    booking("明天帮我约个座")
    assert booking("不要") == forms.ABANDONED


def test_a_change_of_subject_leaves_the_form_and_says_so(booking: Any) -> None:
    booking("明天帮我约个座")
    reply = booking("图书馆几点关门")
    assert reply.startswith(messages.LEFT_FORM.format(label=label("reserve")))
    assert "开馆" in reply
    assert booking("下午三点") != "到几点结束？"


def test_the_form_survives_another_worker(make_app: Any, mp_peer: WeChatPeer, clock: Clock) -> None:
    SUBMITTED.clear()
    first = make_app(clock=clock, capabilities=(*CAPABILITIES, TRIAL)).test_client()
    second = make_app(clock=clock, capabilities=(*CAPABILITIES, TRIAL)).test_client()
    assert say(first, mp_peer, "明天下午三点约座", "oWorker") == "到几点结束？"
    assert say(second, mp_peer, "五点", "oWorker").startswith("预约seat 2026-11-24 15:00-17:00")
    assert say(first, mp_peer, "确认", "oWorker") == "已预约"
    assert NOW.date().isoformat() == "2026-11-23"


def test_without_the_crisis_capability_a_crisis_still_gets_the_hotlines(
    make_app: Any, mp_peer: WeChatPeer, clock: Clock
) -> None:
    trimmed = tuple(c for c in CAPABILITIES if c.name != "crisis")
    client = make_app(clock=clock, capabilities=trimmed).test_client()
    assert say(client, mp_peer, "我想自杀") == messages.CRISIS_FALLBACK


def test_a_start_time_already_past_today_is_refused(booking: Any) -> None:
    # NOW is 10:00.
    reply = booking("今天早上九点到十一点约个座")
    assert reply.startswith(forms.PAST_TIME.format(now="10:00"))
    assert reply.endswith("几点开始？")


def test_a_new_date_re_checks_the_times_already_given(booking: Any) -> None:
    # Monday 07:30 is fine; the Saturday after opens at 08:00 (config/library.example.toml).
    booking("明天早上七点半到九点约个座")
    reply = booking("改成周六")
    assert reply.startswith(
        forms.OUTSIDE_HOURS.format(day="11月28日（周六）", opens="08:00", closes="22:00")
    )
    assert reply.endswith("几点开始？")
    assert booking("八点").startswith("预约seat 2026-11-28 08:00-09:00")


def test_a_new_start_and_end_together_are_checked_together(booking: Any) -> None:
    booking("明天上午九点到十一点约个座")
    assert booking("改成下午五点到七点").startswith("预约seat 2026-11-24 17:00-19:00")


# -- one yes/no vocabulary (bot.core.words): a form's confirmation, the router's question ------

WEEKEND = unsure("周末呢", ("opening_hours", 0.3), ("affirm", 0.2))


@pytest.mark.parametrize("word", ["好的", "行", "确定", "1", "行！", "ＯＫ"])
def test_yes_is_the_same_word_at_a_form_and_at_the_routers_question(
    booking: Any, scripted_chat: Any, word: str
) -> None:
    booking("明天上午九点到十一点约个座")
    assert booking(word) == "已预约"
    assert len(SUBMITTED) == 1
    chat = scripted_chat({"周末呢": WEEKEND})
    assert chat("周末呢") == messages.ASK_IF.format(label=label("opening_hours"))
    assert "开馆" in chat(word)


@pytest.mark.parametrize("word", ["不用了", "算了", "算了。"])
def test_no_is_the_same_word_at_a_form_and_at_the_routers_question(
    booking: Any, scripted_chat: Any, word: str
) -> None:
    booking("明天上午九点到十一点约个座")
    assert booking(word) == messages.CANCELLED
    assert booking("确认") == messages.AFFIRM_ALONE
    assert SUBMITTED == []
    chat = scripted_chat({"周末呢": WEEKEND})
    chat("周末呢")
    assert chat(word) == messages.CANCELLED
    # The offer is declined: a later 「是」 runs nothing.
    assert "开馆" not in chat("是的")
