"""The crisis check: everything that speaks of suicide or self-harm fires, everyday hyperbole and
books about death do not. Written the way readers actually type."""

from __future__ import annotations

import pytest

from intents.safety import crisis_signal, is_crisis

CRISIS = [
    "有没有讲自杀方法的书",
    "关于自杀的办法有哪些",
    # direct
    "我想自杀",
    "不想活了",
    "想死",
    "活着没意思",
    "想结束自己的生命",
    "我真的不想活了",
    "好想死啊",
    "每天都在想死",
    "我想去死",
    "我不想再活下去了",
    "活不下去了",
    "我活够了",
    "感觉活着没有任何意义",
    "人生毫无意义",
    "有自杀的念头 控制不住",
    "最近总有轻生的想法",
    "想寻短见",
    "想自我了断",
    "想了结自己",
    "我死了算了",
    "还不如死了",
    "我是不是死了比较好",
    "我不配活着",
    # indirect
    "想消失",
    "好想从这个世界上消失",
    "撑不下去了想一了百了",
    "这个世界没有我会更好",
    "给家人写好了遗书",
    "再见了这个世界",
    "活着好累想解脱",
    "永别了 谢谢你们",
    "我走了以后大家都会轻松吧",
    "没有人会在乎我死不死",
    "我是个累赘",
    "明天就没有我了",
    "我已经计划好了 就在今晚",
    "跟这个世界告别了",
    "不想再醒来了",
    "希望睡着了就别再醒",
    "这个世界没有值得留恋的了",
    "东西都安排好了 书都送人吧",
    "真的撑不下去了",
    # method questions
    "吃多少安眠药会死",
    "几楼跳下去会死",
    "割腕疼吗",
    "怎么自杀不痛",
    "哪里能买到百草枯",
    "从六楼跳下去能死吗",
    "安眠药一次吃多少片能睡过去不醒",
    "怎么死最快",
    "有没有无痛的死法",
    "烧炭会痛苦吗",
    "图书馆顶楼能上去吗 想跳下去",
    "宿舍楼顶能上去吗 想跳",
    "攒了好几个月的药",
    "喝农药多久会死",
    "哪里能买到老鼠药 想吃",
    # self-harm
    "我又割自己了",
    "想伤害自己",
    "拿刀划自己",
    "控制不住想自残",
    "手臂上全是自己划的伤",
    "用烟头烫自己",
    "刀片划手臂 停不下来",
    "血止不住了 我割了手腕",
    # English
    "want to die",
    "i want to kill myself",
    "thinking about suicide",
    "i dont want to live anymore",
    "i've been cutting myself again",
    "better off dead honestly",
    "what's the most painless way to die",
    # traditional characters
    "想自殺",
    "不想活",
    "活著沒意思",
    "我想輕生",
    "想傷害自己",
    "遺書寫好了",
    "幾樓跳下去會死",
    # spacing, punctuation and emoji tricks
    "想 死",
    "不想活了。。。",
    "想。死",
    "想😭死",
    "不 想 活 了",
    "自……杀",
    "ｉ ｗａｎｔ ｔｏ ｄｉｅ",
    "k i l l myself",
    # internet euphemisms
    "想紫砂",
    "好想zs",
    # mixed with library talk or hyperbole
    "累死了 真的想死",
    "我想死，你们别管我",
    "想死 你们都别劝我",
    "我想自杀 有没有关于自杀的书",
    "《活着》看完了 我也不想活了",
    "座位约不上就算了 反正我也不想活了",
    # someone else in danger: still a crisis to hand to a person
    "我室友说他不想活了 怎么办",
    "同学发朋友圈说要跳楼",
    # asking for a hotline
    "自杀干预热线是多少",
    "心理危机热线电话",
]

NOT_CRISIS = [
    # everyday hyperbole
    "热死了",
    "饿死了",
    "困死了",
    "累死了",
    "笑死我了",
    "吓死我了",
    "气死了",
    "烦死了",
    "卷死了",
    "急死了",
    "想死你了",
    "好久不见 想死你们了",
    "想死我了宝",
    "电脑又死机了",
    "死记硬背真的没用",
    "图书馆空调开这么低冷死人了",
    "今天累得要死",
    "烦死了烦死了",
    "累死我了 终于写完了",
    "吓死人了 刚才停电",
    "早死早超生 明天考完就解放了",
    "我死定了 作业还没写",
    "跳楼价甩卖二手教材",
    "今天上课社死了",
    # book titles and reading requests
    "《自杀论》",
    "有没有《自杀论》",
    "《生死疲劳》在几楼",
    "《活着》还能借吗",
    "《死亡诗社》有原著吗",
    "《当呼吸化为空气》",
    "有没有关于自杀预防的书",
    "涂尔干的自杀论在几楼",
    "《论自杀》叔本华有吗",
    "《杀死一只知更鸟》还有吗",
    "《西藏生死书》",
    "〈最好的告别〉在哪层",
    "余华的活着还能借吗",
    "有没有讲生死观的书",
    "想看《自杀小队》",
    "有没有suicide prevention相关的英文书",
    # library talk
    "座位死活约不上",
    "图书馆网站死了",
    "打死也不去",
    "网页又死了 约不了座",
    "讨论室用不上了 取消",
    "考完试终于解脱了",
    "我要走了 座位释放吧",
    "研究室我走了",
    "失眠 有没有书推荐",
    "失眠能吃安眠药吗",
    "奶奶去世了 好难过",
    "这门课我真的坚持不下去了 想退课",
    "不想死记硬背 有没有好方法",
    "帮我查一下逾期几天会怎么样",
    "想跳槽去别的自习室",
    "我不想活成父母期待的样子",
    "今天的讲座太精彩了",
    "明天下午3点到5点 讨论室 5个人",
]


@pytest.mark.parametrize("text", CRISIS)
def test_crisis_fires(text: str) -> None:
    assert is_crisis(text), text


@pytest.mark.parametrize("text", NOT_CRISIS)
def test_hyperbole_titles_and_library_talk_do_not_fire(text: str) -> None:
    assert not is_crisis(text), (text, crisis_signal(text))


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("我想自杀", "suicide_word"),
        ("想死", "want_to_die"),
        ("不想活了", "not_want_to_live"),
        ("割腕疼吗", "method_word"),
        ("我又割自己了", "self_harm"),
        ("kill myself", "english"),
        ("自杀干预热线是多少", "hotline"),
    ],
)
def test_the_signal_names_the_rule(text: str, rule: str) -> None:
    assert crisis_signal(text) == rule


def test_no_signal_is_none() -> None:
    assert crisis_signal("明天几点开馆") is None
    assert crisis_signal("") is None


def test_enough_cases() -> None:
    assert len(CRISIS) >= 70
    assert len(NOT_CRISIS) >= 50
