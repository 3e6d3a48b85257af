"""smsline: an SMS-only check-in safety line."""
from __future__ import annotations

import logging

# Nothing heavier at import time: the web's gunicorn master imports smsline.server (the worker class)
# before forking, and gevent must patch the standard library in each worker before redis, rq or Flask load.

log = logging.getLogger(__name__)


def create_app(settings_override: dict | None = None, *, redis=None, transport=None, clock=None) -> Flask:
    """Build the web app: defaults, then the environment, then the test mapping on top."""
    from flask import Flask, Response

    from . import bootstrap, config

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = config.override(config.from_env(), settings_override)
    try:
        line = bootstrap.build(settings, redis=redis, transport=transport, clock=clock)
    except bootstrap.NoRedis as e:
        import click
        from flask.cli import NoAppException

        if click.get_current_context(silent=True) is not None:  # `flask --app smsline ...`: one clear line
            raise NoAppException(str(e)) from None
        raise
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    app.extensions["smsline"] = line

    from .webhook import bp

    app.register_blueprint(bp)
    if settings.simulator_enabled:
        try:
            from .simulator import bp as sim_bp

            app.register_blueprint(sim_bp)
        except ImportError:
            pass
    from .cli import register

    register(app)

    @app.errorhandler(Exception)
    def _never_500(e):  # a request never ends in a bare 500: answer Twilio with an empty reply
        from werkzeug.exceptions import HTTPException

        if isinstance(e, HTTPException):
            return e
        log.exception("request failed")
        return Response('<?xml version="1.0" encoding="UTF-8"?><Response />', status=200, mimetype="application/xml")

    if settings.android_configured and not settings.twilio_auth_token:
        log.info("no Twilio account: /sms and /sms/status refuse every request; texts come by /sms/android")
    elif not settings.twilio_auth_token:  # config.validate (in bootstrap.build) refused half an account
        log.warning("no Twilio account: webhook signatures are not checked (simulator mode)")
    try:
        bootstrap.seed_organizers(line)
        bootstrap.check_redis(line)
    except Exception:
        log.warning("Redis is not reachable yet; organizers are seeded when it is")
    if redis is None:  # a real process, not a test wiring its own Redis
        from . import monitor

        monitor.start(line)
    return app
