"""Entities other than dates: each case lists the (entity, value) pairs expected, and nothing else
of the kinds it names may appear. Spans are checked for every entity found."""

from __future__ import annotations

from typing import Any

import pytest
from stdnum import isbn as stdnum_isbn

from intents.entities import chinese_number, extract


def pairs(text: str, kinds: set[str] | None = None) -> set[tuple[str, Any]]:
    found = extract(text)
    for entity in found:
        assert 0 <= entity["start"] < entity["end"] <= len(text), entity
        assert set(entity) == {"entity", "value", "start", "end"}
    return {(e["entity"], e["value"]) for e in found if kinds is None or e["entity"] in kinds}


PARTY = [
    ("我们五个", 5),
    ("5个人", 5),
    ("三人", 3),
    ("一共4位", 4),
    ("俩人", 2),
    ("两个人", 2),
    ("我和3个同学", 4),
    ("我和另外两个室友想约讨论室", 3),
    ("我俩想约个讨论室", 2),
    ("我们仨 明天下午", 3),
    ("我们4个人想约研讨间 周五晚上7点到9点", 4),
    ("帮我预约明天上午十点到十二点的研讨室，共五人", 5),
    ("约讨论室 今天 现在就要 人数6", 6),
    ("我们宿舍4个人想一起学习", 4),
    ("预約討論室 4個人", 4),
    ("book a room for 6 ppl friday 3pm", 6),
    ("就我一个人 约个座", 1),
    ("约讨论室 十二个人", 12),
    ("影院 社团活动 大概60个人", 60),
]
NO_PARTY = [
    "5楼还有座吗",
    "第3个座位",
    "我想约3个小时",
    "一共3天",
    "一个人好孤独",
    "五六个人",
    "十几个人",
    "三楼的讨论室",
    "《三人行》有吗",
    "我和同学想约讨论室",
]


@pytest.mark.parametrize(("text", "size"), PARTY)
def test_party_size(text: str, size: int) -> None:
    assert pairs(text, {"party_size"}) == {("party_size", size)}


@pytest.mark.parametrize("text", NO_PARTY)
def test_not_a_party_size(text: str) -> None:
    assert pairs(text, {"party_size"}) == set()


RESOURCES = [
    ("预约座位", "seat"),
    ("帮我占个座", "seat"),
    ("占座", "seat"),
    ("有自习位吗", "seat"),
    ("考研座还有空的吗", "seat"),
    ("预定一个坐位", "seat"),
    ("預約座位", "seat"),
    ("约讨论室", "discussion_room"),
    ("定个讨论间", "discussion_room"),
    ("研讨室明天有空吗", "discussion_room"),
    ("约一下二楼的研讨间", "discussion_room"),
    ("帮我订个小组学习室", "discussion_room"),
    ("預約討論室 明天下午", "discussion_room"),
    ("预约3D影院", "cinema"),
    ("影院能约吗", "cinema"),
    ("放映厅下周二能用吗", "cinema"),
    ("电影厅", "cinema"),
    ("预约研究室", "research_room"),
    ("约一间教师研究室", "research_room"),
    ("教师研修室中午能约吗", "research_room"),
]


@pytest.mark.parametrize(("text", "value"), RESOURCES)
def test_resource_type(text: str, value: str) -> None:
    assert pairs(text, {"resource_type"}) == {("resource_type", value)}


@pytest.mark.parametrize("text", ["今天有讲座吗", "插座坏了", "座谈会几点", "星座书在哪"])
def test_seat_is_not_every_zuo(text: str) -> None:
    assert pairs(text, {"resource_type"}) == set()


ISBNS = [
    ("ISBN 7536692935", "9787536692930"),
    ("isbn:7-5366-9293-5 馆里有吗", "9787536692930"),
    ("书号 7536692935", "9787536692930"),
    ("9787536692930 这本有吗", "9787536692930"),
    ("查ISBN 978-7-5442-9116-3", "9787544291163"),
    ("978 7 5366 9293 0", "9787536692930"),
    ("ｉｓｂｎ ９７８７５３６６９２９３０", "9787536692930"),
]


