"""The crisis check: does a message speak of suicide or self-harm? It runs before anything else.

`is_crisis(text)` answers yes or no; `crisis_signal(text)` names the rule that fired (for logs
and tests; never the text itself), or None.

Why rules and not the classifier: this check must be predictable, must not drift when the
training data changes, and must be readable by the librarians who answer for it. A missed
crisis costs far more than a false alarm (which only shows a kind message and hotline numbers),
so patterns lean towards firing; the hyperbole that fills everyday student chat (热死了,
笑死我了, 想死你了) and books about death (《自杀论》, 《活着》) are the known exceptions and are
removed before the patterns run.

How it works, in order:
1. Fold: NFKC (full-width → half-width), lower case, traditional → simplified for the
   characters these patterns use.
2. Drop book titles in 《》/〈〉/<<>>: a title may say anything (《自杀论》, 《生死疲劳》).
3. Mark word breaks: spaces and punctuation become 「|」; emoji and symbols vanish.
4. Neutralise what only looks like a crisis, within words: hyperbole (X死了 for a list of
   feelings and states), idioms where 死 means 'stubbornly' or 'dead (machine)', 想死你了, and
   自杀 as a subject of study (自杀论, 自杀预防, 关于自杀的书). The breaks matter here:
   「我想死，你别管我」 must not read as 想死你. Then the breaks go, so 「想 死」, 「想。死」 and
   「想😭死」 all read 「想死」. English is matched on a copy with single spaces between words,
   and a few phrases again with the spaces squeezed out (「k i l l myself」).
5. Match the named rules; the first that fires wins.

A hotline request (自杀干预热线, 心理危机热线) fires before step 4: whoever asks for one should get
it at once.
"""

from __future__ import annotations

import re
import unicodedata

from intents.normalize import SIMPLIFIED

__all__ = ["crisis_signal", "is_crisis"]

# Traditional → simplified (the shared table in intents.normalize), for the patterns below.
_TABLE = SIMPLIFIED

_TITLES = re.compile(r"《[^《》]*》|〈[^〈〉]*〉|<<[^<>]*>>|«[^«»]*»")
# Spaces and punctuation separate words; emoji, symbols and invisible characters do not.
_BREAK = re.compile(r"[\s\u3000]+|[!-/:-@\[-`{-~\u2000-\u206f\u3000-\u303f\uff00-\uff65]+")
_NOT_WORD = re.compile(r"[^0-9a-z\u4e00-\u9fff|]+")

# --- step 4: what only looks like a crisis ---------------------------------------------

# Feelings and states that take 死 as an intensifier: 热死了, 累死我了, 烦得要死, 笑死人.
_INTENSIFIED = (
    r"热|冷|冻|饿|渴|困|累|忙|笑|吓|气|烦|卷|急|撑|痛|疼|闷|晒|挤|吵|懒|馋|穷|丑|美|帅|萌|"
    r"酸|辣|咸|甜|臭|香|难|蠢|傻|无聊|尴尬|郁闷|麻烦|可爱|好看|好吃|难吃|难看|羡慕|嫉妒|"
    r"紧张|激动|开心|高兴|感动|后悔|心疼|担心|讨厌|恶心|憋|晕|堵|难受|折腾|虐|坑|卡|慢|贵|"
    r"丢人|羞|臊|腻|酸爽|爽|乐|呛|惨|苦|衰|倒霉|抠|肉麻|吓人|烦人|气人|熬"
)
_HYPERBOLE = re.compile(
    # 「饿死自己」 and 「累死算了」 are not hyperbole: keep them for the patterns.
    r"(?:"
    + _INTENSIFIED
    + r")(?:得|的)?(?:要|快)?(?:死(?!\|?(?:自己|算了|了算了|掉算了|了就好|了好了|法))"
    r"(?:了|啦|我了|我啦|人了|人啦|人|我|掉了|个人)?)"
    r"|社死|半死|死去活来|要死不活的"
)
# Where 死 is not about dying: 想死你了 (missing someone), 死机, 死记硬背, 死磕, 死心, 打死也不,
# 早死早超生 (get it over with), 跳楼价 (a sale), 网站死了 (down).
_NOT_DEATH = re.compile(
    r"想死(?:你|您|他|她|它|咱|宝|我了|我啦|我的|大家)"
    r"|想死(?:妈妈|爸爸|老妈|老爸|家里|家人|奶奶|爷爷|姥姥|外婆)了"
    r"|死(?:机|记硬背|记|磕|心|党|角|板|胡同|循环|锁|线|期|刑|敌|对头|守|扛|撑|硬|鬼|宅|忠|命|"
    r"皮赖脸|性不改|定了|活|缓|亡率|神|海|穴|结|火山|不悔改|面)"
    r"|打死(?:也|都)?(?:不|没)|早死早超生|跳楼(?:价|大甩卖|甩卖|大减价|大促)"
    r"|(?:网站|网页|系统|电脑|手机|服务器|app|程序|网|平台|页面)(?:又|都|直接|彻底)?死了"
)
# 自杀 as something to read or study about; removed so that 「我想自杀 有没有关于自杀的书」 still
# fires on the first half.
_STUDY = re.compile(
    r"自杀(?:论|学|预防|干预|防治|研究|率|现象|小队|式|问题研究|主题|行为研究|与)"
    # …but never a book of how-to: 「讲自杀方法的书」 is a method question in a book's clothes.
    r"|(?:预防|防止|干预|防治|关于|有关|研究|讲|论)自杀(?!的?(?:方法|办法|手段|方式|技巧|步骤|教程))"
    r"|安乐死(?:合法|立法|的?争议|问题|辩论)"
    r"|不想活成|不想活在(?:别人|他人|父母|爸妈|家人|大家|老师)"
)
_STUDY_EN = re.compile(r"suicide (?:prevention|squad|rate|studies|research|awareness)")

