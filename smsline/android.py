"""SMS Gateway for Android: a phone the network owns sends and receives the line's texts.

Outbound through the app's API with its client library (android-sms-gateway's
async client, on one event loop thread, like Twilio's); inbound and delivery
reports come as signed webhook events to POST /sms/android.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import time
from concurrent.futures import Future

from .notices import enqueue_texts
from .phones import mask
from .rendering import Outgoing
from .transport import ALERT, BULK, TEXT, LoopTransport, SendError, _never_sent

log = logging.getLogger(__name__)

EVENTS = ("sms:received", "sms:sent", "sms:delivered", "sms:failed")
MAX_SKEW = 300  # seconds an event's X-Timestamp may be off the line's clock
# The app sends by priority; from 100 on it skips its own delays and limits. Replies go before bulk.
PRIORITY = {ALERT: 100, TEXT: 50, BULK: 0}
IN_FLIGHT = 8  # requests at once: the phone's own server is small
TIMEOUT = 10.0


def signature_ok(key: str | None, body: bytes, timestamp: str, signature: str, now: float) -> bool:
    """The app's signature: hex HMAC-SHA256 over the raw body followed by X-Timestamp, and a fresh timestamp."""
    if not key or not timestamp or not signature:
        return False
    try:
        if abs(now - int(timestamp)) > MAX_SKEW:
            return False
    except ValueError:
        return False
    expected = hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()
    # As bytes: compare_digest refuses a str that is not ASCII, and a forged header may be anything.
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode("utf-8", "replace"))


SIMULATOR_KEY = "simulator-only"  # signs the simulator's own events; only ever accepted while it is on


def signing_key(settings) -> str | None:
    """The key events must be signed with: the app's, or, on a simulator line with no phone, the simulator's."""
    return settings.android_gateway_signing_key or (SIMULATOR_KEY if settings.simulator_enabled else None)


def sign(key: str, body: bytes, timestamp: str) -> str:
    """What the app puts in X-Signature (the stand-in in tests signs with it)."""
    return hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


def status_of(event: str) -> str:
    """The Twilio status an event means, so both go through the same rules (alarms.on_status)."""
    return {"sms:sent": "sent", "sms:delivered": "delivered", "sms:failed": "failed"}.get(event, "")


def reply(line, eid: str, number: str, replies: list[str]) -> None:
    """Send the replies to a text the phone received back through the phone (there is no TwiML here).

    Their ids come from the event's, so a redelivered event never sends them twice."""
    enqueue_texts(line, [Outgoing(id=f"rep-{eid}-{i}", to=number, body=body, via="android")
                         for i, body in enumerate(replies)])


class AndroidTransport(LoopTransport):
    """Texts through the phone's API (local server or relay), at most IN_FLIGHT requests at once."""

    name = "android"
    LOOP_NAME = "android-send"

    def send(self, to: str, body: str, status_callback: str | None = None) -> str:
        result = self.send_many([(to, body)])[0]
        if isinstance(result, SendError):
            raise result
        return result

    def send_many(self, texts, status_callback=None, kind: str = TEXT, via: str | None = None) -> list:
        return self.submit_many(texts, status_callback, kind).result() if texts else []

    def submit_many(self, texts, status_callback=None, kind: str = TEXT, via: str | None = None) -> Future:
        import asyncio

        return asyncio.run_coroutine_threadsafe(self._send_all(texts, kind), self._event_loop())

    async def _close_session(self) -> None:
        await self._session.close()

    def client(self):
        """A synchronous client of the same API (the CLI registers webhooks with it)."""
        from android_sms_gateway import APIClient

        s = self.settings
        return APIClient(s.android_gateway_user, s.android_gateway_password, base_url=s.android_gateway_url)

    async def _open(self) -> None:
        import asyncio

        import aiohttp
        from android_sms_gateway import AsyncAPIClient
        from android_sms_gateway.ahttp import AiohttpAsyncHttpClient

        s = self.settings
        # The library's own session has no timeout: a phone that stops answering would hold an alert forever.
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT))
        self._client = AsyncAPIClient(s.android_gateway_user, s.android_gateway_password,
                                      base_url=s.android_gateway_url,
                                      http_client=AiohttpAsyncHttpClient(self._session))
        self._in_flight = asyncio.Semaphore(IN_FLIGHT)

    async def _send_all(self, texts, kind):
        import asyncio

        from android_sms_gateway import Message, TextMessage

        # Through a relay, an accepted alert may wait for a phone that is off: past the repeat period it
        # expires rather than arrive stale (the next round tries again; an sms:failed for it is handed on).
        ttl = max(60, int(self.settings.seconds(self.settings.realert_minutes))) if kind == ALERT else None

        async def one(to, body):
            message = Message(phone_numbers=[to], text_message=TextMessage(text=body),
                              priority=PRIORITY.get(kind, 0), with_delivery_report=True, ttl=ttl)
            async with self._in_flight:
                began = time.monotonic()
                try:
                    state = await self._client.send(message)
                    return state.id
                except Exception as e:
                    err = send_error(e)
                    log.warning("text to %s not accepted by the phone after %.1f s: %s", mask(to),
                                time.monotonic() - began, err)
                    return err

        return await asyncio.gather(*(one(to, body) for to, body in texts))


def send_error(e: Exception) -> SendError:
    """The phone's answer as a SendError, on the same rules as Twilio's (see transport._send_error)."""
    from android_sms_gateway.errors import APIError

    if isinstance(e, APIError):
        status = e.status_code or 0
        return SendError(None, status, status == 429 or status >= 500, type(e).__name__)
    return SendError(None, None, True, type(e).__name__, ambiguous=not _never_sent(e))