@pytest.mark.parametrize(("text", "value"), ISBNS)
def test_isbn(text: str, value: str) -> None:
    assert stdnum_isbn.is_valid(value)
    assert pairs(text, {"isbn"}) == {("isbn", value)}


def test_isbn10_conversion_agrees_with_stdnum() -> None:
    assert stdnum_isbn.to_isbn13("7536692935") == "9787536692930"
    assert pairs("ISBN 7536692935") == {("isbn", "9787536692930")}


@pytest.mark.parametrize(
    "text",
    [
        "7536692935",  # a bare ISBN-10, checksum and all
        "我的学号是202101010123",
        "学号 202101010123 帮我查借阅记录",
        "电话13812345678",
        "ISBN 9787536692931",  # wrong check digit
        "ISBN 7506365437",  # wrong check digit (should be 750636543X)
    ],
)
def test_not_an_isbn(text: str) -> None:
    assert pairs(text, {"isbn"}) == set()


BOOKS = [
    ("有没有《三体》", {("title", "三体")}),
    ("《三体》在几楼", {("title", "三体")}),
    ("有没有《三体》和《活着》", {("title", "三体"), ("title", "活着")}),
    ("刘慈欣的《三体》", {("author", "刘慈欣"), ("title", "三体")}),
    ("〈死亡诗社〉在哪层", {("title", "死亡诗社")}),
    ("《生死疲劳》还有吗", {("title", "生死疲劳")}),
    ("查一下《自杀论》", {("title", "自杀论")}),
    ("《杀死一只知更鸟》还有吗", {("title", "杀死一只知更鸟")}),
    ("《当呼吸化为空气》能借吗", {("title", "当呼吸化为空气")}),
    ("书名：三体", {("title", "三体")}),
    ("查书：百年孤独", {("title", "百年孤独")}),
    ("查一下三体这本书", {("title", "三体")}),
    ("有没有活着这本书", {("title", "活着")}),
    ("找本书 叫生死场 萧红写的", {("title", "生死场"), ("author", "萧红")}),
    ("作者是余华的书都有哪些", {("author", "余华")}),
    ("刘慈欣写的书在哪", {("author", "刘慈欣")}),
    ("三体是刘慈欣写的吗", {("author", "刘慈欣")}),
    ("有没有村上春树的书", {("author", "村上春树")}),
    ("《围城》 钱钟书", {("title", "围城"), ("author", "钱钟书")}),
    ("周志华《机器学习》西瓜书有没有", {("author", "周志华"), ("title", "机器学习")}),
    ("余华的活着还能借吗", {("author", "余华"), ("title", "活着")}),
    (
        "帮我查查有没有 作者 东野圭吾 书名 嫌疑人X的献身",
        {("author", "东野圭吾"), ("title", "嫌疑人X的献身")},
    ),
    ("荐购：《十万个为什么》 作者 米·伊林", {("title", "十万个为什么"), ("author", "米·伊林")}),
    ("圖書館有《活著》嗎", {("title", "活著")}),
    ("建议购买英文原版《The Great Gatsby》", {("title", "The Great Gatsby")}),
    # 「这本书」 pointing back is not a title
    ("馆里没这本书 能帮忙买吗", set()),
    ("图书馆能不能买这本书", set()),
    ("查不到这本书 能荐购吗", set()),
    # subjects are not authors
    ("心理学的书在哪", set()),
    ("有没有关于焦虑的书", set()),
    ("阅读疗法的书在哪 想看看", set()),
    ("建议多买几本《高等数学》", {("title", "高等数学")}),
]


@pytest.mark.parametrize(("text", "expected"), BOOKS)
def test_titles_and_authors(text: str, expected: set[tuple[str, str]]) -> None:
    assert pairs(text, {"title", "author"}) == expected


def test_titles_keep_their_chinese_numerals() -> None:
    # cn2an's whole-sentence transform would give 《3体》; only number tokens are converted.
    assert pairs("我们三个人想借《三体》") == {("party_size", 3), ("title", "三体")}
    assert pairs("《三人行》有吗") == {("title", "三人行")}
    assert pairs("《百年孤独》在几楼") == {("title", "百年孤独")}


def test_title_span_covers_the_brackets() -> None:
    text = "有没有《三点半》"
    (title,) = extract(text)
    assert text[title["start"] : title["end"]] == "《三点半》"
    assert title["value"] == "三点半"


