"""A stand-in for Twilio's REST API, as far as sending SMS goes: an HTTP server on
127.0.0.1 that records what it accepts and fails on demand (tests/lineprocs.py
gives each line one). It works on its own too::

    with TwilioStandIn() as twilio:
        client = twilio.client()          # twilio-python pointed at the stand-in
        client.messages.create(to="+15005550101", from_="+15005550006", body="hi")
"""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import math
import re
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Callable, Iterable
from urllib.parse import parse_qs

import requests

from tests.signing import API_VERSION, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, new_sid, sign

# Messages Twilio's API gives with these error codes.
TWILIO_ERRORS = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    21211: "The 'To' number is not a valid phone number.",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21617: "The concatenated message body exceeds the 1600 character limit.",
}


# --------------------------------------------------------------------------
# Twilio's REST API, as far as sending SMS goes.


@dataclass
class SentMessage:
    """A message the stand-in accepted (HTTP 201)."""

    sid: str
    to: str
    body: str
    from_: str | None
    messaging_service_sid: str | None
    status_callback: str | None
    time: float  # time.time() when the request arrived
    status: str = "queued"
    form: dict = field(default_factory=dict, repr=False)

    @property
    def segments(self) -> int:
        return _segments(self.body)


@dataclass
class ApiAttempt:
    """Any POST to the Messages endpoint, accepted or not."""

    time: float
    to: str | None
    body: str | None
    status_code: int
    code: int | None  # Twilio's error code, None when accepted
    answered: bool = True  # False when the stand-in dropped the connection


@dataclass
class _Rule:
    status_code: int
    code: int | None
    message: str
    remaining: int | None  # None: until cleared
    numbers: frozenset | None  # None: every number
    lose_answer: bool = False

    def matches(self, to: str | None) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return False
        return self.numbers is None or to in self.numbers


