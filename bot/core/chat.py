"""The conversation layer: every chat feature's decision and wording, once, for every platform.

An adapter turns a platform event into a ``Request`` (who, where, what text, the platform's locale),
calls one method here, and renders the ``Reply`` (``replies.py``) that comes back with its own
syntax; it never words a sentence and never touches the store.  What a platform does differently is
data the adapter hands over once (``Platform``: its command names, who may moderate), not code here.

Everything the bot says goes through ``words(locale)`` (gettext, via ``i18n``): the template is the
English sentence, so a catalog without it still shows English.

The layer also runs what every adapter shares at run time: the process's one ``CheckQueue`` (held by the
``FactChecker``, so a Discord and a Slack adapter in one process queue their checks together: one at a time,
a long burst turned away rather than answered late), the in-flight work a restart waits for
(``track``/``drain``), and the lock that keeps watch mode from answering one claim twice at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from . import i18n
from .conversations import PendingShare, WatchClaim
from .digest import build_digest, preview_digest
from .languages import LanguageError
from .models import (
    Candidate,
    CheckResult,
    Claim,
    Correction,
    CountedClaim,
    Decision,
    Digest,
    IncomingMessage,
    Verdict,
)
from .normalize import display_text
from .pacing import Overloaded
from .replies import (
    Action,
    ActionKind,
    CandidateItem,
    Kind,
    Phrases,
    Reply,
    Rich,
    Section,
    Span,
    VerdictItem,
    as_rich,
    channel,
    link,
    rich,
    user,
    verbatim,
)
from .service import FactChecker
from .subscriptions import Subscription, SubscriptionError

log = logging.getLogger("factbot.chat")

# How verdicts are chosen: the knowledge README's method (shown under every verdict).
METHOD_URL = "https://github.com/factbot/factbot/blob/main/knowledge/README.md#how-to-choose-a-verdict-from-the-evidence"
SHARE_TTL = dt.timedelta(hours=1)  # how long a private answer can still be shared
PREVIEW_DAYS = 7


# -- words ---------------------------------------------------------------------------------


def words(locale: str) -> Callable[..., str]:
    """The translation function for ``locale``: ``_(template)`` is the template in that language, placeholders
    intact for ``rich``; ``_(template, n=3)`` fills them (English, the template itself, without a catalog)."""
    return i18n.translator(locale or "en").gettext


def verdict_label(verdict: Verdict, locale: str) -> str:
    return verdict.label_in(i18n.translator(locale or "en"))


def percent(score: float, locale: str = "en") -> str:
    """A match strength as the locale writes a percentage ("87%", "87 %")."""
    return i18n.translator(locale or "en").percent(round(score, 2))


def phrases(_: Callable[[str], str]) -> Phrases:
    return Phrases(
        more=_("…and %(n)s more"),
        more_claims=_("…and %(n)s more; ask about them one at a time."),
        continued=_("%(title)s (continued)"),
        sources=_("Sources"),
        jump=_("Jump to the message"),
        checked_message=_("Checked message"),
    )


# -- what a platform tells the core about itself ----------------------------------------------


@dataclass(frozen=True)
class Platform:
    """What differs between platforms, as data: names of commands, and who moderates.

    ``moderator``: who besides the asker may remove a reply — ``"manage-messages"`` (Discord's
    permission) or ``"admin"`` (a workspace admin).  ``claim_command`` shows how to ask for one
    claim by id (``{id}`` is replaced).
    """

    name: str
    check_command: str = "/factcheck"
    claim_command: str = "/factcheck {id}"
    watch_command: str = "/factcheck watch"
    digest_command: str = "/factcheck digest"
    language_command: str = "/factcheck language"
    moderator: str = "admin"
    server: str = "workspace"  # "server" on Discord
    can_suggest: bool = True
    show_nearest: bool = False  # the console names the nearest claim below the threshold
    buttons: bool = True  # replies carry buttons (the console's do not)
    needs_invite: bool = False  # Slack: the bot reads a channel only once invited
    corrections_in_thread: bool = False  # Slack: a correction goes in the earlier reply's thread, not under it


CONSOLE = Platform(name="console", check_command="", claim_command="/claim {id}", can_suggest=False,
                   show_nearest=True, buttons=False)
CLI = Platform(name="console", check_command="factbot check", claim_command="factbot claims show {id}",
               can_suggest=False, show_nearest=True, buttons=False)


@dataclass(frozen=True)
class Request:
    """One thing someone asked, whatever the platform: the core's view of an event."""

    platform: str
    text: str = ""
    workspace: str = ""
    channel: str = ""
    user: str = ""
    message_id: str = ""  # the message checked (the reply goes under it)
    locale: str = ""  # the platform's idea of the reader's language ("" when it has none)
    source: str = "mention"  # mention | command | context-menu | shortcut | watch

    def incoming(self) -> IncomingMessage:
        return IncomingMessage(text=self.text, platform=self.platform, workspace=self.workspace,
                               channel=self.channel, user=self.user, message_id=self.message_id)


@dataclass(frozen=True)
class Answer:
    """A check's reply, and the result behind it (to remember the reply once it is posted)."""

    reply: Reply
    result: CheckResult | None = None
    claim: Claim | None = None  # a claim shown by id
    busy: bool = False  # turned away under overload: ``reply`` says so, and nothing is remembered
    watch: WatchClaim | None = None  # a watch-mode reply: the cooldown's claim, given back if the post fails


@dataclass
class _Inflight:
    tasks: set[asyncio.Task] = field(default_factory=set)


