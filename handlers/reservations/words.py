"""What readers read about their bookings — in chat and in the notices sent later.

One place, so the bot and its reminders speak with one voice. Placeholders are filled by
handlers.reservations and handlers.reservations.notices; `{booking}` is always
`describe(booking)`: 「明天（11月22日 周日）08:00–12:00 A012 号座（三楼考研自习区）」.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any

from handlers.library.hours_text import day_label
from handlers.reservations.spaces import Spaces

# -- the booking form ---------------------------------------------------------------------------

ASK_TYPE = "想预约哪一种？座位、研讨间、3D影院，还是研修室（教职工）？"
ASK_DATE = "哪一天？可以说「明天」「周四」或「12月1日」～"
ASK_START = "几点开始？"
ASK_END = "到几点结束？也可以说「两个小时」。"
ASK_PARTY = "一共几个人（含你自己）？"
UNKNOWN_TYPE = "没听懂要约哪一种～"
CONFIRM_SEAT = "将为你预约：{when} 的座位{features}，现在还有 {count} 个空位，确认后自动分配。"
CONFIRM_ONE_SEAT = "将为你预约：{when} {space}。"
CONFIRM_ROOM = "将为你预约：{when} {space}（{zone}，可容纳 {capacity} 人），{party} 人使用。"
COMPANIONS = "同行同学：{numbers}。"
OFFERS = "可以换成：\n{lines}\n回复序号（如「1」）选一个，或直接说新的时间；回复「取消」放弃。"
NO_OFFERS = "这一天暂时没有合适的时段了，换一天试试？回复「取消」可放弃。"
BOOKED = (
    "预约成功✅ 预约号 {ref}\n{booking}\n请在开始前 {before} 分钟到开始后 {after} 分钟内"
    "到场扫码或发送「签到」。不来请提前发送「取消预约」，未签到会记违约哦。"
)

# -- listing and cancelling -------------------------------------------------------------------

NO_BOOKINGS = "你现在没有有效的预约。想约座位可以说「明天上午八点到十二点约座位」～"
MY_BOOKINGS = "你的预约：\n{lines}\n取消请发送「取消预约」，使用中离开请发送「退座」。"
STATE_WORDS = {"booked": "待签到", "checked_in": "使用中", "away": "暂离中"}
NOTHING_TO_CANCEL = "你没有可以取消的预约（已签到的预约离开时发送「退座」即可）。"
WHICH_TO_CANCEL = "要取消哪一个？\n{lines}\n回复序号（如「1」），或回复「取消」不做改动。"
CONFIRM_CANCEL = "要取消这个预约吗？\n{booking}\n回复「确认」取消，回复「不」保留。"
CANCELLED = "已取消：{booking}。欢迎下次再约～"
KEPT = "好的，预约保留不变。"
PICK_AGAIN = "没找到这个序号，请回复列表里的数字～"

# -- check-in, 暂离, leaving ---------------------------------------------------------------------

CHECKED_IN = "签到成功✅ {booking}\n暂离请发送「暂离」，离开请发送「退座」，好好学习～"
BACK = "欢迎回来✅ 已恢复使用：{booking}"
STEPPED_OUT = (
    "已为你保留座位 {minutes} 分钟（到 {until} 为止）。回来后扫码或发送「签到」即可；"
    "超时未回座位会被释放并记违约哦。"
)
TOO_EARLY = "还没到签到时间哦，{opens} 起可以签到：{booking}。"
RELEASED = "已退座：{booking}，剩余时间已释放给其他同学。谢谢你～"
SEAT_HELD = "这个位置现在已被预约，请扫描你自己预约的位置；想找空位可以说「现在约座位」。"
SEAT_FREE_NO_BOOKING = "你现在没有可签到的预约。{space}接下来空闲，可以发送「{request}」来预约～"
UNKNOWN_CODE = "这个二维码没有对应的位置，请告诉服务台的老师，谢谢～"

# -- notices (sent later, through the outbox) -------------------------------------------------

REMINDER = "⏰ 预约提醒：{booking} 将在 {minutes} 分钟后开始，请在 {deadline} 前到场签到。"
CHECK_IN_WARNING = (
    "⚠️ 你的预约还没签到：{booking}。{deadline} 前不签到将被释放并记一次违约。"
    "不来了请发送「取消预约」。"
)
NO_SHOW = (
    "你的预约 {booking} 未在 {deadline} 前签到，已释放给其他同学，并记违约一次"
    "（近 {window} 天第 {count} 次，满 {limit} 次将暂停预约 {days} 天）。"
)
OVERSTAY = (
    "你的暂离已超过 {minutes} 分钟，预约 {booking} 已结束并释放，记违约一次"
    "（近 {window} 天第 {count} 次，满 {limit} 次将暂停预约 {days} 天）。"
)
SUSPENDED = "因违约达到 {limit} 次，预约功能暂停到 {until}。如有疑问可发送「转人工」。"
STAFF_CANCELLED = "很抱歉，你的预约 {booking} 已被图书馆取消，原因：{reason}。"
CLOSED = "很抱歉，{space}在 {period} 暂停开放（{reason}），你的预约 {booking} 已取消。"
CLOSED_IN_USE = "很抱歉，{space}自 {period} 暂停开放（{reason}），你的预约 {booking} 将提前结束。"
CLOSED_OFFERS = "可以改约：\n{lines}\n直接发送其中一行即可预约，如「{example}」。"
CLOSED_NO_OFFERS = "同一时段暂无其他空位，换个时间再约吧，给你添麻烦了🙏"


def describe(booking: dict[str, Any], spaces: Spaces, today: date) -> str:
    """「明天（11月22日 周日）08:00–12:00 A012 号座（三楼考研自习区）」."""
    space = spaces.get(booking["space_id"])
    name = space.name if space else booking["space_id"]
    zone = spaces.zones.get(space.zone) if space else None
    where = f"（{zone.name}）" if zone else ""
    day = day_label(date.fromisoformat(booking["day"]), today)
    return f"{day}{booking['start']}–{booking['end']} {name}{where}"


def wish_line(space_id: str, day: date, start: time, end: time, spaces: Spaces, today: date) -> str:
    space = spaces.get(space_id)
    name = space.name if space else space_id
    return f"{day_label(day, today)}{start:%H:%M}–{end:%H:%M} {name}"


def offer_request(wish: Any) -> str:
    """An alternative as a request the reader can send back as it is (a bookings.Wish)."""
    party = f" {wish.party_size}人" if wish.space_type != "seat" else ""
    day = wish.day
    return f"约{wish.space_id} {day.month}月{day.day}日 {wish.start:%H:%M}到{wish.end:%H:%M}{party}"
