"""``factbot desk``: serve the review desk, and manage its accounts.

    factbot desk [--host H] [--port P]            serve it (default 127.0.0.1:8080, [desk] host/port)
    factbot desk user add NAME --role editor      make an account (asks for the password)
    factbot desk user passwd NAME                 set a new password
    factbot desk user role NAME admin             change a role
    factbot desk user remove NAME
    factbot desk user list [--json]
    factbot desk secret                           print a new session key for [desk] secret_key

Passwords are asked for without echo, or read from the first line of standard input with
``--password-stdin`` (for scripts); they are never taken as an argument, which a process list would show.
"""

from __future__ import annotations

import json
import sys

import click

from ..core.accounts import ROLES, AccountError, Accounts
from ..core.audit import cli_actor

EXIT_NOT_FOUND = 1
EXIT_BAD_INPUT = 3


def _root(ctx: click.Context):
    return ctx.find_root().obj


def _fail(message: str, code: int) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)


@click.group("desk", invoke_without_command=True)
@click.option("--host", help="Address to listen on (default [desk] host, env FACTBOT_DESK_HOST, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default [desk] port, env FACTBOT_DESK_PORT, 8080).")
@click.pass_context
def desk_cli(ctx: click.Context, host: str | None, port: int | None) -> None:
    """The review desk: a web page for the people who keep the claims (docs/desk.md)."""
    if ctx.invoked_subcommand is not None:
        return
    from .server import serve

    root = _root(ctx)
    settings = root.settings
    try:
        code = serve(settings, root.store, host=host or settings.desk.host, port=port or settings.desk.port)
    except ValueError as exc:
        _fail(str(exc), EXIT_BAD_INPUT)
    sys.exit(code)


@desk_cli.command("secret")
def desk_secret() -> None:
    """Print a new session key for [desk] secret_key (or FACTBOT_DESK_SECRET_KEY)."""
    from .app import new_secret

    click.echo(new_secret())


@desk_cli.group("user")
def user() -> None:
    """Desk accounts: viewers read, editors change claims and the queue, admins manage accounts."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="editor", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.pass_context
def user_add(ctx: click.Context, name: str, role: str, password_stdin: bool) -> None:
    """Make an account."""
    accounts = Accounts(_root(ctx).store)
    if accounts.get(name) is not None:
        _fail(f"an account named {name!r} exists already (change it with passwd, or remove it first)", EXIT_BAD_INPUT)
    try:
        accounts.add(name, role, _password(password_stdin), actor=cli_actor(), via="cli")
    except AccountError as exc:
        _fail(str(exc), EXIT_BAD_INPUT)
    click.echo(f"Added {name} ({role}).")


@user.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.pass_context
def user_passwd(ctx: click.Context, name: str, password_stdin: bool) -> None:
    """Set a new password."""
    accounts = Accounts(_root(ctx).store)
    if accounts.get(name) is None:
        _fail(f"no account named {name!r} (see: factbot desk user list)", EXIT_NOT_FOUND)
    try:
        accounts.set_password(name, _password(password_stdin), actor=cli_actor(), via="cli")
    except AccountError as exc:
        _fail(str(exc), EXIT_BAD_INPUT)
    click.echo(f"Changed the password of {name}.")


@user.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice(ROLES))
@click.pass_context
def user_role(ctx: click.Context, name: str, role: str) -> None:
    """Change an account's role."""
    accounts = Accounts(_root(ctx).store)
    if accounts.get(name) is None:
        _fail(f"no account named {name!r} (see: factbot desk user list)", EXIT_NOT_FOUND)
    accounts.set_role(name, role, actor=cli_actor(), via="cli")
    click.echo(f"{name} is now {role}.")


@user.command("remove")
@click.argument("name")
@click.pass_context
def user_remove(ctx: click.Context, name: str) -> None:
    """Remove an account."""
    if not Accounts(_root(ctx).store).remove(name, actor=cli_actor(), via="cli"):
        _fail(f"no account named {name!r} (see: factbot desk user list)", EXIT_NOT_FOUND)
    click.echo(f"Removed {name}.")


@user.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def user_list(ctx: click.Context, as_json: bool) -> None:
    """The accounts and their roles (never their passwords)."""
    accounts = Accounts(_root(ctx).store).list()
    for a in accounts:
        if as_json:
            click.echo(json.dumps({"name": a.name, "role": a.role, "created_at": a.created_at}))
        else:
            click.echo(f"{a.name:<24} {a.role:<7} since {a.created_at[:10]}")
    if not accounts:
        click.echo("No accounts yet: factbot desk user add NAME --role admin", err=True)
