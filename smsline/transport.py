"""Every outbound text goes through one of these: Twilio, the local simulator log, or a recorder."""
from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass

from .phones import mask

log = logging.getLogger(__name__)

# Twilio error codes that mean "do not retry this recipient".
OPTED_OUT = 21610
PERMANENT = {21211, 21214, 21408, 21610, 21612, 21614}


class SendError(Exception):
    """A text was not accepted. `retryable` says whether trying again can help."""

    def __init__(self, code: int | None, status: int | None, retryable: bool, detail: str = ""):
        super().__init__(f"send failed: status={status} code={code} {detail}".strip())
        self.code, self.status, self.retryable = code, status, retryable


@dataclass
class Sent:
    to: str
    body: str
    sid: str
    at: float


class RecordingTransport:
    """Keeps every text in memory, for tests. `fail` maps a number to a SendError to raise."""

    def __init__(self):
        self.sent: list[Sent] = []
        self.fail: dict[str, SendError] = {}
        self._lock = threading.Lock()

    def send(self, to: str, body: str, status_callback: str | None = None) -> str:
        if to in self.fail:
            raise self.fail[to]
        sid = "SM" + secrets.token_hex(16)
        with self._lock:
            self.sent.append(Sent(to, body, sid, time.time()))
        return sid

    def to(self, number: str) -> list[str]:
        return [s.body for s in self.sent if s.to == number]

    def clear(self) -> None:
        self.sent.clear()


class LocalTransport:
    """No Twilio account: texts are logged (masked) and kept in Redis for the simulator page."""

    def __init__(self, redis, keep: int = 2000):
        self.r = redis
        self.keep = keep

    def send(self, to: str, body: str, status_callback: str | None = None) -> str:
        from .store import Keys

        sid = "SM" + secrets.token_hex(16)
        entry = json.dumps({"dir": "out", "number": to, "body": body, "sid": sid, "at": time.time()})
        with self.r.pipeline() as pipe:
            pipe.rpush(Keys.sim_log, entry)
            pipe.ltrim(Keys.sim_log, -self.keep, -1)
            pipe.expire(Keys.sim_log, 7 * 86400)
            pipe.execute()
        log.info("local text to %s (%d chars)", mask(to), len(body))
        return sid


class TwilioTransport:
    """Twilio's Messages API through twilio-python, with a timeout (its default is none)."""

    def __init__(self, settings):
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        http = TwilioHttpClient(timeout=settings.twilio_timeout_seconds, pool_connections=True,
                                max_retries=0)
        # One shared session: raise the pool so concurrent sends reuse connections.
        try:
            from requests.adapters import HTTPAdapter

            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(10, settings.send_concurrency))
            http.session.mount("https://", adapter)
            http.session.mount("http://", adapter)
        except Exception:  # pragma: no cover - the pool size is an optimisation only
            log.debug("could not resize the HTTP pool")
        self.client = Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http)
        if settings.twilio_api_url:
            self.client.api.base_url = settings.twilio_api_url.rstrip("/")
        self.sender = {"from_": settings.twilio_from_number} if settings.twilio_from_number else {
            "messaging_service_sid": settings.twilio_messaging_service_sid}

    def send(self, to: str, body: str, status_callback: str | None = None) -> str:
        from twilio.base.exceptions import TwilioRestException

        kwargs = dict(self.sender)
        if status_callback:
            kwargs["status_callback"] = status_callback
        try:
            msg = self.client.messages.create(to=to, body=body, **kwargs)
        except TwilioRestException as e:
            retryable = e.status in (429,) or e.status >= 500 or e.code == 20429
            raise SendError(e.code, e.status, retryable and e.code not in PERMANENT) from None
        except Exception as e:  # timeouts, refused connections, DNS: worth retrying
            raise SendError(None, None, True, type(e).__name__) from None
        return msg.sid


def build(settings, redis):
    """The transport the settings call for."""
    if settings.twilio_configured:
        return TwilioTransport(settings)
    return LocalTransport(redis)
