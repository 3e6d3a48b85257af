"""The real-process harness itself, checked without the app: the embedded
Redis, the Twilio stand-in, and Line driving a tiny fake app."""

import asyncio
import os
import signal
import socket
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import aiohttp
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from smsline import embedded_redis
from tests.lineprocs import Line, procfile_commands
from tests.signing import TEST_AUTH_TOKEN, TEST_FROM_NUMBER
from tests.standin import TwilioStandIn

MEMBER = "+15005550101"
BUDDY = "+15005550102"


@pytest.fixture
def server(tmp_path):
    server = embedded_redis.start(str(tmp_path / "redis"))
    yield server
    server.stop()


@pytest.fixture
def twilio():
    with TwilioStandIn(delay=0) as standin:
        yield standin


# -- embedded Redis ----------------------------------------------------------


def test_embedded_redis_answers_ping_with_aof_and_noeviction(server):
    """The embedded server is a durable Redis that refuses rather than evicts."""
    client = server.client()
    try:
        assert client.ping()
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        assert server.url == f"redis://127.0.0.1:{server.port}/0"
    finally:
        client.close()


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "sigkill"])
def test_embedded_redis_restarts_on_same_port_with_its_data(server, kill):
    """A restart, clean or after a crash, comes back on the same URL with the AOF's data."""
    client = server.client()
    client.set("kept", "yes")
    client.close()

    restarted = server.restart(kill=kill)
    assert restarted.port == server.port
    client = restarted.client()
    try:
        assert client.get("kept") == b"yes"
    finally:
        client.close()
        restarted.stop()


def test_embedded_redis_replaces_a_server_left_over_by_an_earlier_run(tmp_path):
    """A redis-server still running on the directory (a killed make run) is
    shut down cleanly before the new one starts on the same data."""
    var = str(tmp_path / "var")
    old = embedded_redis.start(var)
    client = old.client()
    client.set("kept", "yes")
    client.close()

    new = embedded_redis.start(var)
    try:
        old.process.wait(10)
        client = new.client()
        assert client.get("kept") == b"yes"
        client.close()
    finally:
        new.stop()


def test_embedded_redis_stop_leaves_no_server(server):
    """stop() ends the server process and frees its port."""
    server.stop()
    assert not server.running()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


# -- Twilio stand-in -----------------------------------------------------------


def test_standin_records_a_message_sent_by_twilio_python(twilio):
    """twilio-python, pointed at the stand-in with client.api.base_url, sends
    To/From/Body/StatusCallback there and gets a Twilio-shaped 201."""
    client = twilio.client()
    sent = client.messages.create(
        to=MEMBER, from_=TEST_FROM_NUMBER, body="hello", status_callback="http://127.0.0.1:9/sms/status"
    )
    [message] = twilio.messages()
    assert sent.sid == message.sid and sent.sid.startswith("SM") and len(sent.sid) == 34
    assert sent.status == "queued"
    assert (message.to, message.from_, message.body) == (MEMBER, TEST_FROM_NUMBER, "hello")
    assert message.status_callback == "http://127.0.0.1:9/sms/status"
    assert abs(message.time - time.time()) < 5


def test_standin_accepts_a_messaging_service_as_sender(twilio):
    """MessagingServiceSid instead of From is accepted, as Twilio does."""
    twilio.client().messages.create(to=MEMBER, messaging_service_sid="MG" + "0" * 32, body="hi")
    assert twilio.messages(to=MEMBER)[0].messaging_service_sid == "MG" + "0" * 32


def test_standin_refuses_an_opted_out_number_with_21610(twilio):
    """A number set to fail gets Twilio's 400/21610; other numbers still get through."""
    twilio.fail_with(400, 21610, for_numbers={BUDDY})
    client = twilio.client()
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=BUDDY, from_=TEST_FROM_NUMBER, body="alert")
    assert caught.value.code == 21610 and caught.value.status == 400
    client.messages.create(to=MEMBER, from_=TEST_FROM_NUMBER, body="reply")
    assert [m.to for m in twilio.messages()] == [MEMBER]
    assert [(a.to, a.status_code, a.code) for a in twilio.attempts] == [(BUDDY, 400, 21610), (MEMBER, 201, None)]


def test_standin_fails_only_the_next_count_requests(twilio):
    """fail_with(count=n) fails n requests, then the API works again."""
    twilio.fail_with(429, 20429, count=2)
    client = twilio.client()
    for _ in range(2):
        with pytest.raises(TwilioRestException) as caught:
            client.messages.create(to=MEMBER, from_=TEST_FROM_NUMBER, body="x")
        assert caught.value.code == 20429
    client.messages.create(to=MEMBER, from_=TEST_FROM_NUMBER, body="x")
    assert len(twilio.messages()) == 1


