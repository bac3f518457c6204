"""The desk's web application: routes, sign-in, roles, CSRF and the security headers.

Every route but the sign-in page (and the stylesheet) needs a session; sessions live in encrypted,
signed cookies (aiohttp-session's EncryptedCookieStorage, Fernet from cryptography) and expire after
``[desk] session_minutes`` even when the cookie is kept. Every form carries the session's CSRF token and
a POST without it is refused. Accounts are read from the database on every request, so a removed
account or a changed role takes effect at once.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hmac
import logging
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import Session, get_session
from aiohttp_session import setup as setup_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from babel import Locale
from babel.dates import get_day_names
from cryptography.fernet import Fernet

from ..config import Settings
from ..core import audit, review
from ..core import i18n as core_i18n
from ..core.accounts import ROLES, Account, AccountError, Accounts
from ..core.corrections import pending_corrections
from ..core.editing import (
    Actor,
    claim_from_form,
    edit_claim,
    remove_claim,
    remove_translation,
    retire_claim,
    save_claims,
    set_translation,
    translation_language,
)
from ..core.i18n import LANGUAGES
from ..core.models import RETIRE_CHANGES, ClaimError, Verdict
from ..core.service import FactChecker
from ..core.store import Store, StoreError
from . import charts
from .i18n import L_, DeskTranslator, choose, nL_
from .i18n import translator as desk_translator

log = logging.getLogger("factbot.desk")
HERE = Path(__file__).parent

CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
PUBLIC = {"/login", "/static/desk.css", "/static/desk.js", "/healthz"}
STORE = web.AppKey("store", Store)
SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
LIMITER: web.AppKey[LoginLimiter] = web.AppKey("limiter")
CHECKER: web.AppKey[Callable[[], FactChecker]] = web.AppKey("checker")
# Typed request keys where aiohttp has them (3.12 and later), plain names before.
USER: Any = web.RequestKey("user", object) if hasattr(web, "RequestKey") else "user"
SESSION: Any = web.RequestKey("session", object) if hasattr(web, "RequestKey") else "session"
LANG: Any = web.RequestKey("lang", str) if hasattr(web, "RequestKey") else "lang"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class LoginLimiter:
    """At most ``attempts`` failed sign-ins per ``window`` seconds, per client address and per account name."""

    def __init__(self, attempts: int = 5, window: float = 600.0, clock: Callable[[], float] = time.monotonic):
        self.attempts, self.window, self.clock = attempts, window, clock
        self.failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str) -> deque[float]:
        q = self.failures[key]
        cutoff = self.clock() - self.window
        while q and q[0] < cutoff:
            q.popleft()
        return q

    def retry_after(self, *keys: str) -> int:
        """Seconds until another attempt is allowed (0: allowed now)."""
        wait = 0.0
        for key in keys:
            q = self._recent(key)
            if len(q) >= self.attempts:
                wait = max(wait, q[0] + self.window - self.clock())
        return int(wait) + 1 if wait else 0

    def failed(self, *keys: str) -> None:
        for key in keys:
            self._recent(key).append(self.clock())

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self.failures.pop(key, None)


def session_key(secret: str) -> tuple[bytes, bool]:
    """The 32-byte cookie key from ``[desk] secret_key`` (url-safe base64, as ``Fernet.generate_key()`` prints);
    a fresh random one when none is set (sessions then end at each restart). Returns (key, configured)."""
    if not secret:
        return secrets.token_bytes(32), False
    try:
        key = base64.urlsafe_b64decode(secret.encode())
    except (ValueError, TypeError):
        key = b""
    if len(key) != 32:
        raise ValueError("desk.secret_key must be 32 bytes in url-safe base64 (make one with: factbot desk secret)")
    return key, True


def new_secret() -> str:
    return Fernet.generate_key().decode()


# -- middlewares -------------------------------------------------------------------
@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        raise
    for k, v in SECURITY_HEADERS.items():
        response.headers.setdefault(k, v)
    return response


@web.middleware
async def auth_and_csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    session = await get_session(request)
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    settings = request.app[SETTINGS]
    user = None
    name = session.get("user")
    if name:
        started = session.get("since", 0)
        if time.time() - started > settings.desk.session_minutes * 60:
            session.pop("user", None)
        else:
            user = Accounts(request.app[STORE]).get(name)
            if user is None:
                session.pop("user", None)
    request[USER] = user
    request[SESSION] = session
    setting = Accounts(request.app[STORE]).language(user.name) if user is not None else ""
    request[LANG] = choose(setting, request.headers.get("Accept-Language", ""))
    t = tr(request)
    if request.method not in ("GET", "HEAD"):
        form = await request.post()
        token = form.get("csrf", "")
        if not isinstance(token, str) or not hmac.compare_digest(token, session["csrf"]):
            raise web.HTTPForbidden(text=t.render(L_("This form has expired or did not come from the desk (CSRF token "
                                                     "missing or wrong): reload the page and try again.")))
    if user is None and request.path not in PUBLIC:
        if request.method in ("GET", "HEAD"):
            raise web.HTTPFound(f"/login?next={request.rel_url.path_qs}" if request.path != "/" else "/login")
        raise web.HTTPUnauthorized(text=t.render(L_("Sign in first.")))
    response = await handler(request)
    response.headers.setdefault("Content-Language", request[LANG])
    return response


def needs(role: str) -> Callable[[Handler], Handler]:
    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def inner(request: web.Request) -> web.StreamResponse:
            user = request[USER]
            if user is None or not user.may(role):
                t = tr(request)
                raise web.HTTPForbidden(text=t.render(L_("This needs the %(role)s role.",
                                                         role=t.gettext(ROLE_LABELS[role]))))
            return await handler(request)

        return inner

    return wrap


# -- helpers ------------------------------------------------------------------------
ROLE_LABELS: dict[str, str] = {"viewer": L_("viewer")["m"], "editor": L_("editor")["m"], "admin": L_("admin")["m"]}
CHANGE_LABELS: dict[str, str] = {"split": L_("split into two or more claims")["m"], "merged": L_("merged into another claim")["m"],
                 "renamed": L_("renamed (a new id)")["m"]}


def tr(request: web.Request) -> DeskTranslator:
    """The desk's words in this reader's language."""
    return desk_translator(request.get(LANG) or "en")


def not_found(request: web.Request, what: dict[str, Any]) -> web.HTTPNotFound:
    return web.HTTPNotFound(text=tr(request).render(what))


def wants_json(request: web.Request) -> bool:
    """A form sent in the background by desk.js (it asks for JSON); without scripts, forms get a redirect."""
    return "application/json" in request.headers.get("Accept", "")


def done(request: web.Request, message: dict[str, Any], location: str) -> web.StreamResponse:
    """The answer to a form that worked: for desk.js the message as JSON, else the message and a redirect."""
    if wants_json(request):
        return web.json_response({"message": tr(request).render(message)})
    flash(request, message)
    raise web.HTTPFound(location)


def flash(request: web.Request, message: dict[str, Any]) -> None:
    session = session_of(request)
    session.setdefault("flash", []).append(message)
    session.changed()


def me(request: web.Request) -> Account:
    """The signed-in account (every handler but the sign-in page runs behind ``auth_and_csrf``)."""
    user = request[USER]
    assert user is not None
    return user


def session_of(request: web.Request) -> Session:
    return request[SESSION]


def actor(request: web.Request) -> Actor:
    return Actor(me(request).name, "desk")


async def ctx(request: web.Request) -> dict[str, Any]:
    """What every page gets: the account, the CSRF token, the messages left for it, the verdicts and roles."""
    session = request.get(SESSION)
    messages = session.pop("flash", []) if session is not None else []
    lang = request.get(LANG) or "en"
    t = desk_translator(lang)
    bot_words = core_i18n.translator(lang)

    def verdict_label(v: str) -> str:
        return Verdict(v).label_in(bot_words) if v in {x.value for x in Verdict} else (v or "")

    def role_label(role: str) -> str:
        return t.gettext(ROLE_LABELS.get(role, role))

    def change_label(change: str) -> str:
        return t.gettext(CHANGE_LABELS.get(change, change))

    return {"user": request.get(USER), "csrf": session["csrf"] if session is not None else "",
            "flashes": [t.render(m) for m in messages], "path": request.path, "verdicts": list(Verdict),
            "roles": ROLES, "lang": lang, "gettext": t.gettext, "ngettext": t.ngettext, "_": t.gettext,
            "verdict_label": verdict_label, "role_label": role_label, "change_label": change_label,
            "language_label": t.name_of}


def page(template: str) -> Callable[[Callable[[web.Request], Awaitable[dict[str, Any]]]], Handler]:
    return aiohttp_jinja2.template(template)


def store_of(request: web.Request) -> Store:
    return request.app[STORE]


# -- sign-in ------------------------------------------------------------------------
@page("login.html")
async def login_form(request: web.Request) -> dict[str, Any]:
    return {"next": _safe_next(request.query.get("next", "/")), "error": ""}


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/"


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
    limiter = request.app[LIMITER]
    keys = (f"ip:{request.remote}", f"name:{name.lower()}")
    wait = limiter.retry_after(*keys)
    context = {"next": _safe_next(str(form.get("next", "/"))), "error": ""}
    if wait:
        log.warning("desk sign-in refused: too many failed attempts (%s)", request.remote)
        context["error"] = tr(request).render(nL_("Too many failed sign-ins. Try again in %(n)s minute.",
                                                  "Too many failed sign-ins. Try again in %(n)s minutes.",
                                                  wait // 60 + 1))
        response = aiohttp_jinja2.render_template("login.html", request, context, status=429)
        response.headers["Retry-After"] = str(wait)
        return response
    account = Accounts(store_of(request)).authenticate(name, password)
    if account is None:
        limiter.failed(*keys)
        log.info("desk sign-in failed for a name of %d characters from %s", len(name), request.remote)
        context["error"] = tr(request).render(L_("Wrong name or password."))
        return aiohttp_jinja2.render_template("login.html", request, context, status=401)
    limiter.succeeded(*keys)
    session = session_of(request)
    session.invalidate()  # a new session at sign-in: no fixation
    session = await get_session(request)
    session["user"] = account.name
    session["since"] = int(time.time())
    session["csrf"] = secrets.token_urlsafe(32)
    log.info("desk sign-in: %s", account.name)
    raise web.HTTPFound(context["next"])


async def logout(request: web.Request) -> web.StreamResponse:
    session_of(request).invalidate()
    raise web.HTTPFound("/login")


async def healthz(request: web.Request) -> web.StreamResponse:
    return web.Response(text="ok")


# -- overview -----------------------------------------------------------------------
@page("overview.html")
async def overview(request: web.Request) -> dict[str, Any]:
    store = store_of(request)
    days = review.daily_checks(store, days=14)
    top = review.top_claims(store, days=30, limit=10)
    totals = {s: sum(d[s] for d in days) for s in ("checks", "match", "possible", "none")}
    return {"daily": charts.daily_bars(days), "top": charts.top_bars(top), "totals": totals,
            "claims": store.count(), "queue": len(review.unanswered(store, limit=10_000)),
            "pending": len(pending_corrections(store, now=dt.datetime.now(dt.UTC))),
            "unreviewed": len(review.feedback(store, reviewed=False, limit=10_000))}


# -- unanswered questions ----------------------------------------------------------
@page("questions.html")
async def questions(request: web.Request) -> dict[str, Any]:
    days = _int(request.query.get("days"), 30, 1, 365)
    return {"groups": review.unanswered(store_of(request), days=days, limit=200), "days": days}


@needs("editor")
async def dismiss(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    reason = str(form.get("reason", "")).strip()
    key = request.match_info["key"]
    if not reason:
        why = L_("Say why the question is dismissed (for example: not a factual claim).")
        if wants_json(request):
            return web.json_response({"error": tr(request).render(why)}, status=422)
        flash(request, why)
        raise web.HTTPFound("/questions")
    group = review.dismiss(store_of(request), key, reason[:500], actor=me(request).name)
    if group is None:
        raise not_found(request, L_("No such question."))
    return done(request, L_("Dismissed: %(question)s", question=group.text) if group.text else
                L_("Dismissed a question kept only as a hash."), "/questions")


# -- claims ------------------------------------------------------------------------------
def _int(value: str | None, default: int, low: int, high: int) -> int:
    try:
        return min(max(int(value or default), low), high)
    except ValueError:
        return default


@page("claims.html")
async def claims(request: web.Request) -> dict[str, Any]:
    store = store_of(request)
    q = request.query.get("q", "").strip()[:300]
    verdict = request.query.get("verdict", "")
    language = request.query.get("language", "").strip()
    origin = request.query.get("origin", "")
    found = []
    if q:
        checker = request.app[CHECKER]()
        found = [c.claim for c in checker.search(q, limit=100)]
    else:
        for claim in store.iter_claims(verdict=verdict or None, origin=origin or None):
            if language and claim.language != language:
                continue
            found.append(claim)
            if len(found) >= 200:
                break
    found = [c for c in found if (not verdict or c.verdict.value == verdict) and (not origin or c.origin == origin)
             and (not language or c.language == language)]
    return {"claims": found, "q": q, "verdict": verdict, "language": language,
            "origin": origin, "total": store.count()}


def _form_values(claim=None, question: review.QuestionGroup | None = None) -> dict[str, str]:
    if claim is not None:
        return {"id": claim.id, "claim": claim.claim, "verdict": claim.verdict.value, "summary": claim.summary,
                "rating_text": claim.rating_text, "claimant": claim.claimant, "claim_date": claim.claim_date,
                "reviewed_at": claim.reviewed_at, "language": claim.language,
                "sources": "\n".join(s.url for s in claim.sources), "aliases": "\n".join(claim.aliases),
                "tags": "\n".join(claim.tags)}
    values = {k: "" for k in ("id", "claim", "verdict", "summary", "rating_text", "claimant", "claim_date",
                              "reviewed_at", "sources", "aliases", "tags")}
    values["language"] = "en"
    if question is not None:
        values["claim"] = question.text
        values["language"] = question.language or "en"  # a claim in the words people asked it in
        values["aliases"] = "\n".join(w for w in question.wordings if w != question.text)
    return values


def _errors(exc: ClaimError) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for field, message in exc.errors:
        base = field.split("[")[0].split(".")[0] or "form"
        out[base].append(f"{field}: {message}" if field != base else message)
    return dict(out)


@needs("editor")
async def claim_new_form(request: web.Request) -> web.StreamResponse:
    key = request.query.get("from", "")
    question = review.find_question(store_of(request), key) if key else None
    return aiohttp_jinja2.render_template("claim_form.html", request, {
        "values": _form_values(question=question), "errors": {}, "from_key": key if question else "",
        "question": question, "claim": None})


@needs("editor")
async def claim_new(request: web.Request) -> web.StreamResponse:
    store = store_of(request)
    form = await request.post()
    values = {k: str(form.get(k, "")) for k in _form_values()}
    key = str(form.get("from", ""))
    try:
        claim = claim_from_form(values)
        if store.get(claim.id) is not None:
            raise ClaimError([("id", f"{claim.id!r} is taken by another claim; choose another id")])
    except ClaimError as exc:
        return aiohttp_jinja2.render_template("claim_form.html", request, {
            "values": values, "errors": _errors(exc), "from_key": key, "claim": None,
            "question": review.find_question(store, key) if key else None}, status=422)
    save_claims(store, [claim], actor(request))
    if key:
        review.resolve_question(store, key, claim.id, actor=me(request).name)
    flash(request, L_("Added %(id)s.", id=claim.id))
    raise web.HTTPFound(f"/claims/{claim.id}")


def _claim_context(store: Store, claim, **extra: Any) -> dict[str, Any]:
    """What the claim page shows: the claim, its edit form, translations, retire form and history."""
    context = {"claim": claim, "values": _form_values(claim), "errors": {},
               "history": audit.entries(store, target=f"claim:{claim.id}", limit=50),
               "pending": [c for c in pending_corrections(store, now=dt.datetime.now(dt.UTC))
                           if c.claim.id == claim.id],
               "tr_values": {"language": "", "claim": "", "summary": "", "aliases": ""}, "tr_errors": {},
               "retire_values": {"change": "", "replaced_by": "", "reason": ""}, "retire_errors": {},
               "stands_for": [r for r in store.redirects() if claim.id in r.replaced_by],
               "languages": [lang for lang in LANGUAGES if lang.split("-")[0] != (claim.language or "en")],
               "changes": RETIRE_CHANGES}
    context.update(extra)
    return context


async def claim_page(request: web.Request) -> web.StreamResponse:
    store = store_of(request)
    claim_id = request.match_info["id"]
    claim = store.get(claim_id)
    if claim is None:
        redirect = store.redirect(claim_id)
        if redirect is None:
            raise not_found(request, L_("No such claim."))
        return aiohttp_jinja2.render_template("retired_claim.html", request, {
            "r": redirect, "now": store.get_many(redirect.replaced_by),
            "history": audit.entries(store, target=f"claim:{claim_id}", limit=50)})
    return aiohttp_jinja2.render_template("claim.html", request, _claim_context(store, claim))


@needs("editor")
async def claim_edit(request: web.Request) -> web.StreamResponse:
    store = store_of(request)
    claim_id = request.match_info["id"]
    old = store.get(claim_id)
    if old is None:
        raise not_found(request, L_("No such claim."))
    form = await request.post()
    values = {k: str(form.get(k, "")) for k in _form_values()}
    values["id"] = claim_id
    try:
        fresh = claim_from_form(values)  # every error at once, as an import reports them
        changes = {k: v for k, v in fresh.to_dict().items() if k not in ("id", "translations")}
        if fresh.verdict != old.verdict and values["rating_text"].strip() == old.rating_text:
            changes["rating_text"] = ""  # the publisher's wording of the old rating no longer fits
        _, new, stats = edit_claim(store, claim_id, changes, actor(request))
    except ClaimError as exc:
        return aiohttp_jinja2.render_template("claim.html", request, _claim_context(
            store, old, values=values, errors=_errors(exc)), status=422)
    if not stats.updated:
        flash(request, L_("Nothing changed."))
    elif new.verdict != old.verdict:
        due = [c for c in pending_corrections(store, now=dt.datetime.now(dt.UTC)) if c.claim.id == claim_id]
        flash(request, nL_("Updated %(id)s (%(old)s → %(new)s); %(n)s earlier reply will get a correction.",
                           "Updated %(id)s (%(old)s → %(new)s); %(n)s earlier replies will get a correction.",
                           len(due), id=claim_id, old=old.verdict.label_in(core_i18n.translator(request[LANG])),
                           new=new.verdict.label_in(core_i18n.translator(request[LANG]))))
    else:
        flash(request, L_("Updated %(id)s.", id=claim_id))
    raise web.HTTPFound(f"/claims/{claim_id}")


@needs("editor")
async def claim_remove(request: web.Request) -> web.StreamResponse:
    claim_id = request.match_info["id"]
    if not remove_claim(store_of(request), claim_id, actor(request)):
        raise not_found(request, L_("No such claim."))
    flash(request, L_("Deleted %(id)s.", id=claim_id))
    raise web.HTTPFound("/claims")


def _claim_or_404(request: web.Request, store: Store, claim_id: str):
    claim = store.get(claim_id)
    if claim is None:
        raise not_found(request, L_("No such claim."))
    return claim


def _translation_values(form: Any, language: str = "") -> dict[str, str]:
    return {"language": language or str(form.get("language", "")).strip(), "claim": str(form.get("claim", "")),
            "summary": str(form.get("summary", "")), "aliases": str(form.get("aliases", ""))}


@needs("editor")
async def translation_add(request: web.Request) -> web.StreamResponse:
    store = store_of(request)
    claim = _claim_or_404(request, store, request.match_info["id"])
    values = _translation_values(await request.post())
    try:
        _, new, _stats = set_translation(store, claim.id, values["language"], values, actor(request), new=True)
    except ClaimError as exc:
        return aiohttp_jinja2.render_template("claim.html", request, _claim_context(
            store, claim, tr_values=values, tr_errors=_errors(exc)), status=422)
    flash(request, L_("Added the translation into %(language)s.",
                      language=tr(request).name_of(translation_language(values["language"]))))
    raise web.HTTPFound(f"/claims/{claim.id}#translations")


async def translation_form(request: web.Request) -> web.StreamResponse:
    store = store_of(request)
    claim = _claim_or_404(request, store, request.match_info["id"])
    lang = request.match_info["lang"]
    t = claim.translations.get(lang)
    if t is None:
        raise not_found(request, L_("No such translation."))
    return aiohttp_jinja2.render_template("translation.html", request, {
        "claim": claim, "lang_code": lang, "stale": lang in claim.stale_translations(), "errors": {},
        "values": {"language": lang, "claim": t.claim, "summary": t.summary, "aliases": "\n".join(t.aliases)}})


@needs("editor")
async def translation_edit(request: web.Request) -> web.StreamResponse:
    store = store_of(request)
    claim = _claim_or_404(request, store, request.match_info["id"])
    lang = request.match_info["lang"]
    if lang not in claim.translations:
        raise not_found(request, L_("No such translation."))
    values = _translation_values(await request.post(), lang)
    try:
        _, _new, stats = set_translation(store, claim.id, lang, values, actor(request))
    except ClaimError as exc:
        return aiohttp_jinja2.render_template("translation.html", request, {
            "claim": claim, "lang_code": lang, "stale": lang in claim.stale_translations(), "values": values,
            "errors": _errors(exc)}, status=422)
    flash(request, L_("Saved the translation into %(language)s.", language=tr(request).name_of(lang)) if stats.updated else
          L_("Nothing changed."))
    raise web.HTTPFound(f"/claims/{claim.id}#translations")


@needs("editor")
async def translation_remove(request: web.Request) -> web.StreamResponse:
    claim_id, lang = request.match_info["id"], request.match_info["lang"]
    if not remove_translation(store_of(request), claim_id, lang, actor(request)):
        raise not_found(request, L_("No such translation."))
    flash(request, L_("Removed the translation into %(language)s.", language=tr(request).name_of(lang)))
    raise web.HTTPFound(f"/claims/{claim_id}#translations")


@needs("editor")
async def claim_retire(request: web.Request) -> web.StreamResponse:
    store = store_of(request)
    claim = _claim_or_404(request, store, request.match_info["id"])
    form = await request.post()
    values = {k: str(form.get(k, "")) for k in ("change", "replaced_by", "reason")}
    try:
        redirect = retire_claim(store, claim.id, change=values["change"], replaced_by=values["replaced_by"],
                                reason=values["reason"], actor=actor(request))
    except ClaimError as exc:
        return aiohttp_jinja2.render_template("claim.html", request, _claim_context(
            store, claim, retire_values=values, retire_errors=_errors(exc)), status=422)
    due = [c for c in pending_corrections(store, now=dt.datetime.now(dt.UTC)) if c.redirect and c.redirect.id == claim.id]
    flash(request, nL_("Retired %(id)s (now checked as %(ids)s); %(n)s earlier reply will get a correction.",
                       "Retired %(id)s (now checked as %(ids)s); %(n)s earlier replies will get a correction.",
                       len(due), id=claim.id, ids=", ".join(redirect.replaced_by)))
    raise web.HTTPFound(f"/claims/{claim.id}")


@page("retired.html")
async def retired(request: web.Request) -> dict[str, Any]:
    store = store_of(request)
    redirects = store.redirects()
    live = store.get_many([t for r in redirects for t in r.replaced_by])
    return {"redirects": redirects, "live": live}


# -- feedback, corrections, digests, audit -------------------------------------------------
@page("feedback.html")
async def feedback(request: web.Request) -> dict[str, Any]:
    show = request.query.get("show", "open")
    rows = review.feedback(store_of(request), reviewed={"open": False, "reviewed": True}.get(show))
    for r in rows:
        r["link"] = review.message_link(r["platform"], r["workspace"], r["channel"], r["thread_id"] or "")
    return {"rows": rows, "show": show}


@needs("editor")
async def feedback_review(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    ok = review.review_feedback(store_of(request), str(form.get("platform", "")), str(form.get("message", "")),
                                str(form.get("voter", "")), actor=me(request).name)
    if not ok:
        raise not_found(request, L_("No such feedback."))
    return done(request, L_("Marked as reviewed."), "/feedback")


@page("corrections.html")
async def corrections(request: web.Request) -> dict[str, Any]:
    store = store_of(request)
    return {"pending": pending_corrections(store, now=dt.datetime.now(dt.UTC)),
            "sent": review.sent_corrections(store)}


@page("digests.html")
async def digests(request: web.Request) -> dict[str, Any]:
    store = store_of(request)
    names = get_day_names("abbreviated", locale=Locale.parse(request[LANG], sep="-"))
    return {"subs": review.digest_runs(store), "failures": review.digest_failures(store),
            "weekdays": [names[i] for i in range(7)]}


@page("audit.html")
async def audit_log(request: web.Request) -> dict[str, Any]:
    target = request.query.get("target", "").strip() or None
    who = request.query.get("actor", "").strip() or None
    return {"entries": audit.entries(store_of(request), target=target, actor=who, limit=200),
            "target": target or "", "actor": who or ""}


# -- one's own account ------------------------------------------------------------------------
@page("account.html")
async def account(request: web.Request) -> dict[str, Any]:
    t = tr(request)
    return {"setting": Accounts(store_of(request)).language(me(request).name),
            "choices": [(tag, t.language_name(tag)) for tag in LANGUAGES]}


async def account_save(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    language = str(form.get("language", ""))
    if language and language not in LANGUAGES:
        raise web.HTTPBadRequest(text=tr(request).render(L_("The desk does not speak %(language)s.",
                                                            language=language[:20])))
    Accounts(store_of(request)).set_language(me(request).name, language, actor=me(request).name, via="desk")
    request[LANG] = choose(language, request.headers.get("Accept-Language", ""))
    flash(request, L_("Saved: the desk speaks %(language)s to you.", language=tr(request).language_name(request[LANG]))
          if language else L_("Saved: the desk speaks the language your browser asks for."))
    raise web.HTTPFound("/account")


# -- users (admins) ----------------------------------------------------------------------------
@needs("admin")
async def users(request: web.Request) -> web.StreamResponse:
    return aiohttp_jinja2.render_template("users.html", request, {
        "accounts": Accounts(store_of(request)).list(), "error": ""})


@needs("admin")
async def user_add(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    accounts = Accounts(store_of(request))
    try:
        accounts.add(str(form.get("name", "")).strip(), str(form.get("role", "")), str(form.get("password", "")),
                     actor=me(request).name, via="desk")
    except AccountError as exc:
        return aiohttp_jinja2.render_template("users.html", request, {
            "accounts": accounts.list(), "error": str(exc)}, status=422)
    flash(request, L_("Added the account %(name)s.", name=str(form.get("name", "")).strip()))
    raise web.HTTPFound("/users")


@needs("admin")
async def user_change(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    name = request.match_info["name"]
    accounts = Accounts(store_of(request))
    try:
        if form.get("action") == "remove":
            if name == me(request).name:
                raise AccountError(tr(request).render(L_("You cannot remove your own account here (use factbot "
                                                         "desk user remove).")))
            if not accounts.remove(name, actor=me(request).name, via="desk"):
                raise not_found(request, L_("No such account."))
            flash(request, L_("Removed the account %(name)s.", name=name))
        else:
            accounts.set_role(name, str(form.get("role", "")), actor=me(request).name, via="desk")
            flash(request, L_("%(name)s is now %(role)s.", name=name, role=str(form.get("role", ""))))
    except AccountError as exc:
        return aiohttp_jinja2.render_template("users.html", request, {
            "accounts": accounts.list(), "error": str(exc)}, status=422)
    raise web.HTTPFound("/users")


async def on_store_error(request: web.Request, exc: StoreError) -> web.Response:
    log.warning("desk: database error: %s", exc)
    return web.Response(status=503, text=tr(request).render(L_("The database could not be written now: %(error)s",
                                                               error=str(exc))))


@web.middleware
async def store_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except StoreError as exc:
        return await on_store_error(request, exc)


def create_app(settings: Settings, store: Store, *, checker: Callable[[], FactChecker] | None = None,
               limiter: LoginLimiter | None = None) -> web.Application:
    """The desk over ``store``. ``checker`` makes the FactChecker whose index the claim search uses (made at
    the first search when omitted)."""
    desk = settings.desk
    key, configured = session_key(desk.secret_key)
    if not configured:
        log.warning("desk.secret_key is not set: a new session key was made, and everyone signs in again after "
                    "a restart (see docs/desk.md)")
    app = web.Application(middlewares=[security_headers, store_errors])
    storage = EncryptedCookieStorage(key, cookie_name="factbot_desk", max_age=desk.session_minutes * 60,
                                     httponly=True, samesite="Strict", secure=desk.secure_cookies)
    setup_session(app, storage)
    app.middlewares.append(auth_and_csrf)
    env = aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True,
                               undefined=jinja2.StrictUndefined, context_processors=[ctx],
                               extensions=["jinja2.ext.i18n"])
    # The words come from each request's own gettext and ngettext (ctx); the extraction is trimmed the same way.
    env.policies["ext.i18n.trimmed"] = True
    app[STORE] = store
    app[SETTINGS] = settings
    app[LIMITER] = limiter or LoginLimiter()
    made: list[FactChecker] = []

    def lazy_checker() -> FactChecker:
        if not made:
            if checker is not None:
                made.append(checker())
            else:
                from ..core.service import checker_for

                made.append(checker_for(store, settings))
        return made[0]

    app[CHECKER] = lazy_checker
    r = app.router
    r.add_get("/login", login_form)
    r.add_post("/login", login)
    r.add_post("/logout", logout)
    r.add_get("/healthz", healthz)
    r.add_static("/static", HERE / "static", append_version=False)
    r.add_get("/", overview)
    r.add_get("/questions", questions)
    r.add_post("/questions/{key}/dismiss", dismiss)
    r.add_get("/claims", claims)
    r.add_get("/claims/new", claim_new_form)
    r.add_post("/claims/new", claim_new)
    r.add_get("/claims/{id}", claim_page)
    r.add_post("/claims/{id}", claim_edit)
    r.add_post("/claims/{id}/remove", claim_remove)
    r.add_post("/claims/{id}/retire", claim_retire)
    r.add_post("/claims/{id}/translations", translation_add)
    r.add_get("/claims/{id}/translations/{lang}", translation_form)
    r.add_post("/claims/{id}/translations/{lang}", translation_edit)
    r.add_post("/claims/{id}/translations/{lang}/remove", translation_remove)
    r.add_get("/retired", retired)
    r.add_get("/feedback", feedback)
    r.add_post("/feedback/review", feedback_review)
    r.add_get("/corrections", corrections)
    r.add_get("/digests", digests)
    r.add_get("/audit", audit_log)
    r.add_get("/account", account)
    r.add_post("/account", account_save)
    r.add_get("/users", users)
    r.add_post("/users", user_add)
    r.add_post("/users/{name}", user_change)
    return app
