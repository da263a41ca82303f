"""Demo data for `make run`: readers, messages the bot did not understand and a staff
account, then each capability's own (`Capability.demo`: tickets, bookings …) — enough that
the console has something to show. Demo mode only: the staff password below is public."""

from __future__ import annotations

from datetime import timedelta

from sqlite_utils import Database

from bot.core import staff, users
from bot.core.clock import system_clock
from bot.core.values import MP, WORK, Incoming
from handlers.kit.services import Services
from intents import unrecognised
from intents.result import ParseResult

READERS = (
    # channel, id, name, student number, college, grade, reader type
    (MP, "oDemoReader0001", "李同学", "202101010123", "冶金与能源学院", "2021级", "student"),
    (MP, "oDemoReader0002", "王同学", "202203050211", "临床医学院", "2022级", "student"),
    (MP, "oDemoReader0003", "赵同学", "202305020318", "电气工程学院", "2023级", "student"),
    (WORK, "zhangls", "张老师", None, "建筑工程学院", None, "teacher"),
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
        for channel, user_id, text, guesses in UNRECOGNISED:
            parse = ParseResult(text, guesses[0][0], guesses[0][1], (), guesses, ambiguous=True)
            reason = unrecognised.AMBIGUOUS if guesses[0][0] != "out_of_scope" else "out_of_scope"
            unrecognised.record(db, channel, user_id, parse, reason, now - timedelta(hours=2))
    username, password, role, display_name = DEMO_STAFF
    if staff.by_username(db, username) is None:
        staff.create(db, username, password, role, now, display_name=display_name)
    return added


# Demo bookings: this many seats and rooms, today (from the next half hour) and tomorrow.


def seed_capabilities(services: Services) -> list[str]:
    """Each capability's demo data; the lines it reports, for the start-up banner."""
    lines = []
    for capability in services.capabilities:
        if capability.demo is not None:
            line = capability.demo(services)
            if line:
                lines.append(line)
    return lines