class Wording:
    """How factbot words each reply, in the reader's language; no state, no store (renderers' tests use it alone)."""

    def __init__(self, method_url: str = METHOD_URL):
        self.method_url = method_url

    # -- notices -------------------------------------------------------------------------------
    def notice(self, template: str, locale: str = "en", *, private: bool = True, **values: object) -> Reply:
        """A short message (``template`` is an English sentence marked for translation at its call site)."""
        text = rich(words(locale)(template), **values)
        return Reply(Kind.NOTICE, locale, body=(text,), summary=text.plain(), private=private,
                     phrases=phrases(words(locale)))

    def error(self, locale: str = "en") -> Reply:
        _ = words(locale)
        return self.notice(_("Sorry, I couldn't do that right now. Please try again in a moment."), locale)

    def busy(self, locale: str = "en") -> Reply:
        _ = words(locale)
        return self.notice(_("I'm getting more questions than I can answer right now, so I skipped this one rather "
                             "than answer it late. Please ask again in a minute."), locale)

    def restarting(self, locale: str = "en") -> Reply:
        _ = words(locale)
        return self.notice(_("factbot is restarting; please try again in a minute."), locale)

    def cannot_check(self, why: str, locale: str = "en") -> Reply:
        """Why there is nothing to check in what was pointed at (``why`` names the case)."""
        _ = words(locale)
        texts = {
            "reply-gone": _("I can't see the message you replied to."),
            "thread-gone": _("I can't see the message this thread started with."),
            "bot": _("I only check what people write, not other bots' messages."),
            "app": _("I only check what people write, not other apps' messages."),
            "no-text": _("That message has no text I can check."),
            "thread-no-text": _("The message this thread started with has no text I can check."),
            "no-content": _("I can't read the text of that message here. Right-click it (or long-press) and choose "
                            "**Apps → Fact-check this message** instead."),
            "cant-post": _("I can't post in this channel. Invite me with `/invite @factbot` (or ask an admin to), "
                           "then try again."),
        }
        return self.notice(texts[why], locale, private=why != "no-content")

    def needs_permission(self, names: str, locale: str = "en") -> Reply:
        _ = words(locale)
        return self.notice(_("You need the %(permission)s permission in this channel to do that."), locale,
                           permission=as_rich(names))

    def server_only(self, locale: str = "en") -> Reply:
        _ = words(locale)
        return self.notice(_("This command only works in a server channel."), locale)

    def commands_out_of_date(self, locale: str = "en") -> Reply:
        _ = words(locale)
        return self.notice(_("That command is out of date; a server admin can refresh the commands "
                             "(`factbot discord sync`)."), locale)

    def help(self, platform: Platform, locale: str = "en", *, admin: bool = False) -> Reply:
        _ = words(locale)
        if platform.name == "discord":
            body = [rich(_("Mention me with a claim to check it, e.g. `@factbot Alibaba stole Claude Fable's "
                           "guardrails`, or reply to a message with just `@factbot`. You can also use `%(check)s`, or "
                           "right-click a message and choose **Apps → Fact-check this message**."),
                         check=as_rich(platform.check_command))]
            return Reply(Kind.HELP, locale, body=tuple(body), summary=body[0].plain(), phrases=phrases(_))
        lines = [
            rich(_("**factbot checks claims against a database of verified fact-checks.**")),
            rich(_("• Mention me with a claim: `@factbot Alibaba stole Claude Fable's guardrails` (I answer in the "
                   "thread).")),
            rich(_("• Mention me with no other text inside a thread to check the thread's first message.")),
            rich(_("• `%(check)s <claim>`: only you see the answer, with a button to share it in the channel."),
                 check=as_rich(platform.check_command)),
            rich(_("• On any message: **More actions (⋯) → Fact-check this message**.")),
            rich(_("• Under a verdict: 👍 / 👎 tell the fact-checkers whether it fit; whoever asked can remove it "
                   "with 🗑️.")),
        ]
        sections = [Section(title="", lines=tuple(lines))]
        if admin:
            sections.append(Section(title=_("For workspace admins"), lines=self._admin_lines(platform, _)))
        return Reply(Kind.HELP, locale, sections=tuple(sections), phrases=phrases(_),
                     summary=rich(_("How to use factbot: mention me with a claim, or use %(check)s <claim>."),
                                  check=as_rich(platform.check_command)).plain())

    @staticmethod
    def _admin_lines(platform: Platform, _: Callable[[str], str]) -> tuple[Rich, ...]:
        return (
            rich(_("• `%(watch)s on` / `off`: reply unasked to confident matches in this channel (once per claim per "
                   "cooldown)."), watch=as_rich(platform.watch_command)),
            rich(_("• `%(digest)s subscribe <day> <time> <timezone>`, e.g. `%(digest)s subscribe monday 09:00 "
                   "Europe/Berlin`; `%(digest)s unsubscribe`; `%(digest)s preview`."),
                 digest=as_rich(platform.digest_command)),
        )

    # -- wording a check's result ----------------------------------------------------------------
    def result_reply(self, result: CheckResult, platform: Platform, locale: str = "en", *, private: bool = False,
                     deletable: bool = True, watch: bool = False, shared: bool = False,
                     share_token: str = "") -> Reply:
        """The answer to a check: verdicts, "did you mean…", "no verified claim matches", or nothing to check."""
        _ = words(locale)
        notes: list[Rich] = []
        if watch:
            notes.append(rich(_("👀 A claim in this message has been fact-checked (watch mode is on in this "
                                "channel):")))
        if shared:
            notes.append(rich(_("📣 Shared from %(check)s"), check=as_rich(platform.check_command)))
        controls: list[Action] = []
        if private and share_token:
            controls.append(Action(ActionKind.SHARE, _("📣 Share in channel"), share_token))
        if deletable and not private:
            controls.append(self._delete_action(_))
        if not result.query.strip():
            if result.notice:  # the matcher's own words (marked there)
                why = as_rich(i18n.translator(locale or "en").text(result.notice))
            else:
                why = rich(_("There was no text to check."))
            title = rich(_("🔎 Nothing to check"))
            return Reply(Kind.NOTHING, locale, title=title, body=(why,), private=private,
                         actions=tuple(a for a in controls if a.kind is not ActionKind.SHARE),
                         summary=f"{title.plain()}. {why.plain()}", phrases=phrases(_))
        if result.notice:
            notes.append(rich(_("ℹ️ %(notice)s"), notice=i18n.translator(locale or "en").text(result.notice)))
        if result.decision is Decision.MATCH and result.matches:
            return self._verdicts(result, notes, controls, locale, watch=watch, private=private)
        candidates = [c for c in result.candidates if c.score > 0][:3]
        if result.decision is Decision.POSSIBLE and candidates:
            return self._did_you_mean(candidates, notes, controls, platform, locale, private=private)
        return self._no_match(result, notes, controls, platform, locale, private=private)

    def _delete_action(self, _: Callable[[str], str]) -> Action:
        return Action(ActionKind.DELETE, _("🗑️ Remove"), confirm=(
            _("Remove this reply?"), _("The verdict disappears from the channel for everyone."), _("Remove"),
            _("Keep")))

    def _verdicts(self, result: CheckResult, notes: list[Rich], controls: list[Action], locale: str, *,
                  watch: bool, private: bool) -> Reply:
        _ = words(locale)
        matches = list(result.matches)
        if len(matches) > 1:
            notes.append(rich(_("This message makes %(n)s claims that have been checked:"), n=as_rich(str(len(matches)))))
        items = tuple(self.verdict_item(c.claim, locale, candidate=c) for c in matches)
        summary = "; ".join(self._item_summary(i) for i in items[:3])
        if len(items) > 3:
            summary += _(" (and %(n)s more)", n=len(items) - 3)
        if watch:
            summary = "👀 " + summary
        actions = (*self._vote_actions(matches[0].claim.id), *controls)
        return Reply(Kind.VERDICT, locale, notes=tuple(notes), items=items, actions=actions, summary=summary,
                     private=private, phrases=phrases(_))

    @staticmethod
    def _vote_actions(claim_id: str) -> tuple[Action, Action]:
        return Action(ActionKind.VOTE_UP, "👍", claim_id), Action(ActionKind.VOTE_DOWN, "👎", claim_id)

    @staticmethod
    def _item_summary(item: VerdictItem) -> str:
        return f"{item.emoji} {item.label}: {item.headline} — {item.why}"

    def verdict_item(self, claim: Claim, locale: str, *, candidate: Candidate | None = None) -> VerdictItem:
        """One claim's verdict worded for the reader: label, claim, why, sources, and what the number means."""
        _ = words(locale)
        label = verdict_label(claim.verdict, locale)
        headline, why, note = self._in_language(claim, locale, _)
        rating = Rich()
        if claim.rating_text and claim.rating_text.strip().lower() not in (claim.verdict.label.lower(), label.lower()):
            rating = rich(_("rated “%(rating)s”"), rating=claim.rating_text)
        facts: list[Rich] = []
        if candidate is not None:
            facts.append(rich(_("Match strength %(percent)s"), percent=as_rich(percent(candidate.score, locale))))
            if candidate.matched_alias:
                facts.append(rich(_("matched the wording “%(wording)s”"), wording=candidate.matched_text))
        if claim.reviewed_at:
            facts.append(rich(_("reviewed %(date)s"), date=as_rich(self._date(claim.reviewed_at, locale))))
        facts.append(rich(_("claim id `%(id)s`"), id=claim.id))
        method = link(_("How verdicts are chosen"), self.method_url) if self.method_url else Rich()
        return VerdictItem(claim_id=claim.id, verdict=claim.verdict, label=label, headline=headline, why=why,
                           rating=rating, sources=claim.sources, facts=tuple(facts), method=method,
                           language_note=note)

    @staticmethod
    def _in_language(claim: Claim, locale: str, _: Callable[[str], str]) -> tuple[str, str, Rich]:
        """The claim and its summary in the reader's language when the knowledge has them, else as written."""
        lang = (locale or "en").split("-")[0].split("_")[0].lower()
        translations = getattr(claim, "translations", None) or {}
        tr = translations.get(lang) if hasattr(translations, "get") else None
        if tr is not None:
            return getattr(tr, "claim", "") or claim.claim, getattr(tr, "summary", "") or claim.summary, Rich()
        own = (claim.language or "en").split("-")[0].lower()
        if own == lang:
            return claim.claim, claim.summary, Rich()
        name = i18n.translator(locale or "en").language_name(own)
        return claim.claim, claim.summary, rich(_("(in %(language)s)"), language=as_rich(name))

    @staticmethod
    def _date(value: str, locale: str) -> str:
        """A review date as the reader's locale writes it (as stored when it is not an ISO date)."""
        try:
            return i18n.translator(locale or "en").date(value[:10])
        except ValueError:
            return value[:10]

    def _did_you_mean(self, candidates: list[Candidate], notes: list[Rich], controls: list[Action],
                      platform: Platform, locale: str, *, private: bool) -> Reply:
        """Close candidates by their words and match strength only: the verdict is one click (or id) away."""
        _ = words(locale)
        items = []
        for i, c in enumerate(candidates, 1):
            strength = rich(_("match strength %(percent)s"), percent=as_rich(percent(c.score, locale)))
            line = rich(_("**%(n)s.** %(claim)s · %(strength)s · id `%(id)s`"), n=as_rich(str(i)), claim=c.claim.claim,
                        strength=strength, id=c.claim.id)
            items.append(CandidateItem(i, c.claim.id, c.claim.claim, strength, line))
        example = platform.claim_command.replace("{id}", candidates[0].claim.id)
        if platform.buttons:
            footer = rich(_("Pick one to see its verdict, why and sources (only you will see it), or ask for one by "
                            "its id: `%(example)s`."), example=example)
        else:
            footer = rich(_("Ask for one by its id to see its verdict, why and sources: `%(example)s`."), example=example)
        picks = tuple(Action(ActionKind.REVEAL, f"{c.number}. {c.text}", c.claim_id, number=c.number) for c in items)
        summary = _("🤔 Did you mean: %(list)s", list="; ".join(f"{c.number}. {c.text}" for c in items))
        return Reply(Kind.DID_YOU_MEAN, locale, title=rich(_("🤔 Did you mean…")), notes=tuple(notes),
                     body=(rich(_("No verified claim matches exactly. Did you mean one of these?")),),
                     candidates=tuple(items), footer=footer, actions=(*picks, *controls), summary=summary,
                     private=private, phrases=phrases(_))

    def _no_match(self, result: CheckResult, notes: list[Rich], controls: list[Action], platform: Platform,
                  locale: str, *, private: bool) -> Reply:
        _ = words(locale)
        if platform.can_suggest:
            body = [rich(_("No verified claim in the database matches this. If you think it should be checked, "
                           "suggest it for review and the fact-checkers will see it."))]
            actions: tuple[Action, ...] = (Action(ActionKind.SUGGEST, _("📝 Suggest for review"), result.query),
                                           *controls)
        else:
            body = [rich(_("No verified claim in the database matches this."))]
            actions = tuple(controls)
        near = result.candidates[0] if result.candidates else None
        if platform.show_nearest and near is not None and near.score > 0:
            body.append(rich(_("(nearest: “%(claim)s”, match strength %(percent)s, below the threshold)"),
                             claim=near.claim.claim, percent=as_rich(percent(near.score, locale))))
        title = rich(_("🔎 No verified claim matches"))
        return Reply(Kind.NO_MATCH, locale, title=title, notes=tuple(notes), body=tuple(body), checked=result.query,
                     checked_title=_("Checked text"), actions=actions, private=private, phrases=phrases(_),
                     summary=_("🔎 No verified claim matches this."))

    def claim_reply(self, claim: Claim, locale: str = "en", *, deletable: bool = True, private: bool = False,
                    votes: bool = True, notice: str = "") -> Reply:
        """One claim in full (``/claim id:``, a claim's id alone, a revealed candidate).

        ``notice``: what became of a retired id that led here (``ClaimLookup.notice``), shown above it."""
        _ = words(locale)
        item = self.verdict_item(claim, locale)
        actions: list[Action] = list(self._vote_actions(claim.id)) if votes else []
        if deletable and not private:
            actions.append(self._delete_action(_))
        notes = (as_rich(i18n.translator(locale or "en").text(notice)),) if notice else ()
        return Reply(Kind.CLAIM, locale, notes=notes, items=(item,), actions=tuple(actions),
                     summary=self._item_summary(item), private=private, phrases=phrases(_))

    def search_reply(self, query: str, hits: Sequence[Candidate], platform: Platform, locale: str = "en") -> Reply:
        """Claims matching some words, each with its verdict, id and match strength."""
        _ = words(locale)
        title = rich(_("🔎 Claims matching “%(query)s”"), query=query)
        if not hits:
            return Reply(Kind.SEARCH, locale, title=title, body=(rich(_("No claim matches those words.")),),
                         summary=_("No claim matches those words."), private=True, phrases=phrases(_))
        lines = tuple(
            rich(_("%(emoji)s **%(label)s** · %(claim)s\n  `%(id)s` · match strength %(percent)s"),
                 emoji=as_rich(c.claim.verdict.emoji), label=as_rich(verdict_label(c.claim.verdict, locale)),
                 claim=c.claim.claim, id=c.claim.id, percent=as_rich(percent(c.score, locale)))
            for c in hits
        )
        footer = rich(_("Post one in the channel with %(command)s."),
                      command=as_rich(platform.claim_command.replace("{id}", "<id>")))
        return Reply(Kind.SEARCH, locale, title=title, sections=(Section(title="", lines=lines),), footer=footer,
                     summary=title.plain(), private=True, phrases=phrases(_))


    # -- weekly digests, correction notices, a workspace's overview ----------------------------------
    def digest_reply(self, digest: Digest, platform: Platform, locale: str = "en", *, limit: int = 10,
                     footer: str = "") -> Reply:
        """A digest worded for the reader: the period and totals, then one section per part, each at most
        ``limit`` lines (the rest counted in ``hidden``).  ``footer`` is the tag a poster finds it by."""
        _ = words(locale)
        t = i18n.translator(locale or "en")
        title = _("📰 Weekly fact-check digest")
        period = f"{self._date(digest.period_start, locale)} → {self._date(digest.period_end, locale)}"
        tail = (as_rich(footer),) if footer else ()
        if digest.quiet:
            body = rich(_("A quiet week: no new or changed claims, and nobody asked me anything here."))
            return Reply(Kind.DIGEST, locale, title=as_rich(title), body=(as_rich(period), body),
                         footer=Rich(tail[0].spans) if tail else Rich(), phrases=phrases(_),
                         summary=_("%(title)s (%(period)s): a quiet week.", title=title, period=period))
        totals = digest.totals
        counts = {"checks": t.number(totals.checks), "matches": t.number(totals.matches),
                  "up": t.number(totals.upvotes), "down": t.number(totals.downvotes)}
        line = rich(_("**%(checks)s** checks · **%(matches)s** matched · 👍 %(up)s · 👎 %(down)s"),
                    **{k: as_rich(v) for k, v in counts.items()})
        sections: list[Section] = []

        def capped(lines: list[Rich]) -> tuple[tuple[Rich, ...], int]:
            return tuple(lines[:limit]), max(len(lines) - limit, 0)

        if digest.corrections:
            shown, hidden = capped([as_rich("• ") + Rich((Span(c.text(t), user=True),)) for c in digest.corrections])
            sections.append(Section(_("✏️ Corrections to earlier replies here"), shown, hidden=hidden, tone="warn",
                                    intro=rich(_("These verdicts changed since I gave them in this channel:"))))
        changes = _("🗂️ New and updated claims")
        for verdict, items in digest.changes_by_verdict():
            lines = []
            for ch in items:
                was = (" " + _("(was %(verdict)s)", verdict=verdict_label(ch.old_verdict, locale))
                       if ch.old_verdict else "")
                new = " 🆕" if ch.change == "added" else ""
                src = ch.claim.sources[0] if ch.claim.sources else None
                line_ = (as_rich("• ") + user(display_text(ch.claim.claim, 200)) + as_rich(f"{was}{new} — ")
                         + user(display_text(ch.claim.summary, 240)))
                if src is not None:
                    line_ = line_ + as_rich(" · ") + user(display_text(src.publisher or src.title, 80), url=src.url)
                lines.append(line_)
            shown, hidden = capped(lines)
            sections.append(Section(f"{verdict.emoji} {verdict_label(verdict, locale)} ({t.number(len(items))})",
                                    shown, hidden=hidden, group=changes))
        checked = _("📈 What people checked")
        for heading, counted in ((_("Most checked in this channel"), digest.top_in_channel),
                                 (self._most_checked_here(platform, _), digest.top_in_workspace)):
            if counted:
                shown, hidden = capped([self._counted(cc, locale) for cc in counted])
                sections.append(Section(heading, shown, hidden=hidden, group=checked))
        if digest.unmatched:
            lines = []
            for u in digest.unmatched:
                asked = (rich(_("%(n)s× “%(question)s”"), n=as_rich(t.number(u.count)),
                              question=verbatim(display_text(u.text, 200))) if u.text
                         else rich(_("%(n)s× (text not kept)"), n=as_rich(t.number(u.count))))
                lines.append(asked + as_rich(" · " + _("📝 suggested for review")) if u.suggested else asked)
            shown, hidden = capped(lines)
            sections.append(Section(_("❓ Asked, but not in the database"), shown, hidden=hidden, tone="quiet",
                                    intro=rich(_("For the fact-checkers, most asked first:"))))
        summary = _("%(title)s (%(period)s): %(checks)s checks, %(matches)s matched.", title=title, period=period,
                    checks=counts["checks"], matches=counts["matches"])
        return Reply(Kind.DIGEST, locale, title=as_rich(title), body=(as_rich(period), line), sections=tuple(sections),
                     footer=Rich(tail[0].spans) if tail else Rich(), summary=summary, phrases=phrases(_))

    @staticmethod
    def _most_checked_here(platform: Platform, _: Callable[[str], str]) -> str:
        if platform.server == "server":
            return _("Most checked in this server")
        return _("Most checked in this workspace")

    @staticmethod
    def _counted(cc: CountedClaim, locale: str) -> Rich:
        v = cc.claim.verdict
        _ = words(locale)
        return rich(_("%(n)s× %(emoji)s %(label)s · %(claim)s (`%(id)s`)"),
                    n=as_rich(i18n.translator(locale or "en").number(cc.count)), emoji=as_rich(v.emoji),
                    label=as_rich(verdict_label(v, locale)), claim=display_text(cc.claim.claim, 150), id=cc.claim.id)

    def correction_notice(self, correction: Correction, locale: str = "en") -> Reply:
        """What is posted beside an earlier reply whose verdict changed."""
        text = as_rich("✏️ ") + Rich((Span(correction.text(i18n.translator(locale or "en")), user=True),))
        return Reply(Kind.NOTICE, locale, body=(text,), summary=text.plain(), phrases=phrases(words(locale)))

    def updated_note(self, correction: Correction, platform: Platform, locale: str = "en") -> str:
        """The line an earlier reply is marked with once its correction is posted."""
        _ = words(locale)
        v = correction.claim.verdict
        values = {"emoji": v.emoji, "verdict": verdict_label(v, locale)}
        if platform.corrections_in_thread:
            return _("✏️ Updated: this verdict is now %(emoji)s %(verdict)s; see the correction in the thread.",
                     **values)
        return _("✏️ Updated: this verdict is now %(emoji)s %(verdict)s; see the correction below.", **values)

    def home(self, platform: Platform, locale: str = "en", *, watched: Sequence[str] | None,
             subscriptions: Sequence[Subscription], top: Sequence[CountedClaim], limit: int = 10) -> Reply:
        """A workspace's overview (Slack's App Home): how to use factbot, where watch mode and digests are on,
        this week's most checked claims.  ``watched`` is None when the channels cannot be listed."""
        _ = words(locale)
        how = self.help(platform, locale, admin=True)
        settings = _("⚙️ Channel settings")
        parts: list[Section] = list(how.sections)
        watch = as_rich(platform.watch_command)
        if watched is None:
            parts.append(Section("", (rich(_("**Watch mode**: type `%(watch)s` in a channel to see whether it is on "
                                             "there."), watch=watch),), group=settings))
        elif watched:
            lines = [as_rich("• ") + channel(c) for c in watched]
            parts.append(Section(_("👀 Watch mode is on in"), tuple(lines[:limit * 3]),
                                 hidden=max(len(lines) - limit * 3, 0), group=settings))
        else:
            parts.append(Section("", (rich(_("**👀 Watch mode** is off in every channel. An admin turns it on with "
                                             "`%(watch)s on` in the channel."), watch=watch),), group=settings))
        if subscriptions:
            lines = []
            for sub in subscriptions:
                line_ = as_rich("• ") + channel(sub.channel) + as_rich(": ") + self.describe(sub, locale)
                if not sub.active:
                    line_ = line_ + as_rich(" ") + rich(_("(paused: %(reason)s)"), reason=sub.disabled_reason)
                lines.append(line_)
            parts.append(Section(_("📰 Weekly digests"), tuple(lines[:limit * 3]),
                                 hidden=max(len(lines) - limit * 3, 0), group=settings))
        else:
            parts.append(Section("", (rich(_("**📰 Weekly digests**: no channel gets one yet. An admin subscribes a "
                                             "channel with `%(digest)s subscribe monday 09:00 Europe/Berlin`."),
                                           digest=as_rich(platform.digest_command)),), group=settings))
        week = _("📈 Most checked this week")
        if top:
            parts.append(Section("", tuple(self._counted(cc, locale) for cc in top[:limit]),
                                 hidden=max(len(top) - limit, 0), group=week))
        else:
            parts.append(Section("", (rich(_("Nothing has been checked in this workspace this week yet.")),),
                                 group=week))
        return Reply(Kind.HOME, locale, title=as_rich("👋 factbot"), sections=tuple(parts), summary=how.summary,
                     phrases=phrases(_))

    @staticmethod
    def describe(sub: Subscription, locale: str = "en") -> Rich:
        """When a digest comes: "every Monday at 09:00 (Europe/Berlin)" (validated values, so not escaped)."""
        _ = words(locale)
        days = (_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"), _("Sunday"))
        return rich(_("every %(day)s at %(time)s (%(timezone)s)"), day=as_rich(days[sub.weekday]),
                    time=as_rich(sub.time), timezone=as_rich(sub.timezone))

    # -- the console's own words ------------------------------------------------------------------
    def console_banner(self, claims: int, locale: str = "en") -> str:
        _ = words(locale)
        return _("factbot console · %(n)s claims loaded · /help for commands, /quit to leave", n=claims)

    def console_help(self, locale: str = "en") -> Reply:
        _ = words(locale)
        lines = (
            ("/claim ID", _("show one claim in full")),
            ("/search WORDS", _("list the claims that best match")),
            ("/help", _("this help")),
            ("/quit", _("leave (Ctrl-D works too)")),
        )
        body = (rich(_("Type a claim to check it. Commands:")),
                *(as_rich(f"  {command:<14} {what}") for command, what in lines))
        return Reply(Kind.HELP, locale, body=body, summary=body[0].plain(), phrases=phrases(_))

    def unknown_command(self, command: str, locale: str = "en") -> Reply:
        _ = words(locale)
        text = rich(_("Unknown command %(command)s."), command=display_text(command, 40))
        return Reply(Kind.NOTICE, locale, body=(text, *self.console_help(locale).body), summary=text.plain(),
                     phrases=phrases(_))

    def no_such_claim(self, claim_id: str, locale: str = "en") -> Reply:
        _ = words(locale)
        return self.notice(_("No claim with the id “%(id)s”."), locale, id=display_text(claim_id, 80))


class Chat(Wording):
    """The conversation layer around one ``FactChecker``: one per process, shared by every adapter."""

    def __init__(self, checker: FactChecker, *, max_wait: float | None = None,
                 clock: Callable[[], dt.datetime] | None = None, method_url: str = METHOD_URL):
        super().__init__(method_url)
        self.checker = checker
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.checks = checker.checks  # one queue per process, whichever adapters share it
        if max_wait is not None:
            self.checks.max_wait = max_wait
        self.accepting = True  # False once shutting down: new work is turned away
        self._inflight = _Inflight()

    # -- in-flight work and drain ------------------------------------------------------------
    def track(self) -> None:
        """Count the running handler as in-flight work until it ends (see ``drain``)."""
        task = asyncio.current_task()
        if task is not None and task not in self._inflight.tasks:
            self._inflight.tasks.add(task)
            task.add_done_callback(self._inflight.tasks.discard)

    async def drain(self, timeout: float = 10.0) -> None:
        """Stop taking new work and let the replies being written finish (at most ``timeout`` seconds)."""
        self.accepting = False
        pending = {t for t in self._inflight.tasks if t is not asyncio.current_task() and not t.done()}
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    @property
    def inflight(self) -> int:
        return sum(1 for t in self._inflight.tasks if not t.done())

    async def idle(self) -> None:
        """Wait until no tracked handler runs (a seam for tests: no private locks, no sleeps)."""
        while True:
            pending = {t for t in self._inflight.tasks if t is not asyncio.current_task() and not t.done()}
            if not pending:
                return
            await asyncio.wait(pending)

    # -- the reader's language ---------------------------------------------------------------
    def locale_for(self, request: Request, result: CheckResult | None = None) -> str:
        """The language of a reply: the channel's setting, the server's or workspace's, the platform's locale,
        the language the message was written in, else English (``languages.LanguageSettings.resolve``)."""
        detected = getattr(result, "language", "") if result is not None else ""
        return self.checker.languages.locale_for(platform=request.platform, workspace=request.workspace,
                                                 channel=request.channel, platform_locales=request.locale or None,
                                                 detected=detected or None)

    def rate_limited(self, request: Request, *, every_time: bool) -> Reply | None:
        """None when the person may ask now; otherwise the notice (``transient``), or an empty NOTICE for silence.

        In a channel the notice comes once per burst (``every_time=False``); a command waits for an answer,
        so it gets the notice every time, privately.
        """
        limiter = self.checker.rate_limiter
        decision = limiter.check(request.platform, request.user)
        if decision.allowed:
            return None
        if not (decision.notify or every_time):
            return Reply(Kind.NOTICE)
        locale = self.locale_for(request)
        text = as_rich(i18n.translator(locale).text(limiter.notice(decision)))  # the limiter's words (marked there)
        return Reply(Kind.NOTICE, locale, body=(text,), summary=text.plain(), private=True, transient=True)

    # -- check and reply -------------------------------------------------------------------------
    async def check(self, request: Request, platform: Platform, *, private: bool = False,
                    deletable: bool = True) -> Answer:
        """Check what was asked and word the answer (a claim's id alone shows that claim).

        Under overload (the queue too long) the answer is the ``busy`` notice, with ``busy`` set: every
        adapter shows ``reply`` whatever it is, and ``record`` remembers nothing of it.
        """
        calls = self.checker.calls  # the store's part, off the event loop on PostgreSQL
        by_id = await calls(self._claim_by_id, request.text)
        if by_id is not None:
            locale = await calls(self.locale_for, request)
            return Answer(self.claim_reply(by_id, locale, deletable=deletable and not private, private=private),
                          claim=by_id)
        incoming = request.incoming()
        try:
            result, seconds = await self.checks.run(lambda: self.checker.timed_check(incoming),
                                                    prepare=self._prepare(incoming))
        except Overloaded:
            self.checker.turned_away(request.platform, "check")
            return Answer(self.busy(await calls(self.locale_for, request)), busy=True)
        await calls(self.checker.record_check, incoming, result, seconds)
        locale = await calls(self.locale_for, request, result)
        return Answer(self.result_reply(result, platform, locale, private=private, deletable=deletable), result)

    async def watch(self, request: Request, platform: Platform) -> Answer | None:
        """Watch mode: a reply worth posting unasked, or None (the core decides: channel on, confident, cooldown).

        The cooldown is claimed in the database before the answer is returned (``FactChecker.watch_check``):
        two messages about one claim, in one process or in two, get one reply. Post it inside ``posting``, which
        gives the claim back if the post fails. Under overload watch mode stays quiet rather than answer late.
        """
        incoming = request.incoming()
        # Most channels do not watch: that test (a read) is made off the loop on PostgreSQL, and ends it there.
        if not await self.checker.calls(self.checker.conversations.watching, request.platform, request.workspace,
                                        request.channel):
            return None
        prepare = self._prepare(incoming)
        try:
            watched = await self.checks.run(lambda: self.checker.watch_check(incoming, now=self.clock()),
                                            prepare=prepare)
        except Overloaded:
            self.checker.turned_away(request.platform, "watch")
            return None
        if watched is None:
            return None
        locale = await self.checker.calls(self.locale_for, request, watched.result)
        return Answer(self.result_reply(watched.result, platform, locale, watch=True), watched.result,
                      watch=watched.claim)

    @contextlib.contextmanager
    def posting(self, answer: Answer) -> Iterator[None]:
        """Around the post of a watch-mode answer: if it fails, the cooldown's claim is given back (and the
        error goes on), so the next message about that claim may be answered. A post cancelled half way (the bot
        stopping) keeps the claim: it may have reached the channel, and a missed reply beats a second one."""
        try:
            yield
        except Exception:
            if answer.watch is not None:
                self.checker.conversations.release_watch(answer.watch)
            raise

    def _prepare(self, incoming: IncomingMessage) -> Callable[[], None] | None:
        """The part of a check that runs off the event loop (``CheckQueue.run``): embedding, when matching by meaning."""
        if not self.checker.matcher.semantic:
            return None  # lexical: nothing to move, and no thread hop to pay
        return lambda: self.checker.prepare(incoming)

    def _claim_by_id(self, text: str) -> Claim | None:
        text = (text or "").strip()
        if not text or " " in text or len(text) > 80:
            return None
        return self.checker.claim(text)

    async def record(self, answer: Answer, *, platform: str, workspace: str, channel: str, message_id: str,
                     source: str, requester: str, thread_id: str = "") -> None:
        """Remember a public reply once posted, so 🗑️, 👍/👎, watch cooldowns and corrections work."""
        if answer.busy:
            return
        claim = answer.claim
        await self.checker.calls(
            self.checker.conversations.record_reply,
            platform=platform, workspace=workspace, channel=channel, message_id=message_id, result=answer.result,
            source=source, requester=requester, thread_id=thread_id,
            claim_id=claim.id if claim is not None else None, verdict=claim.verdict.value if claim else None,
            at=self.clock(),
        )

    # -- the features around a reply -------------------------------------------------------------
    def reveal(self, claim_id: str, locale: str = "en") -> Reply:
        """A "Did you mean…" candidate's verdict, for whoever picked it."""
        claim = self.checker.claim(claim_id)
        _ = words(locale)
        if claim is None:
            return self.notice(_("That claim is no longer in the database."), locale)
        return self.claim_reply(claim, locale, deletable=False, private=True, votes=False)

    def show_claim(self, claim_id: str, locale: str = "en", *, private: bool) -> Answer:
        """``/claim id:``: one claim (a retired id shows the claim that stands for it now, and says so), or why not."""
        _ = words(locale)
        cid = (claim_id or "").strip()
        found = self.checker.lookup(cid)
        if found.claim is None:
            return Answer(self.notice(_("No claim with the id “%(id)s”. Start typing in the id box to pick one from "
                                        "the list."), locale, id=cid[:100]))
        return Answer(self.claim_reply(found.claim, locale, deletable=not private, private=private,
                                       notice=found.notice), claim=found.claim)

    def search(self, query: str, locale: str = "en", *, platform: Platform, limit: int = 10) -> Reply:
        return self.search_reply(query, self.checker.search(query, limit=limit), platform, locale)

    def claim_choices(self, current: str, *, limit: int = 25) -> list[Claim]:
        """Claims for an id box's autocomplete: an exact id first, then a prefix search over text and aliases."""
        current = (current or "").strip()
        store = self.checker.store
        exact = self.checker.claim(current) if current else None
        claims = [exact] if exact is not None else []
        if current:
            claims += [claim for claim, _ in store.search_fts(current, limit, prefix=True)]
        else:
            claims += list(itertools.islice(store.iter_claims(), limit))
        return claims

    def vote(self, request: Request, *, reply_message_id: str, up: bool, claim_id: str | None) -> tuple[int, int]:
        """👍 (+1) or 👎 (-1): one vote per person per reply. Returns the counts (up, down)."""
        return self.checker.conversations.vote(
            platform=request.platform, reply_message_id=reply_message_id, user=request.user, vote=1 if up else -1,
            claim_id=claim_id, workspace=request.workspace, channel=request.channel,
        )

    def vote_thanks(self, up: bool, locale: str = "en") -> Reply:
        _ = words(locale)
        return self.notice(_("Thanks, your %(face)s is recorded for the fact-checkers."), locale,
                           face=as_rich("👍" if up else "👎"))

    def may_delete(self, request: Request, *, reply_message_id: str, moderator: bool) -> tuple[bool, str]:
        """(allowed, by whom) for 🗑️: whoever asked, or a moderator (the platform says who is one)."""
        record = self.checker.conversations.reply(request.platform, request.channel, reply_message_id)
        asker = record is not None and record.requester == request.user
        return asker or moderator, "asker" if asker else "moderator"

    def asker_of(self, request: Request, reply_message_id: str) -> bool:
        record = self.checker.conversations.reply(request.platform, request.channel, reply_message_id)
        return record is not None and record.requester == request.user

    def delete_refused(self, platform: Platform, locale: str = "en") -> Reply:
        _ = words(locale)
        if platform.moderator == "manage-messages":
            return self.notice(_("Only the person who asked, or someone who can manage messages, can remove this "
                                 "reply."), locale)
        return self.notice(_("Only the person who asked, or a workspace admin, can remove this reply."), locale)

    def deleted(self, request: Request, reply_message_id: str, by: str) -> None:
        self.checker.conversations.mark_deleted(request.platform, request.channel, reply_message_id)
        log.info("reply removed", extra={"platform": request.platform, "by": by})

    def suggest(self, request: Request) -> Reply:
        """"Suggest for review": the checked words go on the fact-checkers' list (once per person)."""
        locale = self.locale_for(request)
        _ = words(locale)
        if not request.text.strip():
            return self.notice(_("I couldn't read back what was asked; please ask again."), locale)
        core = self.checker
        added = core.conversations.suggest(platform=request.platform, workspace=request.workspace,
                                           channel=request.channel, user=request.user, query=request.text,
                                           keep_text=core.store_query_text)
        if added:
            return self.notice(_("📝 Thanks! The fact-checkers will see this in their review list."), locale)
        return self.notice(_("You already suggested this; it's on the fact-checkers' list."), locale)

    # -- "share in channel" ---------------------------------------------------------------------
    async def keep_for_share(self, result: CheckResult, payload: str, request: Request, *, thread_id: str) -> str:
        """Keep a private answer (its public form already rendered: ``payload``) for its share button."""
        return await self.checker.calls(
            self.checker.conversations.remember_share,
            platform=request.platform, workspace=request.workspace, channel=request.channel, thread_id=thread_id,
            requester=request.user, payload=payload, result=result, ttl=SHARE_TTL, at=self.clock(),
        )

    def take_share(self, platform: str, token: str) -> PendingShare | None:
        """Claim a kept answer for posting (None: unknown, expired, or shared already: a double click)."""
        return self.checker.conversations.take_share(platform, token, ttl=SHARE_TTL, at=self.clock())

    def release_share(self, platform: str, token: str) -> None:
        """The post failed: the button works again."""
        self.checker.conversations.release_share(platform, token)

    def shared(self, share: PendingShare, *, channel: str, message_id: str, requester: str,
               platform: str = "slack") -> None:
        """A kept answer was posted: forget it, and remember the public reply like any other."""
        conversations = self.checker.conversations
        conversations.done_share(platform, share.token)
        conversations.record_reply(
            platform=platform, workspace=share.workspace, channel=channel, message_id=message_id, result=None,
            source="share", requester=requester, thread_id=share.thread_id, claim_id=share.claim_id or None,
            verdict=share.verdict or None, decision=share.decision, at=self.clock(),
        )

    # -- retried deliveries ---------------------------------------------------------------------
    async def first_delivery(self, platform: str, event_id: str) -> bool:
        """True the first time an event id is seen; False for every retry (even after a restart)."""
        return await self.checker.calls(self.checker.conversations.first_delivery, platform, event_id)

    # -- a workspace's settings at a glance -------------------------------------------------------
    def settings_overview(self, platform: str, workspace: str) -> tuple[list[str], list[Subscription], list]:
        """(channels with watch mode on, digest subscriptions, this week's most checked claims) of one workspace."""
        core = self.checker
        now = self.clock()
        watched = core.conversations.watched_channels(platform, workspace)
        subs = [s for s in core.subscriptions.list(platform=platform) if s.workspace == workspace]
        week = build_digest(core.store, platform=platform, workspace=workspace, channel="",
                            since=now - dt.timedelta(days=PREVIEW_DAYS), now=now + dt.timedelta(seconds=1))
        return watched, subs, list(week.top_in_workspace)

    def share_expired(self, platform: Platform, locale: str = "en") -> Reply:
        _ = words(locale)
        return self.notice(_("That answer is too old to share now; please run `%(check)s` again."), locale,
                           check=as_rich(platform.check_command))

    # -- watch mode ------------------------------------------------------------------------------
    def watch_status(self, request: Request, platform: Platform) -> Reply:
        locale = self.locale_for(request)
        _ = words(locale)
        on = self.checker.conversations.watching(request.platform, request.workspace, request.channel)
        state = _("Watch mode is **on** in this channel.") if on else _("Watch mode is **off** in this channel.")
        return self.notice(state + " " + _("Workspace admins change it with `%(watch)s on` or `off`."), locale,
                           watch=as_rich(platform.watch_command))

    def set_watch(self, request: Request, platform: Platform, on: bool, *, can_read: bool = True) -> Reply:
        """Turn watch mode on or off here (the adapter has checked the person may)."""
        locale = self.locale_for(request)
        _ = words(locale)
        core = self.checker
        core.conversations.set_watch(request.platform, request.workspace, request.channel, on, by=request.user)
        if not on:
            return self.notice(_("Watch mode is **off** in this channel. Mention me or use `%(check)s` to check a "
                                 "claim."), locale, private=False, check=as_rich(platform.check_command))
        hours = f"{core.watch_cooldown.total_seconds() / 3600:g}"
        if platform.needs_invite:  # Slack: replies go in the message's thread, and only to channels factbot is in
            text = _("👀 Watch mode is **on** in this channel: I'll reply in the thread of messages that make a claim I "
                     "have a confident verdict on, at most once per claim every %(hours)s h.")
        else:
            text = _("👀 Watch mode is **on** in this channel: I'll reply to messages that make a claim I have a "
                     "confident verdict on, at most once per claim every %(hours)s h.")
        if platform.needs_invite:
            text += " " + _("I need to be a member of the channel to read it (`/invite @factbot`).")
        text += " " + _("Turn it off with `%(watch)s off`.")
        if not can_read:
            text += "\n" + _("⚠️ This bot runs without the message content intent, so it can't read messages here "
                             "yet; whoever runs factbot must switch it on (see the setup guide).")
        return self.notice(text, locale, private=False, hours=as_rich(hours), watch=as_rich(platform.watch_command))

    def admin_only(self, what: str, locale: str = "en") -> Reply:
        """Refused: only admins change watch mode (``what="watch"``) or this channel's digest (``"digest"``)."""
        _ = words(locale)
        if what == "watch":
            return self.notice(_("Only workspace admins, or people on factbot's admin list, can change watch mode."),
                               locale)
        if what == "language":
            return self.notice(_("Only workspace admins, or people on factbot's admin list, can change the language "
                                 "here."), locale)
        return self.notice(_("Only workspace admins, or people on factbot's admin list, can change this channel's "
                             "digest."), locale)

    # -- the language of replies here ----------------------------------------------------------------
    def language_status(self, request: Request, platform: Platform) -> Reply:
        """Which language a reply here gets and what chose it (``show``), with how to change it."""
        resolution = self.checker.languages.resolve(platform=request.platform, workspace=request.workspace,
                                                    channel=request.channel, platform_locales=request.locale or None)
        locale = resolution.locale
        _ = words(locale)
        name = as_rich(i18n.translator(locale).language_name(locale))
        if resolution.source == "channel":
            text = rich(_("Replies in this channel are in **%(language)s**."), language=name)
        elif resolution.source == "workspace":
            text = self._server_language(platform, _, name)
        else:
            text = rich(_("No language is set here: a reply follows the reader's app language, then the language "
                          "of the message, then English."))
        return self._language_notice(text + " " + self._language_usage(platform, _), locale)

    def set_language(self, request: Request, platform: Platform, language: str, *, server: bool = False) -> Reply:
        """Set this channel's language (``server``: the whole server's or workspace's); the adapter checked the
        person may.  The answer is in the language just chosen."""
        languages = self.checker.languages
        try:
            tag = languages.set(request.platform, request.workspace, "" if server else request.channel, language,
                                by=request.user)
        except LanguageError as exc:
            locale = self.locale_for(request)
            _ = words(locale)
            problem = i18n.translator(locale).text(exc.message).rstrip(".。")
            return self.notice(_("⚠️ %(problem)s. Nothing was changed."), locale, problem=problem)
        _ = words(tag)
        name = as_rich(i18n.translator(tag).language_name(tag))
        if server:
            text = self._server_language(platform, _, name)
        else:
            text = rich(_("Replies in this channel are in **%(language)s**."), language=name)
        return self._language_notice(text, tag, private=False)

    def clear_language(self, request: Request, platform: Platform, *, server: bool = False) -> Reply:
        """Remove this channel's (``server``: the server's or workspace's) language setting."""
        removed = self.checker.languages.clear(request.platform, request.workspace,
                                               "" if server else request.channel)
        locale = self.locale_for(request)
        _ = words(locale)
        if not removed:
            return self.notice(_("There was no language setting to remove."), locale)
        if not server:
            text = _("This channel's language setting is removed.")
        elif platform.server == "server":
            text = _("This server's language setting is removed.")
        else:
            text = _("This workspace's language setting is removed.")
        return self.notice(text, locale, private=False)

    @staticmethod
    def _server_language(platform: Platform, _: Callable[[str], str], name: Rich) -> Rich:
        if platform.server == "server":
            return rich(_("Replies in this server are in **%(language)s**, unless a channel sets its own."),
                        language=name)
        return rich(_("Replies in this workspace are in **%(language)s**, unless a channel sets its own."),
                    language=name)

    @staticmethod
    def _language_usage(platform: Platform, _: Callable[[str], str]) -> Rich:
        command, languages = as_rich(platform.language_command), as_rich(i18n.describe_languages())
        if platform.server == "server":
            return rich(_("Change it with `%(command)s set <language>` or `%(command)s clear`; with `server:True` it "
                          "changes the whole server. Languages: %(languages)s."), command=command, languages=languages)
        return rich(_("Change it with `%(command)s set <language>` or `%(command)s clear`; add `workspace` to change "
                      "the whole workspace. Languages: %(languages)s."), command=command, languages=languages)

    def _language_notice(self, text: Rich, locale: str, *, private: bool = True) -> Reply:
        return Reply(Kind.NOTICE, locale, body=(text,), summary=text.plain(), private=private,
                     phrases=phrases(words(locale)))

    # -- weekly digests ----------------------------------------------------------------------------
    def digest_usage(self, platform: Platform, locale: str = "en") -> Reply:
        _ = words(locale)
        return self.notice(_("Usage: `%(digest)s subscribe <day> <time> <timezone>`, e.g. `%(digest)s subscribe monday "
                             "09:00 Europe/Berlin`; `%(digest)s unsubscribe`; `%(digest)s preview`."), locale,
                           digest=as_rich(platform.digest_command))

    def subscribe(self, request: Request, *, day: str, time: str, timezone: str) -> Reply:
        locale = self.locale_for(request)
        _ = words(locale)
        try:
            sub = self.checker.subscriptions.subscribe(
                platform=request.platform, workspace=request.workspace, channel=request.channel, weekday=day,
                time=time, timezone=timezone, created_by=request.user)
        except SubscriptionError as exc:
            return self.notice(_("⚠️ %(problem)s. Nothing was changed."), locale, problem=str(exc))
        return self.notice(_("📰 This channel will get a weekly fact-check digest %(when)s."), locale, private=False,
                           when=self.describe(sub, locale))

    def unsubscribe(self, request: Request) -> Reply:
        locale = self.locale_for(request)
        _ = words(locale)
        if self.checker.subscriptions.unsubscribe(platform=request.platform, workspace=request.workspace,
                                                  channel=request.channel):
            return self.notice(_("This channel's weekly digest is stopped."), locale, private=False)
        return self.notice(_("This channel has no weekly digest."), locale)

    def preview_reply(self, request: Request, platform: Platform) -> Reply:
        """``preview`` worded for the reader, the footer saying it is a preview."""
        digest, footer = self.preview(request, platform)
        return self.digest_reply(digest, platform, self.locale_for(request), footer=footer)

    def digest_for(self, digest: Digest, platform: Platform, *, footer: str = "") -> Reply:
        """A scheduled digest worded in its channel's language."""
        request = Request(platform=digest.platform, workspace=digest.workspace, channel=digest.channel)
        return self.digest_reply(digest, platform, self.locale_for(request), footer=footer)

    def correction_for(self, correction: Correction, platform: Platform) -> tuple[Reply, str]:
        """A correction notice and the line its earlier reply is marked with, in that channel's language."""
        request = Request(platform=correction.platform, workspace=correction.workspace, channel=correction.channel)
        locale = self.locale_for(request)
        return self.correction_notice(correction, locale), self.updated_note(correction, platform, locale)

    def preview(self, request: Request, platform: Platform) -> tuple[Digest, str]:
        """What this channel's digest would say now, and the footer that says it is a preview."""
        locale = self.locale_for(request)
        _ = words(locale)
        core = self.checker
        sub = core.subscriptions.get(request.platform, request.workspace, request.channel)
        if sub is not None:
            digest = preview_digest(core.store, sub, now=self.clock())
            return digest, _("Preview · sent %(when)s", when=self.describe(sub, locale).plain())
        now = self.clock() + dt.timedelta(seconds=1)
        digest = build_digest(core.store, platform=request.platform, workspace=request.workspace,
                              channel=request.channel, since=now - dt.timedelta(days=PREVIEW_DAYS), now=now)
        return digest, _("Preview of the last 7 days · this channel has no digest yet (%(digest)s subscribe)",
                         digest=platform.digest_command)


__all__ = ["Answer", "Chat", "CONSOLE", "Overloaded", "Platform", "Request", "Wording", "verdict_label", "words"]
