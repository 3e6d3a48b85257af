"""Flask CLI: `flask --app smsline organizer add NUMBER`, `members`, `timers`, `alerts`, `reports export`.

Without REDIS_URL these find the embedded Redis `make run` started under var/ (bootstrap.redis_from).
Numbers are shown masked to their last four digits, as everywhere else.
"""
from __future__ import annotations

import sys
from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from .bootstrap import add_organizer
from .phones import mask, normalize

organizer = AppGroup("organizer", help="Manage organizers.")
reports = AppGroup("reports", help="Bad-date reports.")
keys = AppGroup("keys", help="The secret key: rotation.")


def _line():
    return current_app.extensions["smsline"]


def _number(raw: str) -> str:
    e164 = normalize(raw, _line().settings.default_region)
    if not e164:
        raise click.BadParameter("write it like +14155550100", param_hint="NUMBER")
    return e164


def _when(ts: float | None) -> str:
    line = _line()
    return datetime.fromtimestamp(ts, line.tz).strftime("%a %H:%M") if ts else "-"


def _open_for(seconds: float) -> str:
    """Real time elapsed (the CLI may not share make run's fast demo clock, so it shows wall time)."""
    seconds = max(0, int(seconds))
    return f"open {seconds} s" if seconds < 120 else f"open {seconds // 60} min"


@organizer.command("add")
@click.argument("number")
def organizer_add(number: str) -> None:
    """Make NUMBER an organizer (a consenting member)."""
    e164 = _number(number)
    add_organizer(_line(), e164)
    click.echo(f"organizer {mask(e164)} added")


@organizer.command("remove")
@click.argument("number")
def organizer_remove(number: str) -> None:
    """Take the organizer role from NUMBER; they stay a member. The last organizer cannot be removed."""
    line = _line()
    e164 = _number(number)
    pid = line.store.pid_for(e164)
    outcome = line.store.remove_organizer(pid) if pid else "not_organizer"
    if outcome == "not_organizer":
        raise click.ClickException(f"{mask(e164)} is not an organizer")
    if outcome == "last":
        raise click.ClickException(f"{mask(e164)} is the last organizer: add another one first")
    click.echo(f"organizer {mask(e164)} removed (still a member)")
    configured = {normalize(n, line.settings.default_region) for n in line.settings.organizers}
    if e164 in configured:
        click.echo("note: SMSLINE_ORGANIZERS still names this number, so it is an organizer again at the next start")


@organizer.command("list")
def organizer_list() -> None:
    """Organizers, masked."""
    line = _line()
    for pid in line.store.organizers():
        person = line.store.person(pid)
        click.echo(f"{mask(person.get('number'))}  {person.get('alias', '')}")


@click.command("members")
@with_appcontext
def members() -> None:
    """Members, with their confirmed buddies and who needs a buddy (as MEMBERS flags them)."""
    from .oversight import roster

    rows = roster(_line())
    click.echo(f"{len(rows)} members")
    for r in rows:
        flags = []
        if not r.buddies:
            flags.append("NO CONFIRMED BUDDY")
        if r.unreachable:
            flags.append(f"{r.unreachable} BUDDY CANNOT BE REACHED")
        role = "organizer" if r.organizer else "member"
        click.echo(f"{mask(r.number):9} {r.alias or '-':20} {role:9} buddies: {r.buddies}  {', '.join(flags)}".rstrip())


@click.command("timers")
@with_appcontext
def timers() -> None:
    """Running timers: whose, their state, when they end, alert round and who ACKed."""
    from .oversight import running_timers
    from .rendering import display_name

    line = _line()
    found = running_timers(line)
    click.echo(f"{len(found)} running timers")
    for alias, number, t in found:
        ack = display_name(line, t.acked_by) if t.acked_by else "-"
        click.echo(f"{mask(number):9} {alias or '-':20} {t.status:9} started {_when(t.started_at)}  "
                   f"ends {_when(t.ends_at)}  round {t.round}  ack {ack}")


@click.command("alerts")
@with_appcontext
def alerts() -> None:
    """Open alerts: whose, since when, how long, who ACKed."""
    from .oversight import open_alerts

    line = _line()
    found = open_alerts(line, line.now())
    click.echo(f"{len(found)} open alerts")
    for a in found:
        kind = " (silent alarm)" if a.covert else ""
        click.echo(f"{mask(a.number):9} {a.name or '-':20} since {_when(a.since)} ({_open_for(line.now() - a.since)})  "
                   f"round {a.rounds}  ack {a.acked_by or 'none yet'}{kind}")


@reports.command("export")
def reports_export() -> None:
    """CSV on stdout of approved reports that still count: ids, dates, categories, redacted text."""
    from .reports import export_csv

    export_csv(_line(), sys.stdout)


@keys.command("rotate")
def keys_rotate() -> None:
    """Seal again under SMSLINE_SECRET_KEY what SMSLINE_SECRET_KEY_OLD sealed, and move number lookups."""
    line = current_app.extensions["smsline"]
    counts = line.store.rotate()
    click.echo(f"resealed {counts['resealed']} values; moved {counts['lookups']} number lookups; "
               f"{counts['words_left']} covert words still under an older key (they move when next used)")


def register(app) -> None:
    for command in (organizer, reports, keys, members, timers, alerts):
        app.cli.add_command(command)
    _register_gateway(app)


def _register_gateway(app) -> None:
    from .gateway_cli import gateway

    app.cli.add_command(gateway)
