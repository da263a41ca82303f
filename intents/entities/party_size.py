"""Party sizes for a booking: 我和3个同学 (the speaker counts), 我们五个, 5个人, 两个座位,
我们仨."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from intents.entities.numbers import chinese_number
from intents.entities.spans import _STOP, _entity

_NUM = r"(?P<n>[0-9]{1,3}|[零〇一二两三四五六七八九十百]{1,4}|俩|仨)"
_NOT_ORDINAL = r"(?<![第前后0-9零〇一二两三四五六七八九十百几])"
_PEOPLE = (
    r"个(?:同学|朋友|室友|舍友|小伙伴|伙伴|队友|组员|成员|学生|老师|座位|位子|位置|名额)|"
    r"(?:个)?(?:人|位|名)"
)
_NOT_UNIT = r"(?!个?(?:小时|钟|月|星期|礼拜|半)|[天本次楼层点号周年间场块元分页米倍届级])"
_PARTY = (
    # 我和3个同学 → the speaker plus three.
    (
        1,
        re.compile(
            r"(?:我|本人)(?:和|跟|与|加上?|带着?|还有)(?:另外|其他)?"
            + _NUM
            + r"(?:个|位|名)(?:同学|人|朋友|室友|舍友|小伙伴|伙伴|队友|组员|学生|老师)?"
        ),
    ),
    # 我们五个, 咱们宿舍4个, 一共4位, 共五人, 人数6
    (
        0,
        re.compile(
            r"(?:我们|咱们|俺们|一共|总共|共|人数)(?:宿舍|组|小组|班|社团|这边|一共|总共)?"
            r"(?:是|有|为)?\s*[:：]?\s*" + _NUM + _NOT_UNIT + r"(?:" + _PEOPLE + r"|个)?"
        ),
    ),
    # 5个人, 三人, 4位, 3名同学, 两个座位
    (0, re.compile(_NOT_ORDINAL + _NUM + r"\s*(?:" + _PEOPLE + r")")),
    # 我俩, 咱俩, 我们仨
    (0, re.compile(r"(?:我|咱|我们|咱们|他|她|他们|她们)(?P<n>俩|仨)")),
    # for 6 ppl, 4 people
    (0, re.compile(r"(?<![0-9])(?P<n>[0-9]{1,3})\s*(?:ppl|people|persons|pax)\b")),
)
_ONE_ALONE = re.compile(r"(?:我|就|只|仅|共|一共|总共|人数)[^\s" + _STOP + r"]{0,2}$")


def _party_sizes(folded: str) -> Iterator[dict[str, Any]]:
    for bonus, pattern in _PARTY:
        for match in pattern.finditer(folded):
            value = chinese_number(match.group("n"))
            if value is None or not 0 < value <= 500:
                continue
            if value == 1 and bonus == 0 and not _ONE_ALONE.search(folded, 0, match.start("n")):
                continue  # 一个人好孤独 is a feeling, not a booking for one
            yield _entity("party_size", value + bonus, match.start(), match.end())
