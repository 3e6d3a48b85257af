"""Real-process harness: a whole line (Redis, the Procfile's processes) and a
stand-in for Twilio's REST API, for tests of timing, crashes and restarts.

In a pytest module, import the fixture and ask it for lines::

    from tests.procs import line_factory  # noqa: F401  (pytest fixture)

    def test_alarm_reaches_the_buddy(line_factory):
        line = line_factory(seconds_per_minute=0.05, organizers=["+15005550100"])
        status, twiml = line.text("+15005550100", "HELP")
        assert status == 200
        line.twilio.wait_for(lambda m: m.to == "+15005550101", timeout=10)

Each line gets its own temporary directory (Redis data, one log per process),
its own free ports and its own ``TwilioStandIn`` (``line.twilio``); all of it
is stopped when the test ends, and the logs' tails are printed, which pytest
shows when the test fails. Without pytest, ``running_line(...)`` is the same
as a context manager, and ``TwilioStandIn`` works on its own::

    with TwilioStandIn() as twilio:
        client = twilio.client()          # twilio-python pointed at the stand-in
        client.messages.create(to="+15005550101", from_="+15005550006", body="hi")

Line(...) keyword arguments: ``seconds_per_minute`` (SMSLINE_SECONDS_PER_MINUTE,
default 1), ``organizers`` (list or comma-separated string), ``env`` (extra
environment; a value of None removes the variable), ``twilio`` (a stand-in to
share, else one is made), ``wait_healthy`` (wait for GET /healthz == 200),
``processes`` (Procfile entries to start; default all), ``procfile`` and
``cwd`` (for harness tests with a fake app).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import http.client
import itertools
import json
import math
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Callable, Iterable, Mapping
from urllib.parse import parse_qs

import redis
import requests
from twilio.request_validator import RequestValidator

from smsline import embedded_redis

try:
    import pytest
except ImportError:  # the helpers work without pytest; only the fixture needs it
    pytest = None

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
if not os.path.isdir(VENV_BIN):
    VENV_BIN = os.path.dirname(sys.executable)

TEST_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
TEST_AUTH_TOKEN = "fedcba9876543210" * 2
TEST_FROM_NUMBER = "+15005550006"
TEST_SECRET_KEY = "test-secret-key-not-for-production"
API_VERSION = "2010-04-01"

HEALTHY_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0  # gunicorn's graceful timeout plus RQ's warm shutdown

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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_sid(prefix: str = "SM") -> str:
    """A Twilio-shaped sid: two letters and 32 hex digits."""
    return prefix + secrets.token_hex(16)


def sign(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """X-Twilio-Signature for a form POST of ``params`` to ``url``."""
    return RequestValidator(auth_token).compute_signature(url, dict(params))


def procfile_commands(path: str = os.path.join(ROOT, "Procfile")) -> dict[str, str]:
    """The Procfile's entries, name -> command, in file order."""
    commands: dict[str, str] = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, _, command = line.partition(":")
            commands[name.strip()] = command.strip()
    return commands


class LineError(RuntimeError):
    """A line's processes did not start, or did not become healthy."""


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


# --------------------------------------------------------------------------
# Processes.


