"""Flask CLI: `flask --app smsline organizer add NUMBER`."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from .bootstrap import add_organizer
from .phones import mask, normalize

organizer = AppGroup("organizer", help="Manage organizers.")


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


def register(app) -> None:
    app.cli.add_command(organizer)
