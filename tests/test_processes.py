"""Real processes: the Procfile's web and worker against the embedded Redis and a Twilio stand-in."""
from __future__ import annotations

import time

import pytest
import redis as redis_lib

from smsline.store import Store
from tests.helpers import ALERT, REPEAT, SOS, STANDDOWN, Said, enroll_by_texts, fresh, ok, replies
from tests.lineprocs import running_line
from tests.signing import TEST_SECRET_KEY

SPM = 0.2  # one line minute is 0.2 s: START 5 lapses in 1 s, alerts 1 s later
ORG = "+14155550001"


@pytest.fixture(scope="module")
def line():
    with running_line(seconds_per_minute=SPM, organizers=ORG) as ln:
        yield ln


def enroll(line, buddy: bool = True) -> tuple[str, str]:
    member, bud = fresh(), fresh()
    enroll_by_texts(lambda n, b: ok(line.text(n, b)), ORG, member, f"Rose{member[-3:]}", bud if buddy else None)
    return member, bud


def timer(line, number):
    store = Store(redis_lib.Redis.from_url(line.redis.url), TEST_SECRET_KEY)
    return store.timer(store.pid_for(number))


def alerts_to(line, number, said: Said = ALERT):
    return [m for m in line.twilio.messages(to=number) if said(m.body)]


def test_lapse_alerts_buddy_on_time(line):
    """The alert reaches the stand-in after end + grace, never before, and less than 2 s late."""
    member, bud = enroll(line)
    assert Said("start_ok").among(replies(line.text(member, "START 5 corner of 5th and Main")))
    t = timer(line, member)
    due = t.ends_at + 5 * SPM
    line.twilio.wait_for(lambda m: m.to == bud and ALERT(m.body), timeout=15)
    got = alerts_to(line, bud)
    assert len(got) == 1
    lag = got[0].time - due
    print(f"alarm lag {lag:.3f} s")
    assert 0 <= lag < 2.0
    assert "5th and Main" in got[0].body


def test_ok_before_end_alerts_nobody(line):
    member, bud = enroll(line)
    ok(line.text(member, "START 5"))
    assert Said("ok_ended").among(replies(line.text(member, "OK")))
    time.sleep(10 * SPM + 2)
    assert alerts_to(line, bud) == []


def test_ok_after_alert_stands_down(line):
    member, bud = enroll(line)
    ok(line.text(member, "START 5"))
    line.twilio.wait_for(lambda m: m.to == bud and ALERT(m.body), timeout=15)
    assert Said("ok_after_alert").among(replies(line.text(member, "OK")))
    line.twilio.wait_for(lambda m: m.to == bud and STANDDOWN(m.body), timeout=10)
    time.sleep(10 * SPM + 1)
    assert len(alerts_to(line, bud)) == 1


def test_sos_alerts_at_once(line):
    member, bud = enroll(line)
    t0 = time.time()
    assert Said("sos_ok").among(replies(line.text(member, "SOS grey van")))
    line.twilio.wait_for(lambda m: m.to == bud and SOS(m.body) and "grey van" in m.body, timeout=10)
    assert alerts_to(line, bud, SOS)[0].time - t0 < 2.0


def test_extend_postpones_the_alarm(line):
    member, bud = enroll(line)
    ok(line.text(member, "START 5"))
    assert Said("extend_ok").among(replies(line.text(member, "EXTEND 10")))
    time.sleep(10 * SPM + 1)
    assert alerts_to(line, bud) == []
    line.twilio.wait_for(lambda m: m.to == bud and ALERT(m.body), timeout=15)


def test_repeats_reach_organizers_and_ack_stops_them(line):
    member, bud = enroll(line)
    ok(line.text(member, "START 1"))
    # round 1 at 6 min, round 2 (with organizers) at 16 min
    name = f"Rose{member[-3:]}"
    line.twilio.wait_for(lambda m: m.to == ORG and Said("alert_repeat", member=name)(m.body), timeout=20)
    assert Said("ack_ok", "ack_ok_alone", names=name).among(replies(line.text(bud, "ACK")))
    line.twilio.wait_for(lambda m: m.to == member and Said("ack_member")(m.body), timeout=10)
    n = len(alerts_to(line, bud, ALERT)) + len(alerts_to(line, bud, REPEAT))
    time.sleep(10 * SPM + 1)
    assert len(alerts_to(line, bud, ALERT)) + len(alerts_to(line, bud, REPEAT)) == n
    ok(line.text(member, "OK"))


def test_forged_signature_is_refused_and_changes_nothing(line):
    member, bud = enroll(line)
    r = line.post_raw("/sms", {"From": member, "Body": "SOS", "MessageSid": "SM" + "f" * 32},
                      {"X-Twilio-Signature": "forged"})
    assert r.status_code == 403
    r = line.post_raw("/sms", {"From": member, "Body": "SOS", "MessageSid": "SM" + "e" * 32})
    assert r.status_code == 403
    time.sleep(1.5)
    assert timer(line, member) is None
    assert line.twilio.messages(to=bud)[-1:] and not SOS(line.twilio.messages(to=bud)[-1].body)


def test_repeated_message_sid_is_acted_on_once(line):
    member, bud = enroll(line)
    sid = "SM" + "a1" * 16
    first = ok(line.text(member, "SOS", sid=sid))
    second = ok(line.text(member, "SOS", sid=sid))
    assert first == second
    time.sleep(1.5)
    assert len(alerts_to(line, bud, SOS)) == 1


def test_stranger_gets_one_neutral_reply(line):
    texts = replies(line.text(fresh(), "START 10"))
    assert Said("stranger").among(texts) and not any("Rose" in t for t in texts)


def test_non_organizer_add_is_refused(line):
    member, _ = enroll(line, buddy=False)
    target = fresh()
    assert Said("not_allowed").among(replies(line.text(member, f"ADD {target}")))
    time.sleep(1)
    assert line.twilio.messages(to=target) == []


def test_healthz_reports_ok(line):
    r = line.get("/healthz")
    assert r.status_code == 200 and "ok" in r.text
