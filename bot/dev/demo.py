"""Demo data for `make run`: readers, tickets, messages the bot did not understand and a
staff account — enough that the console has something to show. Demo mode only: the staff
password below is public."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlite_utils import Database

from bot.core import staff, users
from bot.core.clock import system_clock
from bot.core.services import Services
from bot.core.values import MP, WORK, Incoming
from handlers.reservations import store as bookings
from handlers.tickets import store as tickets
from intents import unrecognised
from intents.result import ParseResult

READERS = (
    # channel, id, name, student number, college, grade, reader type
    (MP, "oDemoReader0001", "李同学", "202101010123", "冶金与能源学院", "2021级", "student"),
    (MP, "oDemoReader0002", "王同学", "202203050211", "临床医学院", "2022级", "student"),
    (MP, "oDemoReader0003", "赵同学", "202305020318", "电气工程学院", "2023级", "student"),
    (WORK, "zhangls", "张老师", None, "建筑工程学院", None, "teacher"),
)

TICKETS = (
    (tickets.FEEDBACK, MP, "oDemoReader0001", "四楼文学阅览室晚上有点吵，希望管理员能提醒一下。"),
    (tickets.FEEDBACK, MP, "oDemoReader0002", "希望医学分馆能多买几本《格氏解剖学》第42版。"),
    (tickets.HANDOFF, WORK, "zhangls", "想预约下周三下午的研究室，带研究生讨论课题。"),
)


DEMO_STAFF = ("guanban", "guanban-demo", "admin", "演示馆员")

UNRECOGNISED = (
    # A reader's words the bot could not place, with its top guesses.
    (
        MP,
        "oDemoReader0001",
        "期末考试周图书馆会延长开放吗",
        (("opening_hours", 0.41), ("out_of_scope", 0.3)),
    ),
    (MP, "oDemoReader0002", "能不能借一下充电宝", (("out_of_scope", 0.38), ("human", 0.2))),
    (
        MP,
        "oDemoReader0003",
        "四六级的真题在哪一层",
        (("search_catalog", 0.36), ("opening_hours", 0.22)),
    ),
)


def seed(db: Database) -> int:
    """Insert the demo rows unless they are there already; returns how many readers added."""
    now = system_clock()
    added = 0
    for channel, user_id, name, student_no, college, grade, reader_type in READERS:
        if users.get(db, channel, user_id) is not None:
            continue
        incoming = Incoming(channel, user_id, "event", now - timedelta(days=3), event="subscribe")
        users.touch(db, incoming, now - timedelta(days=3))
        users.update_profile(
            db,
            channel,
            user_id,
            name=name,
            student_no=student_no,
            college=college,
            grade=grade,
            reader_type=reader_type,
        )
        added += 1
    if added:
        for kind, channel, user_id, text in TICKETS:
            tickets.create(
                db,
                kind=kind,
                channel=channel,
                user_id=user_id,
                text=text,
                now=now - timedelta(hours=5),
                due_in=timedelta(hours=24),
            )
        for channel, user_id, text, guesses in UNRECOGNISED:
            parse = ParseResult(text, guesses[0][0], guesses[0][1], (), guesses, ambiguous=True)
            reason = unrecognised.AMBIGUOUS if guesses[0][0] != "out_of_scope" else "out_of_scope"
            unrecognised.record(db, channel, user_id, parse, reason, now - timedelta(hours=2))
    username, password, role, display_name = DEMO_STAFF
    if staff.by_username(db, username) is None:
        staff.create(db, username, password, role, now, display_name=display_name)
    return added


# Demo bookings: this many seats and rooms, today (from the next half hour) and tomorrow.
DEMO_SEATS = 240
DEMO_ROOMS = 8


def seed_bookings(services: Services) -> int:
    """Book seats and rooms for made-up readers so the console's occupancy grid and charts
    have something to show; only once (none when any booking exists), and only what the
    rules allow at this hour. Returns how many were made."""
    db, now = services.db(), services.now()
    if db["bookings"].count:
        return 0
    made = 0
    for offset in (0, 1):
        day = now.date() + timedelta(days=offset)
        hours = services.calendar.hours_on(day)
        if not hours.is_open or hours.opens is None or hours.closes is None:
            continue
        begin = max(datetime.combine(day, hours.opens, now.tzinfo), now)
        minute = -(-(begin.hour * 60 + begin.minute) // 30) * 30 if offset == 0 else 0
        first = max(minute, hours.opens.hour * 60 + hours.opens.minute)
        for n in range(DEMO_SEATS // 2 + DEMO_ROOMS // 2):
            kind = "seat" if n < DEMO_SEATS // 2 else "discussion_room"
            start = first + (n % 3) * 60
            end = start + (240 if kind == "seat" else 120)
            if end > hours.closes.hour * 60 + hours.closes.minute:
                continue
            wish = bookings.Wish(
                kind, day, time(start // 60, start % 60), time(end // 60, end % 60), party_size=4
            )
            reader = bookings.Reader(MP, f"oDemoBooker{offset}{n:03d}")
            try:
                bookings.book(db, services.spaces, services.calendar, reader, wish, now)
            except bookings.BookingError:
                continue  # outside what the rules allow at this hour: fewer demo bookings
            made += 1
    return made
