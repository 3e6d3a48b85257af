"""Real processes: a paced broadcast is going out when an alarm fires; the alarm goes first.

The Procfile's web and worker run against the embedded Redis and the Twilio
stand-in. Members are seeded straight into Redis (an organizer may only send
ten invitations a day); the organizer, the member in danger and their buddy
use texts, as people would.
"""
from __future__ import annotations

import time

import pytest
import redis as redis_lib

from smsline import pacing
from smsline.store import Store
from tests.helpers import SOS, Said, enroll_by_texts, ok, replies, seed_member
from tests.lineprocs import running_line
from tests.signing import TEST_SECRET_KEY

RATE = 10          # SMSLINE_SEND_RATE for this line: segments a second
MEMBERS = 50       # texts in the broadcast besides the member in danger
ORG = "+14155550001"
MEMBER, BUDDY = "+14155550300", "+14155550301"
BROADCAST = "Heads up from the team: stay in pairs tonight and check in with your buddy."


def seed_members(line, n: int) -> list[str]:
    store = Store(redis_lib.Redis.from_url(line.redis.url), TEST_SECRET_KEY)
    numbers = [f"+1415555{4000 + i:04d}" for i in range(n)]
    for i, number in enumerate(numbers):
        seed_member(store, number, f"M{i}")
    return numbers


@pytest.fixture(scope="module")
def line():
    env = {"SMSLINE_SEND_RATE": str(RATE)}
    with running_line(seconds_per_minute=0.2, organizers=ORG, env=env) as ln:
        ln.twilio.delay = 0.05
        yield ln


def test_an_alarm_during_a_broadcast_reaches_twilio_before_the_rest_of_it_and_the_rate_holds(line):
    enroll_by_texts(lambda n, b: ok(line.text(n, b)), ORG, MEMBER, "Rose", BUDDY)
    numbers = set(seed_members(line, MEMBERS)) | {MEMBER}

    reply = replies(line.text(ORG, f"BROADCAST {BROADCAST}"))
    assert Said("broadcast_ok", count=len(numbers)).among(reply), reply
    is_broadcast = lambda m: Said("broadcast", note=BROADCAST)(m.body)  # noqa: E731
    line.twilio.wait_for(is_broadcast, timeout=10)

    sos_at = time.time()
    ok(line.text(MEMBER, "SOS at the motel on 5th"))
    before = len([m for m in line.twilio.messages() if is_broadcast(m)])
    assert before < len(numbers), "the broadcast was still going out when the alarm fired"

    alert = line.twilio.wait_for(lambda m: m.to == BUDDY and SOS(m.body), timeout=10)[0]
    sent = line.twilio.wait_for(is_broadcast, count=len(numbers), timeout=30)
    done = line.twilio.wait_for(lambda m: m.to == ORG and Said("broadcast_done")(m.body), timeout=10)

    times = sorted(m.time for m in sent)
    assert sorted(m.to for m in sent) == sorted(numbers), "everyone once, nobody twice"
    assert len(done) == 1 and done[0].time >= times[-1]
    lead = times[-1] - alert.time
    print(f"alert {alert.time - sos_at:.3f} s after SOS; {lead:.2f} s before the last broadcast text "
          f"({sum(1 for t in times if t > alert.time)} of {len(times)} broadcast texts after it)")
    assert alert.time < times[-1], "the alert was handed over before the rest of the broadcast"
    assert alert.time - sos_at < 1.5

    # The rate, as the outbox keeps it: in any stretch of t seconds at most RATE * t texts, plus the
    # (burst + credit) seconds' worth a chunk may carry after an idle spell.
    allowance = RATE * (pacing.BURST_SECONDS + pacing.CREDIT_SECONDS) + 1
    for i in range(len(times)):
        for j in range(i, len(times)):
            assert j - i + 1 <= RATE * (times[j] - times[i]) + allowance + 1, (i, j, times[j] - times[i])
    first_chunk = next((k for k in range(1, len(times)) if times[k] - times[k - 1] > 0.3), len(times))
    after = (len(times) - first_chunk) / (times[-1] - times[first_chunk - 1])
    busiest = max(sum(1 for u in times if t <= u < t + 1) for t in times)
    print(f"broadcast of {len(times)} texts in {times[-1] - times[0]:.2f} s: first chunk {first_chunk}, "
          f"then {after:.1f}/s; busiest second {busiest} (SMSLINE_SEND_RATE={RATE})")
    assert after <= RATE * 1.2
    assert busiest <= RATE + allowance
