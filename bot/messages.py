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
