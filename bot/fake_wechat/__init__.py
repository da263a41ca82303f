"""The old name of bot.dev.fake_wechat, kept so `python -m bot.fake_wechat` still works."""

from bot.dev.fake_wechat import Call, Delivered, Dropped, FakeWeChat

__all__ = ["Call", "Delivered", "Dropped", "FakeWeChat"]
