"""The ``factbot check`` and ``factbot chat`` commands: one check, a batch, or a local chat."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any, TextIO

import click

from ..adapters.console import render_text, reply_locale, run_repl
from ..core.formats import parse_batch_line
from ..core.models import IncomingMessage
from ..core.store import StoreError
from ..exitcodes import EXIT_BAD_INPUT
from .root import Context, cli, pass_ctx


# -- check ---------------------------------------------------------------------
@cli.command()
@click.argument("text", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@click.option("--top", default=3, show_default=True, type=click.IntRange(1, 50), help="How many candidates to list.")
@click.option("--batch", type=click.File("r", encoding="utf-8", errors="replace"), metavar="FILE",
              help='JSON lines in ({"id": ..., "text": ...}), JSON lines out; "-" reads stdin.')
@click.option("--explain", is_flag=True, help="Show how each candidate's score was made.")
@pass_ctx
def check(c: Context, text: tuple[str, ...], as_json: bool, top: int, batch: TextIO | None, explain: bool) -> None:
    """Check TEXT against the verified claims and print the verdict, why, and sources.

    The decision is "match" (a verdict applies), "possible" (did you mean...?)
    or "none" (no verified claim matches).
    """
    if batch is not None:
        if text:
            raise click.UsageError("give either TEXT or --batch, not both")
        sys.exit(_check_batch(c, batch, top))
    if not text:
        raise click.UsageError('nothing to check: give the text, e.g. factbot check "Alibaba stole the guardrails"')
    result = c.checker.check(IncomingMessage(text=" ".join(text), platform="cli"), top=top, record=False)
    _say_waiting(c)
    if as_json:
        out = result.to_dict()
        out["matches"] = [m.to_dict() for m in (result.matches or result.candidates)][:top]
        if result.matches:
            out["candidates"] = [m.to_dict() for m in result.candidates][:top]
        click.echo(json.dumps(out, ensure_ascii=False))
    else:
        click.echo(render_text(result, explain=explain, locale=reply_locale(c.checker, result)))


def _say_waiting(c: Context) -> None:
    """On stderr: claims a check could not compare by meaning yet (a large import not embedded so far)."""
    vectors = c.checker.matcher.vectors
    if vectors is not None and vectors.waiting:
        click.echo(f"Note: {vectors.waiting:,} claim(s) wait for vectors and were matched by their words only; "
                   "run `factbot model embed` (a running bot embeds them in the background).", err=True)


def _check_batch(c: Context, stream: TextIO, top: int) -> int:
    """One JSON line out per line in; a bad line gets an error object and does not stop the run."""
    checker = c.checker
    bad = 0
    for lineno, line in enumerate(stream, 1):
        if lineno == 1:
            line = line.removeprefix("\ufeff")  # a UTF-8 byte order mark, as import accepts it
        if not line.strip():
            continue
        try:
            item = parse_batch_line(line)
        except ValueError as exc:
            bad += 1
            click.echo(json.dumps({"line": lineno, "error": f"line {lineno}: {exc}"}))
            continue
        try:
            result = checker.check(IncomingMessage(text=item["text"], platform="batch"), top=top, record=False)
        except (StoreError, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - one line that cannot be checked must not lose the lines after it
            logging.getLogger("factbot.check").debug("batch line %d failed", lineno, exc_info=True)
            bad += 1
            click.echo(json.dumps({"line": lineno, "id": item.get("id"),
                                   "error": f"line {lineno}: could not be checked ({type(exc).__name__})"}))
            continue
        ranked = list(result.matches) + [x for x in result.candidates if x.claim.id not in {m.claim.id for m in result.matches}]
        row: dict[str, Any] = {
            "id": item.get("id"),
            "decision": result.decision.value,
            "matches": [m.to_dict() for m in ranked[:top]],
        }
        if result.notice:
            row["notice"] = result.notice
        click.echo(json.dumps(row, ensure_ascii=False))
    if bad:
        click.echo(f"{bad} line(s) could not be read; see the error objects in the output.", err=True)
    return EXIT_BAD_INPUT if bad else 0


# -- chat ----------------------------------------------------------------------
@cli.command()
@pass_ctx
def chat(c: Context) -> None:
    """Talk to factbot in this terminal, the way it answers in a channel (no token needed)."""
    run_repl(c.checker)
