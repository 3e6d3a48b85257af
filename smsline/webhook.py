"""HTTP edges: /sms (Twilio's inbound webhook), /sms/status, /healthz. Thin on purpose."""
from __future__ import annotations

import json
import logging
import time

from flask import Blueprint, Response, current_app, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from . import service
from .phones import mask
from .store import DAY, Keys

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
        return True  # simulator only: no account, so nothing to verify against (warned at start)
    base = settings.public_url or request.url_root.rstrip("/")
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
    line, form = _line(), request.form
    sid, number, body = form.get("MessageSid", ""), form.get("From", ""), form.get("Body", "")[:MAX_BODY]
    cmd = service.reads_only(body)
    if cmd:
        sender = line.store.sender(number)  # a question: answered again if redelivered, nothing to claim
        if service.reads_only(body, sender, cmd):
            return _twiml(service.handle_inbound(line, number, body, sender=sender, cmd=cmd))
    # Claim the MessageSid before acting (reading the sender in the same round trip);
    # a redelivery gets the first reply back, not a second action.
    sender, earlier = line.store.claim_inbound(sid, number, ttl=HANDLING_SECONDS)
    deadline = time.monotonic() + REDELIVERY_WAIT
    while sender is None and not earlier and time.monotonic() < deadline:
        # The first delivery is still being handled: wait for its reply, or, if its handler died
        # (its claim lapsed unanswered), act on the text here. A text is never dropped that way.
        time.sleep(0.05)
        sender, earlier = line.store.claim_inbound(sid, number, ttl=HANDLING_SECONDS)
    if sender is None:
        return _twiml(json.loads(earlier or b"[]") or [])
    replies = service.handle_inbound(line, number, body, sender=sender)
    if sid:
        line.store.keep_reply(sid, replies, pid=sender.pid)
    return _twiml(replies)


@bp.post("/sms/status")
def status():
    if not _signed():
        return Response("forbidden", status=403)
    line, form = _line(), request.form
    sid = form.get("MessageSid", "")[:64]
    if sid:
        record = {"status": form.get("MessageStatus", ""), "error": form.get("ErrorCode", ""), "at": time.time()}
        line.redis.set(Keys.status.format(sid=sid), json.dumps(record), ex=2 * DAY)
        log.info("status %s for %s", record["status"], mask(form.get("To")))
        service.on_status(line, sid, record["status"], record["error"], line.now())
    return Response("", status=204)


@bp.get("/healthz")
def healthz():
    line = _line()
    problems = []
    try:
        line.redis.ping()
        beat = line.redis.get(Keys.heartbeat)
        age = line.now() - float(beat) if beat else None
        if age is None or age > line.settings.heartbeat_stale_seconds:
            problems.append("worker: no heartbeat from a worker running the scheduler"
                            + ("" if age is None else f" for {int(age)} s"))
    except Exception as e:
        problems.append(f"redis: {type(e).__name__}")
    if problems:
        return Response("\n".join(problems) + "\n", status=503, mimetype="text/plain")
    return Response("ok\n", mimetype="text/plain")
