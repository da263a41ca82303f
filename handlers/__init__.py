"""Capabilities: each module answers one kind of reader request as rasa-sdk Actions.

Handlers never see XML, Flask or wechatpy: they get a Tracker and the services passed to
their constructor (see handlers.kit.actions). `handlers.registry` lists the capabilities.
"""