def test_standin_can_accept_a_message_and_lose_the_answer(twilio):
    """lose_answer records the message but the client sees a dropped connection."""
    twilio.lose_answer(count=1)
    client = twilio.client()
    with pytest.raises(Exception) as caught:
        client.messages.create(to=MEMBER, from_=TEST_FROM_NUMBER, body="lost")
    assert not isinstance(caught.value, TwilioRestException)
    assert [m.body for m in twilio.messages()] == ["lost"]
    assert twilio.attempts[-1].answered is False


def test_standin_honors_its_delay_and_counts_requests_in_flight(twilio):
    """Each request takes `delay` seconds, and concurrent ones overlap."""
    twilio.delay = 0.3
    client = twilio.client()
    start = time.monotonic()
    threads = [
        threading.Thread(target=client.messages.create, kwargs=dict(to=MEMBER, from_=TEST_FROM_NUMBER, body=str(i)))
        for i in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    assert 0.3 <= elapsed < 0.9
    assert twilio.max_in_flight == 3
    assert len(twilio.wait_for(count=3, timeout=1)) == 3


def _asyncio_client(twilio) -> tuple[aiohttp.ClientSession, str]:
    """An aiohttp session logged in to the stand-in (as twilio-python's async client is), and the Messages URL."""
    auth = aiohttp.encode_basic_auth(twilio.account_sid, twilio.auth_token)
    session = aiohttp.ClientSession(headers={"Authorization": auth})
    return session, f"{twilio.url}/2010-04-01/Accounts/{twilio.account_sid}/Messages.json"


def test_standin_holds_a_hundred_requests_in_their_delay_at_once(twilio):
    """A hundred requests on new connections at once all arrive within the delay and wait it
    out together, each recorded when it arrived. (A listen backlog of 5, as socketserver's, made
    most of such a burst retry its connection for one second or more.)"""
    twilio.delay = 0.8

    async def send_all():
        session, url = _asyncio_client(twilio)

        async def one(i):
            async with session.post(url, data={"To": MEMBER, "From": TEST_FROM_NUMBER, "Body": str(i)}) as r:
                return r.status, time.time()

        async with session:
            return await asyncio.gather(*(one(i) for i in range(100)))

    start = time.monotonic()
    answers = asyncio.run(send_all())
    assert time.monotonic() - start < 3  # one after another would take 80 s
    assert {status for status, _ in answers} == {201}
    assert twilio.max_in_flight == 100 and twilio.in_flight == 0
    answered = {str(i): at for i, (_, at) in enumerate(answers)}
    assert all(answered[m.body] - m.time >= 0.8 - 0.01 for m in twilio.messages())


def test_standin_loses_an_answer_to_the_asyncio_client_too(twilio):
    """lose_answer drops the connection under aiohttp's client as well: it sees the
    server disconnect, not an HTTP answer, and the stand-in serves on."""
    twilio.lose_answer(count=1)
    form = {"To": MEMBER, "From": TEST_FROM_NUMBER, "Body": "lost"}

    async def send_twice():
        session, url = _asyncio_client(twilio)
        async with session:
            with pytest.raises(aiohttp.ServerDisconnectedError):
                async with session.post(url, data=form):
                    pass
            async with session.post(url, data=dict(form, Body="kept")) as r:
                return r.status

    assert asyncio.run(send_twice()) == 201
    assert [m.body for m in twilio.messages()] == ["lost", "kept"]
    assert [a.answered for a in twilio.attempts] == [False, True]


def test_standin_wait_for_reports_what_was_sent_on_timeout(twilio):
    """wait_for fails with a list of the messages it did see."""
    twilio.client().messages.create(to=MEMBER, from_=TEST_FROM_NUMBER, body="only this")
    with pytest.raises(AssertionError, match="only this"):
        twilio.wait_for(lambda m: m.to == BUDDY, timeout=0.2)


def test_standin_sends_a_signed_status_callback(twilio):
    """send_status_callback POSTs Twilio's fields, signed with the auth token."""
    received = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            raw = self.rfile.read(int(self.headers["Content-Length"])).decode()
            received["params"] = {k: v[0] for k, v in parse_qs(raw).items()}
            received["signature"] = self.headers["X-Twilio-Signature"]
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    callbacks = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=callbacks.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{callbacks.server_address[1]}/sms/status"
    try:
        twilio.client().messages.create(to=BUDDY, from_=TEST_FROM_NUMBER, body="alert", status_callback=url)
        [message] = twilio.messages()
        response = twilio.send_status_callback(message)
    finally:
        callbacks.shutdown()
        callbacks.server_close()
    assert response.status_code == 204
    params = received["params"]
    assert params["MessageSid"] == message.sid
    assert (params["MessageStatus"], params["ErrorCode"], params["To"]) == ("undelivered", "30003", BUDDY)
    assert RequestValidator(TEST_AUTH_TOKEN).validate(url, params, received["signature"])


# -- Line, on a fake app -------------------------------------------------------

FAKE_WEB = """
import os, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs
import redis
from twilio.request_validator import RequestValidator
from twilio.rest import Client

r = redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=1)
client = Client(os.environ["TWILIO_ACCOUNT_SID"], os.environ["TWILIO_AUTH_TOKEN"])
client.api.base_url = os.environ["TWILIO_API_URL"]
validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])

class Handler(BaseHTTPRequestHandler):
    def reply(self, status, text):
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        try:
            ok = r.ping() and r.exists("heartbeat")
        except redis.RedisError:
            ok = False
        self.reply(200 if ok else 503, "ok" if ok else "no heartbeat")

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        params = {k: v[0] for k, v in parse_qs(raw).items()}
        url = os.environ["SMSLINE_PUBLIC_URL"] + self.path
        if not validator.validate(url, params, self.headers.get("X-Twilio-Signature", "")):
            return self.reply(403, "forbidden")
        client.messages.create(to=params["From"], from_=os.environ["TWILIO_FROM_NUMBER"], body="echo " + params["Body"])
        self.reply(200, "<Response/>")

    def log_message(self, *args):
        pass

print("fake web on", os.environ["PORT"], flush=True)
ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""

FAKE_WORKER = """
import os, signal, sys, time
import redis
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
r = redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=1)
print("fake worker", os.getpid(), flush=True)
while True:
    try:
        r.set("heartbeat", os.getpid(), px=1000)
    except redis.RedisError:
        pass
    time.sleep(0.1)
