"""factbot: a fact-check bot for Discord, Slack and the console, with one platform-free core."""

__version__ = "0.1.0"
