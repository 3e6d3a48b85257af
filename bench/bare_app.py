"""The yardstick for bench/webhook.py: the least an inbound-SMS webhook can do.

It checks Twilio's signature with twilio's RequestValidator (over SMSLINE_PUBLIC_URL
when set, else the URL it was called on) and answers one TwiML message. It is
served by the Procfile's own gunicorn command, with only the app spec swapped:

    gunicorn ... 'bare_app:create_app()'     (run from bench/)
"""
from __future__ import annotations

import os

from flask import Flask, Response, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse


def create_app() -> Flask:
    app = Flask(__name__)
    validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
    public_url = (os.environ.get("SMSLINE_PUBLIC_URL") or "").rstrip("/")

    @app.post("/sms")
    def sms():
        url = (public_url or request.url_root.rstrip("/")) + request.path
        if not validator.validate(url, request.form.to_dict(flat=True), request.headers.get("X-Twilio-Signature", "")):
            return Response("forbidden", status=403)
        resp = MessagingResponse()
        resp.message("Got it. Text HELP for the commands.")
        return Response(str(resp), mimetype="application/xml")

    @app.get("/healthz")
    def healthz():
        return Response("ok\n", mimetype="text/plain")

    return app
