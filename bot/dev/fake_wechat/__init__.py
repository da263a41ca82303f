"""The project's own fake WeChat API server: Tencent's 公众号 and WeCom endpoints on one
loopback base URL, with injectable faults, for tests and the demo.

    fake = FakeWeChat(token_ttl=7200, clock=time.time)
    url = fake.start()                      # "http://127.0.0.1:PORT"
    fake.inject(path="/cgi-bin/message/custom/send", errcode=45009)
    fake.messages(to="oX")                  # what actually reached a reader
    fake.stop()

Other processes steer it through JSON under /_fake/ (see control.py); the command line is
`python -m bot.dev.fake_wechat --port 8100` (the old name `python -m bot.fake_wechat` works too).
"""

from bot.dev.fake_wechat.fake import FakeWeChat
from bot.dev.fake_wechat.records import Call, Delivered, Dropped

__all__ = ["Call", "Delivered", "Dropped", "FakeWeChat"]