"""


@pytest.fixture
def fake_line(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    (app / "web.py").write_text(textwrap.dedent(FAKE_WEB))
    (app / "worker.py").write_text(textwrap.dedent(FAKE_WORKER))
    (app / "Procfile").write_text("web: python web.py\nworker: python worker.py\n")
    line = Line(str(tmp_path / "line"), procfile=str(app / "Procfile"), cwd=str(app), healthy_timeout=15)
    line.twilio.delay = 0
    line.start()
    yield line
    line.stop()


def _group_exists(pgid):
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_line_delivers_signed_texts_and_wires_twilio_api_url(fake_line):
    """A signed text reaches /sms, and what the app sends lands on the stand-in."""
    status, body = fake_line.text(MEMBER, "START 30")
    assert (status, body) == (200, "<Response/>")
    [message] = fake_line.twilio.wait_for(lambda m: m.to == MEMBER, timeout=5)
    assert message.body == "echo START 30"


def test_line_post_raw_sends_forged_requests_unsigned(fake_line):
    """post_raw adds no signature, so a forged request is refused."""
    response = fake_line.post_raw("/sms", {"From": MEMBER, "Body": "OK"}, {"X-Twilio-Signature": "forged"})
    assert response.status_code == 403
    assert fake_line.twilio.messages() == []


def test_line_kills_and_starts_workers(fake_line):
    """kill_worker takes a worker's whole process group down; start_worker adds
    one; a worker killed on purpose does not count as a failed line."""
    first = fake_line.kill_worker(signal.SIGKILL)
    assert not first.alive() and not _group_exists(first.pid)
    second = fake_line.start_worker()
    third = fake_line.start_worker()
    assert fake_line.workers() == [second, third]
    assert os.path.basename(third.log_path) == "worker-3.log"
    fake_line.wait_healthy(timeout=10)


def test_line_restarts_redis_under_running_processes(fake_line):
    """restart_redis keeps the port and the data; the processes carry on."""
    client = fake_line.redis_client()
    client.set("kept", "yes")
    client.close()
    fake_line.restart_redis(down_for=0.3)
    client = fake_line.redis_client()
    try:
        assert client.get("kept") == b"yes"
    finally:
        client.close()
    fake_line.wait_healthy(timeout=10)


def test_line_stop_leaves_no_process_behind(fake_line):
    """stop() ends every process group and Redis."""
    procs = list(fake_line.procs)
    fake_line.stop()
    assert all(not p.alive() and not _group_exists(p.pid) for p in procs)
    assert not fake_line.redis.running()


def test_line_environment_points_every_process_at_the_line(fake_line):
    """The processes get the stand-in, the public URL and the test settings."""
    env = fake_line.env
    assert env["TWILIO_API_URL"] == fake_line.twilio.url
    assert env["SMSLINE_PUBLIC_URL"] == fake_line.url
    assert env["REDIS_URL"] == fake_line.redis.url
    assert env["PATH"].split(os.pathsep)[0].endswith(os.path.join(".venv", "bin"))


def test_procfile_names_web_and_worker():
    """The Procfile runs gunicorn on $PORT and worker.py, as the spec names them."""
    commands = procfile_commands()
    assert commands["web"].startswith("gunicorn ") and "${PORT" in commands["web"]
    assert "smsline:create_app()" in commands["web"]
    assert commands["worker"] == "python worker.py"
