"""WeChat and WeCom in: the callback protocol, the webhook, the dedup inbox, the pipeline and
the turn (router)."""
