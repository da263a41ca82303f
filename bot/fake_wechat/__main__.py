"""`python -m bot.fake_wechat`: the old name of `python -m bot.dev.fake_wechat`."""

import sys

from bot.dev.fake_wechat.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
