"""A stand-in for SMS Gateway for Android, beside tests/standin.py's Twilio stand-in.

It answers the app's API as android-sms-gateway's clients call it (Basic auth;
``POST /messages``, ``GET``/``POST /webhooks``, ``DELETE /webhooks/<id>``),
and posts signed webhook events like the app: ``sms:sent`` and
``sms:delivered`` (or ``sms:failed``) after each accepted text, and
``sms:received`` when a test has a phone text it (``receive``)::

    with AndroidStandIn() as phone:
        line = Line(workdir, env=phone.env(SMSLINE_GATEWAYS="android"))
        ...
        phone.receive("+14155550100", "HELP")
        phone.wait_for(lambda t: t.to == "+14155550100")
"""
from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

import requests

from smsline.android import sign

SIGNING_KEY = "stand-in-signing-key"


@dataclass
class PhoneText:
    """A text the stand-in accepted to send."""

    id: str
    to: str
    body: str
    priority: int
    time: float
    ttl: int | None = None


class AndroidStandIn:
    """The app's local server on 127.0.0.1; see the module docstring."""

    def __init__(self, user: str = "sms", password: str = "stand-in-pw", signing_key: str = SIGNING_KEY,
                 event_delay: float = 0.05):
        self.user, self.password, self.signing_key = user, password, signing_key
        self.event_delay = event_delay  # seconds before sms:sent / sms:delivered are posted
        self.fail_status: int | None = None  # answer every send with this HTTP status
        self.fail_numbers: dict[str, str] = {}  # accepted, then sms:failed with this reason
        self.webhooks: dict[str, dict] = {}
        self.events: list[tuple[str, int]] = []  # (event, HTTP status the line answered)
        self.attempts = 0
        self._texts: list[PhoneText] = []
        self._cond = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="android-stand-in", daemon=True)
        self._thread.start()
        self._http = requests.Session()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def env(self, **extra) -> dict:
        """The line's environment for this phone (plus `extra`)."""
        return {"ANDROID_GATEWAY_URL": self.url, "ANDROID_GATEWAY_USER": self.user,
                "ANDROID_GATEWAY_PASSWORD": self.password, "ANDROID_GATEWAY_SIGNING_KEY": self.signing_key, **extra}

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- what was sent -----------------------------------------------------------

    def texts(self, to: str | None = None) -> list[PhoneText]:
        with self._cond:
            return [t for t in self._texts if to is None or t.to == to]

    def wait_for(self, predicate: Callable[[PhoneText], bool], timeout: float = 10.0,
                 count: int = 1) -> list[PhoneText]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = [t for t in self._texts if predicate(t)]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    sent = "\n".join(f"  {t.to}: {t.body[:70]}" for t in self._texts[-15:])
                    raise AssertionError(f"the phone did not send {count} matching texts in {timeout} s; "
                                         f"it sent:\n{sent}")
                self._cond.wait(min(left, 0.2))

    # -- events like the app's -----------------------------------------------------

    def receive(self, number: str, text: str, eid: str | None = None) -> requests.Response:
        """The phone gets a text from `number`: post sms:received to every webhook registered for it, as the
        app does (the same event id to each); returns the first answer."""
        payload = {"messageId": secrets.token_hex(4), "message": text, "sender": number, "recipient": "+15550001111",
                   "phoneNumber": number, "simNumber": 1, "receivedAt": _iso(time.time())}
        urls = [w["url"] for w in self.webhooks.values() if w["event"] == "sms:received"]
        assert urls, "no webhook registered for sms:received (run `flask --app smsline gateway register`)"
        eid = eid or secrets.token_urlsafe(12)
        return [self.post_event(url, "sms:received", payload, eid=eid) for url in urls][0]

    def post_event(self, url: str, event: str, payload: dict, eid: str | None = None, ts: float | None = None,
                   key: str | None = None, signature: str | None = None) -> requests.Response:
        """POST one event, signed as the app signs it unless told otherwise."""
        body = json.dumps({"deviceId": "standin0001", "event": event, "id": eid or secrets.token_urlsafe(12),
                           "payload": payload, "webhookId": "wh-standin"}).encode()
        stamp = str(int(time.time() if ts is None else ts))
        headers = {"Content-Type": "application/json", "X-Timestamp": stamp,
                   "X-Signature": signature if signature is not None else sign(key or self.signing_key, body, stamp)}
        resp = self._http.post(url, data=body, headers=headers, timeout=20)
        with self._cond:
            self.events.append((event, resp.status_code))
        return resp

    def _report(self, text: PhoneText) -> None:
        """After a send, like the app: sms:sent, then sms:delivered or sms:failed."""
        time.sleep(self.event_delay)
        base = {"messageId": text.id, "sender": "+15550001111", "recipient": text.to, "phoneNumber": text.to,
                "simNumber": 1}
        reason = self.fail_numbers.get(text.to)
        if reason:
            steps = [("sms:failed", {**base, "reason": reason, "failedAt": _iso(time.time())})]
        else:
            steps = [("sms:sent", {**base, "partsCount": 1, "sentAt": _iso(time.time())}),
                     ("sms:delivered", {**base, "deliveredAt": _iso(time.time())})]
        for event, payload in steps:
            for w in list(self.webhooks.values()):
                if w["event"] == event:
                    try:
                        self.post_event(w["url"], event, payload)
                    except requests.RequestException:
                        pass  # the app would retry; the tests look at what arrived

    # -- the API ------------------------------------------------------------------

    def _handler(self):
        phone = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self, status: int, obj) -> None:
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                expected = "Basic " + base64.b64encode(f"{phone.user}:{phone.password}".encode()).decode()
                if self.headers.get("Authorization") == expected:
                    return True
                self._answer(401, {"message": "unauthorized"})
                return False

            def _body(self) -> dict:
                return json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")

            def do_GET(self):
                if not self._authorized():
                    return
                if self.path.rstrip("/") == "/webhooks":
                    return self._answer(200, list(phone.webhooks.values()))
                self._answer(404, {"message": "not found"})

            def do_DELETE(self):
                if not self._authorized():
                    return
                phone.webhooks.pop(self.path.rsplit("/", 1)[-1], None)
                self._answer(204, {})

            def do_POST(self):
                body = self._body()
                if not self._authorized():
                    return
                path = self.path.split("?", 1)[0].rstrip("/")
                if path == "/webhooks":
                    wid = body.get("id") or secrets.token_urlsafe(8)
                    phone.webhooks[wid] = {"id": wid, "url": body["url"], "event": body["event"]}
                    return self._answer(201, phone.webhooks[wid])
                if path != "/messages":
                    return self._answer(404, {"message": "not found"})
                with phone._cond:
                    phone.attempts += 1
                if phone.fail_status:
                    return self._answer(phone.fail_status, {"message": "stand-in failure"})
                to = body["phoneNumbers"][0]
                text = PhoneText(body.get("id") or secrets.token_urlsafe(10), to, body["textMessage"]["text"],
                                 int(body.get("priority") or 0), time.time(), body.get("ttl"))
                with phone._cond:
                    phone._texts.append(text)
                    phone._cond.notify_all()
                self._answer(202, {"id": text.id, "state": "Pending", "isHashed": False, "isEncrypted": False,
                                   "recipients": [{"phoneNumber": to, "state": "Pending"}]})
                threading.Thread(target=phone._report, args=(text,), daemon=True).start()

        return Handler


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime(ts))
