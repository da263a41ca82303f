"""Keyword lexicons: resource types (seats, discussion rooms, cinema …), topics (feelings) and
event categories, one named group per value."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from intents.entities.spans import _entity


def _lexicon(words: dict[str, tuple[str, ...]]) -> re.Pattern[str]:
    """One named group per value. Alternatives are tried in the order given, so longer words
    come first (考研座位 before 座); at one position the earlier value wins (关系紧张 is
    relationships before it could be anxiety)."""
    return re.compile("|".join(f"(?P<{value}>{'|'.join(alts)})" for value, alts in words.items()))


_RESOURCES = _lexicon(
    {
        "discussion_room": (
            "小组学习室|小组讨论室|小组研讨室|团体学习室",
            "研讨空间|讨论空间|讨论室|讨论间|研讨室|研讨间",
            "discussion room",
        ),
        "cinema": ("3d影院|3d影厅|3d电影院|电影院|影院", "放映厅|电影厅|观影厅|观影室|影厅"),
        "research_room": (
            "教师研究室|教师研修室|单人研究室|独立研究室",
            "研究小间|研究间|研究厢|研究室|研修室|研修间|研读间",
        ),
        "seat": (
            "考研自习室|考研座位?|考研位|自习座位?|自习位|坐位|座位|占座|位子",
            r"(?<![讲一星在宝插底基])座(?![谈机右])",  # not 讲座, 星座, 插座, 座谈, 座机
            r"\bseats?\b",
        ),
    }
)

# Topic words. Ambiguous ones carry their context in the pattern (see the module docstring).
_RELATIVE = (
    r"(?:爷爷|奶奶|外公|外婆|姥姥|姥爷|爸爸|妈妈|父亲|母亲|老爸|老妈|我爸|我妈|哥哥|姐姐|弟弟|"
    r"妹妹|亲人|家人|舅舅|姑姑|阿姨|叔叔|伯伯|朋友|挚友|猫咪|狗狗|宠物|猫|狗)"
)
_CLAUSE = r"[^\s，。！？,!?]"
_TOPICS = _lexicon(
    {
        "grief": (
            "去世|离世|过世|病逝|丧亲|葬礼|节哀",
            "失去(?:了)?(?:至亲|亲人|家人|爷爷|奶奶|外公|外婆|爸爸|妈妈|父亲|母亲)",
            # 走了/没了 of a relative or a pet, not of anyone (他先走了)
            _RELATIVE + _CLAUSE + r"{0,5}?(?:走了(?![一出进过回开路])|没了|不在了)",
            "grief|passed away",
        ),
        "heartbreak": (
            "失恋|分手|被甩|前任|表白(?:失败|被拒)|被(?:喜欢的人|他|她)?拒绝|暗恋",
            "break ?up|broke up|heartbr[a-z]*",
        ),
        "relationships": (
            "人际关系|人际|吵架|吵了(?:一)?架|社恐|社交恐惧|闹掰|冷战|排挤|被孤立|孤立我",
            "合不来|处不来|相处不好|处不好|不会(?:和人|跟人|与人)?相处|交朋友|闹矛盾|有矛盾",
            "关系(?:很|好|特别|有点)?(?:僵|不好|紧张|差|一般)",
            # a roommate only with a conflict (我和室友一起约讨论室 is no topic)
            "室友"
            + _CLAUSE
            + "{0,6}?(?:矛盾|不和|相处|冲突|吵|闹|关系|针对|讨厌|嫌弃|排挤|孤立|处不|合不)",
            "(?:讨厌|受不了|烦)(?:我的)?(?:室友|舍友)",
        ),
        "insomnia": (
            "失眠|睡不着|睡不好|入睡困难|睡眠(?:不好|差|质量)|多梦|早醒",
            "can'?t sleep|insomnia",
        ),
        "stress": (
            "考研压力|压力|论文写不完|作业写不完|写不完|deadline|ddl|内卷|焦头烂额|忙不过来",
            "崩溃|心态崩|扛不住|喘不过气|内耗|stress(?:ed)?|pressure",
        ),
        "anxiety": (
            "焦虑|心慌|慌张|恐慌|不安|忐忑|anxious|anxiety|nervous",
            "(?<!不用|不要)(?<!别)担心",  # 不用担心我 reassures
            # 座位紧张 is scarcity; 关系紧张 is relationships (matched above)
            "(?<!座位|位置|位子|资源|名额|时间|关系|房间|床位)(?<!票)紧张",
            "(?<![得心])慌",  # 饿得慌 is an intensifier
        ),
        "low_mood": (
            "抑郁|低落|(?<![a-z])emo(?![a-z])|不(?:太|怎么|是很)?开心|难过|伤心|沮丧|郁闷",
            "心情(?:很|特别|有点|好)?(?:不好|差)|情绪(?:很|特别|有点|好)?(?:差|低|不好)",
            "(?<![沮])丧(?![亲事礼偶父母葬命失])|消沉|状态(?:很|好|特别)?差|高兴不起来",
            "提不起(?:劲|精神|兴趣)|打不起精神|没动力|想哭|失落|麻木|空虚",
            r"depress(?:ed|ion)|feel(?:ing)? down|\bsad\b",
        ),
        "loneliness": ("孤独|孤单|寂寞|没(?:有|什么)?朋友|没人陪|没人理解|lonely|loneliness",),
        "self_esteem": (
            "自卑|不自信|没(?:有)?自信|自信(?:一点|一些|心)|自我否定|否定自己|一无是处",
            "什么都做不好|比不上别人|(?:自己|我)(?:好|真|太|真的|很)(?:没用|失败|差劲)",
            "self[- ]esteem",
        ),
        "adaptation": (
            "不适应|适应不了|不太适应|不习惯|想家|思乡|融入不了|融不进|跟不上|水土不服",
            "homesick",
        ),
    }
)
_FRESHMAN = re.compile(r"新生")
_FEELING = re.compile(
    r"想家|适应|迷茫|孤独|孤单|难受|焦虑|不习惯|融入|害怕|紧张|陌生|不开心|难过|心情|无所适从|"
    r"手足无措|不知所措|累"
)

_CATEGORIES = _lexicon(
    {
        "reading_club": (
            "古法读书会|读书分享会|读书沙龙|读书会|书友会|共读",
            "reading club|book club",
        ),
        "lecture": ("学术报告|专题报告|报告会|讲座|讲坛", "lectures?"),
        "training": (
            "数据库(?:检索)?培训|文献检索课|检索课|培训|入馆教育|工作坊",
            "workshops?|training",
        ),
        "competition": ("知识竞赛|挑战赛|比赛|竞赛|大赛|征文", "competitions?|contests?"),
        "film": ("观影|电影|放映|展映|影展|影片|纪录片|放什么片", "movies?|films?|screenings?"),
        "exhibition": (
            "展览|书展|画展|展厅",
            "(?<![发进开扩拓延施伸舒招花])展(?![开望现露翅业宽延映示])",  # not 发展, 开展, 展开
            "exhibitions?",
        ),
    }
)


def _lexicon_hits(pattern: re.Pattern[str], name: str, folded: str) -> Iterator[dict[str, Any]]:
    for match in pattern.finditer(folded):
        value = match.lastgroup
        if value is not None:
            yield _entity(name, value, match.start(), match.end())


def _topics(folded: str) -> Iterator[dict[str, Any]]:
    yield from _lexicon_hits(_TOPICS, "topic", folded)
    if _FEELING.search(folded):
        for match in _FRESHMAN.finditer(folded):
            yield _entity("topic", "adaptation", match.start(), match.end())
