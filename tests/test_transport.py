"""The Twilio transport against the stand-in: the in-flight bound, answers as results, and quiet logs."""
from __future__ import annotations

import logging

import pytest

from smsline import bootstrap, config
from smsline.transport import SendError, TwilioTransport
from tests.signing import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, TEST_FROM_NUMBER
from tests.standin import TwilioStandIn


@pytest.fixture
def twilio():
    with TwilioStandIn(delay=0.05) as standin:
        yield standin


@pytest.fixture
def opened():
    made = []
    yield made
    for transport in made:
        transport.close()


def _transport(twilio, concurrency: int, opened: list) -> TwilioTransport:
    settings = config.override(config.from_env(), {
        "twilio_account_sid": TEST_ACCOUNT_SID, "twilio_auth_token": TEST_AUTH_TOKEN,
        "twilio_from_number": TEST_FROM_NUMBER, "twilio_api_url": twilio.url, "send_concurrency": concurrency})
    opened.append(TwilioTransport(settings))
    return opened[-1]


def test_submit_many_returns_at_once_and_keeps_within_the_in_flight_bound(twilio, opened):
    transport = _transport(twilio, 5, opened)
    numbers = [f"+1415555{i:04d}" for i in range(30)]
    first = transport.submit_many([(n, "first") for n in numbers[:15]])
    second = transport.submit_many([(n, "second") for n in numbers[15:]])
    assert not first.done()  # 15 requests of 50 ms, 5 at a time: not answered yet
    results = first.result(timeout=10) + second.result(timeout=10)
    assert all(isinstance(r, str) and r.startswith("SM") for r in results)
    assert [m.to for m in twilio.messages()] and sorted(m.to for m in twilio.messages()) == sorted(numbers)
    assert twilio.max_in_flight == 5  # two calls at once share one bound


def test_refusals_come_back_as_results_not_exceptions(twilio, opened):
    transport = _transport(twilio, 4, opened)
    twilio.fail_with(400, 21610, for_numbers={"+14155550001"})
    twilio.fail_with(500, 20500, for_numbers={"+14155550002"})
    ok, opted_out, outage = transport.send_many(
        [("+14155550000", "a"), ("+14155550001", "b"), ("+14155550002", "c")])
    assert isinstance(ok, str)
    assert isinstance(opted_out, SendError) and opted_out.code == 21610 and not opted_out.retryable
    assert isinstance(outage, SendError) and outage.retryable and not outage.ambiguous


def test_twilio_python_logs_nothing_per_request(twilio, caplog, opened):
    """twilio-python logs each request at INFO, from both its clients: the line turns that off (numbers
    stay out of the logs, and the CPU goes to the alerts)."""
    import fakeredis

    bootstrap.build(config.from_env(), redis=fakeredis.FakeRedis(), transport=_transport(twilio, 3, opened))
    transport = _transport(twilio, 3, opened)
    with caplog.at_level(logging.INFO):
        transport.send_many([("+14155550123", "hello"), ("+14155550124", "there")])
        transport.send("+14155550125", "sync client")
    assert [r for r in caplog.records if r.name.startswith("twilio")] == []
    assert not any("4155550" in r.getMessage() for r in caplog.records)


def test_too_many_requests_makes_every_send_pause_and_the_pause_grows(twilio, opened):
    """Twilio's 429 (20429) is a back-off signal: no request starts for a while after it, longer in a row."""
    transport = _transport(twilio, 2, opened)
    twilio.fail_with(429, 20429, count=2)
    results = transport.send_many([(f"+1415555{i:04d}", "x") for i in range(4)])
    assert sum(isinstance(r, SendError) and r.retryable for r in results) == 2
    times = sorted(a.time for a in twilio.attempts)
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert max(gaps) >= 0.45  # after the first 429: at least half a second of quiet
    twilio.clear()
    results = transport.send_many([("+14155550999", "y")])
    assert isinstance(results[0], str)  # the quiet ends; a success resets it
    assert transport._backoff == 0.0
