"""The buttons on factbot's replies, as persistent components that survive a restart.

Each button carries what it needs in its ``custom_id`` (a claim id, a vote
direction), so a click is understood by any running bot process, even one
started after the reply was posted: the client registers these classes with
``add_dynamic_items`` and discord.py rebuilds the button from the id.  The
classes only route the click to the client; what a click does lives in
``client.py``.
"""

from __future__ import annotations

import re
from typing import Any

import discord

from ...core.models import CLAIM_ID

PREFIX = "factbot:"
_CLAIM = CLAIM_ID  # any id the core accepts


def vote_id(direction: str, claim_id: str) -> str:
    return f"{PREFIX}vote:{direction}:{claim_id}"


def reveal_id(claim_id: str) -> str:
    return f"{PREFIX}reveal:{claim_id}"


DELETE_ID = f"{PREFIX}delete"
SUGGEST_ID = f"{PREFIX}suggest"


async def _route(handler: str, interaction: discord.Interaction, *args: Any) -> None:
    target = getattr(interaction.client, handler, None)
    if target is None:  # a click reached a client that is not factbot's: nothing sensible to do
        await interaction.response.defer()
        return
    await target(interaction, *args)


class VoteButton(discord.ui.DynamicItem[discord.ui.Button], template=rf"{PREFIX}vote:(?P<direction>up|down):(?P<claim>{_CLAIM})"):
    """👍 / 👎 on a verdict reply; the label shows the count once someone voted."""

    def __init__(self, direction: str, claim_id: str, count: int = 0):
        self.direction = direction
        self.claim_id = claim_id
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.secondary,
                emoji="👍" if direction == "up" else "👎",
                label=str(count) if count else None,
                custom_id=vote_id(direction, claim_id),
            )
        )

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item, match: re.Match[str], /):
        return cls(match["direction"], match["claim"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await _route("on_vote", interaction, self.direction, self.claim_id)


class DeleteButton(discord.ui.DynamicItem[discord.ui.Button], template=re.escape(DELETE_ID)):
    """🗑️ removes a wrong reply: for the person who asked, or anyone with Manage Messages."""

    def __init__(self) -> None:
        super().__init__(
            discord.ui.Button(style=discord.ButtonStyle.secondary, emoji="🗑️", custom_id=DELETE_ID)
        )

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item, match: re.Match[str], /):
        return cls()

    async def callback(self, interaction: discord.Interaction) -> None:
        await _route("on_delete", interaction)


class RevealButton(discord.ui.DynamicItem[discord.ui.Button], template=rf"{PREFIX}reveal:(?P<claim>{_CLAIM})"):
    """One "Did you mean…" candidate: shows its verdict to whoever clicks."""

    def __init__(self, claim_id: str, label: str = ""):
        self.claim_id = claim_id
        super().__init__(
            discord.ui.Button(style=discord.ButtonStyle.primary, label=label or "🔎", custom_id=reveal_id(claim_id))
        )

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item, match: re.Match[str], /):
        return cls(match["claim"], getattr(item, "label", None) or "")

    async def callback(self, interaction: discord.Interaction) -> None:
        await _route("on_reveal", interaction, self.claim_id)


class SuggestButton(discord.ui.DynamicItem[discord.ui.Button], template=re.escape(SUGGEST_ID)):
    """"Suggest this for review" under a no-match reply: the fact-checkers' to-do list."""

    def __init__(self, label: str = "") -> None:
        super().__init__(
            discord.ui.Button(style=discord.ButtonStyle.primary, label=label or "📝", custom_id=SUGGEST_ID)
        )

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item, match: re.Match[str], /):
        return cls(getattr(item, "label", None) or "")

    async def callback(self, interaction: discord.Interaction) -> None:
        await _route("on_suggest", interaction)


DYNAMIC_ITEMS = (VoteButton, DeleteButton, RevealButton, SuggestButton)