class Proc:
    """One Procfile command running in its own process group."""

    def __init__(self, name: str, command: str, env: dict, cwd: str, log_path: str):
        self.name = name
        self.command = command
        self.log_path = log_path
        self.expected_exit = False  # set when the harness signals it on purpose
        with open(log_path, "ab") as log:
            self.popen = subprocess.Popen(
                ["bash", "-c", command],
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a signal to the group reaches gunicorn's workers and RQ's horses
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def signal(self, sig: int = signal.SIGTERM, group: bool = True) -> None:
        """Send ``sig`` to the process group (default) or the leader only."""
        if sig in (signal.SIGTERM, signal.SIGKILL, signal.SIGINT, signal.SIGQUIT):
            self.expected_exit = True
        try:
            if group:
                os.killpg(self.popen.pid, sig)
            else:
                self.popen.send_signal(sig)
        except ProcessLookupError:
            pass

    def wait(self, timeout: float | None = None) -> int:
        return self.popen.wait(timeout)

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM the group, wait, SIGKILL whatever is left of it."""
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        self.signal(signal.SIGKILL)  # leftovers: the leader, or children that outlived it
        return self.popen.wait(5)

    def tail(self, lines: int = 40) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def __repr__(self) -> str:
        state = "running" if self.alive() else f"exited {self.returncode}"
        return f"<Proc {self.name} pid={self.pid} {state}>"


class Line:
    """A whole line on this machine: embedded Redis, the Procfile's processes
    and a Twilio stand-in, wired together by environment variables."""

    def __init__(
        self,
        workdir: str,
        *,
        seconds_per_minute: float = 1.0,
        organizers: Iterable[str] | str = (),
        env: Mapping[str, str | None] | None = None,
        twilio: TwilioStandIn | None = None,
        wait_healthy: bool = True,
        healthy_timeout: float = HEALTHY_TIMEOUT,
        processes: Iterable[str] | None = None,
        procfile: str = os.path.join(ROOT, "Procfile"),
        cwd: str = ROOT,
    ):
        self.workdir = os.path.abspath(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.commands = procfile_commands(procfile)
        self.process_names = list(processes) if processes is not None else list(self.commands)
        self.cwd = cwd
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._owns_twilio = twilio is None
        self.twilio = twilio or TwilioStandIn()
        self.auth_token = self.twilio.auth_token
        if not isinstance(organizers, str):
            organizers = ",".join(organizers)
        self._organizers = organizers
        self._seconds_per_minute = seconds_per_minute
        self._extra_env = dict(env or {})
        self._wait_healthy = wait_healthy
        self._healthy_timeout = healthy_timeout
        self.redis: embedded_redis.EmbeddedRedis | None = None
        self.procs: list[Proc] = []
        self.env: dict[str, str] = {}
        self._counter = itertools.count(1)
        self._stopped = False
        # One HTTP session per thread: race tests text the line from several.
        self._local = threading.local()
        self._sessions: list[requests.Session] = []

    # -- lifecycle --------------------------------------------------------

    def start(self) -> "Line":
        """Start Redis and every process; wait for /healthz unless told not to."""
        try:
            self.redis = embedded_redis.start(os.path.join(self.workdir, "redis"))
            self.env = self._environment()
            for name in self.process_names:
                self.start_process(name)
            if self._wait_healthy:
                self.wait_healthy(self._healthy_timeout)
        except BaseException:
            self.stop()  # a LineError already carries the logs' tails
            raise
        return self

    def _environment(self) -> dict[str, str]:
        # Nothing from the developer's shell may reconfigure the line under test.
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SMSLINE_", "TWILIO_")) and k not in ("REDIS_URL", "PORT")
        }
        env.update(
            PATH=VENV_BIN + os.pathsep + env.get("PATH", ""),
            VIRTUAL_ENV=os.path.dirname(VENV_BIN),
            PYTHONUNBUFFERED="1",
            REDIS_URL=self.redis.url,
            PORT=str(self.port),
            TWILIO_ACCOUNT_SID=self.twilio.account_sid,
            TWILIO_AUTH_TOKEN=self.twilio.auth_token,
            TWILIO_FROM_NUMBER=TEST_FROM_NUMBER,
            TWILIO_API_URL=self.twilio.url,
            SMSLINE_PUBLIC_URL=self.url,
            SMSLINE_SECONDS_PER_MINUTE=str(self._seconds_per_minute),
            SMSLINE_ORGANIZERS=self._organizers,
            SMSLINE_SECRET_KEY=TEST_SECRET_KEY,
        )
        for key, value in self._extra_env.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = str(value)
        return env

    def start_process(self, name: str) -> Proc:
        """Start one more copy of Procfile entry ``name``."""
        n = sum(1 for p in self.procs if p.name == name) + 1
        log_path = os.path.join(self.workdir, f"{name}.log" if n == 1 else f"{name}-{n}.log")
        proc = Proc(name, self.commands[name], self.env, self.cwd, log_path)
        self.procs.append(proc)
        return proc

    def start_worker(self) -> Proc:
        """Start another worker process (the first, or one more)."""
        return self.start_process("worker")

    def workers(self, alive: bool = True) -> list[Proc]:
        return [p for p in self.procs if p.name == "worker" and (p.alive() or not alive)]

    def kill_worker(
        self,
        sig: int = signal.SIGKILL,
        worker: Proc | None = None,
        group: bool = True,
        wait: bool = True,
        timeout: float = STOP_TIMEOUT,
    ) -> Proc:
        """Signal a worker (default: the oldest still running) and its whole
        process group, as a crashed or stopped machine would; wait for it."""
        if worker is None:
            running = self.workers()
            if not running:
                raise LineError("no worker is running")
            worker = running[0]
        worker.signal(sig, group=group)
        if wait:
            worker.wait(timeout)
        return worker

    def stop_redis(self, kill: bool = False) -> None:
        """Take Redis down (SIGKILL with ``kill=True``); data stays on disk."""
        self.redis.stop(kill=kill)

    def start_redis(self) -> None:
        """Bring Redis back on the same port and data."""
        self.redis = embedded_redis.start(self.redis.var_dir, port=self.redis.port)

    def restart_redis(self, down_for: float = 0.0, kill: bool = False) -> None:
        """Stop Redis, stay down ``down_for`` seconds, start it again as it was."""
        self.redis = self.redis.restart(down_for=down_for, kill=kill)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM every process group, wait, kill leftovers, stop Redis."""
        if self._stopped:
            return
        self._stopped = True
        for proc in self.procs:
            proc.signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for proc in self.procs:
            proc.signal(signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
        if self.redis is not None:
            self.redis.stop()
        if self._owns_twilio:
            self.twilio.close()
        for session in self._sessions:
            session.close()

    def __enter__(self) -> "Line":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def _http(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            self._sessions.append(session)
        return session

    # -- waiting and inspecting -----------------------------------------

    def wait_healthy(self, timeout: float = HEALTHY_TIMEOUT) -> requests.Response:
        """Wait until GET /healthz answers 200; fail early if a process dies."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while True:
            dead = [p for p in self.procs if not p.alive() and not p.expected_exit]
            if dead:
                raise LineError(f"{dead} exited before the line was healthy\n{self.logs()}")
            try:
                response = self._http.get(self.url + "/healthz", timeout=2)
                if response.status_code == 200:
                    return response
                last = f"{response.status_code} {response.text[:200]!r}"
            except requests.RequestException as exc:
                last = type(exc).__name__
            if time.monotonic() > deadline:
                raise LineError(f"/healthz not 200 within {timeout:g}s (last: {last})\n{self.logs()}")
            time.sleep(0.1)

    def redis_client(self, **kwargs) -> redis.Redis:
        """A client on the line's Redis (caller closes it)."""
        return self.redis.client(**kwargs)

    def logs(self, lines: int = 40) -> str:
        """Tails of every process's log and of Redis's."""
        parts = [f"--- {p.name} (pid {p.pid}, {os.path.basename(p.log_path)}) ---\n{p.tail(lines)}" for p in self.procs]
        if self.redis is not None:
            parts.append(f"--- redis ---\n{embedded_redis._tail(self.redis.log_path, lines)}")
        return "\n".join(parts)

    # -- HTTP -------------------------------------------------------------

    def text(
        self,
        from_number: str,
        body: str,
        sid: str | None = None,
        to: str = TEST_FROM_NUMBER,
    ) -> tuple[int, str]:
        """Deliver an inbound SMS the way Twilio does: a signed POST to /sms.
        Returns the HTTP status and the body (TwiML)."""
        sid = sid or new_sid("SM")
        params = {
            "ToCountry": "US",
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "SmsSid": sid,
            "SmsStatus": "received",
            "Body": body,
            "FromCountry": "US",
            "To": to,
            "NumSegments": str(_segments(body)),
            "MessageSid": sid,
            "AccountSid": self.twilio.account_sid,
            "From": from_number,
            "ApiVersion": API_VERSION,
        }
        url = self.url + "/sms"
        headers = {"X-Twilio-Signature": sign(self.auth_token, url, params)}
        try:
            response = self._http.post(url, data=params, headers=headers, timeout=20)
        except requests.ConnectionError:
            # A kept-alive connection the server closed just as we reused it: deliver again with the
            # same MessageSid, as Twilio does; the line acts on a MessageSid once.
            response = self._http.post(url, data=params, headers=headers, timeout=20)
        return response.status_code, response.text

    def post_raw(
        self, path: str, data: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None
    ) -> requests.Response:
        """POST exactly this form and these headers (no signature added)."""
        return self._http.post(self.url + path, data=dict(data or {}), headers=dict(headers or {}), timeout=20)

    def get(self, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 20)
        return self._http.get(self.url + path, **kwargs)


@contextlib.contextmanager
def running_line(workdir: str | None = None, **kwargs):
    """A started Line for a ``with`` block; stopped (and logs printed) after."""
    workdir = workdir or tempfile.mkdtemp(prefix="smsline-line-")
    line = Line(workdir, **kwargs).start()
    try:
        yield line
    finally:
        line.stop()


if pytest is not None:

    @pytest.fixture
    def line_factory(tmp_path_factory):
        """Make started lines: ``line_factory(**Line kwargs) -> Line``; all are
        stopped at teardown, and their logs printed (shown if the test failed)."""
        lines: list[Line] = []

        def make(**kwargs) -> Line:
            line = Line(str(tmp_path_factory.mktemp("line")), **kwargs)
            lines.append(line)
            return line.start()

        yield make
        for line in lines:
            line.stop()
            print(line.logs())
