"""Messages out: the outbox, the sender and its channels, access tokens, the WeChat API
client, the scheduler and housekeeping."""
