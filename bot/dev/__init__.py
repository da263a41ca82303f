"""For developers and the demo: demo data, the simulator, the chat CLI, the callback client and
the fake WeChat API server."""