class TwilioStandIn:
    """An HTTP server on 127.0.0.1 that answers like Twilio's Messages API.

    ``POST /2010-04-01/Accounts/<sid>/Messages.json`` with To, From or
    MessagingServiceSid, Body and optionally StatusCallback, as twilio-python
    sends it. Accepted messages are recorded (``messages()``); every request,
    failed ones too, is in ``attempts``. Failures and latency are set at run
    time with ``fail_with``, ``lose_answer`` and ``delay``.

    It runs on an asyncio event loop in one daemon thread and speaks just the
    HTTP/1.1 that twilio-python's two clients (requests and aiohttp) use: keep-
    alive connections, one request at a time, bodies with a Content-Length. The
    real Twilio uses none of our CPUs, so a hundred requests waiting out their
    delay must cost next to nothing: a thread each made them wake together and
    fight for the GIL, and aiohttp's server took half as much CPU again.
    """

    def __init__(
        self,
        account_sid: str = TEST_ACCOUNT_SID,
        auth_token: str = TEST_AUTH_TOKEN,
        delay: float = 0.15,
        check_auth: bool = True,
        status_callbacks: bool = False,
        callback_delay: float = 0.2,
    ):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.delay = delay  # seconds each request takes before its answer
        self.check_auth = check_auth
        # Like Twilio: post signed status callbacks (sent, then delivered) to each accepted text's
        # StatusCallback, about callback_delay seconds after accepting it. Off unless asked for.
        self.status_callbacks = status_callbacks
        self.callback_delay = callback_delay
        self.callbacks_posted = 0
        self.callbacks_failed = 0
        self._callback_pool = None
        self._callback_sessions = threading.local()
        self.spans: list[tuple[float, float]] = []  # (request arrived, answered) of every request
        self.attempts: list[ApiAttempt] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._messages: list[SentMessage] = []
        self._rules: list[_Rule] = []
        self._cond = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="twilio-stand-in", daemon=True)
        self._thread.start()
        self._connections: set[asyncio.Task] = set()
        start = asyncio.start_server(self._serve_connection, "127.0.0.1", 0, backlog=1024)
        self._server = asyncio.run_coroutine_threadsafe(start, self._loop).result(10)
        self._port = self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        """Base URL to give the app as TWILIO_API_URL."""
        return f"http://127.0.0.1:{self._port}"

    def client(self, **kwargs):
        """A twilio-python Client whose API requests land on this stand-in."""
        from twilio.rest import Client

        client = Client(self.account_sid, self.auth_token, **kwargs)
        client.api.base_url = self.url
        return client

    def close(self) -> None:
        if self._loop.is_closed():
            return
        if self._callback_pool is not None:
            self._callback_pool.shutdown(wait=False, cancel_futures=True)
        asyncio.run_coroutine_threadsafe(self._stop_serving(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> "TwilioStandIn":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- failure modes --------------------------------------------------

    def fail_with(
        self,
        status_code: int,
        twilio_code: int | None = None,
        count: int | None = None,
        for_numbers: Iterable[str] | None = None,
        message: str | None = None,
    ) -> _Rule:
        """Answer matching requests with this HTTP status and Twilio error code.

        ``count``: only the next n matching requests (None: until
        ``clear_failures()``). ``for_numbers``: only requests to these
        numbers, e.g. ``fail_with(400, 21610, for_numbers={"+15005550101"})``
        for an opted-out phone, ``fail_with(429, 20429, count=3)`` for rate
        limiting, ``fail_with(500, 20500)`` for an outage. The earliest added
        rule that matches wins.
        """
        code = twilio_code if twilio_code is not None else status_code
        rule = _Rule(
            status_code=status_code,
            code=code,
            message=message or TWILIO_ERRORS.get(code, "Error"),
            remaining=count,
            numbers=frozenset(for_numbers) if for_numbers is not None else None,
        )
        with self._cond:
            self._rules.append(rule)
        return rule

    def lose_answer(self, count: int | None = 1, for_numbers: Iterable[str] | None = None) -> _Rule:
        """Accept (and record) matching messages, then drop the connection
        without answering: the window the spec says cannot be closed."""
        rule = _Rule(
            status_code=201,
            code=None,
            message="",
            remaining=count,
            numbers=frozenset(for_numbers) if for_numbers is not None else None,
            lose_answer=True,
        )
        with self._cond:
            self._rules.append(rule)
        return rule

    def clear_failures(self) -> None:
        with self._cond:
            self._rules.clear()

    # -- what was sent --------------------------------------------------

    def messages(self, to: str | None = None) -> list[SentMessage]:
        """Accepted messages in arrival order, optionally only those to ``to``."""
        with self._cond:
            return [m for m in self._messages if to is None or m.to == to]

    def wait_for(
        self,
        predicate: Callable[[SentMessage], bool] | None = None,
        timeout: float = 10.0,
        count: int = 1,
    ) -> list[SentMessage]:
        """Wait until at least ``count`` accepted messages match; return all
        that match. Raises AssertionError listing what was sent on timeout."""
        return self._wait(lambda: self._messages, predicate, timeout, count, "messages")

    def wait_for_attempts(
        self,
        predicate: Callable[[ApiAttempt], bool] | None = None,
        timeout: float = 10.0,
        count: int = 1,
    ) -> list[ApiAttempt]:
        """Like ``wait_for`` over every request, accepted or not."""
        return self._wait(lambda: self.attempts, predicate, timeout, count, "API requests")

    def clear(self) -> None:
        """Forget recorded messages and attempts (failure modes stay)."""
        with self._cond:
            self._messages.clear()
            self.attempts.clear()
            self.spans.clear()
            self.max_in_flight = self.in_flight

    def reset(self) -> None:
        """Forget everything and serve normally again, with no delay."""
        self.clear()
        self.clear_failures()
        self.delay = 0.0

    def _wait(self, source, predicate, timeout, count, what):
        predicate = predicate or (lambda item: True)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [item for item in source() if predicate(item)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = "\n".join(f"  {item}" for item in source()) or "  (none)"
                    raise AssertionError(
                        f"wanted {count} matching {what} within {timeout:g}s, "
                        f"found {len(found)}; all {what}:\n{seen}"
                    )
                self._cond.wait(left)

    # -- status callbacks -----------------------------------------------

    def send_status_callback(
        self,
        message: SentMessage,
        status: str = "undelivered",
        error_code: str | int | None = "30003",
        url: str | None = None,
        session: requests.Session | None = None,
    ) -> requests.Response:
        """POST a signed status callback for ``message`` to its StatusCallback
        URL (or ``url``), as Twilio does when the carrier reports back."""
        url = url or message.status_callback
        if not url:
            raise ValueError(f"message {message.sid} was sent without a StatusCallback")
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "MessageSid": message.sid,
            "SmsSid": message.sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "To": message.to,
        }
        if message.from_:
            params["From"] = message.from_
        if message.messaging_service_sid:
            params["MessagingServiceSid"] = message.messaging_service_sid
        if error_code is not None and status in ("failed", "undelivered"):
            params["ErrorCode"] = str(error_code)
        message.status = status
        return (session or requests).post(
            url,
            data=params,
            headers={"X-Twilio-Signature": sign(self.auth_token, url, params)},
            timeout=10,
        )

    # -- the endpoint -----------------------------------------------------

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer a connection's requests in turn until the client closes it, asks
        to, or the answer is to be lost."""
        task = asyncio.current_task()
        self._connections.add(task)
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                arrived = time.time()
                method, target, version = head[0].split(" ", 2)
                fields = (line.partition(":") for line in head[1:] if line)
                headers = {name.strip().lower(): value.strip() for name, _, value in fields}
                body = await reader.readexactly(int(headers.get("content-length") or 0))
                answer = await self._handle(arrived, method, target, headers, body.decode("utf-8"))
                if answer is None:
                    break  # close with nothing written: the client sees the connection dropped
                writer.write(answer)
                if version == "HTTP/1.0" or headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            pass  # the client left, or sent what this stand-in does not speak
        except asyncio.CancelledError:
            pass  # close(): end quietly (Python 3.11's start_server logs a connection task that ends cancelled)
        finally:
            self._connections.discard(task)
            writer.close()

    async def _stop_serving(self) -> None:
        # Requests still waiting out their delay are dropped, not answered.
        self._server.close()
        connections = list(self._connections)
        for task in connections:
            task.cancel()
        await asyncio.gather(*connections)
        await self._server.wait_closed()
        await asyncio.sleep(0)  # let the closed transports finish closing

    async def _handle(self, arrived: float, method: str, target: str, headers: dict, raw: str) -> bytes | None:
        form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}

        match = re.fullmatch(rf"/{API_VERSION}/Accounts/(AC\w+)/Messages\.json", target.split("?")[0])
        if method != "POST" or not match:
            return _answer_error(404, 20404)
        if self.check_auth and (
            match.group(1) != self.account_sid
            or headers.get("authorization") != _basic(self.account_sid, self.auth_token)
        ):
            return _answer_error(401, 20003)

        to = form.get("To")
        body = form.get("Body")
        with self._cond:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            rule = next((r for r in self._rules if r.matches(to)), None)
            if rule is not None and rule.remaining is not None:
                rule.remaining -= 1
        try:
            delay = self.delay
            if delay:
                await asyncio.sleep(delay)
            error = _validate(form)
            if error is None and rule is not None and not rule.lose_answer:
                error = (rule.status_code, rule.code, rule.message)
            if error is not None:
                self._record(ApiAttempt(arrived, to, body, error[0], error[1]))
                return _answer_error(*error)

            message = SentMessage(
                sid=new_sid("SM"),
                to=to,
                body=body or "",
                from_=form.get("From"),
                messaging_service_sid=form.get("MessagingServiceSid"),
                status_callback=form.get("StatusCallback"),
                time=arrived,
                status="accepted" if not form.get("From") else "queued",
                form=form,
            )
            lose = rule is not None and rule.lose_answer
            self._record(ApiAttempt(arrived, to, body, 201, None, answered=not lose), message)
            if self.status_callbacks and message.status_callback:
                self._loop.call_later(self.callback_delay, self._post_callbacks, message)
            return None if lose else _answer(201, self._resource(message))
        finally:
            with self._cond:
                self.in_flight -= 1
                self.spans.append((arrived, time.time()))

    def _post_callbacks(self, message: SentMessage) -> None:
        """Twilio's own status callbacks for an accepted text: sent, then delivered (a pool of threads posts them)."""
        import concurrent.futures

        if self._callback_pool is None:
            self._callback_pool = concurrent.futures.ThreadPoolExecutor(max_workers=8,
                                                                        thread_name_prefix="stand-in-callback")

        local = self._callback_sessions

        def post() -> None:
            if not hasattr(local, "session"):
                local.session = requests.Session()
            for status in ("sent", "delivered"):
                try:
                    answer = self.send_status_callback(message, status=status, error_code=None,
                                                       session=local.session)
                    ok = answer.status_code < 300
                except Exception:
                    ok = False
                with self._cond:
                    if ok:
                        self.callbacks_posted += 1
                    else:
                        self.callbacks_failed += 1

        self._callback_pool.submit(post)

    def _record(self, attempt: ApiAttempt, message: SentMessage | None = None) -> None:
        with self._cond:
            self.attempts.append(attempt)
            if message is not None:
                self._messages.append(message)
            self._cond.notify_all()

    def _resource(self, m: SentMessage) -> dict:
        now = formatdate(m.time, usegmt=True).replace("GMT", "+0000")
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{m.sid}"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": m.body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": m.from_,
            "messaging_service_sid": m.messaging_service_sid,
            "num_media": "0",
            "num_segments": str(m.segments),
            "price": None,
            "price_unit": "USD",
            "sid": m.sid,
            "status": m.status,
            "subresource_uris": {"media": uri + "/Media.json"},
            "to": m.to,
            "uri": uri + ".json",
        }


def _validate(form: dict) -> tuple[int, int, str] | None:
    if not form.get("To"):
        code = 21604
    elif not form.get("From") and not form.get("MessagingServiceSid"):
        code = 21603
    elif not form.get("Body") and not form.get("MediaUrl") and not form.get("ContentSid"):
        code = 21602
    elif len(form.get("Body") or "") > 1600:
        code = 21617
    elif not re.fullmatch(r"\+[1-9]\d{6,14}", form["To"]):
        code = 21211
    else:
        return None
    return 400, code, TWILIO_ERRORS[code]


def _answer(status: int, payload: dict) -> bytes:
    data = json.dumps(payload).encode()
    head = (
        f"HTTP/1.1 {status} {http.client.responses.get(status, 'Error')}\r\n"
        f"Content-Type: application/json; charset=utf-8\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


def _answer_error(status: int, code: int, message: str | None = None) -> bytes:
    return _answer(
        status,
        {
            "code": code,
            "message": message or TWILIO_ERRORS.get(code, "Error"),
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _segments(body: str) -> int:
    # Approximate (GSM-7 assumed); the stand-in reports it, nothing checks it.
    return 1 if len(body) <= 160 else math.ceil(len(body) / 153)

