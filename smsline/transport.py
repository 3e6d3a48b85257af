"""Every outbound text goes through one of these: Twilio, the local simulator log, or a recorder."""
from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass

from .phones import mask

log = logging.getLogger(__name__)

# Twilio error codes that mean "do not retry this recipient".
OPTED_OUT = 21610
PERMANENT = {21211, 21214, 21408, 21610, 21612, 21614}


class SendError(Exception):
    """A text was not accepted. `retryable`: trying again can help. `ambiguous`: the request may
    have reached Twilio and only the answer was lost, so it may have been accepted after all."""

    def __init__(self, code: int | None, status: int | None, retryable: bool, detail: str = "",
                 ambiguous: bool = False):
        super().__init__(f"send failed: status={status} code={code} {detail}".strip())
        self.code, self.status, self.retryable, self.ambiguous = code, status, retryable, ambiguous


@dataclass
class Sent:
    to: str
    body: str
    sid: str
    at: float
    kind: str = "text"
    via: str | None = None


# What a text is, for gateways that order their own queue (the Android app sends by priority):
ALERT, TEXT, BULK = "alert", "text", "bulk"


class Transport:
    """What every transport offers: send one text, or many at once."""

    def send(self, to: str, body: str, status_callback: str | None = None) -> str:
        raise NotImplementedError

    def send_many(self, texts: list[tuple[str, str]], status_callback: str | None = None, kind: str = TEXT,
                  via: str | None = None) -> list:
        """Send each (number, body); each result is a message SID or the SendError it raised.

        `kind`: ALERT, TEXT or BULK. `via`: the gateway to use if it can (a reply goes out through the
        gateway its text came in by); transports that are one gateway ignore both."""
        out = []
        for to, body in texts:
            try:
                out.append(self.send(to, body, status_callback))
            except SendError as e:
                out.append(e)
        return out

    def submit_many(self, texts: list[tuple[str, str]], status_callback: str | None = None, kind: str = TEXT,
                    via: str | None = None) -> Future:
        """Like send_many, but returns at once: a Future of the results (done already here)."""
        future: Future = Future()
        try:
            future.set_result(self.send_many(texts, status_callback, kind, via))
        except Exception as e:  # pragma: no cover - send_many turns send failures into results
            future.set_exception(e)
        return future


class RecordingTransport(Transport):
    """Keeps every text in memory, for tests. `fail` maps a number to a SendError to raise."""

    def __init__(self):
        self.sent: list[Sent] = []
        self.fail: dict[str, SendError] = {}
        self._lock = threading.Lock()

    def send(self, to: str, body: str, status_callback: str | None = None) -> str:
        return self._record(to, body, TEXT, None)

    def send_many(self, texts: list[tuple[str, str]], status_callback: str | None = None, kind: str = TEXT,
                  via: str | None = None) -> list:
        out = []
        for to, body in texts:
            try:
                out.append(self._record(to, body, kind, via))
            except SendError as e:
                out.append(e)
        return out

    def _record(self, to: str, body: str, kind: str, via: str | None) -> str:
        if to in self.fail:
            raise self.fail[to]
        sid = "SM" + secrets.token_hex(16)
        with self._lock:
            self.sent.append(Sent(to, body, sid, time.time(), kind, via))
        return sid

    def to(self, number: str) -> list[str]:
        return [s.body for s in self.sent if s.to == number]

    def clear(self) -> None:
        self.sent.clear()


class LocalTransport(Transport):
    """No Twilio account: texts are logged (masked) and kept in Redis for the simulator page."""

    def __init__(self, redis, keep: int = 2000):
        self.r = redis
        self.keep = keep

    def send(self, to: str, body: str, status_callback: str | None = None) -> str:
        return self._log(to, body, None)

    def send_many(self, texts, status_callback=None, kind: str = TEXT, via: str | None = None) -> list:
        return [self._log(to, body, via) for to, body in texts]

    def _log(self, to: str, body: str, via: str | None) -> str:
        from .store import Keys

        sid = "SM" + secrets.token_hex(16)
        record = {"dir": "out", "number": to, "body": body, "sid": sid, "at": time.time()}
        if via:
            record["via"] = via  # the simulator shows which of the line's numbers it came from
        entry = json.dumps(record)
        with self.r.pipeline() as pipe:
            pipe.rpush(Keys.sim_log, entry)
            pipe.ltrim(Keys.sim_log, -self.keep, -1)
            pipe.expire(Keys.sim_log, 7 * 86400)
            pipe.execute()
        log.info("local text to %s (%d chars)", mask(to), len(body))
        return sid


