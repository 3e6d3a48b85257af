"""The Procfile's web holds against slow clients: idle and trickling connections cannot stall /sms."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from tests.helpers import Said
from tests.lineprocs import line_factory  # noqa: F401  (pytest fixture)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORGANIZER = "+15005550100"


def _web_only(line_factory):  # noqa: F811
    line = line_factory(organizers=[ORGANIZER], processes=["web"], wait_healthy=False)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if line.get("/healthz", timeout=1).status_code in (200, 503):  # 503: no worker, as asked
                return line
        except Exception:
            pass
        time.sleep(0.1)
    raise AssertionError(f"web did not come up\n{line.logs()}")


def _connect(line, first: bytes = b"") -> socket.socket:
    s = socket.create_connection(("127.0.0.1", line.port), timeout=10)
    if first:
        s.sendall(first)
    return s


def _closed_within(s: socket.socket, seconds: float) -> tuple[float, bytes]:
    """Seconds until the line closed `s` (and what it said first); fails if it kept it open longer."""
    t0 = time.monotonic()
    s.settimeout(seconds)
    said = b""
    try:
        while chunk := s.recv(4096):
            said += chunk
    except TimeoutError:
        raise AssertionError(f"connection still open after {seconds} s") from None
    except ConnectionResetError:
        pass
    return time.monotonic() - t0, said


def test_a_signed_text_is_answered_at_once_while_idle_and_trickling_connections_hold_the_port(line_factory):  # noqa: F811
    """80 idle connections and 8 trickling ones (more than gthread's 8 threads) leave /sms answering in < 1 s."""
    line = _web_only(line_factory)
    head = f"POST /sms HTTP/1.1\r\nHost: 127.0.0.1:{line.port}\r\n".encode()
    idle = [_connect(line) for _ in range(80)]
    headers = [_connect(line, head) for _ in range(4)]
    bodies = [_connect(line, head + b"Content-Length: 5000\r\n\r\nFrom=") for _ in range(4)]
    try:
        for _ in range(5):
            t0 = time.monotonic()
            status, twiml = line.text(ORGANIZER, "HELP")
            assert status == 200 and "<Message>" in twiml
            assert time.monotonic() - t0 < 1.0
            for s in headers:
                s.sendall(b"X-Slow: x\r\n")
            for s in bodies:
                s.sendall(b"a")
            time.sleep(0.3)
    finally:
        for s in idle + headers + bodies:
            s.close()


def test_a_body_that_trickles_gets_408_and_its_connection_closed_within_the_deadline(line_factory):  # noqa: F811
    from smsline.server import BODY_SECONDS

    line = _web_only(line_factory)
    s = _connect(line, f"POST /sms HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\nFrom=".encode())
    took, said = _closed_within(s, BODY_SECONDS + 3)
    assert said.startswith(b"HTTP/1.1 408")
    assert BODY_SECONDS - 0.5 < took


def test_headers_that_never_end_and_an_idle_connection_are_closed_within_the_deadline(line_factory):  # noqa: F811
    from smsline.server import HEADER_SECONDS

    line = _web_only(line_factory)
    idle = _connect(line)
    trickle = _connect(line, b"POST /sms HTTP/1.1\r\n")
    t0 = time.monotonic()
    for i in range(int(HEADER_SECONDS) + 3):
        try:
            trickle.sendall(f"X-Slow-{i}: x\r\n".encode())
        except OSError:
            break  # closed by the line: what this test wants
        time.sleep(1)
    _closed_within(trickle, 1)
    assert time.monotonic() - t0 < HEADER_SECONDS + 3
    _closed_within(idle, 1)


def test_a_whole_body_over_64_kib_is_refused_with_413():
    """The worker reads a body whole before the app: past create_app's limit it stops reading and says 413."""
    import io

    from smsline.server import MAX_BODY, _TOO_LARGE, read_body

    assert read_body(io.BytesIO(b"x" * (MAX_BODY + 1))) is _TOO_LARGE
    assert read_body(io.BytesIO(b"From=%2B1&Body=OK")) == b"From=%2B1&Body=OK"


def test_the_worker_class_loads_none_of_the_app_before_gevent_patches():
    """gunicorn's master imports the worker class before forking: it must not import Flask, Redis or RQ."""
    code = ("import sys, smsline.server; "
            "print(sorted(m for m in ('flask', 'redis', 'rq', 'requests', 'twilio') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_gevent_web_still_texts_organizers_through_twilio_when_the_worker_is_gone(line_factory):  # noqa: F811
    """The monitor's thread, redis-py and twilio-python's requests client all run under gevent's patching:
    with the only worker stopped, the web itself texts the organizer through the Twilio stand-in."""
    line = line_factory(organizers=[ORGANIZER], env={"SMSLINE_HEARTBEAT_STALE_SECONDS": "30"})
    line.kill_worker(signal.SIGTERM)
    sent = line.twilio.wait_for(lambda m: m.to == ORGANIZER and Said("line_down")(m.body), timeout=90)
    assert len(sent) == 1
    assert line.get("/healthz").status_code == 503


def test_a_client_that_waits_for_100_continue_gets_it_and_its_answer(line_factory):  # noqa: F811
    """The body is read before the app runs, so the worker says 100 Continue itself: no 408 for a polite client."""
    line = _web_only(line_factory)
    body = b"From=%2B15005550100&Body=HELP"
    s = _connect(line, f"POST /sms HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                       f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n".encode())
    s.settimeout(3)
    assert s.recv(100).startswith(b"HTTP/1.1 100 Continue")
    s.sendall(body)
    answer = s.recv(4096)
    assert answer.startswith(b"HTTP/1.1 403") and b"100 Continue" not in answer  # unsigned: refused, once
    s.close()
