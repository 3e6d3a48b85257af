"""Flask CLI: `flask --app smsline organizer add NUMBER`."""
from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from .bootstrap import add_organizer
from .phones import mask, normalize

organizer = AppGroup("organizer", help="Manage organizers.")
reports = AppGroup("reports", help="Bad-date reports.")
keys = AppGroup("keys", help="The secret key: rotation.")


@organizer.command("add")
@click.argument("number")
def organizer_add(number: str) -> None:
    """Make NUMBER an organizer (a consenting member)."""
    line = current_app.extensions["smsline"]
    e164 = normalize(number, line.settings.default_region)
    if not e164:
        raise click.BadParameter("write it like +14155550100", param_hint="NUMBER")
    add_organizer(line, e164)
    click.echo(f"organizer {mask(e164)} added")


@reports.command("export")
def reports_export() -> None:
    """CSV on stdout of approved reports that still count: ids, dates, categories, redacted text."""
    from .network import export_csv

    export_csv(current_app.extensions["smsline"], sys.stdout)


@keys.command("rotate")
def keys_rotate() -> None:
    """Seal again under SMSLINE_SECRET_KEY what SMSLINE_SECRET_KEY_OLD sealed, and move number lookups."""
    line = current_app.extensions["smsline"]
    counts = line.store.rotate()
    click.echo(f"resealed {counts['resealed']} values; moved {counts['lookups']} number lookups; "
               f"{counts['words_left']} covert words still under an older key (they move when next used)")


def register(app) -> None:
    app.cli.add_command(organizer)
    app.cli.add_command(reports)
    app.cli.add_command(keys)
