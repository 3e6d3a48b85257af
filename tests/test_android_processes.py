"""Real processes with a phone as gateway: the Procfile's web and worker, the embedded Redis, a Twilio
stand-in and an Android gateway stand-in (tests/android_standin.py) that posts signed events like the app."""
from __future__ import annotations

import os
import subprocess
import time

import pytest

from tests.android_standin import AndroidStandIn
from tests.helpers import ALERT, SOS, STANDDOWN, Said, enroll_by_texts, fresh, ok
from tests.lineprocs import ROOT, VENV_BIN, running_line

SPM = 0.5  # one line minute is half a second: START 1 alerts 3 s after it starts
ORG = "+14155550001"
INVITED = Said("invite_member_both", "invite_member")
ASKED = Said("invite_buddy_both", "invite_buddy")
STARTED = Said("start_ok")


def register(line) -> subprocess.CompletedProcess:
    """`flask --app smsline gateway register`, with the line's environment."""
    return subprocess.run([os.path.join(VENV_BIN, "flask"), "--app", "smsline", "gateway", "register"],
                          env=line.env, cwd=ROOT, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def phone():
    with AndroidStandIn() as p:
        yield p


@pytest.fixture(scope="module")
def pline(phone):
    """A line on the phone alone (Twilio is configured but not among SMSLINE_GATEWAYS)."""
    with running_line(seconds_per_minute=SPM, organizers=ORG, env=phone.env(SMSLINE_GATEWAYS="android")) as ln:
        out = register(ln)
        assert out.returncode == 0, out.stderr
        yield ln


def said(phone, number, text: Said, timeout=10.0, count=1) -> list:
    return phone.wait_for(lambda t: t.to == number and text(t.body), timeout=timeout, count=count)


def test_gateway_register_registers_the_four_events_once_and_lists_them(pline, phone):
    again = register(pline)
    assert again.returncode == 0, again.stderr
    url = pline.url + "/sms/android"
    assert sorted(w["event"] for w in phone.webhooks.values() if w["url"] == url) == \
        ["sms:delivered", "sms:failed", "sms:received", "sms:sent"]
    assert again.stdout.count("already registered") == 4
    for event in ("sms:received", "sms:sent", "sms:delivered", "sms:failed"):
        assert f"{event}" in again.stdout and url in again.stdout


def test_a_whole_check_in_with_the_phone_alone(pline, phone):
    """ADD, JOIN, BUDDY, YES, START, the alert, ACK and OK, every text in and out by the phone."""
    member, bud = fresh(), fresh()
    assert phone.receive(ORG, f"ADD {member} Rose").status_code == 204
    said(phone, ORG, Said("add_ok"))
    said(phone, member, INVITED)
    phone.receive(member, "JOIN")
    said(phone, member, Said("join_ok"))
    phone.receive(member, f"BUDDY {bud} Sam")
    said(phone, bud, ASKED)
    phone.receive(bud, "YES")
    said(phone, member, Said("buddy_accepted", name="Sam"))
    t0 = time.time()
    phone.receive(member, "START 1 blue car")
    said(phone, member, STARTED)
    alert = said(phone, bud, ALERT, timeout=20)[0]
    assert alert.priority >= 100 and "blue car" in alert.body
    assert alert.time - t0 >= 6 * SPM - 0.5  # never before end + grace
    phone.receive(bud, "ACK")
    said(phone, member, Said("ack_member"))
    phone.receive(member, "OK")
    said(phone, bud, STANDDOWN)
    replies = [t for t in phone.texts(member) if STARTED(t.body)]
    assert replies and all(t.priority < 100 for t in replies)  # replies never skip the phone's limits
    assert pline.twilio.messages() == []
    assert "gateway android: up" in pline.get("/healthz").text


def test_forged_and_stale_events_are_refused_and_change_nothing(pline, phone):
    target = fresh()
    url = pline.url + "/sms/android"
    payload = {"messageId": "x", "message": f"ADD {target} Eve", "sender": ORG, "phoneNumber": ORG}
    assert phone.post_event(url, "sms:received", payload, signature="0" * 64).status_code == 403
    assert phone.post_event(url, "sms:received", payload, key="not-the-key").status_code == 403
    assert phone.post_event(url, "sms:received", payload, ts=time.time() - 400).status_code == 403
    assert pline.post_raw("/sms/android", {"event": "sms:received"}).status_code == 403
    time.sleep(1.5)
    assert phone.texts(target) == [] and phone.texts(ORG)[-1:] and "Eve" not in phone.texts(ORG)[-1].body


def test_a_repeated_event_is_acted_on_once(pline, phone):
    target = fresh()
    first = phone.receive(ORG, f"ADD {target} Ann", eid="same-event-id")
    again = phone.receive(ORG, f"ADD {target} Ann", eid="same-event-id")
    assert first.status_code == 204 and again.status_code == 204
    said(phone, target, INVITED)
    time.sleep(1.5)
    assert len(phone.texts(target)) == 1


def test_an_alert_the_phone_reports_failed_is_handed_on(pline, phone):
    member, bud = fresh(), fresh()
    phone.receive(ORG, f"ADD {member} Kim")
    said(phone, member, INVITED)
    phone.receive(member, "JOIN")
    said(phone, member, Said("join_ok"))
    phone.receive(member, f"BUDDY {bud} Lee")
    said(phone, bud, ASKED)
    phone.receive(bud, "YES")
    said(phone, member, Said("buddy_accepted", name="Lee"))
    phone.fail_numbers[bud] = "RESULT_ERROR_NO_SERVICE"
    phone.receive(member, "SOS")
    said(phone, bud, SOS)
    said(phone, ORG, Said("sos", "sos_note", "alert_last", member="Kim"), timeout=15)
    said(phone, member, Said("alert_undelivered", "no_buddy_reachable"), timeout=15)


@pytest.fixture
def both(tmp_path):
    """A line on Twilio first, its own phone second: (line, phone)."""
    with AndroidStandIn() as phone, running_line(str(tmp_path), seconds_per_minute=SPM, organizers=ORG,
                                                 env=phone.env(SMSLINE_GATEWAYS="twilio,android")) as ln:
        assert register(ln).returncode == 0
        yield ln, phone


def test_twilio_refusing_the_account_at_the_alarm_the_alert_comes_by_the_phone_and_organizers_hear_once(both):
    line, phone = both
    member, bud = fresh(), fresh()
    enroll_by_texts(lambda n, b: ok(line.text(n, b)), ORG, member, "Joy", bud, "Max")
    # Twilio first and working: a member who texts the phone's number is answered from the phone.
    line.twilio.wait_for(lambda m: m.to == member and Said("buddy_accepted", name="Max")(m.body))  # by Twilio
    phone.receive(member, "HELP")
    said(phone, member, Said("help"))
    time.sleep(0.5)
    assert [m for m in line.twilio.messages(to=member) if Said("help")(m.body)] == []
    t0 = time.time()
    line.text(member, "START 1")
    time.sleep(max(0.0, t0 + 6 * SPM - 1.0 - time.time()))  # a second before the alarm
    line.twilio.fail_with(401, 20003, message="Authenticate")
    alert = said(phone, bud, ALERT, timeout=60)[0]
    lag = alert.time - (t0 + 6 * SPM)
    print(f"\n20003 at the alarm: the alert came through the phone {lag:.2f} s after its due time")
    assert lag < 60
    time.sleep(3)
    told = [t for t in phone.texts(ORG) if Said("gateway_down", "gateway_down_alone")(t.body)]
    assert len(told) == 1 and "Twilio" in told[0].body
    assert [m for m in line.twilio.messages(to=bud) if ALERT(m.body)] == []
    health = line.get("/healthz").text
    assert "gateway twilio: down" in health and "gateway android: up" in health
    line.twilio.clear_failures()