class LoopTransport(Transport):
    """A transport whose requests run on one asyncio loop in a thread of its own, started on first use."""

    LOOP_NAME = "send"

    def __init__(self, settings):
        self.settings = settings
        self._loop = None
        self._loop_lock = threading.Lock()

    def warm_up(self) -> None:
        """Start the sending loop and its HTTP session before the first text needs them."""
        self._event_loop()

    def close(self) -> None:
        """Close the sending loop's HTTP session and stop the loop (tests; the worker just exits)."""
        import asyncio

        with self._loop_lock:
            loop, self._loop = self._loop, None
        if loop is not None:
            asyncio.run_coroutine_threadsafe(self._close_session(), loop).result(5)
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(5)
            loop.close()

    def _event_loop(self):
        import asyncio

        with self._loop_lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=loop.run_forever, name=self.LOOP_NAME, daemon=True)
                self._thread.start()
                asyncio.run_coroutine_threadsafe(self._open(), loop).result()
                self._loop = loop
        return self._loop

    async def _open(self) -> None:
        """Open the HTTP session, on the loop."""
        raise NotImplementedError

    async def _close_session(self) -> None:
        """Close the HTTP session, on the loop."""
        raise NotImplementedError


class TwilioTransport(LoopTransport):
    """Twilio's Messages API through twilio-python, with a timeout (its default is none).

    Many texts at once go through twilio-python's asyncio client on one event loop
    thread: a thread per request costs several times more CPU, and a thousand
    alerts at once must be handed over in seconds. At most SMSLINE_SEND_CONCURRENCY
    requests are in flight, whoever asks.
    """

    LOOP_NAME = "twilio-send"

    def __init__(self, settings):
        super().__init__(settings)
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
        kwargs = dict(self.sender)
        if status_callback:
            kwargs["status_callback"] = status_callback
        try:
            msg = self.client.messages.create(to=to, body=body, **kwargs)
        except Exception as e:
            raise _send_error(e) from None
        return msg.sid

    def send_many(self, texts: list[tuple[str, str]], status_callback: str | None = None, kind: str = TEXT,
                  via: str | None = None) -> list:
        return self.submit_many(texts, status_callback).result() if texts else []

    def submit_many(self, texts: list[tuple[str, str]], status_callback: str | None = None, kind: str = TEXT,
                    via: str | None = None) -> Future:
        """Start sending on the loop and return at once; the requests queue for the in-flight bound."""
        import asyncio

        loop = self._event_loop()  # even one text: the in-flight bound lives on this loop
        return asyncio.run_coroutine_threadsafe(self._send_all(texts, status_callback), loop)

    async def _close_session(self) -> None:
        await self._async_client.http_client.close()

    async def _open(self) -> None:
        import asyncio

        from twilio.http.async_http_client import AsyncTwilioHttpClient
        from twilio.rest import Client

        s = self.settings
        self._async_client = Client(s.twilio_account_sid, s.twilio_auth_token,
                                    http_client=AsyncTwilioHttpClient(timeout=s.twilio_timeout_seconds))
        if s.twilio_api_url:
            self._async_client.api.base_url = s.twilio_api_url.rstrip("/")
        self._in_flight = asyncio.Semaphore(s.send_concurrency)
        self._quiet_until, self._backoff = 0.0, 0.0  # after a 429: no request starts before this (loop time)

    async def _send_all(self, texts, status_callback):
        import asyncio

        kwargs = dict(self.sender)
        if status_callback:
            kwargs["status_callback"] = status_callback

        loop = asyncio.get_running_loop()

        async def one(to, body):
            async with self._in_flight:
                while (wait := self._quiet_until - loop.time()) > 0:
                    await asyncio.sleep(wait)  # Twilio asked us to slow down: nothing starts meanwhile
                try:
                    msg = await self._async_client.messages.create_async(to=to, body=body, **kwargs)
                    self._backoff = 0.0
                    return msg.sid
                except Exception as e:
                    log.warning("text to %s not accepted: %s", mask(to), type(e).__name__)
                    err = _send_error(e)
                    if err.status == 429 or err.code == 20429:
                        # Too many requests: every sender of this process pauses, longer each time in a row.
                        self._backoff = min(max(BACKOFF_FIRST, 2 * self._backoff), BACKOFF_MAX)
                        self._quiet_until = max(self._quiet_until, loop.time() + self._backoff)
                    return err

        return await asyncio.gather(*(one(to, body) for to, body in texts))


BACKOFF_FIRST, BACKOFF_MAX = 0.5, 8.0  # seconds of quiet after Twilio's 429 (error 20429), doubling in a row


def _send_error(e: Exception) -> SendError:
    """Twilio's answer as a SendError: 5xx, 429 and network trouble are worth retrying; 21610 and the like not."""
    from twilio.base.exceptions import TwilioRestException

    if isinstance(e, TwilioRestException):
        retryable = e.status == 429 or e.status >= 500 or e.code == 20429
        return SendError(e.code, e.status, retryable and e.code not in PERMANENT)
    # A connection that never opened sent nothing; a timeout or a dropped connection after the
    # request went out may hide an accepted text.
    return SendError(None, None, True, type(e).__name__, ambiguous=not _never_sent(e))


def _never_sent(e: Exception) -> bool:
    try:
        from aiohttp import ClientConnectorError
    except ImportError:  # pragma: no cover
        ClientConnectorError = ()
    from requests.exceptions import ConnectTimeout
    from requests.exceptions import ConnectionError as RequestsConnectionError

    if isinstance(e, (ClientConnectorError, ConnectTimeout, ConnectionRefusedError)):
        return True
    # requests wraps a refused connection in ConnectionError around a NewConnectionError
    return isinstance(e, RequestsConnectionError) and "NewConnectionError" in repr(e.args)