# --- step 5: the rules -------------------------------------------------------------------

_METHODS = (
    r"割腕|割脉|割动脉|跳楼|跳河|跳江|跳湖|跳海|跳桥|跳崖|跳轨|卧轨|上吊|悬梁|烧炭|服毒|"
    r"百草枯|吞药|吞安眠药|吞刀片"
)
_POISONS = r"毒药|农药|百草枯|敌敌畏|毒鼠强|老鼠药|鼠药|氰化物|砒霜|安眠药"
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    # 自杀, 轻生, 寻短见 and their internet euphemisms (紫砂, 自鲨, zs).
    (
        "suicide_word",
        re.compile(
            r"自杀|自尽|轻生|寻短见|寻死|求死|自我了断|自我了结|了断自己|了结自己|结束自己|"
            r"自鲨|zisha|(?:想|要|去|准备)(?:紫砂|zs|自sha)|紫砂(?:算了|吧)"
        ),
    ),
    # 想死, 好想死, 想去死, 想要死掉 (想死你了 was removed above).
    ("want_to_die", re.compile(r"(?<![你您])想(?:要|去)?(?:死|si(?![a-z]))")),
    (
        "better_dead",
        re.compile(
            r"(?<![你您他她])去死|让我死|不如死|不如去死|我(?:真的|就)?该死(?!的)|"
            r"死了(?:算了|好了|就好|就解脱|也好|更好|比较好|会更好|干净|清净|一了百了|拉倒|就不用)|"
            r"死掉(?:算了|好了|就好)|等我死了|我死(?:了)?(?:以|之)后|"
            r"一死了之|一了百了|活着不如死|死了比活着|早点死|(?:想|要|申请|去)安乐死"
        ),
    ),
    (
        "not_want_to_live",
        re.compile(
            r"不想活|活不下去|不想再活|不愿(?:意)?(?:再)?活|活够了|(?<![你您])活腻了|不想(?:再)?存在|"
            r"不配活|(?:不该|不应该)活|"
            r"不要再醒|别再醒|不想再醒|再也不(?:要|想)?醒|永远不(?:要)?醒|一睡不醒|一觉不醒|永远睡过去|"
            r"不想醒过来|(?:没有|没了|失去了?|找不到)活下去的|don ?t want to (?:live|be alive)"
        ),
    ),
    (
        "life_meaningless",
        re.compile(
            r"活着(?:真的|真是|好|太|很|挺|实在|也|真|都|就是)*"
            r"(?:没意思|没意义|没有意义|没有意思|没有任何意义|没劲|没盼头|没希望|好累|太累|累|痛苦|"
            r"煎熬|有什么意思|有什么意义|有啥意思|有啥意义|有何意义|干嘛|干什么|图什么|为了什么|"
            r"是一种折磨|是折磨|受罪)"
            r"|(?:人生|生活|活下去|生命)(?:好|真|太|已经|根本|完全)?(?:毫无|没有|没)(?:任何)?(?:意义|希望|盼头)"
            r"|没(?:有)?(?:什么)?值得(?:我)?留恋|了无牵挂|没什么(?:好|可)留恋"
        ),
    ),
    (
        "end_life",
        re.compile(
            r"结束(?:我的|自己的)?(?:生命|人生|一生|这条命)|"
            r"(?:想|要|准备|打算|决定|该|是时候)结束(?:这一切|一切)|了结(?:这)?一生|"
            r"(?:想|要|准备|打算)(?:自我)?了结"
        ),
    ),
    (
        "disappear",
        re.compile(
            r"想(?:要|让自己)?(?:彻底|永远)?消失|消失(?:算了|就好|吧|掉算了)|(?:从|在)(?:这个)?世界(?:上)?消失|"
            r"人间蒸发算了|(?:想|要)人间蒸发"
        ),
    ),
    (
        "better_without_me",
        re.compile(
            r"没有我.{0,8}?(?:更好|好过|轻松|解脱)|(?:我|自己)(?:不在|死|走|消失)了.{0,8}?"
            r"(?:更好|好过|好受|轻松|解脱|没人在乎|没人发现|没人难过|不痛苦|有人在意|有人在乎)|"
            r"没(?:有)?人(?:会)?在乎我(?:的)?(?:死|活|死活|死不死)|我是(?:个|一个)?(?:累赘|多余的|负担)|"
            r"就没有我了|不会再有我了"
        ),
    ),
    (
        "farewell",
        re.compile(
            r"遗书|遗言|绝笔|再见了?(?:这个)?世界|永别了|告别(?:这个)?世界|"
            r"(?:和|跟|与|向)(?:这个)?世界(?:告别|道别|再见|说再见)|(?:以后|永远)不会再见|永远不(?:会)?回来|"
            r"(?:就|都|很快)(?:要)?结束了.{0,6}?不用担心我|不用担心我了?.{0,6}?(?:就|都|很快)(?:要)?结束了|"
            r"之后就(?:不会|再也不会)(?:再)?(?:痛|疼|难受)了|(?:计划|决定)好了.{0,2}?就在(?:今晚|今天|明天)|"
            r"(?:东西|后事|一切)都安排好了|"
            r"下辈子再见|来世再见|(?:想|要|准备|打算|该|会|决定)离开(?:这个)?世界|离开(?:这个)?世界(?:算了|吧|就好)|"
            r"交代后事|安排(?:好)?后事|后事都|最后一条消息|最后一次(?:跟|和)(?:你|你们|人|大家)说话|决定了.{0,4}?今晚就走|做傻事|"
            r"(?:书|东西)都送人"
        ),
    ),
    (
        "relief",
        re.compile(
            r"(?:想|求|只想|永远|得到|寻求)解脱|(?:真的|实在|再也|彻底|快要?|已经)(?:撑|熬)不下去"
        ),
    ),
    ("method_word", re.compile(_METHODS)),
    (
        "method_question",
        re.compile(
            # 吃多少安眠药会死, 几楼跳下去会死, 割多深会死, 从六楼跳下去能死吗
            r"(?:多少|几|怎么|怎样|如何|哪种|什么|哪里|哪个|多高|多深|多久|一次|一整瓶|一瓶|一把)"
            r".{0,12}?(?:会死|能死|才会死|才能死|致死|死得了|死得快|死掉|必死|一定会死|没命|死不了)"
            # 怎么死最快, 怎样才能死得干净, 有没有无痛的死法
            r"|(?:怎么|怎样|如何|用什么|有什么)(?:样)?(?:方法|办法)?(?:才能|才可以|可以|能)?"
            r"(?:无痛|不痛苦|不痛|安静|轻松|快速|快点|悄悄|干净)?(?:地|的)?(?:去)?死(?!的|了|机|啦)"
            r"|死(?:得|的)?(?:最快|干净|不痛|没痛苦)|(?:无痛|不痛|最快|舒服|哪种|什么样?)(?:的)?死法"
            r"|(?:割|划).{0,4}?(?:流血|出血)(?:最快|最多)|血止不住|手腕(?:在|一直)?(?:流血|出血)"
            # poison: bought, eaten, hoarded (安眠药 alone is an insomnia question, so it needs
            # a quantity, a hoard or a death word)
            r"|(?:买|吃|喝|吞|弄到|搞到|攒|囤)(?:了|到)?.{0,4}?(?:毒药|农药|百草枯|敌敌畏|毒鼠强|"
            r"老鼠药|鼠药|氰化物|砒霜)"
            r"|(?:"
            + _POISONS
            + r")(?:吃)?.{0,6}?(?:会死|能死|致死|多少|一瓶|一把|一整瓶|攒|囤|过量|"
            r"一次吃完|睡过去|不醒)"
            r"|(?:攒|囤)(?:了|够)?.{0,6}?药|存了.{0,4}?安眠药|(?:一瓶|一把|一整瓶|一大把|好多)(?:的)?(?:安眠药|药)"
            r"|药(?:已经)?(?:攒够|准备好|买好)|(?:准备|买)好(?:了)?药|过量服药|一次(?:性)?吃完"
            r"|吃了?.{0,4}?药.{0,6}?(?:不醒|会怎么样|能死|会死)|药.{0,6}?(?:不醒|醒不过来)"
        ),
    ),
    (
        "jump",
        re.compile(
            r"(?:想|要|准备|打算)(?:从.{0,8})?(?:跳下去|往下跳|上去跳|跳下来)|"
            r"(?:楼顶|天台|楼上|窗户|窗台|桥上|顶楼|最高).{0,8}?(?:跳下去|往下跳|跳)(?![舞绳远高水槽过级转操])|"
            r"跳下去.{0,4}?(?:会死|能死|就|一了百了|解脱)|站在(?:天台|楼顶|顶楼|桥上|窗台)|我在(?:天台|楼顶)|"
            r"(?:天台|楼顶|顶楼|窗台|桥)边(?:上|缘)"
        ),
    ),
    (
        "self_harm",
        re.compile(
            r"自残|自伤|自我伤害|(?:伤害|弄伤|割伤|划伤|烫伤|伤)(?:了)?自己(?!的心)|"
            r"(?:割|划|砍|刺|捅|烫|烧)(?:了)?(?:一下|几下|好几下|几刀|一刀)?自己|"
            r"(?:弄|杀|勒|饿|淹|毒|搞|整|掐|闷|撞)(?:死|掉)自己|杀了自己|"
            r"(?:拿|用)(?:刀|刀片|小刀|美工刀|剪刀|圆规|烟头).{0,6}?(?:划|割|刺|扎|烫|戳)|"
            r"刀片.{0,4}?(?:划|割)|(?:割|划)(?:了)?(?:手腕|手臂|胳膊|大腿|动脉)|"
            r"又(?:割|划)(?:了)?(?:自己|几刀|一刀|几道|一道)|(?:割|划)(?:了)?(?:几|好几|一|很多|多少)(?:刀|道)|"
            r"自己(?:划|割)的|刀痕|让自己(?:疼|痛|流血|受伤)|撞死算了|打自己(?!的?脸)|(?:把|拿|用)(?:自己|头)撞墙|"
            r"掐自己.{0,6}?(?:流血|出血)|刀就在手边"
        ),
    ),
)
_RULES_EN: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "english",
        re.compile(
            r"\b(?:want(?:s|ed)?|wanna|going|gonna|ready|trying|need) (?:to )?die\b|"
            r"\bkill(?:ing)? ?my ?self\b|\bkms\b|\bsuicid(?:e|al)\b|"
            r"\bend(?:ing)? (?:my|it) (?:life|all)\b|\bend it all\b|\bself ?harm|"
            r"\bcut(?:ting)? my ?self\b|\bhurt(?:ing)? my ?self\b|"
            r"\bdon ?t want to (?:live|be alive|exist|wake up)\b|"
            r"\bbetter off (?:dead|without me)\b|"
            r"\bno reason to live\b|\btake my (?:own )?life\b|\boverdos(?:e|ing)\b|"
            r"\bnot worth living\b|\bsleeping pills to die\b|\bhow many (?:sleeping )?pills\b|"
            r"\bways? to die\b|\bjump(?:ing)? off (?:the |a )?(?:building|roof|bridge)"
        ),
    ),
)
_SQUEEZED_EN = re.compile(r"killmyself|wanttodie(?!t)|endmylife|selfharm|cutmyself")
_HOTLINE = re.compile(r"(?:自杀|心理危机|危机|心理援助|生命|希望24)(?:干预|援助)?热线")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower().translate(_TABLE).replace("'", "")


