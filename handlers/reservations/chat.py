"""Reservations in chat: book a seat or room through a form, list and cancel bookings,
check in (a scanned QR code or 「签到」), 暂离 and 退座.

The rules and the database live in the other modules of handlers.reservations (rules,
availability, bookings, presence, store); this module holds the conversation.
The booking form asks for what is missing (type, date, start, end; the group size for
rooms), then shows what is free — or, when the wish cannot be met, the nearest alternatives
to pick by number — and books only after 「确认」. A BookingError is a UserFacingError: what
check-in, 暂离 and 退座 refuse, the router says as it is. A reader only ever hears about
their own bookings: a scanned seat someone else holds is "booked", never by whom.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any, ClassVar

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.core import users
from bot.core.words import is_no, is_yes
from handlers.kit.actions import Events, LibraryAction, as_date, as_time, reader_of
from handlers.kit.forms import (
    CANCEL_IS_NO,
    CONFIRM,
    REQUESTED,
    FormAction,
    Review,
    Slot,
    open_day,
    within_opening_hours,
)
from handlers.library.hours_text import day_label, hm
from handlers.reservations import availability, bookings, presence, store, words
from handlers.reservations.rules import check_rules
from handlers.reservations.spaces import TYPES, Space, spaces_of
from handlers.reservations.store import BookingError, Reader, Wish

FORM = "reserve_form"
CANCEL_FORM = "cancel_reservation_form"
SCENES = ("seat:", "room:")
SCAN_EVENTS = ("scan", "subscribe_scan", "scancode_push", "scancode_waitmsg")

SPACE_ID = re.compile(r"(?<![a-z0-9])([a-z]{1,2}\d{3,4}|m3d)(?![0-9])")
STUDENT_NO = re.compile(r"(?<!\d)\d{8,12}(?!\d)")
REF = re.compile(r"yy\d{6}")
FEATURES = {"power": re.compile(r"插座|充电|电源"), "window": re.compile(r"靠窗|窗边|窗户|窗口")}
TYPE_WORDS = {
    "seat": re.compile(r"座|位"),
    "discussion_room": re.compile(r"研讨|讨论|小组"),
    "cinema": re.compile(r"影|电影|放映"),
    "research_room": re.compile(r"研修|研究"),
}
PICK = re.compile(r"^第?([1-9])个?$")


def reader(services: Any, tracker: Tracker) -> Reader:
    channel, user_id = reader_of(tracker)
    profile = users.get(services.db(), channel, user_id)
    kind = (profile or {}).get("reader_type") or "student"
    return Reader(channel, user_id, kind)


def _type_from_text(text: str) -> str | None:
    return next((kind for kind, words_ in TYPE_WORDS.items() if words_.search(text)), None)


def _party(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < int(text) <= 500 else None


def _never(slots: Mapping[str, Any]) -> bool:
    return False


def _for_groups(slots: Mapping[str, Any]) -> bool:
    # Research rooms are for one teacher; seats for one reader.
    return slots.get("resource_type") in ("discussion_room", "cinema")


class ActionReserve(FormAction):
    NAME = "action_reserve"
    FORM = FORM
    SLOTS: ClassVar[tuple[Slot, ...]] = (
        Slot("resource_type", words.ASK_TYPE, from_text=_type_from_text),
        Slot("date", words.ASK_DATE, validate=open_day),
        Slot("start_time", words.ASK_START, validate=within_opening_hours),
        Slot("end_time", words.ASK_END, answers=("start_time",), validate=within_opening_hours),
        Slot("party_size", words.ASK_PARTY, from_text=_party, needed=_for_groups),
        # Filled from the words (a seat number, 靠窗, student numbers) or by picking an
        # alternative; never asked.
        Slot("space_id", "", needed=_never),
        Slot("features", "", needed=_never),
        Slot("companions", "", needed=_never),
        Slot("offers", "", needed=_never),
    )

    def derive(
        self,
        found: dict[str, Any],
        slots: Mapping[str, Any],
        entities: list[dict[str, Any]],
        text: str,
    ) -> None:
        offers = slots.get("offers") or []
        pick = PICK.match(text)
        if offers and pick:
            number = int(pick.group(1))
            if number <= len(offers):
                found.update(offers[number - 1])
                found["offers"] = None
            return
        spaces = spaces_of(self.services)
        for match in SPACE_ID.finditer(text):
            space = spaces.get(match.group(1).upper())
            if space is not None:
                found["space_id"] = space.id
                found.setdefault("resource_type", space.type)
                break
        wanted = [name for name, pattern in FEATURES.items() if pattern.search(text)]
        if wanted:
            found["features"] = wanted
        if "学号" in text or "同学" in text:
            numbers = STUDENT_NO.findall(text)
            if numbers:
                found["companions"] = numbers
                if "party_size" not in found and not slots.get("party_size"):
                    found["party_size"] = len(numbers) + 1
        minutes = next((e["value"] for e in entities if e["entity"] == "duration_minutes"), None)
        begin = as_time(found.get("start_time") or slots.get("start_time"))
        if minutes and begin is not None and "end_time" not in found:
            total = begin.hour * 60 + begin.minute + int(minutes)
            if total < 24 * 60:
                found["end_time"] = f"{total // 60:02d}:{total % 60:02d}"
        if found.keys() - {"offers"}:
            found.setdefault("offers", None)  # a new wish: earlier offers no longer apply

    def _wish(self, slots: Mapping[str, Any]) -> Wish:
        kind = str(slots.get("resource_type"))
        return Wish(
            space_type=kind,
            day=as_date(slots.get("date")) or self.services.now().date(),
            start=as_time(slots.get("start_time")) or time(0, 0),
            end=as_time(slots.get("end_time")) or time(0, 0),
            party_size=int(slots.get("party_size") or 1) if kind != "seat" else 1,
            space_id=str(slots.get("space_id") or ""),
            features=tuple(slots.get("features") or ()) if kind == "seat" else (),
            companions=tuple(slots.get("companions") or ()),
        )

    def review(self, tracker: Tracker, slots: Mapping[str, Any]) -> Review | None:
        if slots.get("resource_type") not in TYPES:
            return Review(
                words.UNKNOWN_TYPE + words.ASK_TYPE, events=[SlotSet("resource_type", None)]
            )
        services = self.services
        db, now = services.db(), services.now()
        wish = self._wish(slots)
        try:
            check_rules(
                db, spaces_of(services), services.calendar, reader(services, tracker), wish, now
            )
            vacant = availability.free(db, spaces_of(services), wish)
            if wish.space_id:
                space = bookings.named_space(spaces_of(services), wish)
                if space not in vacant:
                    raise BookingError(f"{space.name}这个时间已经被约了。", "taken")
            elif not vacant:
                raise BookingError(bookings.none_free(wish, now), "taken")
        except BookingError as error:
            return self._refusal(error, wish)
        return Review(self._summary(wish, vacant), confirm=True)

    def _refusal(self, error: BookingError, wish: Wish) -> Review:
        """A wish that cannot be met: the reason, and the nearest alternatives when the
        trouble is that it is taken (or the group does not fit the room named)."""
        if error.reason not in ("taken", "group_size", "closed_space"):
            return Review(error.message, go_on=False)
        services = self.services
        found = availability.alternatives(
            services.db(), spaces_of(services), services.calendar, wish
        )
        if not found:
            return Review(f"{error.message}\n{words.NO_OFFERS}")
        today = services.now().date()
        lines = [
            f"{n}. {words.wish_line(o.space_id, o.day, o.start, o.end, spaces_of(services), today)}"
            for n, o in enumerate(found, 1)
        ]
        offers = [
            {"space_id": o.space_id, "start_time": hm(o.start), "end_time": hm(o.end)}
            for o in found
        ]
        text = f"{error.message}\n" + words.OFFERS.format(lines="\n".join(lines))
        return Review(text, events=[SlotSet("offers", offers)])

    def _summary(self, wish: Wish, vacant: list[Space]) -> str:
        """What will be booked, for the confirmation; `vacant`: what is free for the wish."""
        services = self.services
        today = services.now().date()
        when = f"{day_label(wish.day, today)}{hm(wish.start)}–{hm(wish.end)}"
        space = spaces_of(services).get(wish.space_id) if wish.space_id else None
        if wish.space_type == "seat" and space is None:
            count = len(vacant)
            wanted = "、".join({"power": "有插座", "window": "靠窗"}[f] for f in wish.features)
            text = words.CONFIRM_SEAT.format(
                when=when, count=count, features=f"（{wanted}）" if wanted else ""
            )
        elif space is not None and wish.space_type == "seat":
            text = words.CONFIRM_ONE_SEAT.format(when=when, space=space.name)
        else:
            room = space or vacant[0]
            zone = spaces_of(services).zones.get(room.zone)
            text = words.CONFIRM_ROOM.format(
                when=when,
                space=room.name,
                zone=zone.name if zone else room.zone,
                capacity=room.capacity,
                party=wish.party_size,
            )
        if wish.companions:
            text += "\n" + words.COMPANIONS.format(numbers="、".join(wish.companions))
        return text

    def submit(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, slots: Mapping[str, Any]
    ) -> Events:
        services = self.services
        db, now = services.db(), services.now()
        wish = self._wish(slots)
        try:
            made = bookings.book(
                db, spaces_of(services), services.calendar, reader(services, tracker), wish, now
            )
        except BookingError as error:
            review = self._refusal(error, wish)
            dispatcher.utter_message(text=review.text)
            if not review.go_on:
                return []
            return [*review.events, ActiveLoop(self.FORM), SlotSet(REQUESTED, CONFIRM)]
        rules = spaces_of(services).rules[made["space_type"]]
        text = words.BOOKED.format(
            ref=made["ref"],
            booking=words.describe(made, spaces_of(services), now.date()),
            before=rules.check_in_before,
            after=rules.check_in_after,
        )
        dispatcher.utter_message(text=text)
        return []


# -- my bookings, cancelling -------------------------------------------------------------------


def _line(number: int, booking: dict[str, Any], services: Any) -> str:
    described = words.describe(booking, spaces_of(services), services.now().date())
    state = words.STATE_WORDS.get(booking["status"], "")
    return f"{number}. {described} · {state} · {booking['ref']}"


class ActionMyReservations(LibraryAction):
    NAME = "action_my_reservations"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        found = store.of_reader(
            self.services.db(), reader(self.services, tracker), self.services.now()
        )
        if not found:
            dispatcher.utter_message(text=words.NO_BOOKINGS)
            return []
        lines = "\n".join(_line(n, b, self.services) for n, b in enumerate(found, 1))
        dispatcher.utter_message(text=words.MY_BOOKINGS.format(lines=lines))
        return []


class ActionCancelReservation(LibraryAction):
    """「取消预约」: the one booking not yet begun is confirmed; several are listed to pick
    from (by number; a reference or a seat number in the request narrows them first)."""

    NAME = "action_cancel_reservation"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        services = self.services
        db, now = services.db(), services.now()
        text = _text(tracker)
        in_form = tracker.active_loop_name == CANCEL_FORM
        target = tracker.get_slot("cancel_target") if in_form else None
        choices = (tracker.get_slot("cancel_choices") or []) if in_form else []
        if target:
            booking = store.get(db, int(target))
            if is_yes(text) and booking is not None:
                try:
                    bookings.cancel(db, booking, "reader", "", now)
                except BookingError as error:
                    dispatcher.utter_message(text=error.message)
                    return _end_cancel()
                described = words.describe(booking, spaces_of(services), now.date())
                dispatcher.utter_message(text=words.CANCELLED.format(booking=described))
                return _end_cancel()
            if is_no(text):
                dispatcher.utter_message(text=words.KEPT)
                return _end_cancel()
        if choices and not target:
            pick = PICK.match(text)
            if pick and int(pick.group(1)) <= len(choices):
                return self._confirm(dispatcher, int(choices[int(pick.group(1)) - 1]))
            if is_no(text):
                dispatcher.utter_message(text=words.KEPT)
                return _end_cancel()
            dispatcher.utter_message(text=words.PICK_AGAIN)
            return []
        if target:
            return self._confirm(dispatcher, int(target))
        open_ = [
            b
            for b in store.of_reader(db, reader(services, tracker), now)
            if b["status"] == "booked"
        ]
        narrowed = _narrowed(open_, text, tracker)
        if not open_:
            dispatcher.utter_message(text=words.NOTHING_TO_CANCEL)
            return _end_cancel() if in_form else []
        if len(narrowed) == 1:
            return self._confirm(dispatcher, int(narrowed[0]["id"]))
        listed = narrowed or open_
        lines = "\n".join(_line(n, b, services) for n, b in enumerate(listed, 1))
        dispatcher.utter_message(text=words.WHICH_TO_CANCEL.format(lines=lines))
        return [
            ActiveLoop(CANCEL_FORM),
            SlotSet("cancel_choices", [b["id"] for b in listed]),
            SlotSet("cancel_target", None),
            SlotSet(CANCEL_IS_NO, True),
        ]

    def _confirm(self, dispatcher: CollectingDispatcher, booking_id: int) -> Events:
        services = self.services
        booking = store.get(services.db(), booking_id)
        assert booking is not None
        described = words.describe(booking, spaces_of(services), services.now().date())
        dispatcher.utter_message(text=words.CONFIRM_CANCEL.format(booking=described))
        return [
            ActiveLoop(CANCEL_FORM),
            SlotSet("cancel_target", booking_id),
            SlotSet(CANCEL_IS_NO, True),
        ]


def _text(tracker: Tracker) -> str:
    return (tracker.latest_message.get("text") or "").strip().lower().rstrip("。.!！~～ ")


def _narrowed(found: list[dict[str, Any]], text: str, tracker: Tracker) -> list[dict[str, Any]]:
    """The bookings a request names: by reference, space, or date."""
    ref = REF.search(text)
    if ref:
        return [b for b in found if b["ref"].lower() == ref.group(0)]
    space = SPACE_ID.search(text)
    if space:
        return [b for b in found if b["space_id"].lower() == space.group(1)]
    day = as_date(next(tracker.get_latest_entity_values("date"), None))
    if day is not None:
        return [b for b in found if b["day"] == day.isoformat()]
    return found if len(found) == 1 else []


def _end_cancel() -> Events:
    return [
        SlotSet("cancel_choices", None),
        SlotSet("cancel_target", None),
        SlotSet(CANCEL_IS_NO, None),
        ActiveLoop(None),
    ]


# -- check-in, 暂离, leaving ----------------------------------------------------------------------


def _scanned(tracker: Tracker) -> str:
    """The space of a scanned QR code ("seat:A001" → "A001"), or "" for a typed 「签到」."""
    metadata = tracker.latest_message.get("metadata") or {}
    key = str(metadata.get("event_key") or "")
    if not _is_scan(tracker):
        return ""
    return next((key[len(p) :] for p in SCENES if key.startswith(p)), "")


def _is_scan(tracker: Tracker) -> bool:
    """A QR scan (not a typed 「签到」 nor the menu's 签到 button)."""
    metadata = tracker.latest_message.get("metadata") or {}
    return metadata.get("kind") == "event" and metadata.get("event") in SCAN_EVENTS


class ActionCheckIn(LibraryAction):
    NAME = "action_check_in"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        services = self.services
        db, now, spaces = services.db(), services.now(), spaces_of(services)
        who = reader(services, tracker)
        space_id = _scanned(tracker)
        if _is_scan(tracker) and spaces.get(space_id) is None:
            dispatcher.utter_message(text=words.UNKNOWN_CODE)
            return []
        mine = presence.current_booking(db, who, now, spaces)
        if mine is None:
            early = self._too_early(who, now)
            if early:
                dispatcher.utter_message(text=early)
                return []
        if space_id and mine is None:
            dispatcher.utter_message(text=self._not_yours(space_id, now))
            return []
        booking = presence.check_in(db, spaces, who, now, space_id)  # BookingError: said
        template = words.BACK if mine and mine["status"] == "away" else words.CHECKED_IN
        described = words.describe(booking, spaces, now.date())
        dispatcher.utter_message(text=template.format(booking=described))
        return []

    def _too_early(self, who: Reader, now: datetime) -> str:
        """The reader's next booking today, when they come before its check-in opens."""
        spaces = spaces_of(self.services)
        for booking in store.of_reader(self.services.db(), who, now):
            if booking["day"] == now.date().isoformat() and booking["status"] == "booked":
                rules = spaces.rules[booking["space_type"]]
                opens = store.span(booking)[0] - timedelta(minutes=rules.check_in_before)
                return words.TOO_EARLY.format(
                    opens=hm(opens.time()), booking=words.describe(booking, spaces, now.date())
                )
        return ""

    def _not_yours(self, space_id: str, now: datetime) -> str:
        """A scan by a reader with nothing to check in to: whether the place is free for the
        next two hours (with a request to send for it) — never who holds it."""
        services = self.services
        space = spaces_of(services).get(space_id)
        assert space is not None
        rules = spaces_of(services).rules[space.type]
        step = rules.slot_minutes
        minute = -(-(now.hour * 60 + now.minute) // step) * step  # the next whole slot
        hours = services.calendar.hours_on(now.date())
        closes = hours.closes or time(0, 0)
        last = min(minute + max(rules.min_minutes, 120), closes.hour * 60 + closes.minute)
        if not hours.is_open or last - minute < rules.min_minutes:
            return words.SEAT_HELD
        start, end = time(minute // 60, minute % 60), time(last // 60, last % 60)
        if not availability.occupancy(services.db(), now.date()).is_free(space.id, start, end):
            return words.SEAT_HELD
        wish = Wish(
            space.type, now.date(), start, end, party_size=space.min_group, space_id=space.id
        )
        return words.SEAT_FREE_NO_BOOKING.format(
            space=space.name, request=words.offer_request(wish)
        )


class ActionStepOut(LibraryAction):
    NAME = "action_step_out"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        services = self.services
        now = services.now()
        _, minutes = presence.step_out(
            services.db(), spaces_of(services), reader(services, tracker), now
        )
        until = hm((now + timedelta(minutes=minutes)).time())
        dispatcher.utter_message(text=words.STEPPED_OUT.format(minutes=minutes, until=until))
        return []


class ActionReleaseSeat(LibraryAction):
    NAME = "action_release_seat"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        services = self.services
        now = services.now()
        booking = presence.release(
            services.db(), spaces_of(services), reader(services, tracker), now
        )
        described = words.describe(booking, spaces_of(services), now.date())
        dispatcher.utter_message(text=words.RELEASED.format(booking=described))
        return []
