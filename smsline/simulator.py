"""The simulator: a page where you text the line as several phones, for a line with no Twilio account.

create_app registers this blueprint only when ``settings.simulator_enabled``
(no Twilio account, ``SMSLINE_SIMULATOR`` not 0); otherwise every
``/simulator`` URL, its assets included, is a 404.

A text typed on the page is posted to the same ``/sms`` webhook Twilio would
call, so it takes the same parsing, state and jobs; only the transport differs.
The page reads the local transport's log (``Keys.sim_log``) by short polling,
so no gunicorn thread is held by an open stream.

Without Twilio nothing is signed, and the page shows every text. So the
simulator answers only requests whose Host is this machine's loopback name
(a DNS-rebinding page has its own name there), and acts only on same-origin
JSON posts (a cross-site form cannot send application/json without a CORS
preflight, which is never granted). Anything else is a 403 that changes nothing.
"""
from __future__ import annotations

import json
import secrets
import time
import xml.etree.ElementTree as ET

from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for
from twilio.request_validator import RequestValidator

from .phones import normalize
from .store import Keys

bp = Blueprint(
    "simulator",
    __name__,
    url_prefix="/simulator",
    template_folder="templates",
    # Not "static": a folder of that name would be served by the app itself, with or without Twilio.
    static_folder="simulator_assets",
    static_url_path="/assets",
)

# Fictional 555-01xx numbers that phonenumbers still accepts as valid (+1555... is not).
DEMO_ORGANIZER = "+14155550001"
DEMO_NUMBERS = ("+14155550002", "+14155550003", "+14155550004", "+14155550005", "+14155550006")
# The line's own number in simulated webhooks when no TWILIO_FROM_NUMBER is set.
LINE_NUMBER = "+14155550100"

KEEP = 2000  # entries kept in the log, as the local transport keeps them
FIRST_PAGE = 500  # a freshly opened page shows at most this many of the latest texts
MAX_BODY = 1600  # Twilio's limit for one message


def _line():
    return current_app.extensions["smsline"]


def _region() -> str:
    return _line().settings.default_region


def _organizer() -> tuple[str, bool]:
    """The organizer's phone for the page, and whether the line really has it as an organizer."""
    for raw in _line().settings.organizers:
        number = normalize(raw, _region())
        if number:
            return number, True
    return DEMO_ORGANIZER, False


def starting_phones() -> list[dict]:
    """The phones a fresh page shows: an organizer, a member and a buddy."""
    organizer, _ = _organizer()
    taken = {normalize(raw, _region()) for raw in _line().settings.organizers} | {organizer}
    free = [n for n in DEMO_NUMBERS if n not in taken]
    return [
        {"number": organizer, "name": "Organizer", "hint": f"ADD {free[0]} Rose"},
        {"number": free[0], "name": "Member", "hint": "JOIN"},
        {"number": free[1], "name": "Buddy", "hint": "YES"},
    ]


def _record(entries: list[dict]) -> None:
    r = _line().redis
    with r.pipeline() as pipe:
        for entry in entries:
            pipe.rpush(Keys.sim_log, json.dumps(entry))
        pipe.ltrim(Keys.sim_log, -KEEP, -1)
        pipe.expire(Keys.sim_log, 7 * 86400)
        pipe.execute()


def _decode(raw) -> dict | None:
    try:
        entry = json.loads(raw)
    except (TypeError, ValueError):
        return None
    return entry if isinstance(entry, dict) and "number" in entry else None


def entries_after(after: int, last_sid: str | None) -> tuple[list[dict], int]:
    """Log entries the page has not shown yet, and the index to ask from next time.

    ``after`` is how many entries the page has read; ``last_sid`` the sid of
    the last one. When the log was trimmed or cleared since, indexes moved, so
    the page's place is found again by that sid (the page drops sids it has).
    """
    r = _line().redis
    if after <= 0:
        start = max(0, r.llen(Keys.sim_log) - FIRST_PAGE)
        raw = r.lrange(Keys.sim_log, start, -1)
        return [e for e in map(_decode, raw) if e], start + len(raw)
    if last_sid:
        at = _decode(r.lindex(Keys.sim_log, after - 1))
        if at and at.get("sid") == last_sid:
            raw = r.lrange(Keys.sim_log, after, -1)
            return [e for e in map(_decode, raw) if e], after + len(raw)
    entries = [e for e in map(_decode, r.lrange(Keys.sim_log, 0, -1)) if e]
    sids = [e.get("sid") for e in entries]
    if last_sid in sids:
        return entries[sids.index(last_sid) + 1:], len(entries)
    return entries[-FIRST_PAGE:], len(entries)


def deliver_to_phone(number: str, body: str) -> None:
    """Text the line's phone (the Android gateway) from `number`: a signed event to /sms/android, as the app
    posts it. The replies come back through the phone, by the worker, into the log."""
    from .android import sign, signing_key

    settings = _line().settings
    eid = secrets.token_urlsafe(12)
    _record([{"dir": "in", "number": number, "body": body, "sid": "AN" + eid, "at": time.time(), "via": "android"}])
    raw = json.dumps({"event": "sms:received", "id": eid, "payload": {
        "messageId": secrets.token_hex(4), "message": body, "sender": number}}).encode()
    stamp = str(int(_line().now()))
    response = current_app.test_client().post(
        "/sms/android", data=raw, content_type="application/json",
        headers={"X-Timestamp": stamp, "X-Signature": sign(signing_key(settings) or "", raw, stamp)})
    if response.status_code != 204:
        raise RuntimeError(f"/sms/android answered {response.status_code}")


