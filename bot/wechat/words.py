"""Words readers see from the message path itself (handlers keep their own)."""

HOLDING = "收到～正在为你查询，结果稍后发给你，请稍等片刻。"
UNSUPPORTED_KIND = (
    "我暂时只看得懂文字和语音哦～请用文字告诉我你想做什么，发送「帮助」看看我能做什么。"
)
VOICE_UNRECOGNISED = "抱歉，这条语音我没听清，可以打字告诉我吗？"
EMPTY_TEXT = "你好像发了一条空消息～发送「帮助」看看我能做什么。"
CANCELLED = "好的，已取消。还有什么可以帮你的吗？"
NOTHING_TO_CANCEL = "现在没有进行中的操作哦～发送「帮助」看看我能做什么。"
UNKNOWN_MENU_KEY = "这个菜单功能还在准备中，敬请期待～发送「帮助」看看现在能做什么。"
UNKNOWN_SCENE = "这个二维码我暂时认不出来～如需帮助，请发送「帮助」或「转人工」。"
NOT_UNDERSTOOD = (
    "抱歉，我还没听懂这句话😅 你可以换个说法，或者发送「帮助」看看我能做什么，"
    "也可以发送「转人工」联系馆员。"
)
ASK_WHICH = (
    "我不太确定你的意思，你是想：\n1. {first}\n2. {second}\n回复 1 或 2，或者换个说法告诉我～"
)
ASK_IF = "你是想{label}吗？回复「是」，或者换个说法告诉我～"
COMING_SOON = (
    "明白，你想{label}。这个功能还在准备中，很快就会上线～ "
    "现在可以发送「转人工」请馆员帮忙，或发送「帮助」看看我能做什么。"
)
# The same three for a bot built without the hand-off: never offer a command that goes nowhere.
UNKNOWN_SCENE_ALONE = "这个二维码我暂时认不出来～如需帮助，请发送「帮助」。"
NOT_UNDERSTOOD_ALONE = "抱歉，我还没听懂这句话😅 你可以换个说法，或者发送「帮助」看看我能做什么。"
COMING_SOON_ALONE = (
    "明白，你想{label}。这个功能还在准备中，很快就会上线～ 现在可以发送「帮助」看看我能做什么。"
)
AFFIRM_ALONE = "好的👌 还有什么可以帮你的吗？"
DENY_ALONE = "好的，没问题。需要时随时叫我～"
LEFT_FORM = "（刚才的「{label}」没有完成，已退出。）"
# A global command (帮助, 转人工) or event whose capability this bot was built without.
NOT_IN_THIS_BOT = "抱歉，这项服务在这里还没有开通～"
# Used only if the crisis action is missing from a trimmed capability list: a reader in
# crisis is never answered with "I did not understand".
CRISIS_FALLBACK = (
    "谢谢你愿意告诉我，你不是一个人。现在就可以拨打全国心理援助热线 12356 或希望24热线 "
    "400-161-9995（24小时，免费保密）。如果你现在有危险，请立即拨打 120 或 110。"
)
GENTLE_CARE = "如果你最近心里很难受，随时可以跟我说，也可以拨打 12356 心理援助热线（24小时）。\n"
