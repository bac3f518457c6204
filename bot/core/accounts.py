"""Review-desk accounts: names, roles and argon2 password hashes (argon2-cffi). Passwords are never stored
or logged, only their hashes; a hash made with older parameters is upgraded at the next sign-in."""

from __future__ import annotations

import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from . import audit
from .models import utcnow
from .store import Store

ROLES = ("viewer", "editor", "admin")  # each may do what the ones before it may
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MIN_PASSWORD = 10

_hasher = PasswordHasher()
# Verified against when a name is unknown, so a wrong name takes as long as a wrong password.
_DUMMY = _hasher.hash("not a password of anyone's")


class AccountError(ValueError):
    pass


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    created_at: str
    updated_at: str

    def may(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def _check_name(name: str) -> None:
    if not NAME_RE.fullmatch(name or ""):
        raise AccountError(f"{name!r} is not a usable account name (letters, digits, '_', '.', '@' and '-', at most 64)")


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(f"the password must be at least {MIN_PASSWORD} characters")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"{role!r} is not a role; use one of {', '.join(ROLES)}")


class Accounts:
    def __init__(self, store: Store):
        self.store = store

    def get(self, name: str) -> Account | None:
        r = self.store.db.execute("SELECT name, role, created_at, updated_at FROM desk_users WHERE name = ?",
                                  [name]).fetchone()
        return None if r is None else Account(*r)

    def list(self) -> list[Account]:
        return [Account(*r) for r in self.store.db.execute(
            "SELECT name, role, created_at, updated_at FROM desk_users ORDER BY name")]

    def add(self, name: str, role: str, password: str, *, actor: str, via: str) -> Account:
        _check_name(name)
        _check_role(role)
        _check_password(password)
        if self.get(name) is not None:
            raise AccountError(f"an account named {name!r} exists already (change it with passwd, or remove it first)")
        now = utcnow()
        with self.store.transaction():
            self.store.db.conn.execute(
                "INSERT INTO desk_users(name, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                [name, role, _hasher.hash(password), now, now])
            audit.record(self.store, actor=actor, via=via, action="user.add", target=f"user:{name}",
                         after={"name": name, "role": role})
        return self.get(name)  # type: ignore[return-value]

    def set_password(self, name: str, password: str, *, actor: str, via: str) -> None:
        _check_password(password)
        if self.get(name) is None:
            raise AccountError(f"no account named {name!r}")
        with self.store.transaction():
            self.store.db.conn.execute("UPDATE desk_users SET password_hash = ?, updated_at = ? WHERE name = ?",
                                       [_hasher.hash(password), utcnow(), name])
            audit.record(self.store, actor=actor, via=via, action="user.passwd", target=f"user:{name}")

    def set_role(self, name: str, role: str, *, actor: str, via: str) -> None:
        _check_role(role)
        old = self.get(name)
        if old is None:
            raise AccountError(f"no account named {name!r}")
        with self.store.transaction():
            self.store.db.conn.execute("UPDATE desk_users SET role = ?, updated_at = ? WHERE name = ?",
                                       [role, utcnow(), name])
            audit.record(self.store, actor=actor, via=via, action="user.role", target=f"user:{name}",
                         before={"role": old.role}, after={"role": role})

    # The desk's language for an account (docs/desk.md), kept in ``meta`` under ``desk.language:NAME``;
    # "" means "as the browser asks".
    def language(self, name: str) -> str:
        return self.store.get_meta(f"desk.language:{name}") or ""

    def set_language(self, name: str, language: str, *, actor: str, via: str) -> None:
        old = self.get(name)
        if old is None:
            raise AccountError(f"no account named {name!r}")
        before = self.language(name)
        if before == language:
            return
        with self.store.transaction():
            self.store.set_meta(f"desk.language:{name}", language)
            audit.record(self.store, actor=actor, via=via, action="user.language", target=f"user:{name}",
                         before={"language": before}, after={"language": language})

    def remove(self, name: str, *, actor: str, via: str) -> bool:
        old = self.get(name)
        if old is None:
            return False
        with self.store.transaction():
            self.store.db.conn.execute("DELETE FROM desk_users WHERE name = ?", [name])
            self.store.db.conn.execute("DELETE FROM meta WHERE key = ?", [f"desk.language:{name}"])
            audit.record(self.store, actor=actor, via=via, action="user.remove", target=f"user:{name}",
                         before={"name": name, "role": old.role})
        return True

    def authenticate(self, name: str, password: str) -> Account | None:
        row = self.store.db.execute("SELECT password_hash FROM desk_users WHERE name = ?", [name]).fetchone()
        try:
            _hasher.verify(row[0] if row else _DUMMY, password or "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if _hasher.check_needs_rehash(row[0]):
            with self.store.transaction():
                self.store.db.conn.execute("UPDATE desk_users SET password_hash = ? WHERE name = ?",
                                           [_hasher.hash(password), name])
        return self.get(name)