TOPICS = [
    ("最近好焦虑", "anxiety"),
    ("一到考试就紧张得不行", "anxiety"),
    ("心慌得厉害", "anxiety"),
    ("最近情绪很低落", "low_mood"),
    ("emo了 有没有治愈系的书", "low_mood"),
    ("不开心", "low_mood"),
    ("好难过", "low_mood"),
    ("考研压力好大", "stress"),
    ("论文写不完了", "stress"),
    ("deadline要到了", "stress"),
    ("又失眠了", "insomnia"),
    ("最近老是睡不着", "insomnia"),
    ("和室友吵架了", "relationships"),
    ("人际关系好累", "relationships"),
    ("我有点社恐", "relationships"),
    ("和导师关系紧张", "relationships"),
    ("失恋了", "heartbreak"),
    ("刚分手", "heartbreak"),
    ("一个人好孤独", "loneliness"),
    ("在学校没朋友", "loneliness"),
    ("很自卑", "self_esteem"),
    ("我不自信", "self_esteem"),
    ("刚来大学 很不适应", "adaptation"),
    ("我是新生 有点想家", "adaptation"),
    ("外公去世了", "grief"),
    ("亲人离世", "grief"),
    ("奶奶上个月走了", "grief"),
    ("焦慮到不行", "anxiety"),
]


@pytest.mark.parametrize(("text", "value"), TOPICS)
def test_topic(text: str, value: str) -> None:
    assert pairs(text, {"topic"}) == {("topic", value)}


@pytest.mark.parametrize(
    "text",
    [
        "座位紧张吗",  # seats are scarce, nobody is anxious
        "饿得慌",  # 得慌 is an intensifier
        "我和室友一起约讨论室",  # a roommate is not a conflict
        "新生怎么借书",  # a freshman asking, not homesick
        "他先走了",  # 走了 without a relative
        "《百年孤独》在几楼",  # a title, not a feeling
        "我没用过讨论室",
        "图书馆太吵了",
    ],
)
def test_no_topic(text: str) -> None:
    assert pairs(text, {"topic"}) == set()


CATEGORIES = [
    ("明天有什么讲座", "lecture"),
    ("报告会在哪", "lecture"),
    ("数据库培训安排", "training"),
    ("检索课什么时候", "training"),
    ("古法读书会什么时候活动", "reading_club"),
    ("读书沙龙报名", "reading_club"),
    ("知识竞赛报名", "competition"),
    ("信息检索大赛什么时候", "competition"),
    ("有展览吗", "exhibition"),
    ("最近有什么展", "exhibition"),
    ("书展在哪", "exhibition"),
    ("这周放什么电影", "film"),
    ("观影活动", "film"),
]


@pytest.mark.parametrize(("text", "value"), CATEGORIES)
def test_category(text: str, value: str) -> None:
    assert pairs(text, {"category"}) == {("category", value)}


@pytest.mark.parametrize("text", ["图书馆的发展历史", "开展", "放映厅能约吗", "座谈会"])
def test_no_category(text: str) -> None:
    assert pairs(text, {"category"}) == set()


def test_a_full_booking() -> None:
    assert pairs("我们五个人 明天下午要个讨论室") == {
        ("party_size", 5),
        ("resource_type", "discussion_room"),
    }


def test_entities_are_ordered_and_unique() -> None:
    found = extract("讨论室 讨论室 5个人")
    assert [e["entity"] for e in found] == ["resource_type", "party_size"]
    assert [e["start"] for e in found] == sorted(e["start"] for e in found)


@pytest.mark.parametrize(
    ("token", "value"),
    [
        ("5", 5),
        ("５", 5),
        ("五", 5),
        ("十二", 12),
        ("两", 2),
        ("俩", 2),
        ("仨", 3),
        ("一百零一", 101),
        ("二〇二六", 2026),
        ("五六", None),
        ("十几", None),
        ("几", None),
        ("", None),
        ("三体", None),
    ],
)
def test_chinese_number(token: str, value: int | None) -> None:
    assert chinese_number(token) == value


def test_nothing_in_plain_chat() -> None:
    assert extract("你好") == []
    assert extract("") == []
