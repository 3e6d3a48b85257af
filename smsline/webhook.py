"""HTTP edges: /sms (Twilio's inbound webhook), /sms/status, /sms/android (the phone's events), /healthz."""
from __future__ import annotations

import json
import logging
import time

from flask import Blueprint, Response, current_app, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from . import alarms, android, gateways, simulator
from .commands import parse
from .handlers import inbound as texts
from .phones import mask, normalize
from .store import DAY

log = logging.getLogger(__name__)
bp = Blueprint("webhook", __name__)

MAX_BODY = 1600
HANDLING_SECONDS = 8  # a first delivery's claim until its reply is kept (a text takes milliseconds)
REDELIVERY_WAIT = 10  # a redelivery waits this long for that reply, or takes over (Twilio waits 15 s)


def _line():
    return current_app.extensions["smsline"]


def _signed() -> bool:
    """Twilio's signature over the public URL (behind a TLS proxy Flask sees http://)."""
    settings = _line().settings
    if not settings.twilio_auth_token:
        # Simulator only: no account, so nothing to verify against (warned at start). A line on the phone
        # alone takes no Twilio webhooks at all: unsigned, they could be anyone's. Unsigned, they are taken
        # only as the simulator is: from this machine, never from another site's page (a form post, DNS rebinding).
        return not settings.android_configured and simulator.foreign() is None
    if not settings.public_url:
        return False  # config.validate refuses this: a signature never covers the Host header a client sent
    base = settings.public_url
    url = base + request.full_path.rstrip("?") if request.query_string else base + request.path
    validator = RequestValidator(settings.twilio_auth_token)
    return validator.validate(url, request.form.to_dict(flat=True), request.headers.get("X-Twilio-Signature", ""))


def _twiml(replies: list[str]) -> Response:
    resp = MessagingResponse()
    for text in replies:
        resp.message(text)
    return Response(str(resp), mimetype="application/xml")


@bp.post("/sms")
def inbound():
    if not _signed():
        return Response("forbidden", status=403)
    form = request.form
    return _twiml(_answer(_line(), form.get("MessageSid", ""), form.get("From", ""), form.get("Body", "")))


def _answer(line, sid: str, number: str, body: str) -> list[str]:
    """The replies to an inbound text, acted on once per message id (a redelivery gets the first replies)."""
    body = body[:MAX_BODY]
    cmd = parse(body)
    question = texts.question_of(body, cmd=cmd) is not None
    # Claim the MessageSid before acting, reading the sender and counting the text in the same round trip.
    sender, earlier = line.store.claim_inbound(
        sid, number, ttl=HANDLING_SECONDS, question=question, exempt=question or texts.flood_exempt(cmd),
        flood_limit=texts.FLOOD_PER_MINUTE, wait=REDELIVERY_WAIT)
    if sender is None:
        return json.loads(earlier or b"[]") or []
    return texts.answer(line, sid, number, body, sender, cmd)


@bp.post("/sms/status")
def status():
    if not _signed():
        return Response("forbidden", status=403)
    line, form = _line(), request.form
    sid = form.get("MessageSid", "")[:64]
    if sid:
        record = {"status": form.get("MessageStatus", ""), "error": form.get("ErrorCode", ""), "at": time.time()}
        if not line.store.record_status(sid, record["status"], record, ttl=2 * DAY):
            # A redelivery or a replayed capture, or a failure after delivery: it must not raise an alarm again.
            log.info("status %s ignored: already seen or after delivery", record["status"])
            return Response("", status=204)
        log.info("status %s for %s", record["status"], mask(form.get("To")))
        if not gateways.filtered(line, "twilio", sid, record["error"]):
            alarms.on_status(line, sid, record["status"], record["error"], line.now(), to=form.get("To"))
    return Response("", status=204)


@bp.post("/sms/android")
def android_event():
    """An event from SMS Gateway for Android: a text received, or how one of ours fared."""
    line = _line()
    raw = request.get_data(cache=True)
    key = android.signing_key(line.settings)
    if key == android.SIMULATOR_KEY and simulator.foreign() is not None:
        return Response("forbidden", status=403)  # the demo's key is public: its events come from this machine only
    if not android.signature_ok(key, raw, request.headers.get("X-Timestamp", ""),
                                request.headers.get("X-Signature", ""), line.now()):
        return Response("forbidden", status=403)
    try:
        event = json.loads(raw)
        kind, eid, payload = event["event"], str(event["id"])[:64], event.get("payload") or {}
        if not isinstance(payload, dict):
            raise TypeError("payload")
    except (ValueError, KeyError, TypeError, AttributeError):
        return Response("", status=204)  # signed but not an event we know: retrying will not help
    if kind == "sms:received":
        number = normalize(payload.get("sender") or payload.get("phoneNumber") or "", line.settings.default_region)
        if number:
            replies = _answer(line, f"and-{eid}", number, str(payload.get("message") or ""))
            android.reply(line, eid, number, replies)
        return Response("", status=204)
    status = android.status_of(kind)
    sid = str(payload.get("messageId") or "")[:64]
    if status and sid and line.store.first_android_event(eid):
        record = {"status": status, "error": str(payload.get("reason") or "")[:60], "at": time.time()}
        if not line.store.record_status(sid, status, record, ttl=2 * DAY):
            return Response("", status=204)
        log.info("phone: %s for %s", status, mask(payload.get("recipient") or payload.get("phoneNumber")))
        to = normalize(str(payload.get("recipient") or payload.get("phoneNumber") or ""), line.settings.default_region)
        alarms.on_status(line, sid, status, record["error"] or status, line.now(), to=to)
    return Response("", status=204)


@bp.get("/healthz")
def healthz():
    line = _line()
    problems = []
    try:
        line.redis.ping()
        beat = line.store.heartbeat()
        age = line.now() - beat if beat is not None else None
        if age is None or age > line.settings.heartbeat_stale_seconds:
            problems.append("worker: no heartbeat from a worker running the scheduler"
                            + ("" if age is None else f" for {int(age)} s"))
    except Exception as e:
        problems.append(f"redis: {type(e).__name__}")
    try:
        states = gateways.describe(line)
    except Exception as e:
        states = [f"gateways: unknown ({type(e).__name__})"]
    if problems:
        return Response("\n".join(problems + states) + "\n", status=503, mimetype="text/plain")
    return Response("\n".join(["ok"] + states) + "\n", mimetype="text/plain")