def text_the_line(number: str, body: str) -> list[str]:
    """Text the line from `number` through its own /sms webhook; record it and the replies."""
    settings = _line().settings
    sid = "SM" + secrets.token_hex(16)
    _record([{"dir": "in", "number": number, "body": body, "sid": sid, "at": time.time()}])
    form = {"From": number, "To": settings.twilio_from_number or LINE_NUMBER, "Body": body,
            "MessageSid": sid, "SmsMessageSid": sid, "NumMedia": "0"}
    headers = {}
    if settings.twilio_auth_token:  # a token without an account: the webhook still checks signatures
        url = (settings.public_url or "http://localhost") + "/sms"
        headers["X-Twilio-Signature"] = RequestValidator(settings.twilio_auth_token).compute_signature(url, form)
    response = current_app.test_client().post("/sms", data=form, headers=headers)
    if response.status_code != 200:
        raise RuntimeError(f"/sms answered {response.status_code}")
    replies = [m.text or "" for m in ET.fromstring(response.get_data()).iter("Message")]
    now = time.time()
    _record([{"dir": "out", "number": number, "body": text, "sid": "SM" + secrets.token_hex(16), "at": now,
              "reply": True} for text in replies])
    return replies


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _host_name(host: str) -> str:
    """The name in a Host header, without its port: 'localhost:5000' -> 'localhost', '[::1]:5000' -> '::1'."""
    host = (host or "").strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else ""
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def refusal() -> str | None:
    """Why this request may not use the simulator, or None."""
    if request.method == "POST" and request.mimetype != "application/json":
        if _host_name(request.host) in LOOPBACK_HOSTS:
            return "The simulator takes only JSON posts from its own page."
    return foreign()


def foreign() -> str | None:
    """Why this request is not from this machine's own pages, or None: a Host other than loopback (DNS
    rebinding), or a cross-site Origin / Sec-Fetch-Site. Also guards the unsigned webhooks of a line with no
    Twilio account (webhook._signed), where a web page could otherwise post a form to /sms."""
    if _host_name(request.host) not in LOOPBACK_HOSTS:
        return "The simulator answers only on this machine: open it at http://127.0.0.1 or http://localhost."
    if request.method == "POST":
        origin = request.headers.get("Origin")
        if origin and (urlsplit(origin).netloc.lower() != request.host.lower()
                       or urlsplit(origin).scheme != request.scheme):
            return "The simulator takes posts only from its own page."
        site = request.headers.get("Sec-Fetch-Site")
        if site and site not in ("same-origin", "none"):
            return "The simulator takes posts only from its own page."
    return None


@bp.before_request
def _only_this_machine_and_its_own_page():
    why = refusal()
    if why:
        return jsonify(error=why), 403
    return None


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.after_request
def _headers(response: Response) -> Response:
    # Everything the page needs comes from this server: no CDN, no inline script.
    response.headers.setdefault("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


@bp.get("")
@bp.get("/")
def page():
    s = _line().settings
    _, organizer_configured = _organizer()
    config = {
        "phones": starting_phones(),
        "timezone": s.timezone,
        "secondsPerMinute": s.seconds_per_minute,
        "urls": {"log": url_for(".log"), "send": url_for(".send"), "phones": url_for(".phone")},
    }
    return _no_store(Response(render_template(
        "simulator.html", settings=s, config=config, organizer_configured=organizer_configured,
        organizer=config["phones"][0]["number"], member=config["phones"][1]["number"],
        buddy=config["phones"][2]["number"], clock=clock_text(s),
    ), mimetype="text/html"))


def clock_text(s) -> str:
    """The clock speed in words, for the top of the page."""
    def real(minutes: float) -> str:
        seconds = s.seconds(minutes)
        if seconds >= 120:
            return f"{seconds / 60:g} min"
        return f"{seconds:g} s"

    if s.seconds_per_minute == 60:
        return "Clock: real time (SMSLINE_SECONDS_PER_MINUTE=60)."
    return (f"Fast clock: 1 minute of the line is {real(1)} (SMSLINE_SECONDS_PER_MINUTE={s.seconds_per_minute:g}). "
            f"START 1 runs out in {real(1)}, buddies are alerted {real(s.grace_minutes)} later "
            f"and again every {real(s.realert_minutes)} until someone answers.")


@bp.get("/log")
def log():
    try:
        after = max(0, int(request.args.get("after", "0")))
    except ValueError:
        after = 0
    entries, next_index = entries_after(after, request.args.get("last") or None)
    return _no_store(jsonify(entries=entries, next=next_index))


def _json() -> dict:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


@bp.post("/phones")
def phone():
    """Read a number typed into "Add a phone" the way the line reads numbers."""
    data = _json()
    number = normalize(str(data.get("number") or ""), _region())
    if not number:
        return jsonify(error="That number could not be read. Write it like +14155550100."), 400
    return jsonify(number=number)


@bp.post("/send")
def send():
    data = _json()
    number = normalize(str(data.get("from") or ""), _region())
    body = str(data.get("body") or "")
    if not number:
        return jsonify(error="That number could not be read."), 400
    if len(body) > MAX_BODY:
        return jsonify(error=f"A text holds at most {MAX_BODY} characters."), 400
    try:
        if data.get("gateway") == "android":
            deliver_to_phone(number, body)
            return jsonify(number=number, replies=[])
        replies = text_the_line(number, body)
    except RuntimeError as e:
        return jsonify(error=str(e)), 502
    return jsonify(number=number, replies=replies)
