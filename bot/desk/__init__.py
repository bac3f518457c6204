"""The review desk: a web page for the people who keep the claims (docs/desk.md).

Server-rendered with aiohttp and Jinja2; every change goes through the core (``bot.core.editing``,
``bot.core.review``, ``bot.core.accounts``), so a change made here is one the bot, its corrections,
digests and the audit log see as any other.
"""
