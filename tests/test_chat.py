"""The conversation layer in process: each chat feature once, platform-free, asserting the exact reply.

The end-to-end tests (``test_discord_e2e.py``, ``test_slack_http.py``, ``test_slack_socket.py``) drive the
same features through real discord.py and slack-bolt and assert the bodies sent; these assert what the core
decides and says, before any renderer.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from conftest import ENGINES

from bot.core.chat import Chat, Platform, Request
from bot.core.pacing import Overloaded
from bot.core.replies import ActionKind, Kind
from bot.core.service import FactChecker

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
MATCH = "Alibaba stole Claude's guardrails"
DISCORD = Platform(name="discord", watch_command="/factbot watch", digest_command="/factbot digest",
                   language_command="/factbot language", moderator="manage-messages", server="server")
SLACK = Platform(name="slack", needs_invite=True)
LANGUAGES = ("en (English), es (español), de (Deutsch), fr (français), pt (português), ja (日本語), "
             "zh-Hans (中文 (简体))")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def chat(sample_store, clock):
    return Chat(FactChecker(sample_store, watch_cooldown=dt.timedelta(hours=24)), clock=clock)


def ask(text: str = "", *, platform: str = "slack", channel: str = "C1", user: str = "U1", locale: str = "",
        message_id: str = "") -> Request:
    return Request(platform=platform, text=text, workspace="T1", channel=channel, user=user, locale=locale,
                   message_id=message_id)


def check(chat: Chat, request: Request, platform: Platform = SLACK, **kw):
    return asyncio.run(chat.check(request, platform, **kw))


# -- check and reply ---------------------------------------------------------------------------


def test_a_match_is_a_verdict_with_votes_and_remove(chat):
    answer = check(chat, ask(MATCH))
    reply = answer.reply
    assert reply.kind is Kind.VERDICT and not answer.busy and answer.result is not None
    assert reply.summary == ("❌ False: Alibaba illicitly extracted Claude Fable's guardrails and Anthropic apologized"
                             " — Only an aggregator reports it, citing no statement from either company.")
    assert [a.kind for a in reply.actions] == [ActionKind.VOTE_UP, ActionKind.VOTE_DOWN, ActionKind.DELETE]
    assert [a.value for a in reply.actions[:2]] == ["alibaba-stole-guardrails"] * 2


def test_one_reply_in_three_languages(chat):
    """The platform's locale chooses the language of the words around the claim; the claim, which the
    knowledge has only in English, stays as written and says so."""
    seen = {}
    for locale in ("es-ES", "de", "ja-JP"):
        reply = check(chat, ask(MATCH, locale=locale)).reply
        item = reply.items[0]
        seen[locale] = (reply.locale, item.label, item.facts[0].plain(), item.method.plain(),
                        item.language_note.plain())
    assert seen == {
        "es-ES": ("es", "Falso", "Coincidencia 99\xa0%", "Cómo se eligen los veredictos", "(en inglés)"),
        "de": ("de", "Falsch", "Übereinstimmung 99\xa0%", "Wie Urteile gefällt werden", "(auf Englisch)"),
        "ja-JP": ("ja", "誤り", "一致度 99%", "判定の決め方", "（英語）"),
    }


def test_a_claim_id_alone_shows_that_claim(chat):
    answer = check(chat, ask("opus-fallback"))
    assert answer.claim is not None and answer.claim.id == "opus-fallback"
    assert answer.reply.kind is Kind.CLAIM and answer.reply.items[0].label == "True"


def test_no_match_offers_suggest_for_review_once_per_person(chat):
    reply = check(chat, ask("the moon is made of cheese")).reply
    assert reply.kind is Kind.NO_MATCH
    assert reply.body[0].plain() == ("No verified claim in the database matches this. If you think it should be "
                                     "checked, suggest it for review and the fact-checkers will see it.")
    suggest = reply.action(ActionKind.SUGGEST)
    assert suggest is not None and suggest.value == "the moon is made of cheese"
    first = chat.suggest(ask(suggest.value))
    again = chat.suggest(ask(suggest.value))
    assert first.summary == "📝 Thanks! The fact-checkers will see this in their review list."
    assert again.summary == "You already suggested this; it's on the fact-checkers' list."


def test_overload_is_one_busy_answer_that_is_never_remembered(chat, monkeypatch):
    async def full(_check, **_options):
        raise Overloaded()

    monkeypatch.setattr(chat.checks, "run", full)
    answer = check(chat, ask(MATCH, locale="fr"))
    assert answer.busy and answer.result is None and answer.reply.private
    assert answer.reply.summary == ("Je reçois en ce moment plus de questions que je ne peux en traiter, alors j'ai "
                                    "laissé celle-ci de côté plutôt que d'y répondre en retard. Redemandez dans une "
                                    "minute.")
    asyncio.run(chat.record(answer, platform="slack", workspace="T1", channel="C1", message_id="M1", source="mention",
                requester="U1"))
    assert chat.checker.conversations.reply("slack", "C1", "M1") is None
    chat.set_watch(ask(), SLACK, True)
    assert asyncio.run(chat.watch(ask(MATCH), SLACK)) is None  # watch mode stays quiet instead


def test_the_rate_limit_speaks_once_per_burst_in_a_channel_and_every_time_to_a_command(chat):
    request = ask(MATCH, user="U9")
    for _ in range(10):
        assert chat.rate_limited(request, every_time=False) is None
    first = chat.rate_limited(request, every_time=False)
    assert first is not None and (first.kind, first.transient, first.private) == (Kind.NOTICE, True, True)
    assert first.summary == "You're checking a lot of messages at once; try again in 60 s."
    quiet = chat.rate_limited(request, every_time=False)
    assert quiet is not None and not quiet.body  # the rest of the burst: silence
    command = chat.rate_limited(request, every_time=True)
    assert command is not None and command.summary == first.summary


# -- remove, reveal, feedback --------------------------------------------------------------------


def test_only_the_asker_or_a_moderator_may_remove_a_reply(chat):
    answer = check(chat, ask(MATCH))
    asyncio.run(chat.record(answer, platform="slack", workspace="T1", channel="C1", message_id="R1", source="mention",
                requester="U1"))
    assert chat.may_delete(ask(user="U1"), reply_message_id="R1", moderator=False) == (True, "asker")
    assert chat.may_delete(ask(user="U2"), reply_message_id="R1", moderator=True) == (True, "moderator")
    assert chat.may_delete(ask(user="U2"), reply_message_id="R1", moderator=False)[0] is False
    assert chat.delete_refused(SLACK).summary == "Only the person who asked, or a workspace admin, can remove this reply."
    assert chat.delete_refused(DISCORD).summary == ("Only the person who asked, or someone who can manage messages, "
                                                    "can remove this reply.")


def test_reveal_shows_a_candidates_verdict_privately_and_feedback_is_one_vote_per_person(chat):
    reveal = chat.reveal("ford-inspectors")
    assert reveal.kind is Kind.CLAIM and reveal.private and reveal.items[0].label == "Unverified"
    assert not reveal.action(ActionKind.VOTE_UP) and not reveal.action(ActionKind.DELETE)
    assert chat.reveal("gone-claim").summary == "That claim is no longer in the database."
    vote = dict(reply_message_id="R1", claim_id="ford-inspectors")
    assert chat.vote(ask(user="U1"), up=True, **vote) == (1, 0)
    assert chat.vote(ask(user="U1"), up=False, **vote) == (0, 1)
    assert chat.vote(ask(user="U2"), up=False, **vote) == (0, 2)
    assert chat.vote_thanks(True).summary == "Thanks, your 👍 is recorded for the fact-checkers."


# -- watch mode and its cooldown -----------------------------------------------------------------


def test_watch_mode_answers_a_confident_match_once_per_cooldown(chat, clock):
    assert asyncio.run(chat.watch(ask(MATCH), SLACK)) is None  # off: silence
    on = chat.set_watch(ask(), SLACK, True)
    assert not on.private and on.summary == (
        "👀 Watch mode is on in this channel: I'll reply in the thread of messages that make a claim I have a "
        "confident verdict on, at most once per claim every 24 h. I need to be a member of the channel to read it "
        "(/invite @factbot). Turn it off with /factcheck watch off.")
    first = asyncio.run(chat.watch(ask(MATCH, message_id="M1"), SLACK))
    assert first is not None and first.reply.summary.startswith("👀 ❌ False: ")
    asyncio.run(chat.record(first, platform="slack", workspace="T1", channel="C1", message_id="R1", source="watch",
                requester="U1"))
    assert asyncio.run(chat.watch(ask(MATCH, message_id="M2"), SLACK)) is None  # the cooldown holds
    clock.now = T0 + dt.timedelta(hours=25)
    assert asyncio.run(chat.watch(ask(MATCH, message_id="M3"), SLACK)) is not None
    off = chat.set_watch(ask(), DISCORD, False)
    assert off.summary == "Watch mode is off in this channel. Mention me or use /factcheck to check a claim."
    assert chat.watch_status(ask(), DISCORD).summary == ("Watch mode is off in this channel. Workspace admins change "
                                                         "it with /factbot watch on or off.")


# -- digests -----------------------------------------------------------------------------------


def test_digest_subscribe_preview_unsubscribe(chat):
    bad = chat.subscribe(ask(), day="someday", time="09:00", timezone="Europe/Berlin")
    assert bad.private and bad.summary.endswith(". Nothing was changed.") and bad.summary.startswith("⚠️ ")
    ok = chat.subscribe(ask(), day="mon", time="9:00", timezone="europe/berlin")
    assert not ok.private
    assert ok.summary == "📰 This channel will get a weekly fact-check digest every Monday at 09:00 (Europe/Berlin)."
    digest, footer = chat.preview(ask(), SLACK)
    assert footer == "Preview · sent every Monday at 09:00 (Europe/Berlin)"
    assert chat.unsubscribe(ask()).summary == "This channel's weekly digest is stopped."
    assert chat.unsubscribe(ask()).summary == "This channel has no weekly digest."
    _, footer = chat.preview(ask(), DISCORD)
    assert footer == "Preview of the last 7 days · this channel has no digest yet (/factbot digest subscribe)"


# -- the language of replies here ----------------------------------------------------------------


def test_language_show_set_clear_on_slack(chat):
    status = chat.language_status(ask(), SLACK)
    assert status.private and status.summary == (
        "No language is set here: a reply follows the reader's app language, then the language of the message, then "
        "English. Change it with /factcheck language set <language> or /factcheck language clear; add workspace to "
        f"change the whole workspace. Languages: {LANGUAGES}.")
    done = chat.set_language(ask(), SLACK, "es")
    assert (done.locale, done.private, done.summary) == ("es", False, "Las respuestas en este canal están en español.")
    bad = chat.set_language(ask(), SLACK, "klingon")
    assert bad.summary == (f"⚠️ factbot no habla «klingon». Elige uno de estos: {LANGUAGES}. No se cambió nada.")
    whole = chat.set_language(ask(channel="C2"), SLACK, "Deutsch", server=True)
    assert whole.summary == ("Antworten in diesem Workspace sind auf Deutsch, außer ein Kanal legt seine eigene "
                             "Sprache fest.")
    # the channel's setting wins over the workspace's; the workspace's over the reader's app language
    assert check(chat, ask(MATCH, locale="ja-JP")).reply.locale == "es"
    assert check(chat, ask(MATCH, channel="C3", locale="ja-JP")).reply.locale == "de"
    assert chat.clear_language(ask(), SLACK).summary == "Die Spracheinstellung dieses Kanals ist entfernt."
    assert chat.clear_language(ask(), SLACK).summary == "Es gab keine Spracheinstellung zum Entfernen."
    assert chat.clear_language(ask(), SLACK, server=True).summary == "This workspace's language setting is removed."
    assert check(chat, ask(MATCH, locale="ja-JP")).reply.locale == "ja"  # now the reader's app language
    assert check(chat, ask(MATCH)).reply.locale == "en"


def test_language_on_discord_speaks_of_the_server(chat):
    req = ask(platform="discord")
    done = chat.set_language(req, DISCORD, "fr", server=True)
    assert done.summary == "Les réponses sur ce serveur sont en français, sauf si un canal choisit la sienne."
    status = chat.language_status(ask(platform="discord", locale="de"), DISCORD)
    assert status.locale == "fr" and status.summary == (
        "Les réponses sur ce serveur sont en français, sauf si un canal choisit la sienne. Modifiez-la avec "
        "/factbot language set <language> ou /factbot language clear ; avec server:True, cela vaut pour tout le "
        f"serveur. Langues : {LANGUAGES}.")
    assert chat.clear_language(req, DISCORD, server=True).summary == "This server's language setting is removed."
    assert chat.admin_only("language", "pt").summary == (
        "Só administradores do workspace, ou pessoas na lista de administradores do factbot, podem mudar o idioma "
        "aqui.")


# -- digests, corrections and the App Home in the reader's language -----------------------------------------


def test_a_digest_in_a_channel_set_to_spanish_is_worded_in_spanish(chat):
    from bot.core.models import CountedClaim, Digest, DigestTotals, UnmatchedQuestion

    claim = chat.checker.claim(chat.checker.search(MATCH, limit=1)[0].claim.id)
    digest = Digest(platform="slack", workspace="T1", channel="C1", period_start="2026-11-16T08:00:00+00:00",
                    period_end="2026-11-23T08:00:00+00:00", top_in_channel=(CountedClaim(claim, 1234),),
                    unmatched=(UnmatchedQuestion("*who* said that?", 2, True),),
                    totals=DigestTotals(checks=1234, matches=1000))
    english = chat.digest_for(digest, SLACK, footer="tag")
    assert english.summary == "📰 Weekly fact-check digest (Nov 16, 2026 → Nov 23, 2026): 1,234 checks, 1,000 matched."
    chat.checker.languages.set("slack", "T1", "C1", "es", by="U1")
    spanish = chat.digest_for(digest, SLACK, footer="tag")
    assert spanish.locale == "es" and spanish.footer.plain() == "tag"
    assert spanish.summary == ("📰 Resumen semanal de verificaciones (16 nov 2026 → 23 nov 2026): 1.234 verificaciones, "
                               "1.000 con coincidencia.")
    assert [(s.group, s.title) for s in spanish.sections] == [
        ("📈 Lo que se verificó", "Lo más verificado en este canal"),
        ("", "❓ Preguntado, pero no está en la base de datos")]
    assert spanish.sections[1].lines[0].plain() == "2× «*who* said that?» · 📝 propuesto para revisión"
    assert spanish.sections[1].lines[0].spans[1].style == "verbatim"  # shown as typed: no bold on Slack


def test_a_correction_and_its_updated_mark_follow_the_channels_language(chat):
    from bot.core.models import Correction, Verdict

    claim = chat.checker.claim(chat.checker.search(MATCH, limit=1)[0].claim.id)
    correction = Correction(1, "discord", "T1", "C1", "m1", "", claim, Verdict.TRUE, 1)
    notice, updated = chat.correction_for(correction, DISCORD)
    assert notice.body[0].plain() == "✏️ " + correction.text()
    assert updated == f"✏️ Updated: this verdict is now {claim.verdict.emoji} {claim.verdict.label}; see the correction below."
    chat.checker.languages.set("discord", "T1", "", "de", by="U1")
    _, updated = chat.correction_for(correction, Platform(name="slack", corrections_in_thread=True))
    assert updated.startswith("✏️ Aktualisiert: Dieses Urteil lautet jetzt") and updated.endswith("siehe die Korrektur im Thread.")


def test_the_home_overview_in_french(chat):
    home = chat.home(SLACK, "fr", watched=[], subscriptions=[], top=[])
    assert home.kind is Kind.HOME
    groups = [s.group for s in home.sections if s.group]
    assert groups == ["⚙️ Réglages des salons"] * 2 + ["📈 Les plus vérifiées cette semaine"]
    assert home.sections[-1].lines[0].plain() == "Rien n’a encore été vérifié dans cet espace de travail cette semaine."


def test_every_adapter_in_a_process_shares_the_one_check_queue(sample_store):
    """A Discord and a Slack adapter in one process build a Chat each around the one FactChecker: one queue."""
    checker = FactChecker(sample_store, max_wait_seconds=5.0)
    discord_chat, slack_chat = Chat(checker), Chat(checker)
    assert discord_chat.checks is slack_chat.checks is checker.checks
    assert checker.checks.max_wait == 5.0

    checker.checks.pace = 100.0  # as if a check took 100 s
    checker.checks.queued = 1  # one of Discord's checks is waiting
    with pytest.raises(Overloaded):  # so Slack's is turned away: the same queue
        asyncio.run(slack_chat.checks.run(lambda: 1))


# -- the store's calls and the event loop --------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_on_postgresql_an_events_store_calls_leave_the_event_loop_and_on_a_file_they_stay(engine, request,
                                                                                         sample_claims, clock):
    """An answered event asks the store whether it is a retry, checks, logs the check and remembers the reply: on
    PostgreSQL each is a network round trip, made on a thread of its own; on a file, where it was always made."""
    import threading

    from bot.core.store import Store

    store = Store(request.getfixturevalue("pg_url")) if engine == "postgresql" else Store()
    store.upsert_claims(sample_claims)
    chat = Chat(FactChecker(store), clock=clock)
    conversations, languages = chat.checker.conversations, chat.checker.languages
    where: list[bool] = []  # whether each store call ran on the event loop's thread

    def watched(fn):
        def call(*args, **kwargs):
            where.append(threading.current_thread() is threading.main_thread())
            return fn(*args, **kwargs)
        return call

    conversations.first_delivery = watched(conversations.first_delivery)  # type: ignore[method-assign]
    conversations.record_reply = watched(conversations.record_reply)  # type: ignore[method-assign]
    languages.locale_for = watched(languages.locale_for)  # type: ignore[method-assign]
    store.log_check = watched(store.log_check)  # type: ignore[method-assign]

    async def event():
        assert await chat.first_delivery("slack", "Ev1")
        answer = await chat.check(ask(MATCH), SLACK)
        await chat.record(answer, platform="slack", workspace="T1", channel="C1", message_id="R1", source="mention",
                          requester="U1")
        return answer, await chat.first_delivery("slack", "Ev1")

    answer, retry = asyncio.run(event())
    assert answer.reply.summary.startswith("❌ False: ") and not retry
    assert len(where) == 5 and set(where) == ({False} if engine == "postgresql" else {True})
    assert conversations.reply("slack", "C1", "R1").requester == "U1"
    assert len(store.checks()) == 1
    chat.checker.calls.close()
    store.close()


def test_while_postgresql_is_slow_to_answer_the_event_loop_goes_on(pg_url, sample_claims, clock):
    """What an acknowledgement or another chat waits for: a store call stuck on the server holds nothing else up."""
    import threading

    from bot.core.store import Store

    store = Store(pg_url)
    chat = Chat(FactChecker(store), clock=clock)
    gate = threading.Event()
    real = chat.checker.conversations.first_delivery

    def slow(*args):
        gate.wait(30)  # the server has not answered yet
        return real(*args)

    chat.checker.conversations.first_delivery = slow  # type: ignore[method-assign]

    async def run():
        call = asyncio.create_task(chat.first_delivery("slack", "Ev1"))
        turns = 0
        while not call.done() and turns < 20:
            await asyncio.sleep(0.005)  # the loop serves other work meanwhile
            turns += 1
        gate.set()
        return turns, await call

    turns, first = asyncio.run(run())
    assert turns == 20 and first  # twenty turns of the loop while the call waited, then its answer
    chat.checker.calls.close()
    store.close()
