"""Flask CLI: `flask --app smsline gateway register` (the Android gateway's webhooks) and `gateway status`."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

gateway = AppGroup("gateway", help="Gateways: register the line with the Android phone, show their states.")


@gateway.command("register")
def gateway_register() -> None:
    """Register $SMSLINE_PUBLIC_URL/sms/android with the phone (or relay) for the four events; list what is there.

    Safe to run again: an event already registered for that address is left as it is."""
    from android_sms_gateway import Webhook, WebhookEvent

    from .android import EVENTS, AndroidTransport

    settings = current_app.extensions["smsline"].settings
    missing = [name for name, value in (("ANDROID_GATEWAY_URL", settings.android_gateway_url),
                                        ("ANDROID_GATEWAY_USER", settings.android_gateway_user),
                                        ("ANDROID_GATEWAY_PASSWORD", settings.android_gateway_password)) if not value]
    if missing:
        raise click.ClickException(f"set {', '.join(missing)} first (the app's home screen shows them)")
    if not settings.public_url:
        raise click.ClickException("set SMSLINE_PUBLIC_URL first: the phone sends texts to the line's public address")
    url = f"{settings.public_url}/sms/android"
    if url.startswith("http://") and not url.startswith("http://127.0.0.1"):
        click.echo("warning: the app sends events only to https:// addresses (or http://127.0.0.1)", err=True)
    try:
        with AndroidTransport(settings).client() as client:
            have = client.get_webhooks()
            for event in EVENTS:
                if any(w.url == url and w.event.value == event for w in have):
                    click.echo(f"{event}: already registered")
                    continue
                client.create_webhook(Webhook(id=None, url=url, event=WebhookEvent(event)))
                click.echo(f"{event}: registered")
            listed = client.get_webhooks()
    except Exception as e:  # the phone is off, asleep, or the address or password is wrong
        raise click.ClickException(f"the phone did not answer, or refused ({type(e).__name__}: {e}); check that it "
                                   "is on, that ANDROID_GATEWAY_URL reaches it, and the user and password") from None
    click.echo("Registered with the phone:")
    for w in sorted(listed, key=lambda w: (w.event.value, w.url)):
        mark = "" if w.url == url else "   (not this line's address)"
        click.echo(f"  {w.event.value:<14} {w.url}  id {w.id}{mark}")


@gateway.command("status")
def gateway_status() -> None:
    """Each gateway and its state, as /healthz shows them."""
    from .gateways import describe

    for row in describe(current_app.extensions["smsline"]) or ["no gateway configured: texts go to the simulator"]:
        click.echo(row)
