"""``factbot knowledge``: check the claims shipped with factbot."""

from __future__ import annotations

import sys

import click

from ..core.knowledge import KnowledgeError, load_knowledge
from ..exitcodes import EXIT_BAD_INPUT
from .root import cli, fail


@cli.group()
def knowledge() -> None:
    """The bundled knowledge files: claims, retired ids and translations."""


@knowledge.command("check")
@click.option("--strict", is_flag=True, help="Exit 1 when a translation is stale or missing, too.")
def knowledge_check(strict: bool) -> None:
    """Validate knowledge/ and say, per language, which translations are current, stale or missing.

    Every problem in every file is listed at once (exit 3). A stale translation was written from an older
    English claim or summary: factbot leaves it out (readers get the English) until it is translated again.
    """
    try:
        bundle = load_knowledge()
    except KnowledgeError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    stale: dict[str, list[str]] = {}
    for problem in bundle.stale:
        lang, name = problem.file.split("/")[1:3]
        stale.setdefault(lang, []).append(name.rsplit(".", 1)[0])
    langs = sorted({lang for c in bundle.claims for lang in c.translations} | set(stale))
    click.echo(f"{len(bundle.claims)} claims, {len(bundle.retired)} retired ids: every file is valid.")
    incomplete = False
    for lang in langs:
        have = {c.id for c in bundle.claims if lang in c.translations}
        missing = sorted(c.id for c in bundle.claims if c.id not in have and c.id not in stale.get(lang, []))
        click.echo(f"{lang}: {len(have)} current, {len(stale.get(lang, []))} stale, {len(missing)} missing")
        for cid in sorted(stale.get(lang, [])):
            click.echo(f"  stale:   {cid}")
        for cid in missing:
            click.echo(f"  missing: {cid}")
        incomplete = incomplete or bool(stale.get(lang) or missing)
    if strict and incomplete:
        sys.exit(1)