def crisis_signal(text: str) -> str | None:
    """The name of the first crisis rule that fires on `text`, or None."""
    folded = _TITLES.sub(" ", _fold(text))
    # Words stay apart (「|」) while the look-alikes are removed, so 「我想死，你别管我」 is not
    # mistaken for 想死你; then the breaks go, so 「想 死」 and 「想。。死」 read 「想死」.
    broken = _NOT_WORD.sub("", _BREAK.sub("|", folded))
    if _HOTLINE.search(broken.replace("|", "")):
        return "hotline"

    spaced = " " + " ".join(part for part in broken.split("|") if part) + " "
    spaced = _STUDY_EN.sub(" ", spaced)
    for name, pattern in _RULES_EN:
        if pattern.search(spaced):
            return name

    cleaned = _STUDY.sub("#", broken)
    cleaned = _NOT_DEATH.sub("#", cleaned)
    cleaned = _HYPERBOLE.sub("#", cleaned).replace("|", "")
    for name, pattern in _RULES:
        if pattern.search(cleaned):
            return name
    # Squeezed English too: 「k i l l myself」, 「i want to d i e」.
    if _SQUEEZED_EN.search(cleaned):
        return "english"
    return None


def is_crisis(text: str) -> bool:
    """True when `text` speaks of suicide or self-harm, whoever it is about."""
    return crisis_signal(text) is not None
